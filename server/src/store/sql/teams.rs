//! [`TeamStore`] in SQL (`teams`, `team_members`, and the team's row in `users` and its space in
//! `folders`, written with the team).

use async_trait::async_trait;
use sqlx::Row;
use strongroom_audit::AuditEvent;

use super::SqlStore;
use crate::store::db::{RowLock, in_tx_with_event, on_db};
use crate::store::teams::{
    HandOver, LAST_ADMIN, Membership, NOT_A_MEMBER, TEAM_CHANGED, TEAM_NOT_EMPTY, TeamContent,
    TeamMemberRecord, TeamRecord, TeamStore,
};
use crate::store::{Error, Result};

const COLUMNS: &str = "t.id, t.name, t.space_id, t.created_by, t.created_at, t.updated_at";

macro_rules! team_from_row {
    ($row:expr) => {{
        let r = $row;
        Ok::<_, Error>(TeamRecord {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            space_id: r.try_get("space_id")?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        })
    }};
}

/// The role of `$user` in `$team`, read inside transaction `$tx`.
macro_rules! role_of {
    ($tx:ident, $team:expr, $user:expr) => {
        sqlx::query("SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2")
            .bind($team)
            .bind($user)
            .fetch_optional(&mut *$tx)
            .await?
            .map(|r| r.try_get::<String, _>("role"))
            .transpose()?
    };
}

/// How many admins `$team` has, inside `$tx`.
macro_rules! admins {
    ($tx:ident, $team:expr) => {{
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM team_members WHERE team_id = $1 AND role = 'admin'",
        )
        .bind($team)
        .fetch_one(&mut *$tx)
        .await?
        .try_get("n")?;
        n
    }};
}

/// Inside `$tx`: removes team `$id`'s groups (with the shares they hold and their places in
/// each other: a team group is inside no group of another team or of the platform), then its
/// account row, from which the team row, its members, whatever folders and files it still owns
/// and its data key cascade.
macro_rules! drop_team {
    ($tx:ident, $id:expr) => {{
        let id: &str = $id;
        sqlx::query(
            "DELETE FROM shares WHERE holder_kind = 'group' \
             AND holder_id IN (SELECT id FROM user_groups WHERE team_id = $1)",
        )
        .bind(id)
        .execute(&mut *$tx)
        .await?;
        sqlx::query(
            "DELETE FROM group_members \
             WHERE group_id IN (SELECT id FROM user_groups WHERE team_id = $1)",
        )
        .bind(id)
        .execute(&mut *$tx)
        .await?;
        sqlx::query("DELETE FROM user_groups WHERE team_id = $1")
            .bind(id)
            .execute(&mut *$tx)
            .await?;
        sqlx::query("DELETE FROM users WHERE id = $1 AND kind = 'team'")
            .bind(id)
            .execute(&mut *$tx)
            .await?
    }};
}

#[async_trait]
impl TeamStore for SqlStore {
    async fn create(&self, t: &TeamRecord, admin: &str, event: &AuditEvent) -> Result<()> {
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                let person =
                    sqlx::query("SELECT 1 AS one FROM users WHERE id = $1 AND kind = 'person'")
                        .bind(admin)
                        .fetch_optional(&mut *tx)
                        .await?;
                if person.is_none() {
                    return Err(Error::NotFound);
                }
                // The account that owns the team's files: no address anyone can type, no
                // password that any input hashes to.
                sqlx::query(
                    "INSERT INTO users (id, email, name, password_hash, is_admin, created_at, updated_at, kind) \
                     VALUES ($1, $2, $3, '!', FALSE, $4, $4, 'team')",
                )
                .bind(&t.id)
                .bind(format!("team:{}", t.id))
                .bind(&t.name)
                .bind(t.created_at)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO teams (id, name, space_id, created_by, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&t.id)
                .bind(&t.name)
                .bind(&t.space_id)
                .bind(&t.created_by)
                .bind(t.created_at)
                .bind(t.updated_at)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO folders (id, owner_id, parent_id, name, is_public, created_at, updated_at) \
                     VALUES ($1, $2, '', $3, FALSE, $4, $4)",
                )
                .bind(&t.space_id)
                .bind(&t.id)
                .bind(&t.name)
                .bind(t.created_at)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO team_members (team_id, user_id, role, added_by, added_at) \
                     VALUES ($1, $2, 'admin', $2, $3)",
                )
                .bind(&t.id)
                .bind(admin)
                .bind(t.created_at)
                .execute(&mut *tx)
                .await?
            });
            Ok::<_, Error>(())
        };
        run.await
    }

    async fn get(&self, id: &str) -> Result<Option<TeamRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM teams t WHERE t.id = $1");
        on_db!(&self.db, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await? {
                Some(r) => Ok(Some(team_from_row!(&r)?)),
                None => Ok(None),
            }
        })
    }

    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<TeamRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM teams t WHERE ($1 IS NULL OR t.id > $1) ORDER BY t.id LIMIT $2"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(after)
                .bind(limit.min(i64::MAX as usize) as i64)
                .fetch_all(pool)
                .await?;
            rows.iter().map(|r| team_from_row!(r)).collect()
        })
    }

    async fn teams_of(&self, user: &str) -> Result<Vec<Membership>> {
        let sql = format!(
            "SELECT {COLUMNS}, m.role FROM teams t JOIN team_members m ON m.team_id = t.id \
             WHERE m.user_id = $1 ORDER BY t.name, t.id"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(user).fetch_all(pool).await?;
            rows.iter()
                .map(|r| Ok(Membership { team: team_from_row!(r)?, role: r.try_get("role")? }))
                .collect()
        })
    }

    async fn rename(&self, id: &str, name: &str, at: i64, event: &AuditEvent) -> Result<()> {
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                let space: Option<String> = sqlx::query(
                    "UPDATE teams SET name = $1, updated_at = $2 WHERE id = $3 RETURNING space_id",
                )
                .bind(name)
                .bind(at)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("space_id"))
                .transpose()?;
                let Some(space) = space else {
                    return Err(Error::NotFound);
                };
                sqlx::query("UPDATE folders SET name = $1, updated_at = $2 WHERE id = $3")
                    .bind(name)
                    .bind(at)
                    .bind(&space)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE users SET name = $1, updated_at = $2 WHERE id = $3")
                    .bind(name)
                    .bind(at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
            });
            Ok::<_, Error>(())
        };
        run.await
    }

    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()> {
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                // The team's tree, exclusively: a folder being created in it waits, then finds
                // the team gone; an upload into the space waits on the space's lock below.
                tx.lock_tree(id, true).await?;
                let space: Option<String> = sqlx::query("SELECT space_id FROM teams WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| r.try_get("space_id"))
                    .transpose()?;
                let Some(space) = space else {
                    return Err(Error::NotFound);
                };
                tx.lock_folder(&space, true).await?;
                let held: i64 = sqlx::query(
                    "SELECT (SELECT COUNT(*) FROM files WHERE owner_id = $1) \
                     + (SELECT COUNT(*) FROM folders WHERE owner_id = $1 AND id <> $2) AS n",
                )
                .bind(id)
                .bind(&space)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
                if held > 0 {
                    return Err(Error::Conflict(TEAM_NOT_EMPTY.into()));
                }
                sqlx::query(
                    "DELETE FROM shares WHERE resource_kind = 'folder' AND resource_id = $1",
                )
                .bind(&space)
                .execute(&mut *tx)
                .await?;
                drop_team!(tx, id)
            });
            Ok::<_, Error>(())
        };
        run.await
    }

    async fn contents(&self, id: &str) -> Result<Vec<TeamContent>> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query(
                "SELECT v.blob_key, MIN(v.sha256) AS sha256, MIN(v.size) AS size \
                 FROM file_versions v JOIN files f ON f.id = v.file_id \
                 WHERE f.owner_id = $1 GROUP BY v.blob_key ORDER BY v.blob_key",
            )
            .bind(id)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    let size: i64 = r.try_get("size")?;
                    Ok(TeamContent {
                        blob_key: r.try_get("blob_key")?,
                        sha256: r.try_get("sha256")?,
                        size: size.max(0) as u64,
                    })
                })
                .collect()
        })
    }

    async fn hand_over(&self, id: &str, h: &HandOver<'_>, event: &AuditEvent) -> Result<String> {
        let run = async {
            let name: String;
            in_tx_with_event!(&self.db, event, |tx| {
                // Both trees, exclusively (the team's first: a team never receives one): no
                // upload, move or version lands in either until the hand-over is done.
                tx.lock_tree(id, true).await?;
                tx.lock_tree(h.to, true).await?;
                let team = sqlx::query("SELECT space_id, name FROM teams WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(team) = team else {
                    return Err(Error::NotFound);
                };
                let (space, team_name): (String, String) =
                    (team.try_get("space_id")?, team.try_get("name")?);
                if role_of!(tx, id, h.to).is_none() {
                    return Err(Error::Invalid(NOT_A_MEMBER.into()));
                }
                let held: Vec<String> = sqlx::query(
                    "SELECT DISTINCT v.blob_key FROM file_versions v JOIN files f ON f.id = v.file_id \
                     WHERE f.owner_id = $1 ORDER BY v.blob_key",
                )
                .bind(id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get("blob_key"))
                .collect::<std::result::Result<_, _>>()?;
                let mut old: Vec<&str> = h.rekeyed.iter().map(|(o, _)| o.as_str()).collect();
                old.sort_unstable();
                if held.iter().map(String::as_str).ne(old.iter().copied()) {
                    return Err(Error::Conflict(TEAM_CHANGED.into()));
                }
                if h.chunked {
                    for (_, new) in h.rekeyed {
                        let there: i64 =
                            sqlx::query("SELECT COUNT(*) AS n FROM contents WHERE blob_key = $1 AND owner_id = $2")
                                .bind(new)
                                .bind(h.to)
                                .fetch_one(&mut *tx)
                                .await?
                                .try_get("n")?;
                        if there == 0 {
                            return Err(Error::Conflict(TEAM_CHANGED.into()));
                        }
                    }
                }
                let usage = sqlx::query(super::QUOTA_USAGE_SQL)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                let (files, bytes): (i64, i64) = (usage.try_get("files")?, usage.try_get("bytes")?);
                check_quota!(tx, h.to, h.quota, bytes.max(0) as u64, files.max(0) as u64);
                for (old, new) in h.rekeyed {
                    sqlx::query(
                        "UPDATE file_versions SET blob_key = $1 WHERE blob_key = $2 \
                         AND file_id IN (SELECT id FROM files WHERE owner_id = $3)",
                    )
                    .bind(new)
                    .bind(old)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "UPDATE files SET blob_key = $1 WHERE blob_key = $2 AND owner_id = $3",
                    )
                    .bind(new)
                    .bind(old)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                // The space keeps its id (shares and links on it stay), under a name free at the
                // top of the receiver's tree.
                let mut candidate = team_name.clone();
                let mut n = 1;
                loop {
                    let taken: i64 = sqlx::query(
                        "SELECT COUNT(*) AS n FROM folders WHERE owner_id = $1 AND parent_id = '' \
                         AND name = $2 AND trashed_at IS NULL",
                    )
                    .bind(h.to)
                    .bind(&candidate)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("n")?;
                    if taken == 0 {
                        break;
                    }
                    n += 1;
                    candidate = format!("{team_name} ({n})");
                }
                sqlx::query("UPDATE folders SET name = $1 WHERE id = $2")
                    .bind(&candidate)
                    .bind(&space)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE folders SET owner_id = $1 WHERE owner_id = $2")
                    .bind(h.to)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE files SET owner_id = $1 WHERE owner_id = $2")
                    .bind(h.to)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                name = candidate;
                drop_team!(tx, id)
            });
            Ok::<_, Error>(name)
        };
        run.await
    }

    async fn set_role(
        &self,
        team: &str,
        user: &str,
        role: &str,
        by: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<Option<String>> {
        let run = async {
            let before: Option<String>;
            in_tx_with_event!(&self.db, event, |tx| {
                // Role changes in one team take turns, so two demotions cannot both see
                // another admin left.
                tx.lock_tree(team, true).await?;
                let exists = sqlx::query(
                    "SELECT (SELECT COUNT(*) FROM teams WHERE id = $1) \
                     * (SELECT COUNT(*) FROM users WHERE id = $2 AND kind = 'person') AS n",
                )
                .bind(team)
                .bind(user)
                .fetch_one(&mut *tx)
                .await?
                .try_get::<i64, _>("n")?;
                if exists == 0 {
                    return Err(Error::NotFound);
                }
                before = role_of!(tx, team, user);
                if before.as_deref() == Some("admin") && role != "admin" && admins!(tx, team) == 1 {
                    return Err(Error::Conflict(LAST_ADMIN.into()));
                }
                sqlx::query(
                    "INSERT INTO team_members (team_id, user_id, role, added_by, added_at) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role",
                )
                .bind(team)
                .bind(user)
                .bind(role)
                .bind(by)
                .bind(at)
                .execute(&mut *tx)
                .await?
            });
            Ok::<_, Error>(before)
        };
        run.await
    }

    async fn remove_member(&self, team: &str, user: &str, event: &AuditEvent) -> Result<()> {
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                tx.lock_tree(team, true).await?;
                let Some(role) = role_of!(tx, team, user) else {
                    return Err(Error::NotFound);
                };
                if role == "admin" && admins!(tx, team) == 1 {
                    return Err(Error::Conflict(LAST_ADMIN.into()));
                }
                sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
                    .bind(team)
                    .bind(user)
                    .execute(&mut *tx)
                    .await?;
                // Out of the team is out of its groups.
                sqlx::query(
                    "DELETE FROM group_members WHERE member_kind = 'user' AND member_id = $1 \
                     AND group_id IN (SELECT id FROM user_groups WHERE team_id = $2)",
                )
                .bind(user)
                .bind(team)
                .execute(&mut *tx)
                .await?
            });
            Ok::<_, Error>(())
        };
        run.await
    }

    async fn transfer(
        &self,
        team: &str,
        from: &str,
        to: &str,
        _at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                tx.lock_tree(team, true).await?;
                if role_of!(tx, team, from).is_none() || role_of!(tx, team, to).is_none() {
                    return Err(Error::NotFound);
                }
                sqlx::query(
                    "UPDATE team_members SET role = 'admin' WHERE team_id = $1 AND user_id = $2",
                )
                .bind(team)
                .bind(to)
                .execute(&mut *tx)
                .await?;
                if from != to {
                    sqlx::query(
                        "UPDATE team_members SET role = 'editor' WHERE team_id = $1 AND user_id = $2",
                    )
                    .bind(team)
                    .bind(from)
                    .execute(&mut *tx)
                    .await?;
                }
            });
            Ok::<_, Error>(())
        };
        run.await
    }

    async fn members(&self, team: &str) -> Result<Vec<TeamMemberRecord>> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query(
                "SELECT m.user_id, u.email, m.role, m.added_by, m.added_at FROM team_members m \
                 JOIN users u ON u.id = m.user_id WHERE m.team_id = $1 ORDER BY u.email",
            )
            .bind(team)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(TeamMemberRecord {
                        user_id: r.try_get("user_id")?,
                        email: r.try_get("email")?,
                        role: r.try_get("role")?,
                        added_by: r.try_get("added_by")?,
                        added_at: r.try_get("added_at")?,
                    })
                })
                .collect()
        })
    }
}
