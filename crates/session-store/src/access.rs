use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken as jwt;
use serde::{Deserialize, Serialize};

use crate::clock::{self, Clock, SystemClock};
use crate::error::{Error, KeyError, Result, TokenRejection};
use crate::ids::random_id;
use crate::keys::{KeyRing, SigningKey};

/// The `typ` header of every access token (RFC 9068 §2.1), so an ID token or any other JWT
/// signed by the same key can never pass as an access token.
const ACCESS_TOKEN_TYP: &str = "at+jwt";
const MAX_LEEWAY: Duration = Duration::from_secs(300);
const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The claims of an access token.
///
/// Registered claims (RFC 7519) plus `sid` (the session, RFC 9068 / OIDC), and the custom
/// claims `roles`, `device` and `amr` (RFC 8176 authentication methods). Times are JWT
/// `NumericDate`s: whole seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user id.
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Expiry.
    pub exp: u64,
    /// Not before.
    pub nbf: u64,
    /// Issued at.
    pub iat: u64,
    /// Unique token id.
    pub jti: String,
    /// The session this token belongs to.
    pub sid: String,
    /// Application roles granted at login.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The device id the session was created on, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Authentication methods used at login (`pwd`, `otp`, `hwk`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

/// What to put in an access token besides the registered claims, which
/// [`AccessTokens::issue`] fills in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessGrant {
    /// Subject (user id).
    pub subject: String,
    /// Session id (`sid`).
    pub session_id: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Device id.
    pub device: Option<String>,
    /// Authentication methods.
    pub amr: Vec<String>,
}

/// A signed access token. `Debug` does not print it: it is a bearer credential.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// The compact JWS, for an `Authorization: Bearer` header.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

/// Issuer, audience and lifetimes of access tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    issuer: String,
    audience: String,
    ttl: Duration,
    leeway: Duration,
    max_token_bytes: usize,
}

impl TokenPolicy {
    /// Tokens from `issuer` for `audience`, living 5 minutes, with 30 seconds of clock-skew
    /// leeway and an 8 KiB size limit.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            ttl: Duration::from_secs(300),
            leeway: Duration::from_secs(30),
            max_token_bytes: 8 * 1024,
        }
    }

    /// Lifetime of issued tokens (1 second to 24 hours).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Clock-skew tolerance for `exp`, `nbf` and `iat` (at most 5 minutes).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Tokens longer than this are rejected before parsing (at least 512 bytes).
    pub fn max_token_bytes(mut self, max: usize) -> Self {
        self.max_token_bytes = max;
        self
    }

    /// The configured access-token lifetime.
    pub fn access_ttl(&self) -> Duration {
        self.ttl
    }

    fn validate(&self) -> Result<()> {
        if self.issuer.is_empty() || self.issuer.len() > 512 {
            return Err(Error::input("issuer", "must be 1 to 512 bytes"));
        }
        if self.audience.is_empty() || self.audience.len() > 512 {
            return Err(Error::input("audience", "must be 1 to 512 bytes"));
        }
        if self.ttl < Duration::from_secs(1) || self.ttl > MAX_TTL {
            return Err(Error::input("ttl", "must be between 1 second and 24 hours"));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(Error::input("leeway", "must be at most 5 minutes"));
        }
        if self.max_token_bytes < 512 {
            return Err(Error::input("max_token_bytes", "must be at least 512"));
        }
        Ok(())
    }
}

/// Issues and verifies access tokens with a [`KeyRing`] under a [`TokenPolicy`].
///
/// Verification is strict: exactly three base64url segments; `typ` must be `at+jwt`; no `crit`;
/// the `kid` must name a key in the ring and `alg` must be the algorithm pinned to that key
/// (so `none`, HS256-with-a-public-key and other confusions fail); the signature is checked
/// before the claims are parsed; `iss` and `aud` must match exactly; `exp`, `nbf` and `iat` are
/// checked against the injected [`Clock`] with the policy's leeway.
pub struct AccessTokens {
    keys: RwLock<KeyRing>,
    policy: TokenPolicy,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokens")
            .field("keys", &*self.read_keys())
            .field("policy", &self.policy)
            .field("clock", &self.clock)
            .finish()
    }
}

#[derive(Deserialize)]
struct Header<'a> {
    alg: &'a str,
    #[serde(default)]
    kid: Option<&'a str>,
    #[serde(default)]
    typ: Option<&'a str>,
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

#[derive(Serialize)]
struct HeaderOut<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

impl AccessTokens {
    /// Validates `policy` and uses the system clock.
    pub fn new(keys: KeyRing, policy: TokenPolicy) -> Result<Self> {
        policy.validate()?;
        Ok(Self {
            keys: RwLock::new(keys),
            policy,
            clock: Arc::new(SystemClock),
        })
    }

    /// Uses `clock` for `iat`/`exp` and for validation.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The policy in force.
    pub fn policy(&self) -> &TokenPolicy {
        &self.policy
    }

    /// Signs a new access token for `grant`, valid from now for the policy's TTL.
    pub fn issue(&self, grant: &AccessGrant) -> Result<(AccessToken, AccessClaims)> {
        if grant.subject.is_empty() {
            return Err(Error::input("subject", "must not be empty"));
        }
        let now = clock::to_unix_secs(self.clock.now());
        let claims = AccessClaims {
            iss: self.policy.issuer.clone(),
            sub: grant.subject.clone(),
            aud: self.policy.audience.clone(),
            exp: now.saturating_add(self.policy.ttl.as_secs()),
            nbf: now,
            iat: now,
            jti: random_id(),
            sid: grant.session_id.clone(),
            roles: grant.roles.clone(),
            device: grant.device.clone(),
            amr: grant.amr.clone(),
        };
        let keys = self.read_keys();
        let key = keys.signer().ok_or(KeyError::NoSigningKey)?;
        let token = sign(key, &claims)?;
        Ok((AccessToken(token), claims))
    }

    /// Verifies `token` and returns its claims, or the reason it was rejected.
    pub fn verify(&self, token: &str) -> Result<AccessClaims> {
        if token.len() > self.policy.max_token_bytes {
            return Err(Error::rejected(TokenRejection::Oversized));
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::rejected(TokenRejection::Malformed));
        };
        let header_json = URL_SAFE_NO_PAD
            .decode(header_b64)
            .map_err(|_| Error::rejected(TokenRejection::Malformed))?;
        let header: Header<'_> = serde_json::from_slice(&header_json)
            .map_err(|_| Error::rejected(TokenRejection::Malformed))?;
        let typ_ok = header.typ.is_some_and(|t| {
            t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok || header.crit.is_some() {
            return Err(Error::rejected(TokenRejection::UnsupportedHeader));
        }
        let kid = header
            .kid
            .ok_or(Error::rejected(TokenRejection::UnknownKey))?;
        {
            let keys = self.read_keys();
            let key = keys
                .find(kid)
                .ok_or(Error::rejected(TokenRejection::UnknownKey))?;
            if header.alg != key.algorithm.as_str() {
                return Err(Error::rejected(TokenRejection::AlgorithmMismatch));
            }
            let message = &token[..header_b64.len() + 1 + payload_b64.len()];
            let valid = jwt::crypto::verify(
                signature_b64,
                message.as_bytes(),
                &key.key,
                key.algorithm.to_jwt(),
            );
            if !matches!(valid, Ok(true)) {
                return Err(Error::rejected(TokenRejection::BadSignature));
            }
        }
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| Error::rejected(TokenRejection::Malformed))?;
        let claims: AccessClaims = serde_json::from_slice(&payload)
            .map_err(|_| Error::rejected(TokenRejection::Malformed))?;
        self.check_claims(&claims)?;
        Ok(claims)
    }

    fn check_claims(&self, claims: &AccessClaims) -> Result<()> {
        if claims.iss != self.policy.issuer {
            return Err(Error::rejected(TokenRejection::WrongIssuer));
        }
        if claims.aud != self.policy.audience {
            return Err(Error::rejected(TokenRejection::WrongAudience));
        }
        let now = clock::to_unix_secs(self.clock.now());
        let leeway = self.policy.leeway.as_secs();
        // RFC 7519 §4.1.4: the token must not be accepted on or after `exp`.
        if now >= claims.exp.saturating_add(leeway) {
            return Err(Error::rejected(TokenRejection::Expired));
        }
        let latest_start = now.saturating_add(leeway);
        if claims.nbf > latest_start || claims.iat > latest_start {
            return Err(Error::rejected(TokenRejection::NotYetValid));
        }
        Ok(())
    }

    /// Makes `next` the signing key; tokens signed by earlier keys keep verifying until those
    /// keys are [retired](Self::retire_key). See [`KeyRing::rotate`].
    pub fn rotate_signing_key(&self, next: SigningKey) -> Result<()> {
        self.write_keys().rotate(next)
    }

    /// Stops accepting tokens signed by `kid`. See [`KeyRing::retire`].
    pub fn retire_key(&self, kid: &str) -> Result<()> {
        self.write_keys().retire(kid)
    }

    /// The public keys as a JWKS document. See [`KeyRing::jwks`].
    pub fn jwks(&self) -> String {
        self.read_keys().jwks()
    }

    /// The `kid` currently signing, if any.
    pub fn signing_kid(&self) -> Option<String> {
        self.read_keys().signing_kid().map(str::to_owned)
    }

    fn read_keys(&self) -> RwLockReadGuard<'_, KeyRing> {
        // A poisoned lock only means a panic elsewhere while holding it; the ring itself is
        // always left consistent (each mutation is a single push/retain/assign).
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_keys(&self) -> std::sync::RwLockWriteGuard<'_, KeyRing> {
        self.keys.write().unwrap_or_else(|p| p.into_inner())
    }
}

fn sign(key: &SigningKey, claims: &AccessClaims) -> Result<String> {
    let header = HeaderOut {
        alg: key.algorithm().as_str(),
        typ: ACCESS_TOKEN_TYP,
        kid: key.kid(),
    };
    let header_json = serde_json::to_vec(&header).map_err(|_| KeyError::Signing)?;
    let claims_json = serde_json::to_vec(claims).map_err(|_| KeyError::Signing)?;
    let mut token = String::with_capacity(
        (header_json.len() + claims_json.len()) * 4 / 3 + 96, // + room for an ES256 signature
    );
    URL_SAFE_NO_PAD.encode_string(&header_json, &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&claims_json, &mut token);
    let signature = jwt::crypto::sign(
        token.as_bytes(),
        key.encoding_key(),
        key.algorithm().to_jwt(),
    )
    .map_err(|_| KeyError::Signing)?;
    token.push('.');
    token.push_str(&signature);
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::keys::Algorithm;

    const START: u64 = 1_700_000_000;

    fn tokens(alg: Algorithm) -> (AccessTokens, ManualClock) {
        let clock = ManualClock::at_unix(START);
        let tokens = AccessTokens::new(
            KeyRing::generate(alg).unwrap(),
            TokenPolicy::new("https://auth.example", "files"),
        )
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
        (tokens, clock)
    }

    fn grant() -> AccessGrant {
        AccessGrant {
            subject: "alice".into(),
            session_id: "sess".into(),
            roles: vec!["editor".into()],
            device: Some("laptop".into()),
            amr: vec!["pwd".into(), "otp".into()],
        }
    }

    fn rejection(result: Result<AccessClaims>) -> TokenRejection {
        match result {
            Err(Error::AccessTokenRejected(reason)) => reason,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn round_trip_every_algorithm() {
        for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::HS256] {
            let (tokens, _) = tokens(alg);
            let (token, issued) = tokens.issue(&grant()).unwrap();
            let claims = tokens.verify(token.as_str()).unwrap();
            assert_eq!(claims, issued);
            assert_eq!(claims.exp - claims.iat, 300);
            assert_eq!((claims.roles.len(), claims.amr.len()), (1, 2));
        }
    }

    #[test]
    fn expiry_and_not_before_use_the_injected_clock() {
        let (tokens, clock) = tokens(Algorithm::EdDSA);
        let (token, _) = tokens.issue(&grant()).unwrap();
        clock.advance(Duration::from_secs(300 + 29));
        assert!(
            tokens.verify(token.as_str()).is_ok(),
            "inside the 30 s leeway"
        );
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            rejection(tokens.verify(token.as_str())),
            TokenRejection::Expired
        );
        clock.set(std::time::UNIX_EPOCH + Duration::from_secs(START - 31));
        assert_eq!(
            rejection(tokens.verify(token.as_str())),
            TokenRejection::NotYetValid
        );
    }

    #[test]
    fn issuer_audience_and_key_mismatches_are_rejected() {
        let (tokens, clock) = tokens(Algorithm::EdDSA);
        let (token, _) = tokens.issue(&grant()).unwrap();
        let keys = KeyRing::from_jwks(&tokens.jwks()).unwrap();
        let wrong_aud = AccessTokens::new(
            keys.clone(),
            TokenPolicy::new("https://auth.example", "other"),
        )
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
        assert_eq!(
            rejection(wrong_aud.verify(token.as_str())),
            TokenRejection::WrongAudience
        );
        let wrong_iss = AccessTokens::new(keys, TokenPolicy::new("https://evil.example", "files"))
            .unwrap()
            .with_clock(Arc::new(clock));
        assert_eq!(
            rejection(wrong_iss.verify(token.as_str())),
            TokenRejection::WrongIssuer
        );
        let (stranger, _) = self::tokens(Algorithm::EdDSA);
        assert_eq!(
            rejection(stranger.verify(token.as_str())),
            TokenRejection::UnknownKey
        );
    }

    #[test]
    fn tampering_and_algorithm_confusion_fail() {
        let (tokens, _) = tokens(Algorithm::EdDSA);
        let (token, _) = tokens.issue(&grant()).unwrap();
        let parts: Vec<&str> = token.as_str().split('.').collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["roles"] = serde_json::json!(["admin"]);
        let forged_payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(
            rejection(tokens.verify(&forged)),
            TokenRejection::BadSignature
        );

        let kid = tokens.signing_kid().unwrap();
        for alg in ["none", "HS256", "ES256", "eddsa"] {
            let header = serde_json::json!({"alg": alg, "typ": "at+jwt", "kid": kid});
            let h = URL_SAFE_NO_PAD.encode(header.to_string());
            let t = format!("{h}.{}.{}", parts[1], parts[2]);
            assert_eq!(
                rejection(tokens.verify(&t)),
                TokenRejection::AlgorithmMismatch,
                "{alg}"
            );
            let unsigned = format!("{h}.{}.", parts[1]);
            assert!(tokens.verify(&unsigned).is_err());
        }
        let jwt_typ = serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
        let t = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(jwt_typ.to_string()),
            parts[1],
            parts[2]
        );
        assert_eq!(
            rejection(tokens.verify(&t)),
            TokenRejection::UnsupportedHeader
        );
        let crit = serde_json::json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid, "crit": ["x"]});
        let t = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(crit.to_string()),
            parts[1],
            parts[2]
        );
        assert_eq!(
            rejection(tokens.verify(&t)),
            TokenRejection::UnsupportedHeader
        );
    }

    #[test]
    fn malformed_and_oversized_input() {
        let (tokens, _) = tokens(Algorithm::ES256);
        for junk in [
            "",
            ".",
            "..",
            "a.b.c",
            "a.b.c.d",
            "!!!.###.$$$",
            "e30.e30.e30",
        ] {
            assert_eq!(
                rejection(tokens.verify(junk)),
                TokenRejection::Malformed,
                "{junk:?}"
            );
        }
        let huge = "a".repeat(8 * 1024 + 1);
        assert_eq!(rejection(tokens.verify(&huge)), TokenRejection::Oversized);
    }

    #[test]
    fn rotated_keys_verify_until_retired() {
        let (tokens, _) = tokens(Algorithm::EdDSA);
        let old_kid = tokens.signing_kid().unwrap();
        let (old_token, _) = tokens.issue(&grant()).unwrap();
        tokens
            .rotate_signing_key(SigningKey::generate(Algorithm::ES256).unwrap())
            .unwrap();
        let (new_token, _) = tokens.issue(&grant()).unwrap();
        assert!(tokens.verify(old_token.as_str()).is_ok());
        assert!(tokens.verify(new_token.as_str()).is_ok());
        tokens.retire_key(&old_kid).unwrap();
        assert_eq!(
            rejection(tokens.verify(old_token.as_str())),
            TokenRejection::UnknownKey
        );
        assert!(tokens.verify(new_token.as_str()).is_ok());
    }

    #[test]
    fn verify_only_ring_cannot_issue_and_policy_is_validated() {
        let (tokens, _) = tokens(Algorithm::EdDSA);
        let public = AccessTokens::new(
            KeyRing::from_jwks(&tokens.jwks()).unwrap(),
            TokenPolicy::new("i", "a"),
        )
        .unwrap();
        assert!(matches!(
            public.issue(&grant()),
            Err(Error::Key(KeyError::NoSigningKey))
        ));
        let keys = || KeyRing::generate(Algorithm::EdDSA).unwrap();
        for policy in [
            TokenPolicy::new("", "a"),
            TokenPolicy::new("i", ""),
            TokenPolicy::new("i", "a").ttl(Duration::ZERO),
            TokenPolicy::new("i", "a").leeway(Duration::from_secs(3600)),
            TokenPolicy::new("i", "a").max_token_bytes(10),
        ] {
            assert!(matches!(
                AccessTokens::new(keys(), policy),
                Err(Error::InvalidInput { .. })
            ));
        }
    }

    #[test]
    fn access_token_debug_is_redacted() {
        let (tokens, _) = tokens(Algorithm::HS256);
        let (token, _) = tokens.issue(&grant()).unwrap();
        assert!(!format!("{token:?}").contains(token.as_str()));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(input in ".{0,600}") {
            let (tokens, _) = tokens(Algorithm::EdDSA);
            proptest::prop_assert!(tokens.verify(&input).is_err());
        }

        #[test]
        fn arbitrary_signatures_reach_the_verifier_and_fail(sig in "[A-Za-z0-9_-]{0,120}", es in proptest::bool::ANY) {
            let (tokens, _) = tokens(if es { Algorithm::ES256 } else { Algorithm::EdDSA });
            let (token, _) = tokens.issue(&grant()).unwrap();
            let (signed, _) = token.as_str().rsplit_once('.').unwrap();
            let forged = format!("{signed}.{sig}");
            proptest::prop_assert_eq!(rejection(tokens.verify(&forged)), TokenRejection::BadSignature);
        }

        #[test]
        fn arbitrary_segments_never_panic(h in "[A-Za-z0-9_-]{0,80}", p in "[A-Za-z0-9_-]{0,80}", s in "[A-Za-z0-9_-]{0,100}") {
            let (tokens, _) = tokens(Algorithm::ES256);
            let t = format!("{h}.{p}.{s}");
            proptest::prop_assert!(tokens.verify(&t).is_err());
        }
    }
}
