//! [`GrantStore`] in SQL (`shares`; reads `group_members` and `team_members` for memberships).

use async_trait::async_trait;
use sqlx::Row;
use strongroom_audit::AuditEvent;

use super::SqlStore;
use crate::store::db::{in_tx_with_event, on_db};
use crate::store::grants::{Access, GrantRecord, GrantStore, HeldRole, Holder, NewGrant, Shares};
use crate::store::{Error, Result};

/// A share with its holder's e-mail or group name; rows whose holder is gone are left out.
const SELECT: &str = "SELECT s.resource_kind, s.resource_id, s.holder_kind, s.holder_id, \
    COALESCE(u.email, g.name) AS holder_name, s.role, s.granted_by, s.created_at, s.expires_at \
    FROM shares s \
    LEFT JOIN users u ON s.holder_kind = 'user' AND u.id = s.holder_id \
    LEFT JOIN user_groups g ON s.holder_kind = 'group' AND g.id = s.holder_id \
    WHERE COALESCE(u.email, g.name) IS NOT NULL";

/// The groups user `$1` is in, directly or through nested groups, as CTE `closure(group_id)`.
pub(super) const CLOSURE_OF_USER: &str = "closure (group_id) AS ( \
    SELECT group_id FROM group_members WHERE member_kind = 'user' AND member_id = $1 \
    UNION \
    SELECT m.group_id FROM closure c JOIN group_members m ON m.member_kind = 'group' AND m.member_id = c.group_id)";

macro_rules! grant_from_row {
    ($row:expr) => {{
        let r = $row;
        Ok::<_, Error>(GrantRecord {
            resource_kind: r.try_get("resource_kind")?,
            resource_id: r.try_get("resource_id")?,
            holder_kind: r.try_get("holder_kind")?,
            holder_id: r.try_get("holder_id")?,
            holder_name: r.try_get("holder_name")?,
            role: r.try_get("role")?,
            granted_by: r.try_get("granted_by")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
        })
    }};
}

#[async_trait]
impl GrantStore for SqlStore {
    async fn put(&self, g: &NewGrant<'_>, event: &AuditEvent) -> Result<()> {
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                let n = sqlx::query(
                    "INSERT INTO shares (resource_kind, resource_id, holder_kind, holder_id, role, granted_by, created_at, expires_at) \
                     SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS TEXT), CAST($5 AS TEXT), \
                         CAST($6 AS TEXT), CAST($7 AS BIGINT), CAST($8 AS BIGINT) \
                     WHERE EXISTS (SELECT 1 FROM users WHERE $3 = 'user' AND id = $4 AND kind = 'person') \
                        OR EXISTS (SELECT 1 FROM user_groups WHERE $3 = 'group' AND id = $4) \
                     ON CONFLICT (resource_kind, resource_id, holder_kind, holder_id) DO UPDATE SET \
                         role = excluded.role, granted_by = excluded.granted_by, \
                         expires_at = excluded.expires_at, expiry_noted_at = NULL",
                )
                .bind(g.resource_kind)
                .bind(g.resource_id)
                .bind(g.holder.kind())
                .bind(g.holder.id())
                .bind(g.role)
                .bind(g.granted_by)
                .bind(g.at)
                .bind(g.expires_at)
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

    async fn list(&self, which: Shares<'_>) -> Result<Vec<GrantRecord>> {
        let (sql, a, b) = match which {
            Shares::On(kind, id) => (
                format!(
                    "{SELECT} AND s.resource_kind = $1 AND s.resource_id = $2 \
                     ORDER BY (s.holder_kind <> 'user'), holder_name, s.holder_id"
                ),
                kind,
                Some(id),
            ),
            Shares::HeldBy(user) => (
                format!(
                    "WITH RECURSIVE {CLOSURE_OF_USER} {SELECT} AND ((s.holder_kind = 'user' AND s.holder_id = $1) \
                     OR (s.holder_kind = 'group' AND s.holder_id IN (SELECT group_id FROM closure))) \
                     ORDER BY s.created_at DESC LIMIT 1000"
                ),
                user,
                None,
            ),
            Shares::GivenBy(user) => (
                format!("{SELECT} AND s.granted_by = $1 ORDER BY s.created_at DESC LIMIT 1000"),
                user,
                None,
            ),
        };
        on_db!(&self.db, pool => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(a);
            if let Some(b) = b {
                q = q.bind(b);
            }
            let rows = q.fetch_all(pool).await?;
            rows.iter().map(|r| grant_from_row!(r)).collect()
        })
    }

    async fn access(&self, principals: &[&str], node_ids: &[&str]) -> Result<Access> {
        if node_ids.is_empty() && principals.is_empty() {
            return Ok(Access::default());
        }
        // One statement: the roles on the nodes, and the transitive groups of the principals
        // and of every sharer among those roles, told apart by `row_kind`.
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        let nodes: Vec<String> = node_ids.iter().map(|_| next()).collect();
        let people: Vec<String> = principals.iter().map(|_| format!("({})", next())).collect();
        let nodes_in = if nodes.is_empty() {
            "NULL".to_owned()
        } else {
            nodes.join(", ")
        };
        let starts = if people.is_empty() {
            "SELECT granted_by FROM held".to_owned()
        } else {
            format!(
                "VALUES {} UNION SELECT granted_by FROM held",
                people.join(", ")
            )
        };
        let sql = format!(
            "WITH RECURSIVE held AS ( \
                SELECT s.resource_id, s.holder_kind, s.holder_id, s.role, s.granted_by, s.expires_at, \
                    u.is_admin AS granter_admin, u.disabled_at AS granter_disabled \
                FROM shares s LEFT JOIN users u ON u.id = s.granted_by WHERE s.resource_id IN ({nodes_in})), \
             starts (user_id) AS ({starts}), \
             closure (user_id, group_id) AS ( \
                SELECT st.user_id, m.group_id FROM starts st \
                    JOIN group_members m ON m.member_kind = 'user' AND m.member_id = st.user_id \
                UNION \
                SELECT c.user_id, m.group_id FROM closure c \
                    JOIN group_members m ON m.member_kind = 'group' AND m.member_id = c.group_id) \
             SELECT 'role' AS row_kind, resource_id, holder_kind, holder_id, role, granted_by, expires_at, \
                 granter_admin, granter_disabled FROM held \
             UNION ALL \
             SELECT 'member', user_id, CAST(NULL AS TEXT), group_id, CAST(NULL AS TEXT), CAST(NULL AS TEXT), \
                 CAST(NULL AS BIGINT), CAST(NULL AS BOOLEAN), CAST(NULL AS BIGINT) FROM closure \
             UNION ALL \
             SELECT 'team', st.user_id, CAST(NULL AS TEXT), tm.team_id, tm.role, CAST(NULL AS TEXT), \
                 CAST(NULL AS BIGINT), CAST(NULL AS BOOLEAN), CAST(NULL AS BIGINT) \
                 FROM starts st JOIN team_members tm ON tm.user_id = st.user_id \
             UNION ALL \
             SELECT 'attrs', u.id, CAST(NULL AS TEXT), u.attributes, CAST(NULL AS TEXT), CAST(NULL AS TEXT), \
                 CAST(NULL AS BIGINT), CAST(NULL AS BOOLEAN), CAST(NULL AS BIGINT) \
                 FROM users u WHERE u.attributes <> '{{}}' AND u.id IN (SELECT user_id FROM starts)"
        );
        on_db!(&self.db, pool => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for id in node_ids.iter().chain(principals) {
                q = q.bind(*id);
            }
            let rows = q.fetch_all(pool).await?;
            let mut out = Access::default();
            for r in &rows {
                let kind: String = r.try_get("row_kind")?;
                if kind == "member" {
                    out.memberships.push((r.try_get("resource_id")?, r.try_get("holder_id")?));
                    continue;
                }
                if kind == "attrs" {
                    let id: String = r.try_get("resource_id")?;
                    let text: String = r.try_get("holder_id")?;
                    let attrs = super::attributes_from_json(&id, &text)?;
                    out.attributes.push((id, attrs));
                    continue;
                }
                if kind == "team" {
                    out.team_roles.push((
                        r.try_get("resource_id")?,
                        r.try_get("holder_id")?,
                        r.try_get("role")?,
                    ));
                    continue;
                }
                let admin: Option<bool> = r.try_get("granter_admin")?;
                let disabled: Option<i64> = r.try_get("granter_disabled")?;
                out.roles.push(HeldRole {
                    node_id: r.try_get("resource_id")?,
                    holder_kind: r.try_get("holder_kind")?,
                    holder_id: r.try_get("holder_id")?,
                    role: r.try_get("role")?,
                    granted_by: r.try_get("granted_by")?,
                    granter_admin: admin.filter(|_| disabled.is_none()),
                    expires_at: r.try_get("expires_at")?,
                });
            }
            Ok(out)
        })
    }

    async fn remove(
        &self,
        kind: &str,
        id: &str,
        holder: Holder<'_>,
        event: &AuditEvent,
    ) -> Result<bool> {
        let run = async {
            let removed: u64;
            in_tx_with_event!(&self.db, event, |tx| {
                removed = sqlx::query(
                    "DELETE FROM shares WHERE resource_kind = $1 AND resource_id = $2 \
                     AND holder_kind = $3 AND holder_id = $4",
                )
                .bind(kind)
                .bind(id)
                .bind(holder.kind())
                .bind(holder.id())
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

    async fn due_expiries(&self, now: i64, limit: usize) -> Result<Vec<GrantRecord>> {
        let sql = format!(
            "{SELECT} AND s.expiry_noted_at IS NULL AND s.expires_at <= $1 \
             ORDER BY s.expires_at, s.resource_id, s.holder_id LIMIT $2"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(now)
                .bind(limit.min(i64::MAX as usize) as i64)
                .fetch_all(pool)
                .await?;
            rows.iter().map(|r| grant_from_row!(r)).collect()
        })
    }

    async fn note_expiry(&self, g: &GrantRecord, at: i64, event: &AuditEvent) -> Result<bool> {
        let run = async {
            let noted: u64;
            in_tx_with_event!(&self.db, event, |tx| {
                noted = sqlx::query(
                    "UPDATE shares SET expiry_noted_at = $1 WHERE resource_kind = $2 AND resource_id = $3 \
                     AND holder_kind = $4 AND holder_id = $5 AND expires_at = $6 AND expiry_noted_at IS NULL",
                )
                .bind(at)
                .bind(&g.resource_kind)
                .bind(&g.resource_id)
                .bind(&g.holder_kind)
                .bind(&g.holder_id)
                .bind(g.expires_at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if noted == 0 {
                    return Ok(false);
                }
            });
            Ok::<_, Error>(noted > 0)
        };
        run.await
    }
}
