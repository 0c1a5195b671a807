use std::fmt;
use std::sync::Once;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken as jwt;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
    ThumbprintHash,
};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{KeyError, Result};

/// The JWS algorithms this crate signs and verifies with. `none` does not exist here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Algorithm {
    /// Ed25519 signatures (RFC 8037). The default: small, fast, deterministic.
    EdDSA,
    /// ECDSA on P-256 with SHA-256, for verifiers that lack Ed25519.
    ES256,
    /// HMAC-SHA256 with a shared secret. Only for a single trust domain: the secret verifies
    /// *and* signs, so it never appears in the JWKS.
    HS256,
}

impl Algorithm {
    /// The `alg` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
            Self::HS256 => "HS256",
        }
    }

    pub(crate) fn to_jwt(self) -> jwt::Algorithm {
        match self {
            Self::EdDSA => jwt::Algorithm::EdDSA,
            Self::ES256 => jwt::Algorithm::ES256,
            Self::HS256 => jwt::Algorithm::HS256,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// RFC 8410 PKCS#8 v1 prefix for an Ed25519 private key; the 32-byte seed follows. jsonwebtoken
/// derives the public JWK only from this exact 48-byte form, so every Ed25519 key is normalised
/// to it.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

const MIN_HMAC_SECRET: usize = 32;
const MAX_KID_LEN: usize = 64;

/// jsonwebtoken panics on first use if its crate features leave the crypto provider ambiguous
/// (both `rust_crypto` and `aws_lc_rs` enabled somewhere in the dependency graph). Installing
/// the RustCrypto provider up front makes that impossible; if the application installed a
/// provider first, that one stays.
fn ensure_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _already_installed = jwt::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    });
}

fn invalid(algorithm: Algorithm) -> KeyError {
    KeyError::InvalidKey {
        algorithm: algorithm.as_str(),
    }
}

/// A private key that signs access tokens, with its `kid` and pinned algorithm.
///
/// `Debug` shows only the `kid` and algorithm; the key material is zeroized on drop.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    algorithm: Algorithm,
    encoding: jwt::EncodingKey,
    verifying: VerifyingKey,
    /// PKCS#8 DER of asymmetric keys, kept for export.
    pkcs8: Option<Zeroizing<Vec<u8>>>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh random key. EdDSA and ES256 keys get their RFC 7638 JWK thumbprint as `kid`;
    /// HS256 keys get a random `kid` (a thumbprint of a secret would be a hash of the secret).
    pub fn generate(algorithm: Algorithm) -> Result<Self> {
        match algorithm {
            Algorithm::EdDSA => {
                let mut seed = Zeroizing::new([0u8; 32]);
                rand::rng().fill_bytes(seed.as_mut());
                Self::ed25519_from_seed(&seed)
            }
            Algorithm::ES256 => {
                // Rejection sampling: a random 32-byte string is a valid P-256 scalar unless it is
                // zero or above the group order, which happens with probability about 2^-32.
                let secret = loop {
                    let mut bytes = Zeroizing::new([0u8; 32]);
                    rand::rng().fill_bytes(bytes.as_mut());
                    if let Ok(secret) = p256::SecretKey::from_slice(bytes.as_ref()) {
                        break secret;
                    }
                };
                Self::es256_from_secret(&secret)
            }
            Algorithm::HS256 => {
                let mut secret = Zeroizing::new([0u8; 32]);
                rand::rng().fill_bytes(secret.as_mut());
                Self::hs256(secret.as_ref())
            }
        }
    }

    /// Loads an EdDSA (Ed25519) or ES256 (P-256) private key from PKCS#8 DER.
    pub fn from_pkcs8_der(algorithm: Algorithm, der: &[u8]) -> Result<Self> {
        match algorithm {
            Algorithm::EdDSA => {
                use ed25519_dalek::pkcs8::DecodePrivateKey as _;
                let key = ed25519_dalek::SigningKey::from_pkcs8_der(der)
                    .map_err(|_| invalid(algorithm))?;
                Self::ed25519_from_seed(&Zeroizing::new(key.to_bytes()))
            }
            Algorithm::ES256 => {
                use p256::pkcs8::DecodePrivateKey as _;
                let secret =
                    p256::SecretKey::from_pkcs8_der(der).map_err(|_| invalid(algorithm))?;
                Self::es256_from_secret(&secret)
            }
            Algorithm::HS256 => Err(invalid(algorithm).into()),
        }
    }

    /// Loads an EdDSA or ES256 private key from a PKCS#8 PEM document
    /// (`-----BEGIN PRIVATE KEY-----`, as written by `openssl genpkey`).
    pub fn from_pkcs8_pem(algorithm: Algorithm, pem: &str) -> Result<Self> {
        match algorithm {
            Algorithm::EdDSA => {
                use ed25519_dalek::pkcs8::DecodePrivateKey as _;
                let key = ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
                    .map_err(|_| invalid(algorithm))?;
                Self::ed25519_from_seed(&Zeroizing::new(key.to_bytes()))
            }
            Algorithm::ES256 => {
                use p256::pkcs8::DecodePrivateKey as _;
                let secret =
                    p256::SecretKey::from_pkcs8_pem(pem).map_err(|_| invalid(algorithm))?;
                Self::es256_from_secret(&secret)
            }
            Algorithm::HS256 => Err(invalid(algorithm).into()),
        }
    }

    /// An HS256 key from a shared secret of at least 32 bytes, with a random `kid`
    /// (set a stable one with [`with_kid`](Self::with_kid) when several processes share it).
    pub fn hs256(secret: &[u8]) -> Result<Self> {
        if secret.len() < MIN_HMAC_SECRET {
            return Err(KeyError::WeakSecret.into());
        }
        ensure_crypto_provider();
        let mut kid_bytes = [0u8; 12];
        rand::rng().fill_bytes(&mut kid_bytes);
        Ok(Self {
            kid: URL_SAFE_NO_PAD.encode(kid_bytes),
            algorithm: Algorithm::HS256,
            encoding: jwt::EncodingKey::from_secret(secret),
            verifying: VerifyingKey {
                kid: String::new(),
                algorithm: Algorithm::HS256,
                key: jwt::DecodingKey::from_secret(secret),
                jwk: None,
            },
            pkcs8: None,
        }
        .with_kid_unchecked())
    }

    /// Replaces the `kid` (1 to 64 characters from `[A-Za-z0-9._-]`).
    pub fn with_kid(mut self, kid: impl Into<String>) -> Result<Self> {
        let kid = kid.into();
        validate_kid(&kid)?;
        self.kid = kid;
        Ok(self.with_kid_unchecked())
    }

    /// The key id written to the JWT header and the JWKS.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key is pinned to.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The private key as PKCS#8 DER, to persist a generated key. HS256 secrets are not
    /// exportable ([`KeyError::NotExportable`]): the caller supplied them.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        self.pkcs8
            .clone()
            .ok_or_else(|| KeyError::NotExportable.into())
    }

    pub(crate) fn encoding_key(&self) -> &jwt::EncodingKey {
        &self.encoding
    }

    pub(crate) fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying
    }

    fn with_kid_unchecked(mut self) -> Self {
        self.verifying.kid.clone_from(&self.kid);
        if let Some(jwk) = self.verifying.jwk.as_mut() {
            jwk.common.key_id = Some(self.kid.clone());
        }
        self
    }

    fn ed25519_from_seed(seed: &Zeroizing<[u8; 32]>) -> Result<Self> {
        let mut der = Zeroizing::new(Vec::with_capacity(48));
        der.extend_from_slice(&ED25519_PKCS8_PREFIX);
        der.extend_from_slice(seed.as_ref());
        Self::from_normalised_der(Algorithm::EdDSA, der)
    }

    fn es256_from_secret(secret: &p256::SecretKey) -> Result<Self> {
        use p256::pkcs8::EncodePrivateKey as _;
        let doc = secret
            .to_pkcs8_der()
            .map_err(|_| invalid(Algorithm::ES256))?;
        Self::from_normalised_der(Algorithm::ES256, Zeroizing::new(doc.as_bytes().to_vec()))
    }

    fn from_normalised_der(algorithm: Algorithm, der: Zeroizing<Vec<u8>>) -> Result<Self> {
        ensure_crypto_provider();
        let encoding = match algorithm {
            Algorithm::EdDSA => jwt::EncodingKey::from_ed_der(&der),
            Algorithm::ES256 => jwt::EncodingKey::from_ec_der(&der),
            Algorithm::HS256 => return Err(invalid(algorithm).into()),
        };
        let jwk = Jwk::from_encoding_key(&encoding, algorithm.to_jwt())
            .map_err(|_| invalid(algorithm))?;
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|_| invalid(algorithm))?;
        let verifying = VerifyingKey::from_public_jwk(&jwk, algorithm, kid.clone())?;
        Ok(Self {
            kid,
            algorithm,
            encoding,
            verifying,
            pkcs8: Some(der),
        }
        .with_kid_unchecked())
    }
}

fn validate_kid(kid: &str) -> Result<()> {
    let ok = !kid.is_empty()
        && kid.len() <= MAX_KID_LEN
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(KeyError::InvalidKid.into())
    }
}

/// The verifying half of a key, with its pinned algorithm.
#[derive(Clone)]
pub(crate) struct VerifyingKey {
    pub(crate) kid: String,
    pub(crate) algorithm: Algorithm,
    pub(crate) key: jwt::DecodingKey,
    /// The public JWK; `None` for HS256, which is never published.
    jwk: Option<Jwk>,
}

impl VerifyingKey {
    fn from_public_jwk(jwk: &Jwk, algorithm: Algorithm, kid: String) -> Result<Self> {
        let key = jwt::DecodingKey::from_jwk(jwk).map_err(|_| invalid(algorithm))?;
        let mut jwk = jwk.clone();
        jwk.common = CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(match algorithm {
                Algorithm::EdDSA => KeyAlgorithm::EdDSA,
                Algorithm::ES256 => KeyAlgorithm::ES256,
                Algorithm::HS256 => KeyAlgorithm::HS256,
            }),
            key_id: Some(kid.clone()),
            ..CommonParameters::default()
        };
        Ok(Self {
            kid,
            algorithm,
            key,
            jwk: Some(jwk),
        })
    }

    /// Accepts only what this crate issues: Ed25519 OKP keys and P-256 EC keys, each with a
    /// `kid`, a 32-byte coordinate that decodes to a valid curve point, and an `alg` (if
    /// present) that matches the curve.
    fn from_published(jwk: &Jwk) -> Option<Self> {
        let kid = jwk.common.key_id.clone()?;
        validate_kid(&kid).ok()?;
        if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
            return None;
        }
        let (algorithm, expected_alg) = match &jwk.algorithm {
            AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                let x: [u8; 32] = URL_SAFE_NO_PAD.decode(&p.x).ok()?.try_into().ok()?;
                ed25519_dalek::VerifyingKey::from_bytes(&x).ok()?;
                (Algorithm::EdDSA, KeyAlgorithm::EdDSA)
            }
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                let x = URL_SAFE_NO_PAD.decode(&p.x).ok()?;
                let y = URL_SAFE_NO_PAD.decode(&p.y).ok()?;
                if x.len() != 32 || y.len() != 32 {
                    return None;
                }
                let mut sec1 = Vec::with_capacity(65);
                sec1.push(0x04);
                sec1.extend_from_slice(&x);
                sec1.extend_from_slice(&y);
                p256::PublicKey::from_sec1_bytes(&sec1).ok()?;
                (Algorithm::ES256, KeyAlgorithm::ES256)
            }
            _ => return None,
        };
        if matches!(jwk.common.key_algorithm, Some(alg) if alg != expected_alg) {
            return None;
        }
        Self::from_public_jwk(jwk, algorithm, kid).ok()
    }
}

/// The keys that sign and verify access tokens.
///
/// One key signs; every key in the ring verifies tokens whose header names its `kid` *and* its
/// algorithm. [`rotate`](Self::rotate) makes a new key the signer while the previous ones keep
/// verifying tokens already issued; [`retire`](Self::retire) removes a key once those tokens
/// have expired. [`jwks`](Self::jwks) publishes the public keys; [`from_jwks`](Self::from_jwks)
/// builds a verify-only ring for a resource server.
#[derive(Clone)]
pub struct KeyRing {
    signer: Option<SigningKey>,
    keys: Vec<VerifyingKey>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("signing_kid", &self.signer.as_ref().map(SigningKey::kid))
            .field(
                "kids",
                &self.keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl KeyRing {
    /// A ring whose only key is `signing`.
    pub fn new(signing: SigningKey) -> Self {
        Self {
            keys: vec![signing.verifying_key().clone()],
            signer: Some(signing),
        }
    }

    /// A ring with a freshly generated key for `algorithm`.
    pub fn generate(algorithm: Algorithm) -> Result<Self> {
        SigningKey::generate(algorithm).map(Self::new)
    }

    /// A verify-only ring from a published JWKS document (RFC 7517 `{"keys": [...]}`).
    ///
    /// Keys this crate cannot verify with (RSA, symmetric, other curves, encryption keys, keys
    /// without `kid`) are skipped; a document with no usable key is an error.
    pub fn from_jwks(json: &str) -> Result<Self> {
        ensure_crypto_provider();
        let set: JwkSet = serde_json::from_str(json).map_err(|_| KeyError::InvalidJwks)?;
        let mut ring = Self {
            signer: None,
            keys: Vec::new(),
        };
        for key in set.keys.iter().filter_map(VerifyingKey::from_published) {
            if ring.find(&key.kid).is_some() {
                return Err(KeyError::DuplicateKid.into());
            }
            ring.keys.push(key);
        }
        if ring.keys.is_empty() {
            return Err(KeyError::InvalidJwks.into());
        }
        Ok(ring)
    }

    /// Makes `next` the signing key. The previous signer keeps verifying until retired.
    pub fn rotate(&mut self, next: SigningKey) -> Result<()> {
        if self.find(next.kid()).is_some() {
            return Err(KeyError::DuplicateKid.into());
        }
        self.keys.push(next.verifying_key().clone());
        self.signer = Some(next);
        Ok(())
    }

    /// Stops accepting tokens signed by `kid`. The active signer cannot be retired.
    pub fn retire(&mut self, kid: &str) -> Result<()> {
        if self.signer.as_ref().is_some_and(|s| s.kid() == kid) {
            return Err(KeyError::RetireActive.into());
        }
        let before = self.keys.len();
        self.keys.retain(|k| k.kid != kid);
        if self.keys.len() == before {
            return Err(KeyError::UnknownKid.into());
        }
        Ok(())
    }

    /// The `kid` of the signing key, if this ring can sign.
    pub fn signing_kid(&self) -> Option<&str> {
        self.signer.as_ref().map(SigningKey::kid)
    }

    /// Every `kid` that currently verifies, signer included.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }

    /// The public keys as a JWKS JSON document, for `/.well-known/jwks.json`.
    /// HS256 secrets are never included.
    pub fn jwks(&self) -> String {
        let set = JwkSet {
            keys: self.keys.iter().filter_map(|k| k.jwk.clone()).collect(),
        };
        // Serialising plain strings and enums cannot fail.
        serde_json::to_string(&set).unwrap_or_else(|_| String::from(r#"{"keys":[]}"#))
    }

    pub(crate) fn signer(&self) -> Option<&SigningKey> {
        self.signer.as_ref()
    }

    pub(crate) fn find(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn generated_keys_have_thumbprint_kids_and_export() {
        for alg in [Algorithm::EdDSA, Algorithm::ES256] {
            let key = SigningKey::generate(alg).unwrap();
            assert_eq!(key.kid().len(), 43, "{alg}: SHA-256 thumbprint, base64url");
            let der = key.to_pkcs8_der().unwrap();
            let again = SigningKey::from_pkcs8_der(alg, &der).unwrap();
            assert_eq!(again.kid(), key.kid());
        }
        let hs = SigningKey::generate(Algorithm::HS256).unwrap();
        assert!(matches!(
            hs.to_pkcs8_der(),
            Err(Error::Key(KeyError::NotExportable))
        ));
    }

    #[test]
    fn debug_never_shows_key_material() {
        let secret = [0x41u8; 40];
        let key = SigningKey::hs256(&secret).unwrap();
        let text = format!("{key:?} {:?}", KeyRing::new(key.clone()));
        assert!(!text.contains("AAAA") && !text.contains("65, 65"), "{text}");
        let ed = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let der = ed.to_pkcs8_der().unwrap();
        let seed_b64 = URL_SAFE_NO_PAD.encode(&der[16..]);
        assert!(!format!("{ed:?}").contains(&seed_b64));
    }

    #[test]
    fn bad_key_material_is_a_typed_error() {
        assert!(matches!(
            SigningKey::from_pkcs8_der(Algorithm::EdDSA, b"not a key"),
            Err(Error::Key(KeyError::InvalidKey { algorithm: "EdDSA" }))
        ));
        assert!(matches!(
            SigningKey::from_pkcs8_pem(Algorithm::ES256, "-----BEGIN PRIVATE KEY-----\n"),
            Err(Error::Key(KeyError::InvalidKey { .. }))
        ));
        assert!(matches!(
            SigningKey::hs256(b"short"),
            Err(Error::Key(KeyError::WeakSecret))
        ));
        let ed = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let der = ed.to_pkcs8_der().unwrap();
        assert!(SigningKey::from_pkcs8_der(Algorithm::ES256, &der).is_err());
        for kid in ["", "has space", "quote\"", &"k".repeat(65)] {
            assert!(matches!(
                ed.clone().with_kid(kid),
                Err(Error::Key(KeyError::InvalidKid))
            ));
        }
    }

    #[test]
    fn rotation_and_retirement_rules() {
        let first = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let second = SigningKey::generate(Algorithm::ES256).unwrap();
        let (k1, k2) = (first.kid().to_owned(), second.kid().to_owned());
        let mut ring = KeyRing::new(first.clone());
        assert!(matches!(
            ring.rotate(first),
            Err(Error::Key(KeyError::DuplicateKid))
        ));
        ring.rotate(second).unwrap();
        assert_eq!(ring.signing_kid(), Some(k2.as_str()));
        assert_eq!(ring.kids().count(), 2);
        assert!(matches!(
            ring.retire(&k2),
            Err(Error::Key(KeyError::RetireActive))
        ));
        ring.retire(&k1).unwrap();
        assert!(matches!(
            ring.retire(&k1),
            Err(Error::Key(KeyError::UnknownKid))
        ));
        assert_eq!(ring.kids().collect::<Vec<_>>(), vec![k2.as_str()]);
    }

    #[test]
    fn jwks_round_trips_and_omits_secrets() {
        let mut ring = KeyRing::generate(Algorithm::HS256).unwrap();
        ring.rotate(SigningKey::generate(Algorithm::EdDSA).unwrap())
            .unwrap();
        ring.rotate(SigningKey::generate(Algorithm::ES256).unwrap())
            .unwrap();
        let jwks = ring.jwks();
        let doc: serde_json::Value = serde_json::from_str(&jwks).unwrap();
        let keys = doc["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2, "{jwks}");
        assert!(
            keys.iter()
                .all(|k| k["kty"] != "oct" && k.get("d").is_none())
        );
        assert!(
            keys.iter()
                .all(|k| k["use"] == "sig" && k["kid"].is_string())
        );
        let public = KeyRing::from_jwks(&jwks).unwrap();
        assert_eq!(public.kids().count(), 2);
        assert!(public.signing_kid().is_none());
    }

    #[test]
    fn from_jwks_rejects_junk_and_skips_unusable_keys() {
        for junk in [
            "",
            "{",
            "[]",
            r#"{"keys":[]}"#,
            r#"{"keys":[{"kty":"oct","k":"AAAA","kid":"a"}]}"#,
        ] {
            assert!(KeyRing::from_jwks(junk).is_err(), "{junk}");
        }
        // x is not 32 bytes: skipped, leaving nothing usable.
        let short = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"a"}]}"#;
        assert!(matches!(
            KeyRing::from_jwks(short),
            Err(Error::Key(KeyError::InvalidJwks))
        ));
        // alg contradicting the curve: skipped.
        let ed = KeyRing::generate(Algorithm::EdDSA).unwrap();
        let lying = ed.jwks().replace(r#""alg":"EdDSA""#, r#""alg":"ES256""#);
        assert!(KeyRing::from_jwks(&lying).is_err(), "{lying}");
    }
}
