//! SQLite and PostgreSQL: one implementation over [`Db`], the statements written once (both
//! drivers take `$n` placeholders); the dialects differ only where [`super::db`] says so
//! (`BEGIN IMMEDIATE`, row locks).

use async_trait::async_trait;
use sqlx::Row;
use strongroom_audit::AuditEvent;

use super::db::{Db, in_tx_with_event, on_db};
use super::links::{LinkKey, LinkRecord, LinkStore, Listed, NewLink, Reservation};
use super::users::{UserChange, UserKey, UserQuery, UserRecord, UserStore};
use super::{Error, Result};

/// What an owner stores, as quotas count it: files (trash included) and the bytes of all their
/// versions.
const QUOTA_USAGE_SQL: &str = "SELECT \
    (SELECT CAST(COUNT(*) AS BIGINT) FROM files WHERE owner_id = $1) AS files, \
    (SELECT CAST(COALESCE(SUM(v.size), 0) AS BIGINT) FROM file_versions v JOIN files f ON f.id = v.file_id \
       WHERE f.owner_id = $1) AS bytes";

/// Inside write transaction `$tx`: refuses with [`Error::QuotaExceeded`] when adding `$bytes`
/// and `$files` takes `$owner` past `$quota`. The owner's row is locked first (PostgreSQL:
/// `FOR NO KEY UPDATE`; SQLite's writes already take turns), so of concurrent writes of one
/// owner each sees the ones committed before it, and together they cannot pass the quota.
macro_rules! check_quota {
    ($tx:ident, $owner:expr, $quota:expr, $bytes:expr, $files:expr) => {{
        let (owner, quota): (&str, &$crate::store::Quota) = ($owner, $quota);
        if quota.bytes.is_some() || quota.files.is_some() {
            $tx.lock_tree(owner, true).await?;
            let row = sqlx::query($crate::store::sql::QUOTA_USAGE_SQL)
                .bind(owner)
                .fetch_one(&mut *$tx)
                .await?;
            let files: i64 = row.try_get("files")?;
            let bytes: i64 = row.try_get("bytes")?;
            let (files, bytes) = (files.max(0) as u64, bytes.max(0) as u64);
            if let Some(why) = quota.breach(bytes.saturating_add($bytes), files + $files) {
                return Err(Error::QuotaExceeded(why));
            }
        }
    }};
}

/// The trash listing of `table` (`files` or `folders`, both with `trashed_at`): `$1` owner or
/// NULL, `$2` trashed before or NULL, `$3` limit; oldest first.
fn trashed_sql(table: &str, columns: &str) -> String {
    format!(
        "SELECT {columns} FROM {table} WHERE trashed_at IS NOT NULL \
         AND ($1 IS NULL OR owner_id = $1) AND ($2 IS NULL OR trashed_at < $2) \
         ORDER BY trashed_at, id LIMIT $3"
    )
}

mod chunks;
mod events;
mod files;
mod folders;
mod grants;
mod groups;
mod invitations;
mod organize;
mod stats;
mod teams;
mod throttle;
mod usage;
mod versions;
mod webhooks;

/// The metadata in a SQL database (the one the server opened).
#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(super) db: Db,
}

impl SqlStore {
    /// Over `db`.
    pub fn new(db: Db) -> SqlStore {
        SqlStore { db }
    }
}

const LINK_COLUMNS: &str = "id, token_hash, file_id, created_by, expires_at, password_hash, max_downloads, downloads, failed_attempts, locked_until, revoked_at, created_at";

macro_rules! link_from_row {
    ($row:expr) => {{
        let r = $row;
        LinkRecord {
            id: r.try_get("id")?,
            token_hash: r.try_get("token_hash")?,
            file_id: r.try_get("file_id")?,
            created_by: r.try_get("created_by")?,
            expires_at: r.try_get("expires_at")?,
            password_hash: r.try_get("password_hash")?,
            max_downloads: r.try_get("max_downloads")?,
            downloads: r.try_get("downloads")?,
            failed_attempts: r.try_get("failed_attempts")?,
            locked_until: r.try_get("locked_until")?,
            revoked_at: r.try_get("revoked_at")?,
            created_at: r.try_get("created_at")?,
        }
    }};
}

#[async_trait]
impl LinkStore for SqlStore {
    async fn insert(&self, l: &NewLink, event: &AuditEvent) -> Result<()> {
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                sqlx::query(
                    "INSERT INTO links (id, token_hash, file_id, created_by, expires_at, password_hash, max_downloads, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&l.id)
                .bind(&l.token_hash)
                .bind(&l.file_id)
                .bind(&l.created_by)
                .bind(l.expires_at)
                .bind(&l.password_hash)
                .bind(l.max_downloads)
                .bind(l.created_at)
                .execute(&mut *tx)
                .await?
            });
            Ok::<_, Error>(())
        };
        Ok(run.await?)
    }

    async fn get(&self, key: LinkKey<'_>) -> Result<Option<LinkRecord>> {
        let (column, value) = match key {
            LinkKey::Id(v) => ("id", v),
            LinkKey::TokenHash(v) => ("token_hash", v),
        };
        let sql = format!("SELECT {LINK_COLUMNS} FROM links WHERE {column} = $1");
        on_db!(&self.db, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(value).fetch_optional(pool).await? {
                Some(row) => Ok(Some(link_from_row!(&row))),
                None => Ok(None),
            }
        })
    }

    async fn list(&self, which: Listed<'_>) -> Result<Vec<LinkRecord>> {
        let (column, value) = match which {
            Listed::OfFile(v) => ("file_id", v),
            Listed::MadeBy(v) => ("created_by", v),
        };
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM links WHERE {column} = $1 ORDER BY created_at DESC, id DESC LIMIT 1000"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(value).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(link_from_row!(row));
            }
            Ok(out)
        })
    }

    async fn revoke(&self, id: &str, at: i64, event: &AuditEvent) -> Result<bool> {
        let run = async {
            let changed: u64;
            in_tx_with_event!(&self.db, event, |tx| {
                changed = sqlx::query(
                    "UPDATE links SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                )
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 0 {
                    // Nothing changed: leave no event behind either.
                    return Ok(false);
                }
            });
            Ok::<_, Error>(changed > 0)
        };
        Ok(run.await?)
    }

    async fn reserve_attempt(&self, id: &str, now: i64, max: i64) -> Result<Reservation> {
        let reserved = on_db!(&self.db, pool => sqlx::query(
            "UPDATE links SET \
               failed_attempts = CASE WHEN locked_until <> 0 AND locked_until <= $2 THEN 1 ELSE failed_attempts + 1 END, \
               locked_until = CASE WHEN locked_until <> 0 AND locked_until <= $2 THEN 0 ELSE locked_until END \
             WHERE id = $1 AND locked_until <= $2 AND (locked_until <> 0 OR failed_attempts < $3)",
        )
        .bind(id)
        .bind(now)
        .bind(max)
        .execute(pool)
        .await?
        .rows_affected());
        if reserved > 0 {
            return Ok(Reservation::Reserved);
        }
        let until: Option<i64> = on_db!(&self.db, pool => match sqlx::query("SELECT locked_until FROM links WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await? {
            Some(r) => Some(r.try_get("locked_until")?),
            None => None,
        });
        match until {
            Some(until) => Ok(Reservation::Locked { until }),
            None => Err(Error::NotFound),
        }
    }

    async fn release_attempt(&self, id: &str) -> Result<()> {
        on_db!(&self.db, pool => sqlx::query(
            "UPDATE links SET failed_attempts = failed_attempts - 1 WHERE id = $1 AND failed_attempts > 0",
        )
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    async fn fail_attempt(
        &self,
        id: &str,
        max: i64,
        lock_until: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                sqlx::query(
                    "UPDATE links SET locked_until = CASE WHEN failed_attempts >= $1 AND locked_until = 0 THEN $2 ELSE locked_until END \
                     WHERE id = $3",
                )
                .bind(max)
                .bind(lock_until)
                .bind(id)
                .execute(&mut *tx)
                .await?
            });
            Ok::<_, Error>(())
        };
        Ok(run.await?)
    }

    async fn count_download(&self, id: &str) -> Result<bool> {
        let n = on_db!(&self.db, pool => sqlx::query(
            "UPDATE links SET downloads = downloads + 1 \
             WHERE id = $1 AND revoked_at IS NULL AND (max_downloads IS NULL OR downloads < max_downloads)",
        )
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(n > 0)
    }
}

const USER_COLUMNS: &str = "id, email, name, password_hash, is_admin, disabled_at, created_at, updated_at, quota_bytes, quota_files, attributes";

/// The stored JSON of an account's attributes.
pub(super) fn attributes_from_json(
    id: &str,
    text: &str,
) -> Result<crate::attributes::UserAttributes> {
    serde_json::from_str(text).map_err(|e| {
        Error::Corrupt(format!(
            "the attributes of account {id} are not valid ({e}): set them again with PUT /admin/users/{id}/attributes"
        ))
    })
}

macro_rules! user_from_row {
    ($row:expr) => {{
        let r = $row;
        UserRecord {
            id: r.try_get("id")?,
            email: r.try_get("email")?,
            name: r.try_get("name")?,
            password_hash: r.try_get("password_hash")?,
            is_admin: r.try_get("is_admin")?,
            disabled_at: r.try_get("disabled_at")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
            quota: super::Quota {
                bytes: r
                    .try_get::<Option<i64>, _>("quota_bytes")?
                    .map(|n| n.max(0) as u64),
                files: r
                    .try_get::<Option<i64>, _>("quota_files")?
                    .map(|n| n.max(0) as u64),
            },
            attributes: {
                let id: String = r.try_get("id")?;
                let text: String = r.try_get("attributes")?;
                attributes_from_json(&id, &text)?
            },
        }
    }};
}

#[async_trait]
impl UserStore for SqlStore {
    async fn create(&self, u: &UserRecord, event: &AuditEvent) -> Result<()> {
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                sqlx::query(
                    "INSERT INTO users (id, email, name, password_hash, is_admin, disabled_at, created_at, updated_at, attributes) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&u.id)
                .bind(&u.email)
                .bind(&u.name)
                .bind(&u.password_hash)
                .bind(u.is_admin)
                .bind(u.disabled_at)
                .bind(u.created_at)
                .bind(u.updated_at)
                .bind(serde_json::to_string(&u.attributes).map_err(|e| Error::Backend(e.to_string()))?)
                .execute(&mut *tx)
                .await?
            });
            Ok::<_, Error>(())
        };
        Ok(run.await?)
    }

    async fn get(&self, key: UserKey<'_>) -> Result<Option<UserRecord>> {
        let (column, value) = match key {
            UserKey::Id(v) => ("id", v),
            UserKey::Email(v) => ("email", v),
        };
        // Only people: a team's account row is the team store's.
        let sql =
            format!("SELECT {USER_COLUMNS} FROM users WHERE {column} = $1 AND kind = 'person'");
        on_db!(&self.db, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(value).fetch_optional(pool).await? {
                Some(row) => Ok(Some(user_from_row!(&row))),
                None => Ok(None),
            }
        })
    }

    async fn count(&self) -> Result<u64> {
        let n: i64 = on_db!(&self.db, pool => sqlx::query("SELECT COUNT(*) AS n FROM users WHERE kind = 'person'").fetch_one(pool).await?.try_get("n")?);
        Ok(n.max(0) as u64)
    }

    async fn list(&self, q: &UserQuery<'_>) -> Result<Vec<UserRecord>> {
        // LIKE with its wildcards escaped: the text is matched literally.
        let pattern = q.text.map(|t| {
            let escaped = t
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users \
             WHERE kind = 'person' AND ($1 IS NULL OR LOWER(email) LIKE $1 ESCAPE '\\' OR LOWER(name) LIKE $1 ESCAPE '\\') \
             AND ($2 IS NULL OR email > $2) ORDER BY email LIMIT $3"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(&pattern)
                .bind(q.after)
                .bind(q.limit.min(i64::MAX as usize) as i64)
                .fetch_all(pool)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(user_from_row!(row));
            }
            Ok(out)
        })
    }

    async fn update(&self, id: &str, c: &UserChange, at: i64, event: &AuditEvent) -> Result<()> {
        // `disabled_at`: $5 says whether to set it, $6 is the value (NULL enables); the quota
        // likewise ($8 and $9, $10; NULL: the default).
        let quota = c.quota.unwrap_or_default();
        let limit = |n: Option<u64>| n.map(|n| n.min(i64::MAX as u64) as i64);
        let attributes = c
            .attributes
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| Error::Backend(e.to_string()))?;
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                let n = sqlx::query(
                    "UPDATE users SET name = COALESCE($1, name), email = COALESCE($2, email), \
                     password_hash = COALESCE($3, password_hash), \
                     disabled_at = CASE WHEN $5 THEN $6 ELSE disabled_at END, \
                     quota_bytes = CASE WHEN $8 THEN $9 ELSE quota_bytes END, \
                     quota_files = CASE WHEN $8 THEN $10 ELSE quota_files END, \
                     is_admin = COALESCE($11, is_admin), \
                     attributes = COALESCE($12, attributes), \
                     updated_at = $4 WHERE id = $7 AND kind = 'person'",
                )
                .bind(&c.name)
                .bind(&c.email)
                .bind(&c.password_hash)
                .bind(at)
                .bind(c.disabled_at.is_some())
                .bind(c.disabled_at.flatten())
                .bind(id)
                .bind(c.quota.is_some())
                .bind(limit(quota.bytes))
                .bind(limit(quota.files))
                .bind(c.is_admin)
                .bind(attributes.as_deref())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(Error::NotFound);
                }
            });
            Ok::<_, Error>(())
        };
        Ok(run.await?)
    }

    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<Vec<String>> {
        let run = async {
            let files: Vec<String>;
            in_tx_with_event!(&self.db, event, |tx| {
                files = sqlx::query(
                    "SELECT DISTINCT v.blob_key FROM file_versions v JOIN files f ON f.id = v.file_id WHERE f.owner_id = $1",
                )
                .bind(id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get("blob_key"))
                .collect::<Result<_, _>>()?;
                // Shares of what the account owned, the links it made on other people's files
                // the shares it gave and held, and its group memberships; the rest (its files,
                // folders, their links) cascades from the user row.
                sqlx::query(
                    "DELETE FROM shares WHERE (resource_kind = 'file' AND resource_id IN (SELECT id FROM files WHERE owner_id = $1)) \
                     OR (resource_kind = 'folder' AND resource_id IN (SELECT id FROM folders WHERE owner_id = $1)) \
                     OR granted_by = $1 OR (holder_kind = 'user' AND holder_id = $1)",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM links WHERE created_by = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "DELETE FROM group_members WHERE member_kind = 'user' AND member_id = $1",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let n = sqlx::query("DELETE FROM users WHERE id = $1 AND kind = 'person'")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(Error::NotFound);
                }
            });
            Ok::<_, Error>(files)
        };
        Ok(run.await?)
    }
}
