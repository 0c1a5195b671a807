//! The storage trait and its backends.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::error::Result;
use crate::ids::SessionId;
use crate::model::{
    DeviceRecord, RefreshTokenRecord, RevokeReason, RevokeScope, Rotation, Session,
};
use crate::refresh::TokenHash;

pub(crate) mod memory;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

/// Persistence for sessions, refresh-token hashes and devices.
///
/// The contract every backend must honour (checked by the [`conformance`](crate::conformance)
/// suite): [`rotate`](Self::rotate) is atomic and conditional, so of any number of concurrent
/// rotations of one token exactly one succeeds; a revoked session can never be rotated again.
/// Stores keep times with millisecond precision.
#[async_trait]
pub trait SessionStore: Debug + Send + Sync + 'static {
    /// Inserts a new session with its first refresh token.
    /// [`AlreadyExists`](crate::Error::AlreadyExists) if the id or token hash is taken.
    async fn create_session(
        &self,
        session: &Session,
        first_token: &RefreshTokenRecord,
    ) -> Result<()>;

    /// One session, revoked or not. [`NotFound`](crate::Error::NotFound) if absent (or purged).
    async fn session(&self, id: &SessionId) -> Result<Session>;

    /// Every stored session of a user (revoked and expired ones too, until purged), oldest first.
    async fn sessions_for_user(&self, user_id: &str) -> Result<Vec<Session>>;

    /// A refresh token's record by hash. [`NotFound`](crate::Error::NotFound) if unknown.
    async fn refresh_token(&self, hash: &TokenHash) -> Result<RefreshTokenRecord>;

    /// A refresh token's record and its session, in one read where the backend can (the first
    /// step of every refresh). [`NotFound`](crate::Error::NotFound) if either is missing.
    async fn refresh_token_with_session(
        &self,
        hash: &TokenHash,
    ) -> Result<(RefreshTokenRecord, Session)> {
        let token = self.refresh_token(hash).await?;
        let session = self.session(&token.session_id).await?;
        Ok((token, session))
    }

    /// Atomically: marks `previous` rotated (with its successor), inserts `next` as active and
    /// touches the session.
    ///
    /// Fails, changing nothing, with [`Conflict`](crate::Error::Conflict) if `previous` is not
    /// an active token of `session_id`; with [`SessionRevoked`](crate::Error::SessionRevoked) if
    /// the session is revoked; with [`NotFound`](crate::Error::NotFound) if it does not exist.
    async fn rotate(&self, rotation: &Rotation) -> Result<()>;

    /// Revokes the sessions in `scope` that are not revoked yet and returns their ids.
    /// Revoking a single session that does not exist is [`NotFound`](crate::Error::NotFound);
    /// revoking one that is already revoked returns an empty list.
    async fn revoke(
        &self,
        scope: &RevokeScope,
        at: SystemTime,
        reason: RevokeReason,
    ) -> Result<Vec<SessionId>>;

    /// Inserts the device if the user never used it (returns `true`), else updates `last_seen`
    /// and, when given, `name` (returns `false`). Trust is left unchanged.
    async fn record_device(&self, device: &DeviceRecord) -> Result<bool>;

    /// One device of a user. [`NotFound`](crate::Error::NotFound) if unknown.
    async fn device(&self, user_id: &str, device_id: &str) -> Result<DeviceRecord>;

    /// Every device of a user, by first use.
    async fn devices_for_user(&self, user_id: &str) -> Result<Vec<DeviceRecord>>;

    /// Sets or clears (`None`) a device's trust expiry. [`NotFound`](crate::Error::NotFound) if
    /// the device is unknown.
    async fn set_device_trust(
        &self,
        user_id: &str,
        device_id: &str,
        trusted_until: Option<SystemTime>,
    ) -> Result<()>;

    /// Deletes sessions (and their refresh tokens) whose absolute or idle expiry is at or
    /// before `now`; returns how many sessions were deleted. Revoked sessions stay until they
    /// expire, so a late reuse of their tokens is still recognised.
    async fn purge_expired(&self, now: SystemTime) -> Result<u64>;
}

/// A type-erased [`SessionStore`].
pub type DynSessionStore = dyn SessionStore;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: SessionStore + ?Sized> SessionStore for Arc<T> {
    async fn create_session(
        &self,
        session: &Session,
        first_token: &RefreshTokenRecord,
    ) -> Result<()> {
        (**self).create_session(session, first_token).await
    }

    async fn session(&self, id: &SessionId) -> Result<Session> {
        (**self).session(id).await
    }

    async fn sessions_for_user(&self, user_id: &str) -> Result<Vec<Session>> {
        (**self).sessions_for_user(user_id).await
    }

    async fn refresh_token(&self, hash: &TokenHash) -> Result<RefreshTokenRecord> {
        (**self).refresh_token(hash).await
    }

    async fn refresh_token_with_session(
        &self,
        hash: &TokenHash,
    ) -> Result<(RefreshTokenRecord, Session)> {
        (**self).refresh_token_with_session(hash).await
    }

    async fn rotate(&self, rotation: &Rotation) -> Result<()> {
        (**self).rotate(rotation).await
    }

    async fn revoke(
        &self,
        scope: &RevokeScope,
        at: SystemTime,
        reason: RevokeReason,
    ) -> Result<Vec<SessionId>> {
        (**self).revoke(scope, at, reason).await
    }

    async fn record_device(&self, device: &DeviceRecord) -> Result<bool> {
        (**self).record_device(device).await
    }

    async fn device(&self, user_id: &str, device_id: &str) -> Result<DeviceRecord> {
        (**self).device(user_id, device_id).await
    }

    async fn devices_for_user(&self, user_id: &str) -> Result<Vec<DeviceRecord>> {
        (**self).devices_for_user(user_id).await
    }

    async fn set_device_trust(
        &self,
        user_id: &str,
        device_id: &str,
        trusted_until: Option<SystemTime>,
    ) -> Result<()> {
        (**self)
            .set_device_trust(user_id, device_id, trusted_until)
            .await
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<u64> {
        (**self).purge_expired(now).await
    }
}
