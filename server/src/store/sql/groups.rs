//! [`GroupStore`] in SQL (`user_groups`, `group_members`).

use async_trait::async_trait;
use sqlx::Row;
use strongroom_audit::AuditEvent;

use super::SqlStore;
use crate::store::db::{RowLock, in_tx_with_event, on_db};
use crate::store::grants::Holder;
use crate::store::groups::{GroupRecord, GroupStore, MemberRecord};
use crate::store::{Error, GROUP_CYCLE, GROUP_SCOPE, Result};

const COLUMNS: &str =
    "g.id, g.team_id, g.name, g.description, g.created_by, g.created_at, g.updated_at";

macro_rules! group_from_row {
    ($row:expr) => {{
        let r = $row;
        Ok::<_, Error>(GroupRecord {
            id: r.try_get("id")?,
            team_id: r.try_get("team_id")?,
            name: r.try_get("name")?,
            description: r.try_get("description")?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        })
    }};
}

#[async_trait]
impl GroupStore for SqlStore {
    async fn create(&self, g: &GroupRecord, event: &AuditEvent) -> Result<()> {
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                sqlx::query(
                    "INSERT INTO user_groups (id, team_id, name, description, created_by, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&g.id)
                .bind(&g.team_id)
                .bind(&g.name)
                .bind(&g.description)
                .bind(&g.created_by)
                .bind(g.created_at)
                .bind(g.updated_at)
                .execute(&mut *tx)
                .await?
            });
            Ok::<_, Error>(())
        };
        run.await
    }

    async fn get(&self, id: &str) -> Result<Option<GroupRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM user_groups g WHERE g.id = $1");
        on_db!(&self.db, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await? {
                Some(r) => Ok(Some(group_from_row!(&r)?)),
                None => Ok(None),
            }
        })
    }

    async fn list(
        &self,
        team: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<GroupRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM user_groups g \
             WHERE (g.team_id = $1 OR ($1 IS NULL AND g.team_id IS NULL)) \
             AND ($2 IS NULL OR g.id > $2) ORDER BY g.id LIMIT $3"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(team)
                .bind(after)
                .bind(limit.min(i64::MAX as usize) as i64)
                .fetch_all(pool)
                .await?;
            rows.iter().map(|r| group_from_row!(r)).collect()
        })
    }

    async fn update(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                let n = sqlx::query(
                    "UPDATE user_groups SET name = COALESCE($1, name), \
                     description = COALESCE($2, description), updated_at = $3 WHERE id = $4",
                )
                .bind(name)
                .bind(description)
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(Error::NotFound);
                }
            });
            Ok::<_, Error>(())
        };
        run.await
    }

    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()> {
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                // Its own members cascade from the group row; its place in other groups and the
                // shares it held name it by id only.
                sqlx::query(
                    "DELETE FROM group_members WHERE member_kind = 'group' AND member_id = $1",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM shares WHERE holder_kind = 'group' AND holder_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM group_members WHERE group_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let n = sqlx::query("DELETE FROM user_groups WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(Error::NotFound);
                }
            });
            Ok::<_, Error>(())
        };
        run.await
    }

    async fn add_member(
        &self,
        group: &str,
        member: Holder<'_>,
        added_by: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<bool> {
        let run = async {
            let added: u64;
            in_tx_with_event!(&self.db, event, |tx| {
                let scope = sqlx::query(
                    "SELECT g.team_id, \
                     (SELECT COUNT(*) FROM users WHERE $2 = 'user' AND id = $3 AND kind = 'person') \
                     + (SELECT COUNT(*) FROM user_groups WHERE $2 = 'group' AND id = $3) AS found, \
                     (SELECT c.team_id FROM user_groups c WHERE $2 = 'group' AND c.id = $3) AS child_team \
                     FROM user_groups g WHERE g.id = $1",
                )
                .bind(group)
                .bind(member.kind())
                .bind(member.id())
                .fetch_optional(&mut *tx)
                .await?;
                let Some(scope) = scope else {
                    return Err(Error::NotFound);
                };
                let (team, found, child_team): (Option<String>, i64, Option<String>) = (
                    scope.try_get("team_id")?,
                    scope.try_get("found")?,
                    scope.try_get("child_team")?,
                );
                if found == 0 {
                    return Err(Error::NotFound);
                }
                match (&team, member) {
                    (_, Holder::Group(_)) if child_team != team => {
                        return Err(Error::Invalid(GROUP_SCOPE.into()));
                    }
                    (Some(team), Holder::User(user)) => {
                        // A team's membership changes take its tree exclusively: holding it
                        // shared, the member cannot leave between this check and the insert.
                        tx.lock_tree(team, false).await?;
                        let member: i64 = sqlx::query(
                            "SELECT COUNT(*) AS n FROM team_members WHERE team_id = $1 AND user_id = $2",
                        )
                        .bind(team)
                        .bind(user)
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get("n")?;
                        if member == 0 {
                            return Err(Error::Invalid(GROUP_SCOPE.into()));
                        }
                    }
                    _ => {}
                }
                if let Holder::Group(child) = member {
                    // Adding `child` to `group` closes a cycle when `group` is `child` or is
                    // already inside it. Nesting changes take turns, so no concurrent add slips
                    // past the check.
                    tx.lock_groups().await?;
                    let inside: i64 = sqlx::query(
                        "WITH RECURSIVE below (id) AS ( \
                            SELECT CAST($1 AS TEXT) \
                            UNION \
                            SELECT m.member_id FROM below b JOIN group_members m \
                                ON m.group_id = b.id AND m.member_kind = 'group') \
                         SELECT COUNT(*) AS n FROM below WHERE id = $2",
                    )
                    .bind(child)
                    .bind(group)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("n")?;
                    if inside > 0 {
                        return Err(Error::Invalid(GROUP_CYCLE.into()));
                    }
                }
                added = sqlx::query(
                    "INSERT INTO group_members (group_id, member_kind, member_id, added_by, added_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (group_id, member_kind, member_id) DO NOTHING",
                )
                .bind(group)
                .bind(member.kind())
                .bind(member.id())
                .bind(added_by)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if added == 0 {
                    return Ok(false);
                }
            });
            Ok::<_, Error>(added > 0)
        };
        run.await
    }

    async fn remove_member(
        &self,
        group: &str,
        member: Holder<'_>,
        event: &AuditEvent,
    ) -> Result<bool> {
        let run = async {
            let removed: u64;
            in_tx_with_event!(&self.db, event, |tx| {
                removed = sqlx::query(
                    "DELETE FROM group_members WHERE group_id = $1 AND member_kind = $2 AND member_id = $3",
                )
                .bind(group)
                .bind(member.kind())
                .bind(member.id())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if removed == 0 {
                    return Ok(false);
                }
            });
            Ok::<_, Error>(removed > 0)
        };
        run.await
    }

    async fn members(&self, group: &str) -> Result<Vec<MemberRecord>> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query(
                "SELECT m.member_kind, m.member_id, COALESCE(u.email, g.name) AS name, m.added_by, m.added_at \
                 FROM group_members m \
                 LEFT JOIN users u ON m.member_kind = 'user' AND u.id = m.member_id \
                 LEFT JOIN user_groups g ON m.member_kind = 'group' AND g.id = m.member_id \
                 WHERE m.group_id = $1 AND COALESCE(u.email, g.name) IS NOT NULL \
                 ORDER BY (m.member_kind <> 'user'), CASE WHEN m.member_kind = 'user' THEN u.email ELSE m.member_id END",
            )
            .bind(group)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(MemberRecord {
                        kind: r.try_get("member_kind")?,
                        id: r.try_get("member_id")?,
                        name: r.try_get("name")?,
                        added_by: r.try_get("added_by")?,
                        added_at: r.try_get("added_at")?,
                    })
                })
                .collect()
        })
    }

    async fn groups_of(&self, user: &str) -> Result<Vec<GroupRecord>> {
        let sql = format!(
            "WITH RECURSIVE {} SELECT {COLUMNS} FROM user_groups g \
             WHERE g.id IN (SELECT group_id FROM closure) ORDER BY g.id",
            super::grants::CLOSURE_OF_USER
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(user).fetch_all(pool).await?;
            rows.iter().map(|r| group_from_row!(r)).collect()
        })
    }
}
