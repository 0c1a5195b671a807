//! A hook that sees every change the ledger records, for audit logs and metrics.

use jiff::Timestamp;
use serde::Serialize;
use std::fmt::Debug;
use uuid::Uuid;

/// Something the ledger just recorded. Erasure events carry the subject digest only: an audit
/// trail that kept the id would undo the erasure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConsentEvent {
    /// A consent was granted.
    Granted {
        /// The subject.
        subject: String,
        /// The purpose id.
        purpose: String,
        /// The receipt id.
        receipt_id: Uuid,
        /// When it expires.
        expires_at: Timestamp,
    },
    /// A consent was withdrawn.
    Withdrawn {
        /// The subject.
        subject: String,
        /// The purpose id.
        purpose: String,
        /// The receipt id of the withdrawn consent.
        receipt_id: Uuid,
    },
    /// A consent reached the end of its lifetime (announced by
    /// [`ConsentLedger::announce_expirations`](crate::ConsentLedger::announce_expirations)).
    Expired {
        /// The subject.
        subject: String,
        /// The purpose id.
        purpose: String,
        /// The receipt of the consent that expired.
        receipt_id: Uuid,
        /// When it expired.
        expired_at: Timestamp,
    },
    /// A temporary access grant was given.
    AccessGranted {
        /// The subject who granted it.
        subject: String,
        /// The grant id.
        grant_id: Uuid,
        /// Who may access.
        grantee: String,
        /// What they may access.
        scope: String,
        /// When the access ends by itself.
        expires_at: Timestamp,
    },
    /// A temporary access grant was revoked early.
    AccessRevoked {
        /// The subject.
        subject: String,
        /// The grant id.
        grant_id: Uuid,
    },
    /// Erasure was requested.
    ErasureRequested {
        /// Keyed digest of the subject id.
        subject_digest: String,
        /// The deadline.
        due_by: Timestamp,
    },
    /// Erasure handlers failed; the request stays open.
    ErasureFailed {
        /// Keyed digest of the subject id.
        subject_digest: String,
        /// Names of the failed handlers.
        handlers: Vec<String>,
    },
    /// Erasure finished and its proof was recorded.
    Erased {
        /// Keyed digest of the subject id.
        subject_digest: String,
    },
}

/// Receives every [`ConsentEvent`] after it is durably recorded. Called inline: keep it quick
/// (push to a channel) and never block.
pub trait ConsentObserver: Debug + Send + Sync + 'static {
    /// Called once per recorded event.
    fn on_event(&self, event: &ConsentEvent);
}
