//! Folders: a tree per owner. Roles and links inherit down it (the policy pack does that).

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use super::{Ctx, authorize, names, rfc3339};
use crate::app::App;
use crate::authz::{Node, Target};
use crate::error::{AppError, AppResult};
use crate::{in_tx_with_event, on_db};

/// Deepest folder nesting accepted.
pub const MAX_DEPTH: usize = 64;

/// A folder.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Folder {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Parent folder id; absent at the owner's root.
    pub parent_id: Option<String>,
    /// Owner's user id.
    pub owner_id: String,
    /// Readable by anyone.
    pub public: bool,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
}

const COLUMNS: &str = "id, owner_id, parent_id, name, is_public, created_at, updated_at";

macro_rules! folder_from_row {
    ($row:expr) => {{
        let row = $row;
        let parent: String = row.try_get("parent_id")?;
        Folder {
            id: row.try_get("id")?,
            owner_id: row.try_get("owner_id")?,
            parent_id: (!parent.is_empty()).then_some(parent),
            name: row.try_get("name")?,
            public: row.try_get("is_public")?,
            created_at: rfc3339(row.try_get("created_at")?),
            updated_at: rfc3339(row.try_get("updated_at")?),
        }
    }};
}

/// Loads a folder (no authorization).
pub async fn load(app: &App, id: &str) -> AppResult<Folder> {
    let sql = format!("SELECT {COLUMNS} FROM folders WHERE id = $1");
    on_db!(&app.db, pool => {
        match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await? {
            Some(row) => Ok(folder_from_row!(&row)),
            None => Err(AppError::NotFound("no such folder".into())),
        }
    })
}

/// The folder `id` and its ancestors, nearest first: one recursive query. It stops after
/// `MAX_DEPTH + 1` folders, so a cycle or an over-deep chain left by an older version ends as
/// [`AppError::Internal`] (`strongroom fsck` repairs those) instead of looping.
pub const CHAIN_SQL: &str = "WITH RECURSIVE chain (id, owner_id, parent_id, is_public, depth) AS ( \
        SELECT id, owner_id, parent_id, is_public, 0 FROM folders WHERE id = $1 \
        UNION ALL \
        SELECT f.id, f.owner_id, f.parent_id, f.is_public, c.depth + 1 \
        FROM folders f JOIN chain c ON f.id = c.parent_id \
        WHERE c.parent_id <> '' AND c.depth < $2) \
    SELECT id, owner_id, parent_id, is_public FROM chain ORDER BY depth";

/// How many levels of folders lie below folder `$1` (0 for a folder without subfolders),
/// counting at most `$2`.
const SUBTREE_HEIGHT_SQL: &str = "WITH RECURSIVE sub (id, depth) AS ( \
        SELECT id, 0 FROM folders WHERE id = $1 \
        UNION ALL \
        SELECT f.id, s.depth + 1 FROM folders f JOIN sub s ON f.parent_id = s.id WHERE s.depth < $2) \
    SELECT CAST(MAX(depth) AS BIGINT) AS height FROM sub";

/// Turns the rows of [`CHAIN_SQL`] into policy nodes (without grants).
macro_rules! nodes_from_chain_rows {
    ($rows:expr, $id:expr) => {{
        let rows = $rows;
        if rows.is_empty() {
            return Err(AppError::NotFound("no such folder".into()));
        }
        if rows.len() > MAX_DEPTH {
            return Err(AppError::Internal(format!(
                "folder {} has a cycle or is nested deeper than {MAX_DEPTH}: run `strongroom fsck --repair`",
                $id
            )));
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(Node {
                is_file: false,
                id: row.try_get("id")?,
                owner: row.try_get("owner_id")?,
                public: row.try_get("is_public")?,
                parent: row.try_get("parent_id")?,
                grants: Vec::new(),
            });
        }
        out
    }};
}

/// The folder `id` and its ancestors, nearest first, without grants.
pub async fn chain_nodes(app: &App, id: &str) -> AppResult<Vec<Node>> {
    Ok(on_db!(&app.db, pool => {
        let rows = sqlx::query(CHAIN_SQL).bind(id).bind(MAX_DEPTH as i64).fetch_all(pool).await?;
        nodes_from_chain_rows!(rows, id)
    }))
}

/// Fills in the grants of every node (one query) and drops those whose sharer lost the right
/// they were made from (see [`crate::authz::Authorizer::effective`]).
pub async fn attach_grants(app: &App, mut nodes: Vec<Node>) -> AppResult<Target> {
    let ids: Vec<&str> = nodes.iter().map(|n| n.id.as_str()).collect();
    let mut grants = super::grants::roles_on(app, &ids).await?;
    for n in &mut nodes {
        n.grants = grants.remove(&n.id).unwrap_or_default();
    }
    // The sharer's standing right, not judged by this request's address or factors.
    let facts = crate::authz::RequestFacts {
        ip: std::net::IpAddr::from([127, 0, 0, 1]),
        mfa: false,
        device_trusted: false,
    };
    Ok(Target::Resource(app.authz.effective(nodes, &facts)))
}

/// The folder `id` and its ancestors, nearest first, as policy nodes with their grants.
pub async fn chain(app: &App, id: &str) -> AppResult<Vec<Node>> {
    match attach_grants(app, chain_nodes(app, id).await?).await? {
        Target::Resource(nodes) => Ok(nodes),
        _ => Err(AppError::Internal("folder chain".into())),
    }
}

/// Authorizes `action` on folder `id`; a folder the caller may not even read is "not found".
pub async fn authorize_on(app: &App, ctx: &Ctx, action: &str, id: &str) -> AppResult<Vec<Node>> {
    let id = names::id(id)?;
    let nodes = chain(app, &id).await?;
    let target = Target::Resource(nodes.clone());
    match authorize(app, ctx, action, &target, "folder", &id).await {
        Ok(()) => Ok(nodes),
        Err(AppError::NotFound(_)) => Err(AppError::NotFound("no such folder".into())),
        Err(e) => Err(e),
    }
}

/// Authorizes creating something in `parent` (the caller's root when `None`); returns the owner
/// of the new item (the folder's owner, so shared folders stay whole).
pub async fn authorize_create_in(
    app: &App,
    ctx: &Ctx,
    parent: Option<&str>,
) -> AppResult<(String, String)> {
    match parent.filter(|p| !p.is_empty()) {
        None => {
            super::authorize_platform(app, ctx, "create_root").await?;
            Ok((ctx.user_id()?.to_owned(), String::new()))
        }
        Some(p) => {
            let nodes = authorize_on(app, ctx, "write", p).await?;
            Ok((nodes[0].owner.clone(), nodes[0].id.clone()))
        }
    }
}

/// Creates a folder.
pub async fn create(app: &App, ctx: &Ctx, parent: Option<&str>, name: &str) -> AppResult<Folder> {
    let (owner, parent_id) = authorize_create_in(app, ctx, parent).await?;
    let name = names::file_name(name)?;
    let id = uuid::Uuid::now_v7().to_string();
    let now = app.now();
    let event = ctx
        .event("folder.created", "folder", &id)
        .attr("name", name.as_str())
        .build()?;
    in_tx_with_event!(&app.db, &event, |tx| {
        if !parent_id.is_empty() {
            // Shared lock on the owner's tree: no move reshapes it until this commits, so the
            // depth checked here is the depth the new folder gets.
            crate::db::FolderLock::lock_tree(&mut tx, &owner, false).await?;
            if !crate::db::FolderLock::lock_folder(&mut tx, &parent_id, false).await? {
                return Err(AppError::NotFound("the folder no longer exists".into()));
            }
            let rows = sqlx::query(CHAIN_SQL)
                .bind(&parent_id)
                .bind(MAX_DEPTH as i64)
                .fetch_all(&mut *tx)
                .await?;
            if nodes_from_chain_rows!(rows, parent_id).len() >= MAX_DEPTH {
                return Err(AppError::Invalid(format!(
                    "folders nest at most {MAX_DEPTH} deep"
                )));
            }
        }
        sqlx::query(
            "INSERT INTO folders (id, owner_id, parent_id, name, is_public, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, FALSE, $5, $5)",
        )
        .bind(&id)
        .bind(&owner)
        .bind(&parent_id)
        .bind(&name)
        .bind(now)
        .execute(&mut *tx)
        .await?
    });
    load(app, &id).await
}

/// A folder's metadata.
pub async fn get(app: &App, ctx: &Ctx, id: &str) -> AppResult<Folder> {
    let nodes = authorize_on(app, ctx, "read", id).await?;
    load(app, &nodes[0].id).await
}

/// Subfolders of `parent` ('' = the owner's root), by name.
pub async fn children(app: &App, owner: &str, parent: &str) -> AppResult<Vec<Folder>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM folders WHERE owner_id = $1 AND parent_id = $2 ORDER BY name LIMIT 1000"
    );
    on_db!(&app.db, pool => {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(owner).bind(parent).fetch_all(pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(folder_from_row!(row));
        }
        Ok(out)
    })
}

/// Renames, moves and/or publishes a folder.
pub async fn update(
    app: &App,
    ctx: &Ctx,
    id: &str,
    name: Option<&str>,
    parent: Option<&str>,
    public: Option<bool>,
) -> AppResult<Folder> {
    let nodes = authorize_on(
        app,
        ctx,
        if parent.is_some() || public.is_some() {
            "manage"
        } else {
            "write"
        },
        id,
    )
    .await?;
    let folder = load(app, &nodes[0].id).await?;
    let name = name.map(names::file_name).transpose()?;
    let mut new_parent = None;
    if let Some(p) = parent {
        let (owner, pid) = authorize_create_in(app, ctx, Some(p).filter(|p| !p.is_empty())).await?;
        if owner != folder.owner_id {
            return Err(AppError::Invalid(
                "folders move only within their owner's tree".into(),
            ));
        }
        new_parent = Some(pid);
    }
    let event = ctx
        .event("folder.updated", "folder", &folder.id)
        .attr("renamed", name.is_some())
        .attr("moved", new_parent.is_some())
        .build()?;
    let event = match public {
        Some(p) => ctx
            .event(
                if p {
                    "folder.published"
                } else {
                    "folder.unpublished"
                },
                "folder",
                &folder.id,
            )
            .build()?,
        None => event,
    };
    let now = app.now();
    in_tx_with_event!(&app.db, &event, |tx| {
        if let Some(p) = new_parent.as_deref().filter(|p| !p.is_empty()) {
            // Moves of one owner's folders take turns (exclusive lock on the tree), and the
            // cycle and depth checks read the tree inside this transaction: two opposite moves
            // racing each other cannot both pass.
            crate::db::FolderLock::lock_tree(&mut tx, &folder.owner_id, true).await?;
            if !crate::db::FolderLock::lock_folder(&mut tx, p, false).await? {
                return Err(AppError::NotFound("the folder no longer exists".into()));
            }
            let rows = sqlx::query(CHAIN_SQL)
                .bind(p)
                .bind(MAX_DEPTH as i64)
                .fetch_all(&mut *tx)
                .await?;
            let above = nodes_from_chain_rows!(rows, p);
            if above.iter().any(|n| n.id == folder.id) {
                return Err(AppError::Invalid("a folder cannot move into itself".into()));
            }
            let below: i64 = sqlx::query(SUBTREE_HEIGHT_SQL)
                .bind(&folder.id)
                .bind(MAX_DEPTH as i64)
                .fetch_one(&mut *tx)
                .await?
                .try_get("height")?;
            if above.len() as i64 + 1 + below > MAX_DEPTH as i64 {
                return Err(AppError::Invalid(format!(
                    "folders nest at most {MAX_DEPTH} deep: this move would make the deepest {}",
                    above.len() as i64 + 1 + below
                )));
            }
        }
        sqlx::query(
            "UPDATE folders SET name = COALESCE($1, name), parent_id = COALESCE($2, parent_id), \
             is_public = COALESCE($3, is_public), updated_at = $4 WHERE id = $5",
        )
        .bind(&name)
        .bind(&new_parent)
        .bind(public)
        .bind(now)
        .bind(&folder.id)
        .execute(&mut *tx)
        .await?
    });
    load(app, &folder.id).await
}

/// Deletes an empty folder.
pub async fn delete(app: &App, ctx: &Ctx, id: &str) -> AppResult<()> {
    let nodes = authorize_on(app, ctx, "delete", id).await?;
    let id = nodes[0].id.clone();
    let event = ctx.event("folder.deleted", "folder", &id).build()?;
    in_tx_with_event!(&app.db, &event, |tx| {
        // Exclusive: an upload or a new subfolder racing this delete waits, then finds it gone.
        if !crate::db::FolderLock::lock_folder(&mut tx, &id, true).await? {
            return Err(AppError::NotFound("no such folder".into()));
        }
        let files: i64 = sqlx::query("SELECT COUNT(*) AS n FROM files WHERE folder_id = $1")
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        let subs: i64 = sqlx::query("SELECT COUNT(*) AS n FROM folders WHERE parent_id = $1")
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if files + subs > 0 {
            return Err(AppError::Conflict("the folder is not empty".into()));
        }
        sqlx::query("DELETE FROM grants WHERE resource_kind = 'folder' AND resource_id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM folders WHERE id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?
    });
    Ok(())
}
