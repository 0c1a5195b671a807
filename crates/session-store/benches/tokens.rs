//! Issue and verify per algorithm: strongroom-session-store vs raw jsonwebtoken encode/decode
//! with the same key, claims and checks. `cargo bench -p strongroom-session-store --bench tokens`

use std::hint::black_box;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::Criterion;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation, decode, encode};
use rand::RngCore as _;
use strongroom_session_store::{
    AccessClaims, AccessGrant, AccessTokens, Algorithm, KeyRing, SigningKey, TokenPolicy,
};

mod support;

const ISSUER: &str = "https://auth.example";
const AUDIENCE: &str = "files-api";

struct Case {
    name: &'static str,
    ours: AccessTokens,
    grant: AccessGrant,
    token: String,
    header: Header,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    claims: AccessClaims,
}

fn case(name: &'static str, algorithm: Algorithm) -> Case {
    let secret = [7u8; 32];
    let key = match algorithm {
        Algorithm::HS256 => SigningKey::hs256(&secret).unwrap(),
        other => SigningKey::generate(other).unwrap(),
    };
    let (encoding, alg) = match algorithm {
        Algorithm::EdDSA => (
            EncodingKey::from_ed_der(&key.to_pkcs8_der().unwrap()),
            jsonwebtoken::Algorithm::EdDSA,
        ),
        Algorithm::ES256 => (
            EncodingKey::from_ec_der(&key.to_pkcs8_der().unwrap()),
            jsonwebtoken::Algorithm::ES256,
        ),
        _ => (
            EncodingKey::from_secret(&secret),
            jsonwebtoken::Algorithm::HS256,
        ),
    };
    let kid = key.kid().to_owned();
    let ring = KeyRing::new(key);
    let decoding = match algorithm {
        Algorithm::HS256 => DecodingKey::from_secret(&secret),
        _ => {
            let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&ring.jwks()).unwrap();
            DecodingKey::from_jwk(&jwks.keys[0]).unwrap()
        }
    };
    let ours = AccessTokens::new(ring, TokenPolicy::new(ISSUER, AUDIENCE)).unwrap();
    let grant = AccessGrant {
        subject: "user-1234".into(),
        session_id: "0123456789abcdefghijkl".into(),
        roles: vec!["editor".into(), "viewer".into()],
        device: Some("laptop-7f3a".into()),
        amr: vec!["pwd".into(), "otp".into()],
    };
    let (token, claims) = ours.issue(&grant).unwrap();
    let mut header = Header::new(alg);
    header.kid = Some(kid);
    header.typ = Some("at+jwt".into());
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.validate_nbf = true;
    Case {
        name,
        ours,
        grant,
        token: token.as_str().to_owned(),
        header,
        encoding,
        decoding,
        validation,
        claims,
    }
}

fn raw_claims(grant: &AccessGrant, template: &AccessClaims) -> AccessClaims {
    let now = jsonwebtoken::get_current_timestamp();
    let mut jti = [0u8; 16];
    rand::rng().fill_bytes(&mut jti);
    AccessClaims {
        iss: template.iss.clone(),
        sub: grant.subject.clone(),
        aud: template.aud.clone(),
        exp: now + 300,
        nbf: now,
        iat: now,
        jti: URL_SAFE_NO_PAD.encode(jti),
        sid: grant.session_id.clone(),
        roles: grant.roles.clone(),
        device: grant.device.clone(),
        amr: grant.amr.clone(),
    }
}

fn bench(c: &mut Criterion, cases: &[Case]) {
    for case in cases {
        let mut group = c.benchmark_group(format!("issue_{}", case.name));
        group.bench_function("strongroom", |b| {
            b.iter(|| case.ours.issue(black_box(&case.grant)).unwrap())
        });
        // A raw jsonwebtoken caller builds the same claims per token: timestamps, a random
        // jti, the grant's strings.
        group.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                let claims = raw_claims(black_box(&case.grant), &case.claims);
                encode(&case.header, &claims, &case.encoding).unwrap()
            })
        });
        group.finish();

        let mut group = c.benchmark_group(format!("verify_{}", case.name));
        group.bench_function("strongroom", |b| {
            b.iter(|| case.ours.verify(black_box(&case.token)).unwrap())
        });
        group.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                decode::<AccessClaims>(black_box(&case.token), &case.decoding, &case.validation)
                    .unwrap()
            })
        });
        group.finish();
    }
}

fn main() {
    let cases = [
        case("EdDSA", Algorithm::EdDSA),
        case("ES256", Algorithm::ES256),
        case("HS256", Algorithm::HS256),
    ];
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion, &cases);
    criterion.final_summary();
    for case in &cases {
        for op in ["issue", "verify"] {
            support::print_ratio(&format!("{op}_{}", case.name), "strongroom", "jsonwebtoken");
        }
    }
    // Criterion measures each side in its own time window; on a shared machine the load differs
    // between windows, so the recorded ratios come from interleaved batches instead.
    if std::env::args().any(|a| a == "--bench") {
        for case in &cases {
            let batch = if case.name == "HS256" { 1_000 } else { 8 };
            let issue = support::interleaved(
                101,
                batch,
                || drop(black_box(case.ours.issue(&case.grant).unwrap())),
                || {
                    let claims = raw_claims(&case.grant, &case.claims);
                    drop(black_box(
                        encode(&case.header, &claims, &case.encoding).unwrap(),
                    ));
                },
            );
            support::print_interleaved(
                &format!("issue_{}", case.name),
                "strongroom",
                "jsonwebtoken",
                issue,
            );
            let verify = support::interleaved(
                101,
                batch,
                || drop(black_box(case.ours.verify(&case.token).unwrap())),
                || {
                    let data =
                        decode::<AccessClaims>(&case.token, &case.decoding, &case.validation);
                    drop(black_box(data.unwrap()));
                },
            );
            support::print_interleaved(
                &format!("verify_{}", case.name),
                "strongroom",
                "jsonwebtoken",
                verify,
            );
        }
    }
}
