//! What the SQLite and PostgreSQL backends share: the SQL (the same text runs on both, since
//! sqlx binds `$N` placeholders on SQLite too), row types, and one implementation of
//! [`SessionStore`](crate::SessionStore) stamped out per backend by `sql_session_store!`.
//!
//! The row structs are shared because the column types decode to the same Rust types on both
//! databases (TEXT/String, INTEGER or BIGINT/i64, BLOB or BYTEA/`Vec<u8>`, BOOLEAN/bool).

use std::net::IpAddr;

use crate::clock::from_millis;
use crate::error::{Error, StorageError};
use crate::ids::SessionId;
use crate::model::{
    DeviceRecord, RefreshState, RefreshTokenRecord, RevokeReason, Session, Successor,
};
use crate::refresh::{SealedSuccessor, TokenHash};

pub(crate) const INSERT_SESSION: &str = "INSERT INTO sessions (id, user_id, device_id, device_name, ip, user_agent, roles, amr, device_bound, created_at, last_used_at, idle_expires_at, expires_at, revoked_at, revoke_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
pub(crate) const SELECT_SESSION: &str = "SELECT id, user_id, device_id, device_name, ip, user_agent, roles, amr, device_bound, created_at, last_used_at, idle_expires_at, expires_at, revoked_at, revoke_reason FROM sessions WHERE id = $1";
pub(crate) const SELECT_USER_SESSIONS: &str = "SELECT id, user_id, device_id, device_name, ip, user_agent, roles, amr, device_bound, created_at, last_used_at, idle_expires_at, expires_at, revoked_at, revoke_reason FROM sessions WHERE user_id = $1 ORDER BY created_at, id";

pub(crate) const INSERT_TOKEN: &str = "INSERT INTO refresh_tokens (hash, session_id, generation, state, issued_at, rotated_at, successor_hash, successor_sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
pub(crate) const SELECT_TOKEN: &str = "SELECT hash, session_id, generation, state, issued_at, rotated_at, successor_hash, successor_sealed FROM refresh_tokens WHERE hash = $1";
/// Token and session in one round trip; the session columns are prefixed `s_`.
pub(crate) const SELECT_TOKEN_WITH_SESSION: &str = "SELECT t.hash, t.session_id, t.generation, t.state, t.issued_at, t.rotated_at, t.successor_hash, t.successor_sealed, s.id AS s_id, s.user_id AS s_user_id, s.device_id AS s_device_id, s.device_name AS s_device_name, s.ip AS s_ip, s.user_agent AS s_user_agent, s.roles AS s_roles, s.amr AS s_amr, s.device_bound AS s_device_bound, s.created_at AS s_created_at, s.last_used_at AS s_last_used_at, s.idle_expires_at AS s_idle_expires_at, s.expires_at AS s_expires_at, s.revoked_at AS s_revoked_at, s.revoke_reason AS s_revoke_reason FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.hash = $1";
pub(crate) const SESSION_REVOKED: &str = "SELECT revoked_at FROM sessions WHERE id = $1";

pub(crate) const REVOKE_ONE: &str = "UPDATE sessions SET revoked_at = $1, revoke_reason = $2 WHERE id = $3 AND revoked_at IS NULL RETURNING id";
pub(crate) const REVOKE_USER: &str = "UPDATE sessions SET revoked_at = $1, revoke_reason = $2 WHERE user_id = $3 AND revoked_at IS NULL RETURNING id";
pub(crate) const REVOKE_USER_EXCEPT: &str = "UPDATE sessions SET revoked_at = $1, revoke_reason = $2 WHERE user_id = $3 AND id <> $4 AND revoked_at IS NULL RETURNING id";

pub(crate) const INSERT_DEVICE: &str = "INSERT INTO devices (user_id, device_id, name, first_seen, last_seen, trusted_until) VALUES ($1, $2, $3, $4, $5, NULL) ON CONFLICT (user_id, device_id) DO NOTHING";
pub(crate) const TOUCH_DEVICE: &str = "UPDATE devices SET last_seen = $1, name = COALESCE($2, name) WHERE user_id = $3 AND device_id = $4";
pub(crate) const SELECT_DEVICE: &str = "SELECT user_id, device_id, name, first_seen, last_seen, trusted_until FROM devices WHERE user_id = $1 AND device_id = $2";
pub(crate) const SELECT_USER_DEVICES: &str = "SELECT user_id, device_id, name, first_seen, last_seen, trusted_until FROM devices WHERE user_id = $1 ORDER BY first_seen, device_id";
pub(crate) const TRUST_DEVICE: &str =
    "UPDATE devices SET trusted_until = $1 WHERE user_id = $2 AND device_id = $3";

pub(crate) const PURGE_TOKENS: &str = "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE expires_at <= $1 OR idle_expires_at <= $1)";
pub(crate) const PURGE_SESSIONS: &str =
    "DELETE FROM sessions WHERE expires_at <= $1 OR idle_expires_at <= $1";

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: String,
    user_id: String,
    device_id: Option<String>,
    device_name: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    roles: String,
    amr: String,
    device_bound: bool,
    created_at: i64,
    last_used_at: i64,
    idle_expires_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    revoke_reason: Option<String>,
}

fn corrupt(what: &str) -> Error {
    Error::Storage(StorageError::msg(format!("corrupt {what} row")))
}

impl TryFrom<SessionRow> for Session {
    type Error = Error;

    fn try_from(row: SessionRow) -> Result<Self, Error> {
        let ip = row
            .ip
            .map(|ip| ip.parse::<IpAddr>().map_err(|_| corrupt("session")))
            .transpose()?;
        let revoke_reason = row
            .revoke_reason
            .map(|r| RevokeReason::parse(&r).ok_or_else(|| corrupt("session")))
            .transpose()?;
        Ok(Session {
            id: SessionId::parse(&row.id).map_err(|_| corrupt("session"))?,
            user_id: row.user_id,
            device_id: row.device_id,
            device_name: row.device_name,
            ip,
            user_agent: row.user_agent,
            roles: serde_json::from_str(&row.roles).map_err(|_| corrupt("session"))?,
            amr: serde_json::from_str(&row.amr).map_err(|_| corrupt("session"))?,
            device_bound: row.device_bound,
            created_at: from_millis(row.created_at),
            last_used_at: from_millis(row.last_used_at),
            idle_expires_at: from_millis(row.idle_expires_at),
            expires_at: from_millis(row.expires_at),
            revoked_at: row.revoked_at.map(from_millis),
            revoke_reason,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenWithSessionRow {
    #[sqlx(flatten)]
    pub(crate) token: TokenRow,
    s_id: String,
    s_user_id: String,
    s_device_id: Option<String>,
    s_device_name: Option<String>,
    s_ip: Option<String>,
    s_user_agent: Option<String>,
    s_roles: String,
    s_amr: String,
    s_device_bound: bool,
    s_created_at: i64,
    s_last_used_at: i64,
    s_idle_expires_at: i64,
    s_expires_at: i64,
    s_revoked_at: Option<i64>,
    s_revoke_reason: Option<String>,
}

impl TryFrom<TokenWithSessionRow> for (RefreshTokenRecord, Session) {
    type Error = Error;

    fn try_from(row: TokenWithSessionRow) -> Result<Self, Error> {
        let session = SessionRow {
            id: row.s_id,
            user_id: row.s_user_id,
            device_id: row.s_device_id,
            device_name: row.s_device_name,
            ip: row.s_ip,
            user_agent: row.s_user_agent,
            roles: row.s_roles,
            amr: row.s_amr,
            device_bound: row.s_device_bound,
            created_at: row.s_created_at,
            last_used_at: row.s_last_used_at,
            idle_expires_at: row.s_idle_expires_at,
            expires_at: row.s_expires_at,
            revoked_at: row.s_revoked_at,
            revoke_reason: row.s_revoke_reason,
        };
        Ok((row.token.try_into()?, session.try_into()?))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    hash: Vec<u8>,
    session_id: String,
    generation: i64,
    state: String,
    issued_at: i64,
    rotated_at: Option<i64>,
    successor_hash: Option<Vec<u8>>,
    successor_sealed: Option<Vec<u8>>,
}

fn bytes32(bytes: Vec<u8>) -> Result<[u8; 32], Error> {
    bytes.try_into().map_err(|_| corrupt("refresh token"))
}

impl TryFrom<TokenRow> for RefreshTokenRecord {
    type Error = Error;

    fn try_from(row: TokenRow) -> Result<Self, Error> {
        let successor = match (row.successor_hash, row.successor_sealed) {
            (Some(hash), Some(sealed)) => Some(Successor {
                hash: TokenHash::from_bytes(bytes32(hash)?),
                sealed: SealedSuccessor::from_bytes(bytes32(sealed)?),
            }),
            (None, None) => None,
            _ => return Err(corrupt("refresh token")),
        };
        Ok(RefreshTokenRecord {
            hash: TokenHash::from_bytes(bytes32(row.hash)?),
            session_id: SessionId::parse(&row.session_id).map_err(|_| corrupt("refresh token"))?,
            generation: u64::try_from(row.generation).map_err(|_| corrupt("refresh token"))?,
            state: RefreshState::parse(&row.state).ok_or_else(|| corrupt("refresh token"))?,
            issued_at: from_millis(row.issued_at),
            rotated_at: row.rotated_at.map(from_millis),
            successor,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeviceRow {
    user_id: String,
    device_id: String,
    name: Option<String>,
    first_seen: i64,
    last_seen: i64,
    trusted_until: Option<i64>,
}

impl From<DeviceRow> for DeviceRecord {
    fn from(row: DeviceRow) -> Self {
        DeviceRecord {
            user_id: row.user_id,
            device_id: row.device_id,
            name: row.name,
            first_seen: from_millis(row.first_seen),
            last_seen: from_millis(row.last_seen),
            trusted_until: row.trusted_until.map(from_millis),
        }
    }
}

/// Maps sqlx errors: `RowNotFound` to `NotFound`, unique violations to `AlreadyExists`, the
/// rest wrapped.
pub(crate) fn db_error(what: &'static str) -> impl Fn(sqlx::Error) -> Error {
    move |e| match &e {
        sqlx::Error::RowNotFound => Error::NotFound { what },
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::AlreadyExists { what },
        _ => Error::Storage(StorageError::new(e)),
    }
}

pub(crate) fn migrate_error(e: sqlx::migrate::MigrateError) -> Error {
    Error::Storage(StorageError::new(e))
}

pub(crate) fn json_list(values: &[String]) -> String {
    // A list of strings always serialises.
    serde_json::to_string(values).unwrap_or_else(|_| String::from("[]"))
}

/// Implements `SessionStore` for a struct with a `pool: sqlx::Pool<$db>` field. `$begin` is the
/// statement that opens write transactions (`BEGIN IMMEDIATE` on SQLite, so a transaction takes
/// the write lock up front instead of failing to upgrade a read lock later). The invoking module
/// supplies `async fn rotate(pool, rotation)`, the one operation whose best form differs per
/// database.
macro_rules! sql_session_store {
    ($store:ty, $db:ty, $begin:expr) => {
        #[async_trait::async_trait]
        impl $crate::store::SessionStore for $store {
            async fn create_session(
                &self,
                session: &$crate::model::Session,
                first_token: &$crate::model::RefreshTokenRecord,
            ) -> $crate::error::Result<()> {
                use $crate::clock::to_millis;
                use $crate::store::sql::*;
                let mut tx = self
                    .pool
                    .begin_with($begin)
                    .await
                    .map_err(db_error("session"))?;
                sqlx::query(INSERT_SESSION)
                    .bind(session.id.as_str())
                    .bind(&session.user_id)
                    .bind(&session.device_id)
                    .bind(&session.device_name)
                    .bind(session.ip.map(|ip| ip.to_string()))
                    .bind(&session.user_agent)
                    .bind(json_list(&session.roles))
                    .bind(json_list(&session.amr))
                    .bind(session.device_bound)
                    .bind(to_millis(session.created_at))
                    .bind(to_millis(session.last_used_at))
                    .bind(to_millis(session.idle_expires_at))
                    .bind(to_millis(session.expires_at))
                    .bind(session.revoked_at.map(to_millis))
                    .bind(session.revoke_reason.map(|r| r.as_str()))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error("session"))?;
                insert_token(&mut tx, first_token).await?;
                tx.commit().await.map_err(db_error("session"))
            }

            async fn session(
                &self,
                id: &$crate::ids::SessionId,
            ) -> $crate::error::Result<$crate::model::Session> {
                use $crate::store::sql::*;
                let row: SessionRow = sqlx::query_as(SELECT_SESSION)
                    .bind(id.as_str())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error("session"))?;
                row.try_into()
            }

            async fn sessions_for_user(
                &self,
                user_id: &str,
            ) -> $crate::error::Result<Vec<$crate::model::Session>> {
                use $crate::store::sql::*;
                let rows: Vec<SessionRow> = sqlx::query_as(SELECT_USER_SESSIONS)
                    .bind(user_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error("session"))?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn refresh_token(
                &self,
                hash: &$crate::refresh::TokenHash,
            ) -> $crate::error::Result<$crate::model::RefreshTokenRecord> {
                use $crate::store::sql::*;
                let row: TokenRow = sqlx::query_as(SELECT_TOKEN)
                    .bind(hash.as_bytes().as_slice())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error("refresh token"))?;
                row.try_into()
            }

            async fn refresh_token_with_session(
                &self,
                hash: &$crate::refresh::TokenHash,
            ) -> $crate::error::Result<($crate::model::RefreshTokenRecord, $crate::model::Session)>
            {
                use $crate::store::sql::*;
                let row: TokenWithSessionRow = sqlx::query_as(SELECT_TOKEN_WITH_SESSION)
                    .bind(hash.as_bytes().as_slice())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error("refresh token"))?;
                row.try_into()
            }

            async fn rotate(
                &self,
                rotation: &$crate::model::Rotation,
            ) -> $crate::error::Result<()> {
                rotate(&self.pool, rotation).await
            }

            async fn revoke(
                &self,
                scope: &$crate::model::RevokeScope,
                at: std::time::SystemTime,
                reason: $crate::model::RevokeReason,
            ) -> $crate::error::Result<Vec<$crate::ids::SessionId>> {
                use $crate::clock::to_millis;
                use $crate::error::Error;
                use $crate::ids::SessionId;
                use $crate::model::RevokeScope;
                use $crate::store::sql::*;
                let (sql, subject, keep) = match scope {
                    RevokeScope::Session(id) => (REVOKE_ONE, id.as_str(), None),
                    RevokeScope::User(user_id) => (REVOKE_USER, user_id.as_str(), None),
                    RevokeScope::UserExcept { user_id, keep } => {
                        (REVOKE_USER_EXCEPT, user_id.as_str(), Some(keep.as_str()))
                    }
                };
                let mut query = sqlx::query_scalar(sql)
                    .bind(to_millis(at))
                    .bind(reason.as_str())
                    .bind(subject);
                if let Some(keep) = keep {
                    query = query.bind(keep);
                }
                let ids: Vec<String> = query
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error("session"))?;
                if ids.is_empty() {
                    if let RevokeScope::Session(id) = scope {
                        // Distinguish "already revoked" from "never existed".
                        let _revoked: Option<i64> = sqlx::query_scalar(SESSION_REVOKED)
                            .bind(id.as_str())
                            .fetch_one(&self.pool)
                            .await
                            .map_err(db_error("session"))?;
                    }
                }
                ids.iter()
                    .map(|id| {
                        SessionId::parse(id).map_err(|_| {
                            Error::Storage($crate::error::StorageError::msg("corrupt session id"))
                        })
                    })
                    .collect()
            }

            async fn record_device(
                &self,
                device: &$crate::model::DeviceRecord,
            ) -> $crate::error::Result<bool> {
                use $crate::clock::to_millis;
                use $crate::store::sql::*;
                let inserted = sqlx::query(INSERT_DEVICE)
                    .bind(&device.user_id)
                    .bind(&device.device_id)
                    .bind(&device.name)
                    .bind(to_millis(device.first_seen))
                    .bind(to_millis(device.last_seen))
                    .execute(&self.pool)
                    .await
                    .map_err(db_error("device"))?;
                if inserted.rows_affected() == 1 {
                    return Ok(true);
                }
                sqlx::query(TOUCH_DEVICE)
                    .bind(to_millis(device.last_seen))
                    .bind(&device.name)
                    .bind(&device.user_id)
                    .bind(&device.device_id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error("device"))?;
                Ok(false)
            }

            async fn device(
                &self,
                user_id: &str,
                device_id: &str,
            ) -> $crate::error::Result<$crate::model::DeviceRecord> {
                use $crate::store::sql::*;
                let row: DeviceRow = sqlx::query_as(SELECT_DEVICE)
                    .bind(user_id)
                    .bind(device_id)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error("device"))?;
                Ok(row.into())
            }

            async fn devices_for_user(
                &self,
                user_id: &str,
            ) -> $crate::error::Result<Vec<$crate::model::DeviceRecord>> {
                use $crate::store::sql::*;
                let rows: Vec<DeviceRow> = sqlx::query_as(SELECT_USER_DEVICES)
                    .bind(user_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error("device"))?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn set_device_trust(
                &self,
                user_id: &str,
                device_id: &str,
                trusted_until: Option<std::time::SystemTime>,
            ) -> $crate::error::Result<()> {
                use $crate::clock::to_millis;
                use $crate::error::Error;
                use $crate::store::sql::*;
                let updated = sqlx::query(TRUST_DEVICE)
                    .bind(trusted_until.map(to_millis))
                    .bind(user_id)
                    .bind(device_id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error("device"))?;
                if updated.rows_affected() == 0 {
                    return Err(Error::NotFound { what: "device" });
                }
                Ok(())
            }

            async fn purge_expired(
                &self,
                now: std::time::SystemTime,
            ) -> $crate::error::Result<u64> {
                use $crate::clock::to_millis;
                use $crate::store::sql::*;
                let now = to_millis(now);
                let mut tx = self
                    .pool
                    .begin_with($begin)
                    .await
                    .map_err(db_error("session"))?;
                sqlx::query(PURGE_TOKENS)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error("refresh token"))?;
                let purged = sqlx::query(PURGE_SESSIONS)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error("session"))?;
                tx.commit().await.map_err(db_error("session"))?;
                Ok(purged.rows_affected())
            }
        }

        /// Why a rotation whose token was active could not touch its session: revoked, gone,
        /// or (if the session is fine after all) a lost race on the token.
        async fn session_inactive(
            pool: &sqlx::Pool<$db>,
            session_id: &$crate::ids::SessionId,
        ) -> $crate::error::Error {
            use $crate::error::Error;
            use $crate::store::sql::*;
            let revoked: Result<Option<i64>, sqlx::Error> = sqlx::query_scalar(SESSION_REVOKED)
                .bind(session_id.as_str())
                .fetch_one(pool)
                .await;
            match revoked {
                Ok(Some(_)) => Error::SessionRevoked,
                Ok(None) => Error::Conflict,
                Err(e) => db_error("session")(e),
            }
        }

        async fn insert_token(
            tx: &mut sqlx::Transaction<'static, $db>,
            token: &$crate::model::RefreshTokenRecord,
        ) -> $crate::error::Result<()> {
            use $crate::clock::to_millis;
            use $crate::store::sql::*;
            let generation = i64::try_from(token.generation)
                .map_err(|_| $crate::error::Error::input("generation", "out of range"))?;
            sqlx::query(INSERT_TOKEN)
                .bind(token.hash.as_bytes().as_slice())
                .bind(token.session_id.as_str())
                .bind(generation)
                .bind(token.state.as_str())
                .bind(to_millis(token.issued_at))
                .bind(token.rotated_at.map(to_millis))
                .bind(token.successor.map(|s| s.hash.as_bytes().to_vec()))
                .bind(token.successor.map(|s| s.sealed.as_bytes().to_vec()))
                .execute(&mut **tx)
                .await
                .map_err(db_error("refresh token"))?;
            Ok(())
        }
    };
}

pub(crate) use sql_session_store;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_selects_read_every_inserted_column() {
        let columns = INSERT_SESSION
            .split_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(cols, _)| cols)
            .unwrap();
        for sql in [SELECT_SESSION, SELECT_USER_SESSIONS] {
            assert!(
                sql.starts_with(&format!("SELECT {columns} FROM sessions WHERE ")),
                "{sql}"
            );
        }
        assert!(SELECT_SESSION.ends_with("WHERE id = $1"));
        assert!(SELECT_USER_SESSIONS.ends_with("ORDER BY created_at, id"));
    }
}
