use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// 128 random bits, base64url: 22 characters.
const ID_LEN: usize = 22;

/// A fresh 128-bit random identifier (used for `jti` and session ids).
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A session's identifier: 128 random bits, base64url-encoded (22 characters).
///
/// It is the `sid` claim of access tokens and names the refresh-token family of the session.
/// It is not a secret (it appears in access tokens), but it is unguessable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SessionId(String);

impl SessionId {
    /// A new random session id.
    pub fn generate() -> Self {
        Self(random_id())
    }

    /// Parses a session id, for example the `sid` claim or a path segment.
    pub fn parse(s: &str) -> Result<Self> {
        let well_formed = s.len() == ID_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && URL_SAFE_NO_PAD.decode(s).is_ok_and(|b| b.len() == 16);
        if well_formed {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::input(
                "session id",
                "must be 22 base64url characters",
            ))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for SessionId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<String> for SessionId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<SessionId> for String {
    fn from(id: SessionId) -> Self {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_and_junk_does_not() {
        let id = SessionId::generate();
        assert_eq!(SessionId::parse(id.as_str()).unwrap(), id);
        assert_ne!(SessionId::generate(), id);
        for junk in [
            "",
            "short",
            "!!!!!!!!!!!!!!!!!!!!!!",
            &"A".repeat(23),
            "AAAAAAAAAAAAAAAAAAAAA_",
        ] {
            assert!(
                matches!(SessionId::parse(junk), Err(Error::InvalidInput { .. })),
                "{junk}"
            );
        }
    }
}
