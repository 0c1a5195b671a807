//! Statistics: what is stored, summed from the files and their versions, and what moved per
//! day, from the table `daily_activity` (this trait's). A day's row is bumped by the store in
//! the transaction that writes an event that counts (see [`tally`]), so the figures cannot
//! drift from the audit trail: an upload or download that did not commit is not counted, and
//! one that did always is.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::Result;

/// Stored files of one owner, media type and extension, live or in the trash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    /// The owner (a person or a team).
    pub owner_id: String,
    /// The media type as stored.
    pub content_type: String,
    /// The lowercase text after the name's last dot ('' when it has none).
    pub extension: String,
    /// Whether these files are in the trash.
    pub trashed: bool,
    /// How many files.
    pub files: u64,
    /// Their current versions' bytes.
    pub bytes: u64,
}

/// One owner's versions that are not current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OlderVersions {
    /// The owner.
    pub owner_id: String,
    /// How many versions.
    pub versions: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Uploads and downloads on one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayCounts {
    /// Uploads (new files and new versions).
    pub uploads: u64,
    /// Their bytes.
    pub upload_bytes: u64,
    /// Downloads (full or ranged).
    pub downloads: u64,
    /// Bytes sent.
    pub download_bytes: u64,
}

/// What one event adds to its owner's day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// `YYYY-MM-DD`, UTC, of the event's time.
    pub day: String,
    /// The owner of the file the event is about (its `owner` attribute).
    pub owner_id: String,
    /// What it adds.
    pub counts: DayCounts,
}

/// What `event` adds to the daily counts: uploads (`file.uploaded`, `file.versioned`, sized by
/// their `size` attribute) and downloads (`file.downloaded`, by `bytes`), counted for the
/// file's owner (the `owner` attribute); `None` for any other event and for a failed one.
pub fn tally(event: &AuditEvent) -> Option<Tally> {
    if event.outcome() != strongroom_audit::Outcome::Success {
        return None;
    }
    let attrs = event.attributes();
    let number = |key: &str| attrs.get(key).and_then(|v| v.as_u64()).unwrap_or(0);
    let counts = match event.action() {
        "file.uploaded" | "file.versioned" => DayCounts {
            uploads: 1,
            upload_bytes: number("size"),
            ..DayCounts::default()
        },
        "file.downloaded" => DayCounts {
            downloads: 1,
            download_bytes: number("bytes"),
            ..DayCounts::default()
        },
        _ => return None,
    };
    let owner_id = attrs.get("owner")?.as_str()?.to_owned();
    Some(Tally {
        day: event.time().strftime("%Y-%m-%d").to_string(),
        owner_id,
        counts,
    })
}

/// Statistics over the store.
///
/// Contract (checked by [`super::conformance`]): `holdings` sums every file (of `owner`, or
/// all) by owner, media type, extension and whether it is trashed, sized by its current
/// version; `older_versions` sums, per owner, the versions that are not their file's current
/// one; `days` gives the counts of each day in `from..=to` (`YYYY-MM-DD`) that has any, in day
/// order, summed over owners unless one is given.
#[async_trait]
pub trait StatsStore: Debug + Send + Sync + 'static {
    /// Stored files grouped by owner, media type, extension and trash.
    async fn holdings(&self, owner: Option<&str>) -> Result<Vec<Holding>>;
    /// Versions that are not current, per owner.
    async fn older_versions(&self, owner: Option<&str>) -> Result<Vec<OlderVersions>>;
    /// Uploads and downloads per day.
    async fn days(
        &self,
        owner: Option<&str>,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, DayCounts)>>;
}

/// A statistics store behind a pointer.
pub type DynStatsStore = dyn StatsStore;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: StatsStore + ?Sized> StatsStore for Arc<T> {
    async fn holdings(&self, owner: Option<&str>) -> Result<Vec<Holding>> {
        (**self).holdings(owner).await
    }
    async fn older_versions(&self, owner: Option<&str>) -> Result<Vec<OlderVersions>> {
        (**self).older_versions(owner).await
    }
    async fn days(
        &self,
        owner: Option<&str>,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, DayCounts)>> {
        (**self).days(owner, from, to).await
    }
}
