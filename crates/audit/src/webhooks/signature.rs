use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::{Error, Result};

const PREFIX: &str = "whsec_";
/// Standard Webhooks: secrets are 24 to 64 random bytes.
const MIN_SECRET: usize = 24;
const MAX_SECRET: usize = 64;
/// Verifiers reject signatures older or newer than this by default (the spec's suggestion).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// A Standard Webhooks signing secret: `whsec_` followed by base64 of 24 to 64 random bytes.
/// Never shown by `Debug`; zeroed on drop.
#[derive(Clone)]
pub struct WebhookSecret {
    bytes: Zeroizing<Vec<u8>>,
}

impl WebhookSecret {
    /// A fresh 32-byte secret.
    pub fn generate() -> WebhookSecret {
        let mut bytes = Zeroizing::new(vec![0u8; 32]);
        rand::fill(&mut bytes[..]);
        WebhookSecret { bytes }
    }

    /// Parses `whsec_<base64>` (the prefix is optional, as receivers often store it without).
    pub fn parse(secret: &str) -> Result<WebhookSecret> {
        let encoded = secret.trim().strip_prefix(PREFIX).unwrap_or(secret.trim());
        let bytes = Zeroizing::new(
            STANDARD
                .decode(encoded)
                .map_err(|_| Error::invalid("webhook secret", "not base64 after whsec_"))?,
        );
        if !(MIN_SECRET..=MAX_SECRET).contains(&bytes.len()) {
            return Err(Error::invalid(
                "webhook secret",
                "must decode to 24 to 64 bytes",
            ));
        }
        Ok(WebhookSecret { bytes })
    }

    /// The `whsec_...` text, to show the endpoint's owner once. Treat it as a password.
    pub fn expose(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{PREFIX}{}", STANDARD.encode(&*self.bytes)))
    }

    /// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        // HMAC accepts keys of any length; 24 to 64 bytes were checked on construction.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.bytes)
            .expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

/// The `webhook-signature` header value for several secrets (during a rotation both the new and
/// the old secret sign, so receivers holding either accept the message).
pub fn signature_header(
    secrets: &[&WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|s| s.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks Standard Webhooks signatures on the receiving side.
#[derive(Debug, Clone)]
pub struct WebhookVerifier {
    secrets: Vec<WebhookSecret>,
    tolerance: Duration,
}

impl WebhookVerifier {
    /// Accepts messages signed with `secret`, timestamped within [`DEFAULT_TOLERANCE`] of now.
    pub fn new(secret: WebhookSecret) -> WebhookVerifier {
        WebhookVerifier {
            secrets: vec![secret],
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// Also accepts `secret` (the receiver's side of a rotation).
    #[must_use]
    pub fn also(mut self, secret: WebhookSecret) -> WebhookVerifier {
        self.secrets.push(secret);
        self
    }

    /// Replaces the allowed clock skew.
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> WebhookVerifier {
        self.tolerance = tolerance;
        self
    }

    /// Verifies the three headers and the raw body at time `now`. Any `v1` signature made with any
    /// of the secrets is accepted (compared in constant time); other versions are ignored.
    pub fn verify(
        &self,
        id: &str,
        timestamp: &str,
        signatures: &str,
        body: &[u8],
        now: Timestamp,
    ) -> Result<()> {
        if id.is_empty() || id.len() > 256 {
            return Err(Error::BadSignature {
                reason: "missing or oversized webhook-id",
            });
        }
        let ts: i64 = timestamp.trim().parse().map_err(|_| Error::BadSignature {
            reason: "webhook-timestamp is not an integer",
        })?;
        let skew = now.as_second().abs_diff(ts);
        if skew > self.tolerance.as_secs() {
            return Err(Error::BadSignature {
                reason: "webhook-timestamp outside the tolerance",
            });
        }
        let mut matched = subtle::Choice::from(0);
        for candidate in signatures.split(' ') {
            let Some(encoded) = candidate.strip_prefix("v1,") else {
                continue;
            };
            let Ok(given) = STANDARD.decode(encoded) else {
                continue;
            };
            for secret in &self.secrets {
                matched |= secret.mac(id, ts, body).as_slice().ct_eq(&given);
            }
        }
        if bool::from(matched) {
            Ok(())
        } else {
            Err(Error::BadSignature {
                reason: "no signature matches",
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Standard Webhooks specification's published test vector.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TS: i64 = 1614265330;
    const SPEC_BODY: &str = r#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn matches_the_specification_test_vector() {
        let secret = WebhookSecret::parse(SPEC_SECRET).unwrap();
        assert_eq!(
            secret.sign(SPEC_ID, SPEC_TS, SPEC_BODY.as_bytes()),
            SPEC_SIGNATURE
        );
        let at = Timestamp::from_second(SPEC_TS + 10).unwrap();
        WebhookVerifier::new(secret)
            .verify(
                SPEC_ID,
                "1614265330",
                SPEC_SIGNATURE,
                SPEC_BODY.as_bytes(),
                at,
            )
            .unwrap();
        assert_eq!(
            &*WebhookSecret::parse(SPEC_SECRET).unwrap().expose(),
            SPEC_SECRET
        );
    }

    #[test]
    fn verification_refuses_tampering_stale_timestamps_and_strangers() {
        let old = WebhookSecret::generate();
        let new = WebhookSecret::generate();
        let now = Timestamp::from_second(1_900_000_000).unwrap();
        let ts = now.as_second();
        let header = signature_header(&[&new, &old], "msg_1", ts, b"{}");
        assert_eq!(header.split(' ').count(), 2);
        let tsh = ts.to_string();
        WebhookVerifier::new(old.clone())
            .verify("msg_1", &tsh, &header, b"{}", now)
            .unwrap();
        WebhookVerifier::new(new.clone())
            .verify("msg_1", &tsh, &header, b"{}", now)
            .unwrap();
        let bad = |r: Result<()>| assert!(matches!(r, Err(Error::BadSignature { .. })), "{r:?}");
        let v = WebhookVerifier::new(new.clone());
        bad(v.verify("msg_1", &tsh, &header, b"{ }", now));
        bad(v.verify("msg_2", &tsh, &header, b"{}", now));
        bad(v.verify("msg_1", &(ts + 1).to_string(), &header, b"{}", now));
        bad(v.verify("msg_1", &tsh, "v2,abc v1,!!!", b"{}", now));
        bad(v.verify("msg_1", "soon", &header, b"{}", now));
        bad(v.verify("", &tsh, &header, b"{}", now));
        let later = Timestamp::from_second(ts + 301).unwrap();
        bad(v.verify("msg_1", &tsh, &header, b"{}", later));
        v.clone()
            .tolerance(Duration::from_secs(600))
            .verify("msg_1", &tsh, &header, b"{}", later)
            .unwrap();
        bad(WebhookVerifier::new(WebhookSecret::generate())
            .verify("msg_1", &tsh, &header, b"{}", now));
    }

    #[test]
    fn secrets_are_validated_and_never_printed() {
        assert!(matches!(
            WebhookSecret::parse("whsec_!!"),
            Err(Error::Invalid { .. })
        ));
        assert!(matches!(
            WebhookSecret::parse("whsec_AAAA"),
            Err(Error::Invalid { .. })
        ));
        let s = WebhookSecret::generate();
        assert!(s.expose().starts_with("whsec_"));
        assert_eq!(format!("{s:?}"), "WebhookSecret(..)");
        let reparsed = WebhookSecret::parse(&s.expose()).unwrap();
        assert_eq!(reparsed.sign("a", 1, b"b"), s.sign("a", 1, b"b"));
    }
}
