use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::{AuditEvent, Error, Result};

const RECORD_DOMAIN: &[u8] = b"strongroom-audit/record/v1\0";
const GENESIS_DOMAIN: &[u8] = b"strongroom-audit/genesis/v1\0";
const MAX_CHAIN_CHARS: usize = 128;

/// A SHA-256 digest in the hash chain.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Digest> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out)
            .map_err(|_| Error::invalid("digest", "expected 64 hex digits"))?;
        Ok(Digest(out))
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn from_slice(bytes: &[u8]) -> Result<Digest> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::malformed("stored digest", "not 32 bytes"))?;
        Ok(Digest(arr))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The name of one hash chain (for example one per tenant). Several chains share a store; appends
/// are serialized per chain, never across chains.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainId(String);

impl ChainId {
    /// 1 to 128 ASCII letters, digits, `-`, `_`, `.` or `:`.
    pub fn new(name: impl Into<String>) -> Result<ChainId> {
        let name = name.into();
        let ok = !name.is_empty()
            && name.len() <= MAX_CHAIN_CHARS
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        if !ok {
            return Err(Error::invalid(
                "chain id",
                "must be 1 to 128 of [A-Za-z0-9._:-]",
            ));
        }
        Ok(ChainId(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `prev_hash` of the first record ever appended to this chain: binds the chain to its name
    /// so records cannot be moved between chains unnoticed.
    pub fn genesis(&self) -> Digest {
        let mut h = Sha256::new();
        h.update(GENESIS_DOMAIN);
        h.update(self.0.as_bytes());
        Digest(h.finalize().into())
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The newest position of a chain: `seq` records have ever been appended (0 for a new chain) and
/// `hash` is the last one's hash (the genesis digest for a new chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// Sequence number of the newest record (records are numbered from 1).
    pub seq: u64,
    /// Its hash.
    pub hash: Digest,
}

/// One stored, chained event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Position in the chain, from 1, without gaps.
    pub seq: u64,
    /// The event.
    pub event: AuditEvent,
    /// Hash of the record before (the chain's genesis digest for `seq == 1`).
    pub prev_hash: Digest,
    /// `SHA-256("strongroom-audit/record/v1\0" || prev_hash || seq as u64 big-endian || canonical event bytes)`.
    pub hash: Digest,
}

impl AuditRecord {
    /// Links `event` after `prev` (the head it is appended to).
    pub fn link(prev: ChainHead, event: AuditEvent) -> AuditRecord {
        let seq = prev.seq.saturating_add(1);
        let hash = record_hash(&prev.hash, seq, &event.canonical_bytes());
        AuditRecord {
            seq,
            event,
            prev_hash: prev.hash,
            hash,
        }
    }

    /// Whether `hash` is the hash of this record's contents.
    pub fn hash_matches(&self) -> bool {
        record_hash(&self.prev_hash, self.seq, &self.event.canonical_bytes()) == self.hash
    }

    /// The head after this record.
    pub fn as_head(&self) -> ChainHead {
        ChainHead {
            seq: self.seq,
            hash: self.hash,
        }
    }
}

pub(crate) fn record_hash(prev: &Digest, seq: u64, canonical: &[u8]) -> Digest {
    let mut h = Sha256::new();
    h.update(RECORD_DOMAIN);
    h.update(prev.0);
    h.update(seq.to_be_bytes());
    h.update(canonical);
    Digest(h.finalize().into())
}
