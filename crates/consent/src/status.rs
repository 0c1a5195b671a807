//! Consent status, derived from a chain at a point in time (never stored, so never stale).

use crate::purpose::Purpose;
use crate::receipt::Receipt;
use crate::record::{ChainRecord, RecordHeader, RecordKind};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The state of a subject's consent to one purpose at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConsentStatus {
    /// Consent holds until `until`.
    Granted {
        /// When it expires.
        until: Timestamp,
        /// The receipt that records it.
        receipt_id: Uuid,
    },
    /// Consent was given but its lifetime ended.
    Expired {
        /// When it expired.
        at: Timestamp,
    },
    /// The subject withdrew consent (or asked for erasure).
    Withdrawn {
        /// When.
        at: Timestamp,
    },
    /// The subject never consented.
    Never,
    /// Consent was given under a policy version that a later version, now in force, replaced
    /// with a requirement for fresh consent.
    Superseded {
        /// When the replacing version came into force.
        at: Timestamp,
        /// The replacing version.
        by_version: String,
    },
}

impl ConsentStatus {
    /// Whether processing under this consent is allowed.
    pub fn is_granted(&self) -> bool {
        matches!(self, ConsentStatus::Granted { .. })
    }
}

/// A purpose's status together with the receipt of the latest grant (absent once erased).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentState {
    /// The purpose id.
    pub purpose: String,
    /// Its status.
    pub status: ConsentStatus,
    /// The latest grant's receipt.
    pub receipt: Option<Receipt>,
}

/// Whether the record ends every consent given before it.
pub(crate) fn ends_everything(kind: RecordKind) -> bool {
    matches!(kind, RecordKind::ErasureRequested | RecordKind::Erased)
}

enum Last<'a> {
    Never,
    Granted(&'a ChainRecord),
    Withdrawn(Timestamp),
}

/// The status of `purpose_id` at `at`. `purpose` is the registered purpose, when there is one,
/// for policy supersession.
pub(crate) fn purpose_status(
    records: &[ChainRecord],
    purpose_id: &str,
    purpose: Option<&Purpose>,
    at: Timestamp,
) -> ConsentStatus {
    let mut last = Last::Never;
    for r in records.iter().take_while(|r| r.recorded_at <= at) {
        let mine = r.header.purpose.as_deref() == Some(purpose_id);
        match r.kind {
            RecordKind::Granted if mine => last = Last::Granted(r),
            RecordKind::Withdrawn if mine => last = Last::Withdrawn(r.recorded_at),
            kind if ends_everything(kind) => {
                if matches!(last, Last::Granted(_)) {
                    last = Last::Withdrawn(r.recorded_at);
                }
            }
            _ => {}
        }
    }
    match last {
        Last::Never => ConsentStatus::Never,
        Last::Withdrawn(at) => ConsentStatus::Withdrawn { at },
        Last::Granted(r) => grant_status(r, purpose, at),
    }
}

/// Status of one grant record (an ordinary grant or a temporary access grant) that nothing later
/// revoked: expiry and supersession, whichever came first.
pub(crate) fn grant_status(
    record: &ChainRecord,
    purpose: Option<&Purpose>,
    at: Timestamp,
) -> ConsentStatus {
    let RecordHeader {
        consent_id,
        policy_version,
        expires_at,
        ..
    } = &record.header;
    let expires_at = expires_at.unwrap_or(record.recorded_at);
    let superseded = purpose.and_then(|p| {
        let version = policy_version.as_deref().unwrap_or_default();
        p.superseded(version, at)
            .map(|v| (v.effective_from().max(record.recorded_at), v.version()))
    });
    match superseded {
        Some((since, by)) if since < expires_at => ConsentStatus::Superseded {
            at: since,
            by_version: by.to_owned(),
        },
        _ if at >= expires_at => ConsentStatus::Expired { at: expires_at },
        _ => ConsentStatus::Granted {
            until: expires_at,
            receipt_id: consent_id.unwrap_or_default(),
        },
    }
}

/// Purpose ids in the order the subject first consented to them.
pub(crate) fn purposes_seen(records: &[ChainRecord]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for r in records.iter().filter(|r| r.kind == RecordKind::Granted) {
        if let Some(p) = &r.header.purpose
            && !seen.contains(p)
        {
            seen.push(p.clone());
        }
    }
    seen
}

/// The receipt of the latest grant of `purpose_id`, unless erased.
pub(crate) fn latest_receipt(records: &[ChainRecord], purpose_id: &str) -> Option<Receipt> {
    records
        .iter()
        .rev()
        .find(|r| r.kind == RecordKind::Granted && r.header.purpose.as_deref() == Some(purpose_id))
        .and_then(|r| r.data())
        .and_then(|d| serde_json::from_value(d.clone()).ok())
}
