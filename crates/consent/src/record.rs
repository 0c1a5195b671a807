//! The hash-chained records a subject's history is made of, and chain verification.

use crate::canonical::canonical_sha256;
use crate::error::{Error, Result};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

/// `prev_hash` of the first record of every chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a record says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RecordKind {
    /// Consent was given; the payload is the [`Receipt`](crate::Receipt).
    Granted,
    /// Consent was withdrawn.
    Withdrawn,
    /// A temporary access grant was given; the payload is its receipt.
    AccessGranted,
    /// A temporary access grant was revoked before it expired.
    AccessRevoked,
    /// Erasure of the subject was requested; every consent stops counting from here.
    ErasureRequested,
    /// One erasure handler finished or failed.
    ErasureStep,
    /// Erasure finished; the payload is the [`ErasureProof`](crate::ErasureProof).
    Erased,
}

impl RecordKind {
    /// The stable storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Granted => "granted",
            RecordKind::Withdrawn => "withdrawn",
            RecordKind::AccessGranted => "access_granted",
            RecordKind::AccessRevoked => "access_revoked",
            RecordKind::ErasureRequested => "erasure_requested",
            RecordKind::ErasureStep => "erasure_step",
            RecordKind::Erased => "erased",
        }
    }

    /// Parse a storage name.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "granted" => RecordKind::Granted,
            "withdrawn" => RecordKind::Withdrawn,
            "access_granted" => RecordKind::AccessGranted,
            "access_revoked" => RecordKind::AccessRevoked,
            "erasure_requested" => RecordKind::ErasureRequested,
            "erasure_step" => RecordKind::ErasureStep,
            "erased" => RecordKind::Erased,
            other => {
                return Err(Error::Corrupt {
                    reason: format!("unknown record kind `{other}`"),
                });
            }
        })
    }
}

/// The non-personal facts of a record that status checks need. It survives erasure, while the
/// payload (receipts, reasons, evidence) does not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordHeader {
    /// The purpose concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The consent (receipt) or access grant id concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_id: Option<Uuid>,
    /// The policy version a grant was given under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<String>,
    /// When a grant expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// The erasure handler an erasure step is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    /// Whether that erasure step finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<bool>,
    /// The deadline of an erasure request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_by: Option<Timestamp>,
}

/// One link of a subject's chain, exactly as stored.
///
/// `hash` covers every field except `payload`, which is covered through `payload_hash`; that is
/// what lets erasure drop the payload while the chain still verifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainRecord {
    /// The chain: a keyed digest of the subject id, never the id itself.
    pub chain: String,
    /// Position in the chain, from 1.
    pub seq: u64,
    /// When the ledger recorded it (microsecond precision).
    pub recorded_at: Timestamp,
    /// What happened.
    pub kind: RecordKind,
    /// Non-personal facts.
    pub header: RecordHeader,
    /// Personal content (`None` once erased).
    pub payload: Option<Value>,
    /// SHA-256 of the payload's canonical JSON (the payload carries a random salt, so this
    /// cannot be used to confirm a guessed payload after erasure).
    pub payload_hash: String,
    /// `hash` of the previous record, or [`GENESIS_HASH`].
    pub prev_hash: String,
    /// SHA-256 over this record's canonical form.
    pub hash: String,
}

impl ChainRecord {
    /// Build and hash a record.
    pub(crate) fn seal(
        chain: &str,
        seq: u64,
        recorded_at: Timestamp,
        kind: RecordKind,
        header: RecordHeader,
        body: Value,
        prev_hash: &str,
    ) -> Result<Self> {
        let salt: [u8; 16] = rand::random();
        let payload = json!({ "salt": hex::encode(salt), "data": body });
        let payload_hash = canonical_sha256(&payload)?;
        let mut record = Self {
            chain: chain.to_owned(),
            seq,
            recorded_at,
            kind,
            header,
            payload: Some(payload),
            payload_hash,
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        record.hash = record.compute_hash()?;
        Ok(record)
    }

    /// Recompute the record hash from its fields.
    pub fn compute_hash(&self) -> Result<String> {
        canonical_sha256(&json!({
            "v": 1,
            "chain": self.chain,
            "seq": self.seq,
            "recorded_at": self.recorded_at,
            "kind": self.kind,
            "header": self.header,
            "payload_hash": self.payload_hash,
            "prev_hash": self.prev_hash,
        }))
    }

    /// The payload's application data (without its salt), unless erased.
    pub fn data(&self) -> Option<&Value> {
        self.payload.as_ref().and_then(|p| p.get("data"))
    }

    /// Whether the payload has been erased.
    pub fn is_redacted(&self) -> bool {
        self.payload.is_none()
    }
}

/// Why a record failed verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BreakKind {
    /// The record's fields do not hash to its `hash`.
    HashMismatch,
    /// The payload does not hash to `payload_hash`.
    PayloadMismatch,
    /// `prev_hash` is not the previous record's `hash`.
    LinkMismatch,
    /// Sequence numbers are not 1, 2, 3, ...
    SequenceGap,
    /// The record names another chain.
    WrongChain,
    /// The record could not be re-encoded for hashing.
    Unreadable,
}

/// Result of verifying a subject's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[must_use]
pub enum ChainVerification {
    /// Every record links and hashes correctly.
    Intact {
        /// How many records were checked.
        records: u64,
        /// Hash of the last record (`None` for an empty chain).
        head: Option<String>,
    },
    /// The chain is broken at `seq`; records before it are intact.
    Broken {
        /// The first broken record.
        seq: u64,
        /// What is wrong with it.
        problem: BreakKind,
    },
}

impl ChainVerification {
    /// Whether the chain verified.
    pub fn is_intact(&self) -> bool {
        matches!(self, ChainVerification::Intact { .. })
    }
}

/// Verify records of `chain`, given in sequence order from the first.
pub(crate) fn verify_chain(chain: &str, records: &[ChainRecord]) -> ChainVerification {
    let mut prev = GENESIS_HASH;
    for (i, r) in records.iter().enumerate() {
        let expected_seq = i as u64 + 1;
        let broken = |problem| ChainVerification::Broken {
            seq: r.seq,
            problem,
        };
        if r.chain != chain {
            return broken(BreakKind::WrongChain);
        }
        if r.seq != expected_seq {
            return ChainVerification::Broken {
                seq: expected_seq,
                problem: BreakKind::SequenceGap,
            };
        }
        if let Some(payload) = &r.payload {
            match canonical_sha256(payload) {
                Ok(h) if h == r.payload_hash => {}
                Ok(_) => return broken(BreakKind::PayloadMismatch),
                Err(_) => return broken(BreakKind::Unreadable),
            }
        }
        match r.compute_hash() {
            Ok(h) if h == r.hash => {}
            Ok(_) => return broken(BreakKind::HashMismatch),
            Err(_) => return broken(BreakKind::Unreadable),
        }
        if r.prev_hash != prev {
            return broken(BreakKind::LinkMismatch);
        }
        prev = &r.hash;
    }
    ChainVerification::Intact {
        records: records.len() as u64,
        head: records.last().map(|r| r.hash.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain_of(n: u64) -> Vec<ChainRecord> {
        let at: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut out: Vec<ChainRecord> = Vec::new();
        for seq in 1..=n {
            let prev = out
                .last()
                .map_or(GENESIS_HASH.to_owned(), |r| r.hash.clone());
            out.push(
                ChainRecord::seal(
                    "c",
                    seq,
                    at,
                    RecordKind::Granted,
                    RecordHeader::default(),
                    json!({"n": seq}),
                    &prev,
                )
                .unwrap(),
            );
        }
        out
    }

    #[test]
    fn intact_chain_verifies() {
        let records = chain_of(3);
        assert_eq!(
            verify_chain("c", &records),
            ChainVerification::Intact {
                records: 3,
                head: Some(records[2].hash.clone())
            }
        );
        assert!(verify_chain("c", &[]).is_intact());
    }

    #[test]
    fn redaction_keeps_the_chain_verifiable() {
        let mut records = chain_of(3);
        records[1].payload = None;
        assert!(verify_chain("c", &records).is_intact());
    }

    #[test]
    fn each_kind_of_tampering_is_named_at_the_first_broken_record() {
        let mut r = chain_of(4);
        r[2].payload = Some(json!({"salt": "00", "data": {"n": 99}}));
        assert_eq!(
            verify_chain("c", &r),
            ChainVerification::Broken {
                seq: 3,
                problem: BreakKind::PayloadMismatch
            }
        );

        let mut r = chain_of(4);
        r[1].header.purpose = Some("forged".into());
        assert_eq!(
            verify_chain("c", &r),
            ChainVerification::Broken {
                seq: 2,
                problem: BreakKind::HashMismatch
            }
        );

        let mut r = chain_of(4);
        r.remove(1);
        assert_eq!(
            verify_chain("c", &r),
            ChainVerification::Broken {
                seq: 2,
                problem: BreakKind::SequenceGap
            }
        );

        // A record rehashed after editing still breaks the link to its successor.
        let mut r = chain_of(4);
        r[1].header.purpose = Some("forged".into());
        r[1].hash = r[1].compute_hash().unwrap();
        assert_eq!(
            verify_chain("c", &r),
            ChainVerification::Broken {
                seq: 3,
                problem: BreakKind::LinkMismatch
            }
        );

        let r = chain_of(2);
        assert_eq!(
            verify_chain("other", &r),
            ChainVerification::Broken {
                seq: 1,
                problem: BreakKind::WrongChain
            }
        );
    }

    #[test]
    fn kinds_round_trip_their_storage_names() {
        for kind in [
            RecordKind::Granted,
            RecordKind::Withdrawn,
            RecordKind::AccessGranted,
            RecordKind::AccessRevoked,
            RecordKind::ErasureRequested,
            RecordKind::ErasureStep,
            RecordKind::Erased,
        ] {
            assert_eq!(RecordKind::parse(kind.as_str()).unwrap(), kind);
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                Value::String(kind.as_str().into())
            );
        }
        assert!(matches!(
            RecordKind::parse("nope"),
            Err(Error::Corrupt { .. })
        ));
    }
}
