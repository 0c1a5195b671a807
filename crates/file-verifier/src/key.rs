use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::algorithm::truncate;
use crate::{Algorithm, Error, Result};

/// Secret key material for signing and verifying.
///
/// Keys are 32 to 1024 bytes (32 is what [`SecretKey::generate`] makes; shorter keys are refused
/// because they weaken HMAC below its 256-bit design strength). The bytes are wiped from memory
/// when the key is dropped, and `Debug` shows only the length.
#[derive(Clone)]
pub struct SecretKey {
    bytes: Zeroizing<Vec<u8>>,
}

impl SecretKey {
    /// The shortest key accepted, in bytes.
    pub const MIN_LEN: usize = 32;
    /// The longest key accepted, in bytes.
    pub const MAX_LEN: usize = 1024;

    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < Self::MIN_LEN {
            return Err(Error::InvalidKey {
                reason: format!(
                    "{} bytes is too short; keys need at least {} bytes",
                    bytes.len(),
                    Self::MIN_LEN
                ),
            });
        }
        if bytes.len() > Self::MAX_LEN {
            return Err(Error::InvalidKey {
                reason: format!(
                    "{} bytes is too long; keys may have at most {} bytes",
                    bytes.len(),
                    Self::MAX_LEN
                ),
            });
        }
        Ok(SecretKey {
            bytes: Zeroizing::new(bytes.to_vec()),
        })
    }

    /// Parses a key written in hexadecimal (the form `openssl dgst -macopt hexkey:` takes).
    pub fn from_hex(text: &str) -> Result<Self> {
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|e| Error::InvalidKey {
            reason: format!("not valid hexadecimal: {e}"),
        })?);
        Self::from_bytes(&bytes)
    }

    /// Parses a key written in base64 (standard or URL-safe alphabet, padded or not).
    pub fn from_base64(text: &str) -> Result<Self> {
        let text = text.trim();
        let engines = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        for engine in engines {
            if let Ok(bytes) = engine.decode(text) {
                return Self::from_bytes(&Zeroizing::new(bytes));
            }
        }
        Err(Error::InvalidKey {
            reason: "not valid base64".into(),
        })
    }

    /// Reads a key file: hexadecimal text, or `base64:` followed by base64 text, surrounding
    /// whitespace ignored. On Unix the file must not be accessible by group or others.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        check_key_file_permissions(path)?;
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?);
        let text = text.trim();
        match text.strip_prefix("base64:") {
            Some(encoded) => Self::from_base64(encoded),
            None => Self::from_hex(text),
        }
    }

    /// Generates a new random 32-byte key from the operating system's generator.
    pub fn generate() -> Result<Self> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut()).map_err(|e| Error::InvalidKey {
            reason: format!("the operating system's random generator failed: {e}"),
        })?;
        Self::from_bytes(bytes.as_ref())
    }

    /// The key in hexadecimal, for writing a key file. Handle the result as a secret.
    pub fn expose_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.bytes.as_slice()))
    }

    /// Length of the key in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false: an empty key cannot be constructed. Present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

#[cfg(unix)]
fn check_key_file_permissions(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::KeyFilePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_key_file_permissions(_path: &Path) -> Result<()> {
    Ok(())
}

/// The name of a key, carried in every signature so the verifier picks the right key.
///
/// 1 to 64 characters from `A-Z a-z 0-9 . _ -`, so it can never collide with the `:` separator
/// of signature strings nor smuggle control characters into logs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Validates and wraps a key id.
    pub fn new(kid: impl Into<String>) -> Result<Self> {
        let kid = kid.into();
        let valid = !kid.is_empty()
            && kid.len() <= 64
            && kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if valid {
            Ok(KeyId(kid))
        } else {
            Err(Error::InvalidKeyId {
                kid: truncate(&kid),
            })
        }
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for KeyId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        KeyId::new(s)
    }
}

impl AsRef<str> for KeyId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The set of keys a signer and verifier use: one active signing key, older keys kept to verify.
///
/// Rotation is: [`KeyRing::insert_signing_key`] with a new id (the previous signer becomes
/// verify-only), re-sign at leisure, then [`KeyRing::remove`] the old key once nothing signed by
/// it remains.
///
/// ```
/// use strongroom_file_verifier::{KeyRing, SecretKey};
///
/// let mut ring = KeyRing::new();
/// ring.insert_signing_key("2026-01", SecretKey::generate()?)?;
/// let old = ring.sign(b"report.pdf contents")?;
///
/// ring.insert_signing_key("2026-07", SecretKey::generate()?)?;
/// let new = ring.sign(b"report.pdf contents")?;
///
/// assert_eq!(old.kid().as_str(), "2026-01");
/// assert_eq!(new.kid().as_str(), "2026-07");
/// ring.verify(b"report.pdf contents", &old)?; // retired keys still verify
/// # Ok::<(), strongroom_file_verifier::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct KeyRing {
    keys: BTreeMap<KeyId, SecretKey>,
    signer: Option<KeyId>,
    algorithm: Algorithm,
}

impl KeyRing {
    /// An empty key ring signing with [`Algorithm::HmacSha256`].
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty key ring signing with `algorithm`. Verification follows the algorithm each
    /// signature names, so a ring can verify both while it migrates.
    pub fn with_algorithm(algorithm: Algorithm) -> Self {
        KeyRing {
            algorithm,
            ..Self::default()
        }
    }

    /// The algorithm new signatures use.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Adds `key` under `kid` and makes it the signing key; the previous signing key stays
    /// available for verification.
    pub fn insert_signing_key(&mut self, kid: impl AsRef<str>, key: SecretKey) -> Result<()> {
        let kid = self.insert(kid.as_ref(), key)?;
        self.signer = Some(kid);
        Ok(())
    }

    /// Adds `key` under `kid` for verification only.
    pub fn insert_verify_key(&mut self, kid: impl AsRef<str>, key: SecretKey) -> Result<()> {
        self.insert(kid.as_ref(), key).map(drop)
    }

    fn insert(&mut self, kid: &str, key: SecretKey) -> Result<KeyId> {
        let kid = KeyId::new(kid)?;
        if self.algorithm == Algorithm::Blake3Keyed && key.len() != 32 {
            return Err(Error::InvalidKey {
                reason: format!(
                    "blake3-keyed needs a key of exactly 32 bytes, this one has {}",
                    key.len()
                ),
            });
        }
        if self.keys.contains_key(&kid) {
            return Err(Error::DuplicateKeyId { kid: kid.0 });
        }
        self.keys.insert(kid.clone(), key);
        Ok(kid)
    }

    /// Stops signing with `kid`; it still verifies. Afterwards the ring has no signing key until
    /// another is inserted.
    pub fn retire(&mut self, kid: &str) -> Result<()> {
        let kid = KeyId::new(kid)?;
        if !self.keys.contains_key(&kid) {
            return Err(Error::UnknownKeyId { kid: kid.0 });
        }
        if self.signer.as_ref() == Some(&kid) {
            self.signer = None;
        }
        Ok(())
    }

    /// Removes `kid` entirely: signatures made with it no longer verify. Returns whether it was
    /// present.
    pub fn remove(&mut self, kid: &str) -> bool {
        let Ok(kid) = KeyId::new(kid) else {
            return false;
        };
        if self.signer.as_ref() == Some(&kid) {
            self.signer = None;
        }
        self.keys.remove(&kid).is_some()
    }

    /// The id of the key new signatures use, if any.
    pub fn signing_kid(&self) -> Option<&KeyId> {
        self.signer.as_ref()
    }

    /// The ids of every key in the ring, signing and verify-only, sorted.
    pub fn kids(&self) -> impl Iterator<Item = &KeyId> {
        self.keys.keys()
    }

    pub(crate) fn signing_key(&self) -> Result<(&KeyId, &SecretKey)> {
        let kid = self.signer.as_ref().ok_or(Error::NoSigningKey)?;
        Ok((kid, &self.keys[kid]))
    }

    pub(crate) fn key(&self, kid: &KeyId) -> Result<&SecretKey> {
        self.keys
            .get(kid)
            .ok_or_else(|| Error::UnknownKeyId { kid: kid.0.clone() })
    }
}
