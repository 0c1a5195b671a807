//! Our tokens verify with independent verifiers that see only the exported JWKS.

use std::io::Write as _;
use std::process::{Command, Stdio};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use strongroom_session_store::{
    AccessClaims, AccessGrant, AccessTokens, Algorithm, KeyRing, SigningKey, TokenPolicy,
};

const ISSUER: &str = "https://auth.example";
const AUDIENCE: &str = "files-api";

fn grant(user: &str) -> AccessGrant {
    AccessGrant {
        subject: user.into(),
        session_id: "0123456789abcdefghijkl".into(),
        roles: vec!["viewer".into()],
        device: None,
        amr: vec!["pwd".into()],
    }
}

/// A ring that has signed with EdDSA, then ES256: both keys published, one token each.
fn tokens_from_two_keys() -> (AccessTokens, Vec<String>) {
    let tokens = AccessTokens::new(
        KeyRing::generate(Algorithm::EdDSA).unwrap(),
        TokenPolicy::new(ISSUER, AUDIENCE),
    )
    .unwrap();
    let ed = tokens.issue(&grant("alice")).unwrap().0;
    tokens
        .rotate_signing_key(SigningKey::generate(Algorithm::ES256).unwrap())
        .unwrap();
    let es = tokens.issue(&grant("bob")).unwrap().0;
    (tokens, vec![ed.as_str().to_owned(), es.as_str().to_owned()])
}

fn tamper(token: &str) -> String {
    let (head, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
    format!("{head}.{flipped}{}", &signature[1..])
}

#[test]
fn jsonwebtoken_verifies_with_keys_built_only_from_the_jwks() {
    let (tokens, issued) = tokens_from_two_keys();
    let jwks: JwkSet = serde_json::from_str(&tokens.jwks()).unwrap();
    for (token, user) in issued.iter().zip(["alice", "bob"]) {
        let header = decode_header(token).unwrap();
        let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
        let key = DecodingKey::from_jwk(jwk).unwrap();
        // The algorithm comes from the published key, never from the token header.
        let alg_name = serde_json::to_value(jwk.common.key_algorithm.unwrap()).unwrap();
        let alg: jsonwebtoken::Algorithm = alg_name.as_str().unwrap().parse().unwrap();
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        let claims = decode::<AccessClaims>(token, &key, &validation)
            .unwrap()
            .claims;
        assert_eq!(claims.sub, user);
        assert!(decode::<AccessClaims>(tamper(token), &key, &validation).is_err());
    }
}

fn pyjwt_python() -> Option<String> {
    let python = std::env::var("STRONGROOM_PYJWT_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python)
        .args(["-c", "import jwt, cryptography"])
        .output();
    match probe {
        Ok(out) if out.status.success() => Some(python),
        _ => {
            assert!(
                std::env::var("STRONGROOM_TEST_REQUIRE_PYJWT").as_deref() != Ok("1"),
                "STRONGROOM_TEST_REQUIRE_PYJWT=1 but `{python}` cannot import jwt and cryptography \
                 (run crates/session-store/bench/pyjwt-venv.sh)"
            );
            eprintln!(
                "note: PyJWT not available to `{python}`; skipping the PyJWT interop test \
                 (set STRONGROOM_PYJWT_PYTHON, see crates/session-store/bench/pyjwt-venv.sh)"
            );
            None
        }
    }
}

#[test]
fn pyjwt_verifies_with_only_the_jwks() {
    let Some(python) = pyjwt_python() else { return };
    let (tokens, issued) = tokens_from_two_keys();
    let mut batch = issued.clone();
    batch.push(tamper(&issued[0]));
    let request = serde_json::json!({
        "jwks": serde_json::from_str::<serde_json::Value>(&tokens.jwks()).unwrap(),
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "tokens": batch,
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pyjwt_verify.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 3, "{results:?}");
    assert_eq!(results[0]["ok"], true, "{results:?}");
    assert_eq!(
        (results[0]["sub"].as_str(), results[0]["alg"].as_str()),
        (Some("alice"), Some("EdDSA"))
    );
    assert_eq!(results[1]["ok"], true, "{results:?}");
    assert_eq!(
        (results[1]["sub"].as_str(), results[1]["alg"].as_str()),
        (Some("bob"), Some("ES256"))
    );
    assert_eq!(
        results[2]["ok"], false,
        "tampered token must fail: {results:?}"
    );
}
