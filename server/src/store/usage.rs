//! The usage ledger: each account's usage over time, one sample per change, for the
//! `usage.changed` events and the billing export. The table `usage_samples` is this trait's.
//!
//! Samples are numbered per account (`seq` 1, 2, …). A sample is appended only as the
//! successor of the one its writer read: of two meters (two servers) that saw the same change,
//! one appends it with its event and the other's attempt is a no-op, so every change is one
//! sample and one event. The ledger is kept when an account goes (billing needs its past); the
//! meter closes it with a zero sample.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::Result;

/// What an account stores at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UsageFigures {
    /// Files, trash included.
    pub files: u64,
    /// Versions of those files.
    pub versions: u64,
    /// Bytes of all those versions (what quotas count).
    pub logical_bytes: u64,
    /// Bytes stored for them after dedup.
    pub stored_bytes: u64,
    /// Files in the trash.
    pub trash_files: u64,
    /// Bytes of the versions of the files in the trash.
    pub trash_bytes: u64,
}

impl UsageFigures {
    /// Nothing stored.
    pub const ZERO: UsageFigures = UsageFigures {
        files: 0,
        versions: 0,
        logical_bytes: 0,
        stored_bytes: 0,
        trash_files: 0,
        trash_bytes: 0,
    };
}

/// One sample of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageSample {
    /// The account.
    pub user_id: String,
    /// Its place in the account's ledger, from 1.
    pub seq: i64,
    /// When the meter saw these figures, microseconds since the epoch.
    pub at: i64,
    /// The figures, valid from `at` until the account's next sample.
    pub figures: UsageFigures,
}

/// The usage ledger.
///
/// Contract (checked by [`super::conformance`]): `append` writes each sample whose `seq` is
/// one past the account's last (the first is 1) together with its event, all in one
/// transaction, and skips, without an event, one whose `seq` is taken or leaves a gap; it
/// returns how many it wrote. `latest` gives each account's last sample; `history` gives, per
/// account, its last sample before `from` and every sample in `from..to`, ordered by account
/// then `seq`, for at most `accounts` accounts after `after`.
#[async_trait]
pub trait UsageLedger: Debug + Send + Sync + 'static {
    /// The last sample of every account with any.
    async fn latest(&self) -> Result<Vec<UsageSample>>;
    /// Appends samples, each with its event, in one transaction; the samples written.
    async fn append(&self, samples: &[(UsageSample, AuditEvent)]) -> Result<u64>;
    /// The samples an export of `from..to` (microseconds) needs, for up to `accounts` accounts
    /// whose id sorts after `after`.
    async fn history(
        &self,
        from: i64,
        to: i64,
        after: Option<&str>,
        accounts: usize,
    ) -> Result<Vec<UsageSample>>;
}

/// A usage ledger behind a pointer.
pub type DynUsageLedger = dyn UsageLedger;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: UsageLedger + ?Sized> UsageLedger for Arc<T> {
    async fn latest(&self) -> Result<Vec<UsageSample>> {
        (**self).latest().await
    }
    async fn append(&self, samples: &[(UsageSample, AuditEvent)]) -> Result<u64> {
        (**self).append(samples).await
    }
    async fn history(
        &self,
        from: i64,
        to: i64,
        after: Option<&str>,
        accounts: usize,
    ) -> Result<Vec<UsageSample>> {
        (**self).history(from, to, after, accounts).await
    }
}
