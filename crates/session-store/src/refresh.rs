//! The opaque refresh-token format and the only operations on its secret.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Every refresh token starts with this, so secret scanners and humans recognise it.
pub const REFRESH_TOKEN_PREFIX: &str = "srt_";
const SECRET_LEN: usize = 32;
/// `srt_` + 43 base64url characters (256 bits).
const TOKEN_LEN: usize = 4 + 43;
const SUCCESSOR_PAD_LABEL: &[u8] = b"strongroom-session-store/successor-pad/v1";

/// An opaque refresh token: `srt_` followed by 256 random bits in base64url.
///
/// `Debug` does not print it. The store only ever sees its SHA-256 ([`TokenHash`]).
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(Zeroizing<String>);

impl RefreshToken {
    /// The token text to hand to the client.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken([redacted])")
    }
}

/// SHA-256 of a refresh token: what stores keep and index instead of the token.
///
/// A plain hash suffices (no salt, no slow KDF) because the token has 256 bits of entropy; an
/// index lookup by hash leaks nothing useful through timing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Wraps 32 bytes read back from storage.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw hash, for storage.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub(crate) fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    pub(crate) fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TokenHash({:02x}{:02x}{:02x}{:02x}..)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

/// The successor of a rotated token, encrypted so that only a holder of the rotated token can
/// read it back. This is what lets a racing retry inside the grace window receive the *same*
/// successor although the store holds no token in the clear.
///
/// It is a one-time pad: `successor XOR HMAC-SHA256(predecessor secret, label)`. Each
/// predecessor seals exactly one successor, so the pad is never reused; the store knows only
/// `SHA-256(predecessor)`, from which the pad cannot be derived.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SealedSuccessor([u8; 32]);

impl SealedSuccessor {
    /// Wraps 32 bytes read back from storage.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The sealed bytes, for storage.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SealedSuccessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedSuccessor(..)")
    }
}

/// A token's secret bytes, parsed from its text.
pub(crate) struct Secret(Zeroizing<[u8; SECRET_LEN]>);

impl Secret {
    pub(crate) fn generate() -> (Self, RefreshToken) {
        let mut bytes = Zeroizing::new([0u8; SECRET_LEN]);
        rand::rng().fill_bytes(bytes.as_mut());
        let secret = Self(bytes);
        let token = secret.to_token();
        (secret, token)
    }

    /// Shape check before any store access: prefix, length, alphabet, canonical base64url.
    pub(crate) fn parse(token: &str) -> Result<Self> {
        let body = token
            .strip_prefix(REFRESH_TOKEN_PREFIX)
            .filter(|_| token.len() == TOKEN_LEN)
            .ok_or(Error::InvalidRefreshToken)?;
        let decoded = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(body)
                .map_err(|_| Error::InvalidRefreshToken)?,
        );
        let bytes: [u8; SECRET_LEN] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| Error::InvalidRefreshToken)?;
        Ok(Self(Zeroizing::new(bytes)))
    }

    pub(crate) fn to_token(&self) -> RefreshToken {
        let mut text = Zeroizing::new(String::with_capacity(TOKEN_LEN));
        text.push_str(REFRESH_TOKEN_PREFIX);
        URL_SAFE_NO_PAD.encode_string(self.0.as_ref(), &mut text);
        RefreshToken(text)
    }

    fn pad(&self) -> Zeroizing<[u8; 32]> {
        let mut mac = <Hmac<Sha256>>::new_from_slice(self.0.as_ref())
            .expect("HMAC accepts keys of any length");
        mac.update(SUCCESSOR_PAD_LABEL);
        Zeroizing::new(mac.finalize().into_bytes().into())
    }

    /// Seals `successor` under a pad only this (predecessor) secret can derive.
    pub(crate) fn seal(&self, successor: &Self) -> SealedSuccessor {
        let pad = self.pad();
        let mut out = [0u8; 32];
        for (o, (p, s)) in out.iter_mut().zip(pad.iter().zip(successor.0.iter())) {
            *o = p ^ s;
        }
        SealedSuccessor(out)
    }

    /// Recovers the successor and checks it against its stored hash in constant time.
    pub(crate) fn open(
        &self,
        sealed: &SealedSuccessor,
        expected: &TokenHash,
    ) -> Option<RefreshToken> {
        let pad = self.pad();
        let mut bytes = Zeroizing::new([0u8; SECRET_LEN]);
        for (b, (p, s)) in bytes.iter_mut().zip(pad.iter().zip(sealed.0.iter())) {
            *b = p ^ s;
        }
        let token = Self(bytes).to_token();
        TokenHash::of(token.as_str())
            .ct_eq(expected)
            .then_some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_prefix_length_and_parse_back() {
        let (secret, token) = Secret::generate();
        assert!(token.as_str().starts_with("srt_"));
        assert_eq!(token.as_str().len(), TOKEN_LEN);
        let parsed = Secret::parse(token.as_str()).unwrap();
        assert_eq!(*parsed.0, *secret.0);
        assert!(!format!("{token:?}").contains(&token.as_str()[4..]));
    }

    #[test]
    fn malformed_tokens_are_rejected_without_panicking() {
        let (_, token) = Secret::generate();
        let t = token.as_str();
        let cases = [
            String::new(),
            "srt_".into(),
            t[4..].to_owned(),
            format!("xrt_{}", &t[4..]),
            format!("{t}A"),
            t[..t.len() - 1].to_owned(),
            format!("srt_{}", "!".repeat(43)),
            format!("srt_{}é", &t[4..t.len() - 2]),
        ];
        for case in cases {
            assert!(
                matches!(Secret::parse(&case), Err(Error::InvalidRefreshToken)),
                "{case:?}"
            );
        }
    }

    #[test]
    fn sealed_successor_opens_only_with_the_predecessor() {
        let (old, _) = Secret::generate();
        let (next, next_token) = Secret::generate();
        let expected = TokenHash::of(next_token.as_str());
        let sealed = old.seal(&next);
        assert_eq!(old.open(&sealed, &expected).unwrap(), next_token);
        let (stranger, _) = Secret::generate();
        assert!(stranger.open(&sealed, &expected).is_none());
        let mut tampered = *sealed.as_bytes();
        tampered[0] ^= 1;
        assert!(
            old.open(&SealedSuccessor::from_bytes(tampered), &expected)
                .is_none()
        );
    }

    #[test]
    fn hash_is_sha256_of_the_token_text() {
        let h = TokenHash::of("srt_x");
        assert_eq!(h.as_bytes().as_slice(), Sha256::digest(b"srt_x").as_slice());
        assert!(h.ct_eq(&TokenHash::of("srt_x")) && !h.ct_eq(&TokenHash::of("srt_y")));
    }
}
