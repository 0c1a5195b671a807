use std::collections::HashMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use jiff::Timestamp;
use sha2::{Digest as _, Sha256};

use crate::{ChainId, Digest, Error, Result};

/// What a signed [`Checkpoint`] vouches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckpointKind {
    /// "Record `seq` of this chain has hash `head`": taken periodically; lets
    /// [`AuditLog::verify`](crate::AuditLog::verify) notice a rewritten or truncated chain.
    Checkpoint,
    /// "Records up to `seq` were deleted by retention; the next record links to `head`": the new
    /// start of the chain after [`AuditLog::delete_before`](crate::AuditLog::delete_before).
    Anchor,
    /// "The chain's newest record is `seq` with hash `head`": the signature kept with the chain's
    /// head, renewed by every append. Kind-separated so a head cannot pass for a checkpoint.
    Head,
}

impl CheckpointKind {
    fn domain(self) -> &'static [u8] {
        match self {
            CheckpointKind::Checkpoint => b"strongroom-audit/checkpoint/v1\0",
            CheckpointKind::Anchor => b"strongroom-audit/anchor/v1\0",
            CheckpointKind::Head => b"strongroom-audit/head/v1\0",
        }
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CheckpointKind::Checkpoint => "checkpoint",
            CheckpointKind::Anchor => "anchor",
            CheckpointKind::Head => "head",
        }
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn parse(s: &str) -> Result<CheckpointKind> {
        match s {
            "checkpoint" => Ok(CheckpointKind::Checkpoint),
            "anchor" => Ok(CheckpointKind::Anchor),
            "head" => Ok(CheckpointKind::Head),
            _ => Err(Error::malformed("checkpoint kind", s)),
        }
    }
}

/// A signed statement about a chain's head at a point in time (RFC 6962's signed tree head, for a
/// hash chain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Which chain.
    pub chain: ChainId,
    /// Checkpoint or retention anchor.
    pub kind: CheckpointKind,
    /// Sequence number of the record vouched for (the number of records appended up to it).
    pub seq: u64,
    /// Hash of that record (the genesis digest when `seq` is 0).
    pub head: Digest,
    /// When it was signed.
    pub time: Timestamp,
    /// Which key signed it (see [`CheckpointSigner::key_id`]).
    pub key_id: String,
    /// Ed25519 signature over the fields above.
    pub signature: [u8; 64],
}

impl Checkpoint {
    /// The chain position this vouches for.
    pub fn as_head(&self) -> crate::ChainHead {
        crate::ChainHead {
            seq: self.seq,
            hash: self.head,
        }
    }

    fn message(
        chain: &ChainId,
        kind: CheckpointKind,
        seq: u64,
        head: &Digest,
        time: Timestamp,
    ) -> Vec<u8> {
        let mut m = Vec::with_capacity(96 + chain.as_str().len());
        m.extend_from_slice(kind.domain());
        m.extend_from_slice(&(chain.as_str().len() as u16).to_be_bytes());
        m.extend_from_slice(chain.as_str().as_bytes());
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(&head.0);
        m.extend_from_slice(&time.as_microsecond().to_be_bytes());
        m
    }
}

/// Signs checkpoints with an Ed25519 key.
///
/// Ed25519 rather than HMAC: an auditor (or a customer) can check checkpoints with the public key
/// alone, without holding a secret that would also let them forge checkpoints, the same reason
/// Certificate Transparency signs tree heads and CloudTrail signs digest files asymmetrically.
pub struct CheckpointSigner {
    key: SigningKey,
    key_id: String,
}

impl CheckpointSigner {
    /// A new random key.
    pub fn generate() -> CheckpointSigner {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        rand::fill(&mut seed[..]);
        CheckpointSigner::from_seed(&seed)
    }

    /// The key from its 32-byte secret seed (keep the seed in a secret store).
    pub fn from_seed(seed: &[u8; 32]) -> CheckpointSigner {
        let key = SigningKey::from_bytes(seed);
        let key_id = key_id(&key.verifying_key());
        CheckpointSigner { key, key_id }
    }

    /// The key from its base64 seed, as stored in configuration.
    pub fn from_base64_seed(seed: &str) -> Result<CheckpointSigner> {
        let bytes = zeroize::Zeroizing::new(
            STANDARD
                .decode(seed.trim())
                .map_err(|_| Error::invalid("signing key", "not base64"))?,
        );
        let seed: &[u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| Error::invalid("signing key", "seed must be 32 bytes"))?;
        Ok(CheckpointSigner::from_seed(seed))
    }

    /// Short id of this key: hex of the first 8 bytes of SHA-256 of the public key.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The 32-byte public key, for [`CheckpointVerifier::with_key`].
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// A verifier that trusts this key.
    pub fn verifier(&self) -> CheckpointVerifier {
        let mut v = CheckpointVerifier::default();
        v.keys.insert(self.key_id.clone(), self.key.verifying_key());
        v
    }

    /// Signs a statement about `chain`.
    pub fn sign(
        &self,
        chain: &ChainId,
        kind: CheckpointKind,
        seq: u64,
        head: Digest,
        time: Timestamp,
    ) -> Checkpoint {
        let time = crate::clock::truncate(time);
        let signature = self
            .key
            .sign(&Checkpoint::message(chain, kind, seq, &head, time))
            .to_bytes();
        Checkpoint {
            chain: chain.clone(),
            kind,
            seq,
            head,
            time,
            key_id: self.key_id.clone(),
            signature,
        }
    }
}

impl fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckpointSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// The set of public keys whose checkpoints are trusted (several, so keys can be rotated while old
/// checkpoints still verify).
#[derive(Debug, Clone, Default)]
pub struct CheckpointVerifier {
    keys: HashMap<String, VerifyingKey>,
}

impl CheckpointVerifier {
    /// Adds a trusted 32-byte Ed25519 public key.
    pub fn with_key(mut self, public_key: &[u8; 32]) -> Result<CheckpointVerifier> {
        let key = VerifyingKey::from_bytes(public_key)
            .map_err(|_| Error::invalid("public key", "not a valid Ed25519 point"))?;
        self.keys.insert(key_id(&key), key);
        Ok(self)
    }

    /// Whether `checkpoint` carries a valid signature by a trusted key.
    pub fn verify(&self, checkpoint: &Checkpoint) -> bool {
        let Some(key) = self.keys.get(&checkpoint.key_id) else {
            return false;
        };
        let message = Checkpoint::message(
            &checkpoint.chain,
            checkpoint.kind,
            checkpoint.seq,
            &checkpoint.head,
            checkpoint.time,
        );
        key.verify_strict(&message, &Signature::from_bytes(&checkpoint.signature))
            .is_ok()
    }
}

fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_bind_every_field() {
        let signer = CheckpointSigner::from_seed(&[7; 32]);
        let chain = ChainId::new("t1").unwrap();
        let time = Timestamp::from_second(1_800_000_000).unwrap();
        let cp = signer.sign(&chain, CheckpointKind::Checkpoint, 5, Digest([1; 32]), time);
        let verifier = signer.verifier();
        assert!(verifier.verify(&cp));
        let mut as_anchor = cp.clone();
        as_anchor.kind = CheckpointKind::Anchor;
        assert!(!verifier.verify(&as_anchor));
        let mut other_seq = cp.clone();
        other_seq.seq = 6;
        assert!(!verifier.verify(&other_seq));
        let mut other_chain = cp.clone();
        other_chain.chain = ChainId::new("t2").unwrap();
        assert!(!verifier.verify(&other_chain));
        let stranger = CheckpointSigner::from_seed(&[8; 32]);
        assert!(!stranger.verifier().verify(&cp));
        let both = stranger.verifier().with_key(&signer.public_key()).unwrap();
        assert!(both.verify(&cp));
        assert!(!format!("{signer:?}").contains("7, 7"));
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(matches!(
            CheckpointSigner::from_base64_seed("!!"),
            Err(Error::Invalid { .. })
        ));
        assert!(matches!(
            CheckpointSigner::from_base64_seed("AAAA"),
            Err(Error::Invalid { .. })
        ));
        let seed = STANDARD.encode([9u8; 32]);
        assert_eq!(
            CheckpointSigner::from_base64_seed(&seed)
                .unwrap()
                .public_key(),
            CheckpointSigner::from_seed(&[9; 32]).public_key()
        );
    }
}
