use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::algorithm::{MAC_LEN, MacBytes, truncate};
use crate::{Algorithm, Error, KeyId, Result};

/// The format version written at the front of every signature string.
const VERSION: &str = "sr1";

/// A detached signature: which algorithm and key made it, and the MAC itself.
///
/// Its string form is self-describing and safe to store next to the file, in a database column
/// or an HTTP header:
///
/// ```text
/// sr1:hmac-sha256:2026-07:3q2-7w...    (version : algorithm : key id : base64url MAC)
/// ```
///
/// The MAC is exactly what a standard HMAC-SHA256 over the file's bytes with the same key gives,
/// so any HMAC implementation can check it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    algorithm: Algorithm,
    kid: KeyId,
    mac: MacBytes,
}

impl Signature {
    pub(crate) fn new(algorithm: Algorithm, kid: KeyId, mac: MacBytes) -> Self {
        Signature {
            algorithm,
            kid,
            mac,
        }
    }

    /// The algorithm that produced the MAC.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The id of the key that produced the MAC.
    pub fn kid(&self) -> &KeyId {
        &self.kid
    }

    /// The raw MAC bytes.
    pub fn mac(&self) -> &[u8; 32] {
        &self.mac
    }

    /// The MAC in lowercase hexadecimal, as `openssl dgst` prints it.
    pub fn mac_hex(&self) -> String {
        hex::encode(self.mac)
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{VERSION}:{}:{}:{}",
            self.algorithm,
            self.kid,
            URL_SAFE_NO_PAD.encode(self.mac)
        )
    }
}

impl FromStr for Signature {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let mut parts = s.split(':');
        let (Some(version), Some(algorithm), Some(kid), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(Error::malformed(
                "signature",
                "expected four `:`-separated parts: version:algorithm:key-id:mac",
            ));
        };
        if version != VERSION {
            return Err(Error::UnknownVersion {
                version: truncate(version),
            });
        }
        let algorithm = algorithm.parse()?;
        let kid = KeyId::new(kid)?;
        let mac = decode_mac(mac)?;
        Ok(Signature {
            algorithm,
            kid,
            mac,
        })
    }
}

impl serde::Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

pub(crate) fn decode_mac(text: &str) -> Result<MacBytes> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| Error::MalformedMac {
            reason: format!("not unpadded base64url: {e}"),
        })?;
    <MacBytes>::try_from(bytes.as_slice()).map_err(|_| Error::MalformedMac {
        reason: format!("expected {MAC_LEN} bytes, found {}", bytes.len()),
    })
}

pub(crate) fn encode_mac(mac: &MacBytes) -> String {
    URL_SAFE_NO_PAD.encode(mac)
}
