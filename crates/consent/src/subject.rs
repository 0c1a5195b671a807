//! Subject identifiers and the keyed digest that names a subject's chain.

use crate::error::{Result, invalid};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The secret that turns a subject id into its chain name (HMAC-SHA256).
///
/// Storage never holds a subject id outside the record payloads, which erasure removes; what is
/// left is this keyed digest, which only the key holder can link back to a person. Keep the key
/// with the application's other secrets: losing it orphans every chain, leaking it turns the
/// pseudonyms back into names by guessing.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct LedgerKey([u8; 32]);

impl LedgerKey {
    /// A key from 32 bytes of secret material.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A key from secret material loaded elsewhere (a secrets manager, an environment variable
    /// decoded from hex); it must be exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| invalid("ledger key", format!("{} bytes, expected 32", bytes.len())))?;
        Ok(Self(key))
    }

    /// A fresh random key (store it: chains cannot be found again without it).
    pub fn generate() -> Self {
        Self(rand::random())
    }

    pub(crate) fn subject_digest(&self, subject: &str) -> String {
        // The key is exactly 32 bytes, which HMAC accepts; the fallback is never taken.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
        mac.update(b"strongroom-consent/subject/v1\0");
        mac.update(subject.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl fmt::Debug for LedgerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LedgerKey(<redacted>)")
    }
}

/// Check a free-text identifier: non-empty, bounded, no control characters.
pub(crate) fn check_text(field: &'static str, value: &str, max_chars: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if value.chars().count() > max_chars {
        return Err(invalid(
            field,
            format!("longer than {max_chars} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "contains control characters"));
    }
    Ok(())
}

/// Longest accepted subject id.
pub(crate) const MAX_SUBJECT_CHARS: usize = 256;

pub(crate) fn check_subject(subject: &str) -> Result<()> {
    check_text("subject", subject, MAX_SUBJECT_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_keyed_and_stable() {
        let a = LedgerKey::from_bytes([1; 32]);
        let b = LedgerKey::from_bytes([2; 32]);
        assert_eq!(a.subject_digest("alice"), a.subject_digest("alice"));
        assert_ne!(a.subject_digest("alice"), b.subject_digest("alice"));
        assert_ne!(a.subject_digest("alice"), a.subject_digest("bob"));
        assert_eq!(a.subject_digest("alice").len(), 64);
        assert!(!a.subject_digest("alice").contains("alice"));
    }

    #[test]
    fn keys_must_be_32_bytes() {
        assert!(LedgerKey::from_slice(&[1; 32]).is_ok());
        assert!(matches!(
            LedgerKey::from_slice(&[1; 16]),
            Err(crate::Error::InvalidInput { .. })
        ));
        assert_eq!(
            LedgerKey::from_slice(&[1; 32]).unwrap().subject_digest("a"),
            LedgerKey::from_bytes([1; 32]).subject_digest("a")
        );
    }

    #[test]
    fn key_never_shows_in_debug() {
        let key = LedgerKey::from_bytes([0xAB; 32]);
        let shown = format!("{key:?}");
        assert!(!shown.contains("171") && !shown.to_lowercase().contains("ab"));
    }

    #[test]
    fn text_checks() {
        assert!(check_subject("alice@example.com").is_ok());
        assert!(check_subject("").is_err());
        assert!(check_subject("  ").is_err());
        assert!(check_subject("a\nb").is_err());
        assert!(check_subject(&"x".repeat(257)).is_err());
    }
}
