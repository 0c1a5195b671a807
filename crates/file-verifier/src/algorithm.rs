use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result, SecretKey};

/// Length in bytes of every MAC and digest this crate produces.
pub(crate) const MAC_LEN: usize = 32;

/// A MAC value.
pub(crate) type MacBytes = [u8; MAC_LEN];

/// The keyed algorithm behind a signature.
///
/// Both produce 32-byte tags. HMAC-SHA256 is the default because every platform can check it
/// (`openssl dgst -sha256 -mac HMAC`, Python's `hmac`, Node's `crypto.createHmac`); BLAKE3 in keyed
/// mode is faster on CPUs without SHA extensions and uses the 32-byte key as is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC (RFC 2104) over SHA-256: interoperates with any standard HMAC-SHA256.
    #[default]
    HmacSha256,
    /// BLAKE3 in keyed-hash mode; needs a key of exactly 32 bytes.
    Blake3Keyed,
}

impl Algorithm {
    /// The name used in signature strings, chunk maps and manifests.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::Blake3Keyed => "blake3-keyed",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "hmac-sha256" => Ok(Algorithm::HmacSha256),
            "blake3-keyed" => Ok(Algorithm::Blake3Keyed),
            other => Err(Error::UnknownAlgorithm {
                algorithm: truncate(other),
            }),
        }
    }
}

/// Keeps error messages bounded when the input is hostile.
pub(crate) fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

/// An incremental keyed MAC.
pub(crate) enum MacState {
    HmacSha256(Box<Hmac<Sha256>>),
    Blake3(Box<blake3::Hasher>),
}

impl MacState {
    pub(crate) fn new(algorithm: Algorithm, key: &SecretKey) -> Result<Self> {
        match algorithm {
            Algorithm::HmacSha256 => {
                let mac = Hmac::<Sha256>::new_from_slice(key.expose()).map_err(|_| {
                    Error::InvalidKey {
                        reason: "HMAC-SHA256 rejected the key".into(),
                    }
                })?;
                Ok(MacState::HmacSha256(Box::new(mac)))
            }
            Algorithm::Blake3Keyed => {
                let bytes: &[u8; 32] = key.expose().try_into().map_err(|_| Error::InvalidKey {
                    reason: format!(
                        "blake3-keyed needs a key of exactly 32 bytes, this one has {}",
                        key.len()
                    ),
                })?;
                Ok(MacState::Blake3(Box::new(blake3::Hasher::new_keyed(bytes))))
            }
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            MacState::HmacSha256(mac) => mac.update(data),
            MacState::Blake3(hasher) => {
                hasher.update(data);
            }
        }
    }

    pub(crate) fn finalize(self) -> MacBytes {
        match self {
            MacState::HmacSha256(mac) => {
                let mut out = [0u8; MAC_LEN];
                out.copy_from_slice(&mac.finalize().into_bytes());
                out
            }
            MacState::Blake3(hasher) => *hasher.finalize().as_bytes(),
        }
    }
}

/// An incremental unkeyed digest, used for manifest entries (the manifest's own MAC
/// authenticates them, so a per-file key would add cost and no security).
pub(crate) enum DigestState {
    Sha256(Box<Sha256>),
    Blake3(Box<blake3::Hasher>),
}

impl DigestState {
    pub(crate) fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::HmacSha256 => DigestState::Sha256(Box::new(Sha256::new())),
            Algorithm::Blake3Keyed => DigestState::Blake3(Box::new(blake3::Hasher::new())),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            DigestState::Sha256(h) => h.update(data),
            DigestState::Blake3(h) => {
                h.update(data);
            }
        }
    }

    pub(crate) fn finalize(self) -> MacBytes {
        match self {
            DigestState::Sha256(h) => {
                let mut out = [0u8; MAC_LEN];
                out.copy_from_slice(&h.finalize());
                out
            }
            DigestState::Blake3(h) => *h.finalize().as_bytes(),
        }
    }
}

/// Compares two MACs in time independent of where they differ.
pub(crate) fn macs_equal(a: &MacBytes, b: &MacBytes) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}
