//! Public links: the `links` table.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::Result;

/// A link as stored. Times are microseconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRecord {
    /// Link id.
    pub id: String,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The file it opens.
    pub file_id: String,
    /// The user who made it.
    pub created_by: String,
    /// When it stops working.
    pub expires_at: i64,
    /// argon2 hash of its password, if it has one.
    pub password_hash: Option<String>,
    /// Download limit.
    pub max_downloads: Option<i64>,
    /// Downloads counted so far.
    pub downloads: i64,
    /// Password attempts outstanding in the current window.
    pub failed_attempts: i64,
    /// Locked until then (0: not locked).
    pub locked_until: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
    /// When it was made.
    pub created_at: i64,
}

/// A link to insert.
pub type NewLink = LinkRecord;

/// How a link is looked up.
#[derive(Debug, Clone, Copy)]
pub enum LinkKey<'a> {
    /// By id.
    Id(&'a str),
    /// By the hash of its token.
    TokenHash(&'a str),
}

/// Which links to list (newest first, at most 1000).
#[derive(Debug, Clone, Copy)]
pub enum Listed<'a> {
    /// The links of a file.
    OfFile(&'a str),
    /// The links a user made.
    MadeBy(&'a str),
}

/// The outcome of asking for a password attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The attempt is counted; check the password now.
    Reserved,
    /// Refused: locked until then (or, with 0, as many attempts as allowed are outstanding).
    Locked {
        /// Microseconds since the epoch.
        until: i64,
    },
}

/// The `links` table.
///
/// Contract (checked by [`super::conformance`] on every backend):
/// - `insert` stores the link and its event atomically; a second link with the same token hash is
///   a `Conflict`.
/// - `reserve_attempt` is one atomic step: it counts an attempt unless the link is locked or
///   `max` attempts are outstanding; an expired lock starts a fresh window. `release_attempt`
///   gives one back (never below 0); `fail_attempt` locks the link until `lock_until` once `max`
///   attempts are outstanding and it is not locked yet, and records its event.
/// - `count_download` counts one download unless the link is revoked or at its limit, and says
///   whether it did; concurrent callers never count past the limit.
#[async_trait]
pub trait LinkStore: Debug + Send + Sync + 'static {
    /// Inserts a link with its audit event.
    async fn insert(&self, link: &NewLink, event: &AuditEvent) -> Result<()>;
    /// One link.
    async fn get(&self, key: LinkKey<'_>) -> Result<Option<LinkRecord>>;
    /// Links of a file or by a user, newest first, at most 1000.
    async fn list(&self, which: Listed<'_>) -> Result<Vec<LinkRecord>>;
    /// Revokes a link at `at` with its event; false if it was already revoked or is missing.
    async fn revoke(&self, id: &str, at: i64, event: &AuditEvent) -> Result<bool>;
    /// Counts a password attempt, or refuses it (see the trait docs).
    async fn reserve_attempt(&self, id: &str, now: i64, max: i64) -> Result<Reservation>;
    /// Gives back the attempt of a right password.
    async fn release_attempt(&self, id: &str) -> Result<()>;
    /// Records a wrong password with its event, locking the link when attempts ran out.
    async fn fail_attempt(
        &self,
        id: &str,
        max: i64,
        lock_until: i64,
        event: &AuditEvent,
    ) -> Result<()>;
    /// Counts one download within the limit; false when revoked or used up.
    async fn count_download(&self, id: &str) -> Result<bool>;
}

/// A link store behind a pointer.
pub type DynLinkStore = dyn LinkStore;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: LinkStore + ?Sized> LinkStore for Arc<T> {
    async fn insert(&self, link: &NewLink, event: &AuditEvent) -> Result<()> {
        (**self).insert(link, event).await
    }
    async fn get(&self, key: LinkKey<'_>) -> Result<Option<LinkRecord>> {
        (**self).get(key).await
    }
    async fn list(&self, which: Listed<'_>) -> Result<Vec<LinkRecord>> {
        (**self).list(which).await
    }
    async fn revoke(&self, id: &str, at: i64, event: &AuditEvent) -> Result<bool> {
        (**self).revoke(id, at, event).await
    }
    async fn reserve_attempt(&self, id: &str, now: i64, max: i64) -> Result<Reservation> {
        (**self).reserve_attempt(id, now, max).await
    }
    async fn release_attempt(&self, id: &str) -> Result<()> {
        (**self).release_attempt(id).await
    }
    async fn fail_attempt(
        &self,
        id: &str,
        max: i64,
        lock_until: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        (**self).fail_attempt(id, max, lock_until, event).await
    }
    async fn count_download(&self, id: &str) -> Result<bool> {
        (**self).count_download(id).await
    }
}
