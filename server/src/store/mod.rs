//! The server's metadata behind traits, one per concern, shaped like object_store's: a small
//! async trait, a `Dyn*` alias, an in-memory backend, and SQLite and PostgreSQL sharing their SQL
//! (only dialect differences apart), all held to one conformance suite.
//!
//! A write takes its audit event: the change and the outbox row commit in one transaction, or
//! neither does. Each table has one owner here; domain code never writes SQL.
//!
//! Concerns: accounts ([`UserStore`]), files ([`FileStore`]), folders ([`FolderStore`]), links
//! ([`LinkStore`]), shares ([`GrantStore`]), groups ([`GroupStore`]), teams ([`TeamStore`]), invitations ([`InvitationStore`]), versions ([`VersionStore`]), tags ([`TagStore`]), fields ([`FieldStore`]), the search index ([`SearchIndex`]), webhooks ([`WebhookStore`]), chunks
//! ([`chunks::ChunkStore`]), the usage ledger ([`usage::UsageLedger`]), statistics ([`stats::StatsStore`]), failed sign-ins and rate windows ([`throttle::ThrottleStore`]) and events that change no
//! row ([`EventLog`]).
//! A new table gets its trait here, a record type, the memory and SQL implementations, and
//! contract tests in [`conformance`] (see `docs/architecture.md`).

pub mod chunks;
pub mod db;
mod events;
pub mod fields;
mod files;
mod folders;
mod grants;
mod groups;
mod invitations;
mod links;
mod memory;
pub mod search;
mod sql;
pub mod stats;
mod tags;
mod teams;
pub mod throttle;
pub mod usage;
mod users;
mod versions;
mod webhooks;

#[cfg(any(feature = "conformance", test))]
pub mod conformance;

pub use db::Db;
pub use events::{Backlog, DynEventLog, EventLog};
pub use fields::{DynFieldStore, FieldChanges, FieldDef, FieldKind, FieldStore, FieldValue};
pub use files::{
    DynFileStore, FileChange, FileOrder, FileQuery, FileRecord, FileStore, FileUsage, Located,
    TrashQuery,
};
pub use folders::{
    ChainNode, DynFolderStore, FolderChange, FolderEdge, FolderRecord, FolderStore, MAX_DEPTH,
};
pub use grants::{
    Access, DynGrantStore, GrantRecord, GrantStore, HeldRole, Holder, NewGrant, Shares,
};
pub use groups::{DynGroupStore, GroupRecord, GroupStore, MemberRecord};
pub(crate) use invitations::INVITATION_CLOSED;
pub use invitations::{
    Accepter, DynInvitationStore, InvitationRecord, InvitationStore, Invitations,
};
pub use links::{DynLinkStore, LinkKey, LinkRecord, LinkStore, Listed, NewLink, Reservation};
pub use memory::MemoryStore;
pub use search::{DynSearchIndex, SearchIndex, SearchQuery};
pub use sql::SqlStore;
pub use stats::{DynStatsStore, StatsStore};
pub use tags::{DynTagStore, Item, TagRecord, TagStore, TagUse};
pub use teams::{
    DynTeamStore, HandOver, Membership, TeamContent, TeamMemberRecord, TeamRecord, TeamStore,
};
pub use throttle::{DynThrottleStore, ThrottleStore};
pub use users::{DynUserStore, UserChange, UserKey, UserQuery, UserRecord, UserStore};
pub use versions::{DynVersionStore, NewVersion, Removed, VersionRecord, VersionStore};
pub use webhooks::{
    AttemptRecord, DeliveryRecord, DeliveryState, DynWebhookStore, EndpointRecord, Next,
    WebhookScope, WebhookStore, WrappedSecret,
};

/// What a store operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The row is not there.
    #[error("not found")]
    NotFound,
    /// The folder a write puts something into does not exist (any more).
    #[error("the folder no longer exists")]
    ParentGone,
    /// A uniqueness rule would break, or the row is still in use; the message names which.
    #[error("{0}")]
    Conflict(String),
    /// The change breaks a rule of the data (nesting depth, a folder into itself); the message
    /// names it.
    #[error("{0}")]
    Invalid(String),
    /// A conditional write found the content changed since the caller read it (`If-Match`).
    #[error("the file changed since you read it (its current version is {current})")]
    Stale {
        /// The current version's number.
        current: i64,
    },
    /// The write would take its owner past a quota; the message says which and by how much.
    #[error("{0}")]
    QuotaExceeded(String),
    /// The stored data breaks an invariant (left by an older version or edited by hand); the
    /// message says how to repair it.
    #[error("{0}")]
    Corrupt(String),
    /// The database cannot be reached now.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Anything else the backend reported.
    #[error("store: {0}")]
    Backend(String),
}

/// Limits a write must stay within, checked inside its transaction (so concurrent writes of one
/// owner cannot pass them together). `None`: no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quota {
    /// Bytes of all versions of all the owner's files, trash included.
    pub bytes: Option<u64>,
    /// The owner's files, trash included.
    pub files: Option<u64>,
}

impl Quota {
    /// No limit.
    pub const NONE: Quota = Quota {
        bytes: None,
        files: None,
    };

    /// Why using `bytes` and `files` breaks this quota, if it does.
    pub fn breach(&self, bytes: u64, files: u64) -> Option<String> {
        if let Some(limit) = self.bytes
            && bytes > limit
        {
            return Some(format!(
                "this would use {bytes} bytes of a {limit}-byte quota; delete files, versions or the trash first"
            ));
        }
        if let Some(limit) = self.files
            && files > limit
        {
            return Some(format!(
                "this would make {files} files of a {limit}-file quota; delete files or empty the trash first"
            ));
        }
        None
    }
}

/// `Result` with the store's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Error::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Error::Conflict(unique_rule(db.constraint().unwrap_or(db.message())).into())
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Error::Unavailable("the database is unavailable; retry later".into())
            }
            _ => Error::Backend(format!("database: {e}")),
        }
    }
}

/// The uniqueness rule a write broke, in words. PostgreSQL names the constraint
/// (`users_email_key`, `files_unique_name` …); SQLite names the columns in its message
/// (`UNIQUE constraint failed: users.email`). The memory backend uses the same words.
pub(crate) fn unique_rule(which: &str) -> &'static str {
    if which.contains("email") {
        EMAIL_TAKEN
    } else if which.contains("tags") {
        TAG_TAKEN
    } else if which.contains("user_groups") {
        GROUP_TAKEN
    } else if which.contains("files") {
        FILE_NAME_TAKEN
    } else if which.contains("folders") {
        FOLDER_NAME_TAKEN
    } else {
        "that already exists"
    }
}

pub(crate) const EMAIL_TAKEN: &str = "that email is already registered";
pub(crate) const FILE_NAME_TAKEN: &str = "a file with that name already exists in this folder";
pub(crate) const FOLDER_NAME_TAKEN: &str = "a folder with that name already exists in this folder";
pub(crate) const FOLDER_NOT_EMPTY: &str = "the folder is not empty";
pub(crate) const TAG_TAKEN: &str =
    "a tag with that name already exists (names are compared regardless of case)";
pub(crate) const TAG_OWNER: &str =
    "a tag goes only on files and folders of the tag's owner (a team's tags on the team's space)";
pub(crate) const GROUP_TAKEN: &str = "a group with that id already exists";
pub(crate) const GROUP_CYCLE: &str =
    "a group cannot be inside itself (directly or through nested groups)";
pub(crate) const GROUP_SCOPE: &str = "a team's group holds members of that team and groups of the same team; a platform group holds platform groups";

impl From<strongroom_audit::Error> for Error {
    fn from(e: strongroom_audit::Error) -> Self {
        Error::Backend(format!("outbox: {e}"))
    }
}
