//! The server's metadata behind traits, one per concern, shaped like object_store's: a small
//! async trait, a `Dyn*` alias, an in-memory backend, and SQLite and PostgreSQL sharing their SQL
//! (only dialect differences apart), all held to one conformance suite.
//!
//! A write takes its audit event: the change and the outbox row commit in one transaction, or
//! neither does. Each table has one owner here; domain code never writes SQL.
//!
//! Concerns moved so far: accounts ([`UserStore`]), links ([`LinkStore`]) and shares
//! ([`GrantStore`]). Files and folders still live in `domain/` as SQL and move here next, one
//! trait each.

mod grants;
mod links;
mod memory;
mod sql;
mod users;

#[cfg(any(feature = "conformance", test))]
pub mod conformance;

pub use grants::{DynGrantStore, GrantRecord, GrantStore, HeldRole, NewGrant, Shares};
pub use links::{DynLinkStore, LinkKey, LinkRecord, LinkStore, Listed, NewLink, Reservation};
pub use memory::MemoryStore;
pub use sql::SqlStore;
pub use users::{DynUserStore, UserChange, UserKey, UserRecord, UserStore};

/// What a store operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The row is not there.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule would break; the message names it.
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached now.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Anything else the backend reported.
    #[error("store: {0}")]
    Backend(String),
}

/// `Result` with the store's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<crate::error::AppError> for Error {
    fn from(e: crate::error::AppError) -> Self {
        use crate::error::AppError;
        match e {
            AppError::NotFound(_) => Error::NotFound,
            AppError::Conflict(m) => Error::Conflict(m),
            AppError::Unavailable(m) => Error::Unavailable(m),
            other => Error::Backend(other.to_string()),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        crate::error::AppError::from(e).into()
    }
}

impl From<strongroom_audit::Error> for Error {
    fn from(e: strongroom_audit::Error) -> Self {
        Error::Backend(format!("outbox: {e}"))
    }
}

impl From<Error> for crate::error::AppError {
    fn from(e: Error) -> Self {
        use crate::error::AppError;
        match e {
            Error::NotFound => AppError::NotFound("not found".into()),
            Error::Conflict(m) => AppError::Conflict(m),
            Error::Unavailable(m) => AppError::Unavailable(m),
            Error::Backend(m) => AppError::Internal(m),
        }
    }
}
