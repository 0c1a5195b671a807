#![doc = include_str!("../README.md")]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

mod access;
mod cache;
mod clock;
mod error;
mod events;
mod ids;
mod keys;
mod manager;
mod model;
mod refresh;
mod store;

#[cfg(any(feature = "conformance", test))]
pub mod conformance;

pub use crate::access::{AccessClaims, AccessGrant, AccessToken, AccessTokens, TokenPolicy};
pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::error::{Error, KeyError, Result, StorageError, TokenRejection};
pub use crate::events::{EventSink, SessionEvent};
pub use crate::ids::SessionId;
pub use crate::keys::{Algorithm, KeyRing, SigningKey};
pub use crate::manager::{Login, SessionManager, SessionManagerBuilder, TokenPair};
pub use crate::model::{
    ClientInfo, DeviceRecord, RefreshState, RefreshTokenRecord, RevokeReason, RevokeScope,
    Rotation, Session, Successor,
};
pub use crate::refresh::{REFRESH_TOKEN_PREFIX, RefreshToken, SealedSuccessor, TokenHash};
pub use crate::store::memory::MemorySessionStore;
#[cfg(feature = "postgres")]
pub use crate::store::postgres::PostgresSessionStore;
#[cfg(feature = "sqlite")]
pub use crate::store::sqlite::SqliteSessionStore;
pub use crate::store::{DynSessionStore, SessionStore};
