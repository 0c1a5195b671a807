//! Shares with named users: a viewer, commenter or editor role on a file or folder. A role on a
//! folder reaches everything inside it; the policy pack's role entities do the inheritance.

use serde::Serialize;
use sqlx::Row;
use strongroom_access_policy::pack::Role;
use utoipa::ToSchema;

use super::{Ctx, files, folders, names, now_micros, rfc3339};
use crate::app::App;
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

/// The roles users hold directly on one node (for policy decisions).
pub async fn roles_on(app: &App, kind: &str, id: &str) -> AppResult<Vec<(String, Role)>> {
    let rows: Vec<(String, String)> = on_db!(&app.db, pool => {
        let rows = sqlx::query("SELECT user_id, role FROM grants WHERE resource_kind = $1 AND resource_id = $2")
            .bind(kind)
            .bind(id)
            .fetch_all(pool)
            .await?;
        rows.iter()
            .map(|r| Ok::<_, sqlx::Error>((r.try_get("user_id")?, r.try_get("role")?)))
            .collect::<Result<_, _>>()?
    });
    rows.into_iter()
        .map(|(u, r)| {
            Ok((
                u,
                parse_role(&r).map_err(|_| AppError::Internal(format!("stored role {r:?}")))?,
            ))
        })
        .collect()
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

/// Gives the user with `email` a role on a file or folder (replacing a role they had).
pub async fn grant(
    app: &App,
    ctx: &Ctx,
    kind: &str,
    id: &str,
    email: &str,
    role: &str,
) -> AppResult<Grant> {
    let id = shareable(app, ctx, kind, id).await?;
    let role_parsed = parse_role(role)?;
    let email = names::email(email)?;
    let user_id: String = on_db!(&app.db, pool => {
        match sqlx::query("SELECT id FROM users WHERE email = $1").bind(&email).fetch_optional(pool).await? {
            Some(r) => r.try_get("id")?,
            None => return Err(AppError::Invalid(format!("no user with email {email}"))),
        }
    });
    if Some(user_id.as_str()) == ctx.principal.user_id() {
        return Err(AppError::Invalid("you cannot share with yourself".into()));
    }
    let granted_by = ctx.user_id()?.to_owned();
    let event = ctx
        .event("share.granted", kind, &id)
        .attr("user", user_id.as_str())
        .attr("role", role_parsed.name())
        .build()?;
    let now = now_micros();
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
    let sql =
        format!("{SELECT} WHERE g.resource_kind = $1 AND g.resource_id = $2 AND g.user_id = $3");
    on_db!(&app.db, pool => {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(kind).bind(&id).bind(&user_id).fetch_one(pool).await?;
        Ok(grant_from_row!(&row))
    })
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
