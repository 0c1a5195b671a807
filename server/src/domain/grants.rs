//! Shares with named users: a viewer, commenter or editor role on a file or folder. A role on a
//! folder reaches everything inside it; the policy pack's role entities do the inheritance.

use serde::Serialize;
use sqlx::Row;
use strongroom_access_policy::pack::Role;
use utoipa::ToSchema;

use super::{Ctx, files, folders, names, rfc3339};
use crate::app::App;
use crate::authz::{NodeGrant, Principal};
use crate::error::{AppError, AppResult};
use crate::{in_tx_with_event, on_db};

/// A user's role on a file or folder.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Grant {
    /// `file` or `folder`.
    pub resource_kind: String,
    /// File or folder id.
    pub resource_id: String,
    /// The user given the role.
    pub user_id: String,
    /// Their email.
    pub email: String,
    /// `viewer`, `commenter` or `editor`.
    pub role: String,
    /// Who shared it.
    pub granted_by: String,
    /// When (RFC 3339).
    pub created_at: String,
}

fn parse_role(role: &str) -> AppResult<Role> {
    match role {
        "viewer" => Ok(Role::Viewer),
        "commenter" => Ok(Role::Commenter),
        "editor" => Ok(Role::Editor),
        _ => Err(AppError::Invalid(
            "role is viewer, commenter or editor (ownership is not shared)".into(),
        )),
    }
}

/// The roles users hold directly on the files and folders `ids` (for policy decisions), by
/// node id, with who shared each and whether that account is still active. One query.
pub async fn roles_on(
    app: &App,
    ids: &[&str],
) -> AppResult<std::collections::HashMap<String, Vec<NodeGrant>>> {
    let mut out: std::collections::HashMap<String, Vec<NodeGrant>> = Default::default();
    if ids.is_empty() {
        return Ok(out);
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT g.resource_id, g.user_id, g.role, g.granted_by, u.is_admin AS granter_admin, u.disabled_at AS granter_disabled \
         FROM grants g LEFT JOIN users u ON u.id = g.granted_by WHERE g.resource_id IN ({})",
        placeholders.join(", ")
    );
    type GrantRow = (String, String, String, String, Option<bool>, Option<i64>);
    let rows: Vec<GrantRow> = on_db!(&app.db, pool => {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
        for id in ids {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(pool).await?;
        rows.iter()
            .map(|r| Ok::<_, sqlx::Error>((
                r.try_get("resource_id")?,
                r.try_get("user_id")?,
                r.try_get("role")?,
                r.try_get("granted_by")?,
                r.try_get("granter_admin")?,
                r.try_get("granter_disabled")?,
            )))
            .collect::<Result<_, _>>()?
    });
    for (node, user, role, granted_by, granter_admin, granter_disabled) in rows {
        let role =
            parse_role(&role).map_err(|_| AppError::Internal(format!("stored role {role:?}")))?;
        let granter = match (granter_admin, granter_disabled) {
            (Some(admin), None) => Some(Principal::User {
                id: granted_by.clone(),
                admin,
            }),
            _ => None,
        };
        out.entry(node).or_default().push(NodeGrant {
            user,
            role,
            granted_by,
            granter,
        });
    }
    Ok(out)
}

/// Authorizes `share` on the file or folder and returns its canonical id.
async fn shareable(app: &App, ctx: &Ctx, kind: &str, id: &str) -> AppResult<String> {
    match kind {
        "file" => Ok(files::authorize_on(app, ctx, "share", id).await?.id),
        "folder" => Ok(folders::authorize_on(app, ctx, "share", id).await?[0]
            .id
            .clone()),
        _ => Err(AppError::NotFound("no such item".into())),
    }
}

const SELECT: &str = "SELECT g.resource_kind, g.resource_id, g.user_id, u.email, g.role, g.granted_by, g.created_at \
                      FROM grants g JOIN users u ON u.id = g.user_id";

macro_rules! grant_from_row {
    ($row:expr) => {{
        let row = $row;
        Grant {
            resource_kind: row.try_get("resource_kind")?,
            resource_id: row.try_get("resource_id")?,
            user_id: row.try_get("user_id")?,
            email: row.try_get("email")?,
            role: row.try_get("role")?,
            granted_by: row.try_get("granted_by")?,
            created_at: rfc3339(row.try_get("created_at")?),
        }
    }};
}

/// The answer to a share request: the same whether or not the address has an account, so
/// sharing is no way to learn who uses the platform.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShareRequest {
    /// `file` or `folder`.
    pub resource_kind: String,
    /// File or folder id.
    pub resource_id: String,
    /// The address shared with (normalized).
    pub email: String,
    /// `viewer`, `commenter` or `editor`.
    pub role: String,
    /// Always `accepted`: if the address has an account, it now holds the role.
    pub status: &'static str,
}

/// Gives the user with `email` a role on a file or folder (replacing a role they had). An
/// address without an account gets nothing, but the answer is the same; the attempt is audited
/// either way.
pub async fn grant(
    app: &App,
    ctx: &Ctx,
    kind: &str,
    id: &str,
    email: &str,
    role: &str,
) -> AppResult<ShareRequest> {
    let id = shareable(app, ctx, kind, id).await?;
    let role_parsed = parse_role(role)?;
    let email = names::email(email)?;
    let answer = ShareRequest {
        resource_kind: kind.to_owned(),
        resource_id: id.clone(),
        email: email.clone(),
        role: role_parsed.name().to_owned(),
        status: "accepted",
    };
    let user_id: Option<String> = on_db!(&app.db, pool => {
        match sqlx::query("SELECT id FROM users WHERE email = $1").bind(&email).fetch_optional(pool).await? {
            Some(r) => Some(r.try_get("id")?),
            None => None,
        }
    });
    let Some(user_id) = user_id else {
        let event = ctx
            .event("share.unknown_address", kind, &id)
            .attr("role", role_parsed.name())
            .outcome(strongroom_audit::Outcome::Failure)
            .build()?;
        app.db.record(&event).await?;
        return Ok(answer);
    };
    if Some(user_id.as_str()) == ctx.principal.user_id() {
        return Err(AppError::Invalid("you cannot share with yourself".into()));
    }
    let granted_by = ctx.user_id()?.to_owned();
    let event = ctx
        .event("share.granted", kind, &id)
        .attr("user", user_id.as_str())
        .attr("role", role_parsed.name())
        .build()?;
    let now = app.now();
    in_tx_with_event!(&app.db, &event, |tx| {
        sqlx::query(
            "INSERT INTO grants (resource_kind, resource_id, user_id, role, granted_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (resource_kind, resource_id, user_id) DO UPDATE SET role = excluded.role, granted_by = excluded.granted_by",
        )
        .bind(kind)
        .bind(&id)
        .bind(&user_id)
        .bind(role_parsed.name())
        .bind(&granted_by)
        .bind(now)
        .execute(&mut *tx)
        .await?
    });
    Ok(answer)
}

/// Who a file or folder is shared with.
pub async fn list(app: &App, ctx: &Ctx, kind: &str, id: &str) -> AppResult<Vec<Grant>> {
    let id = shareable(app, ctx, kind, id).await?;
    let sql =
        format!("{SELECT} WHERE g.resource_kind = $1 AND g.resource_id = $2 ORDER BY u.email");
    on_db!(&app.db, pool => {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(kind).bind(&id).fetch_all(pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(grant_from_row!(row));
        }
        Ok(out)
    })
}

/// Takes a user's role on a file or folder away.
pub async fn revoke(app: &App, ctx: &Ctx, kind: &str, id: &str, user_id: &str) -> AppResult<()> {
    let id = shareable(app, ctx, kind, id).await?;
    let user_id = names::id(user_id)?;
    let event = ctx
        .event("share.revoked", kind, &id)
        .attr("user", user_id.as_str())
        .build()?;
    in_tx_with_event!(&app.db, &event, |tx| {
        let removed = sqlx::query(
            "DELETE FROM grants WHERE resource_kind = $1 AND resource_id = $2 AND user_id = $3",
        )
        .bind(kind)
        .bind(&id)
        .bind(&user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if removed == 0 {
            return Err(AppError::NotFound("that user has no role here".into()));
        }
    });
    Ok(())
}

/// What others shared with the caller.
pub async fn shared_with_me(app: &App, ctx: &Ctx) -> AppResult<Vec<Grant>> {
    let user = super::authorize_own_account(app, ctx).await?;
    let sql = format!("{SELECT} WHERE g.user_id = $1 ORDER BY g.created_at DESC LIMIT 1000");
    on_db!(&app.db, pool => {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(&user).fetch_all(pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(grant_from_row!(row));
        }
        Ok(out)
    })
}
