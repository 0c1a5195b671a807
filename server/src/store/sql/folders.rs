//! [`FolderStore`] in SQL: the chain is one recursive query, and the cycle and depth checks of
//! a move run inside its write transaction.

use async_trait::async_trait;
use sqlx::Row;
use strongroom_audit::AuditEvent;

use super::SqlStore;
use crate::store::db::{RowLock, in_tx_with_event, on_db};
use crate::store::{
    ChainNode, Error, FOLDER_NOT_EMPTY, FolderChange, FolderEdge, FolderRecord, FolderStore,
    MAX_DEPTH, Result, TrashQuery,
};

const COLUMNS: &str =
    "id, owner_id, parent_id, name, is_public, created_at, updated_at, trashed_at";

/// The folder `$1` and its ancestors, nearest first: one recursive query. It stops after
/// `$2 + 1` folders, so a cycle or an over-deep chain left by an older version ends as
/// [`Error::Corrupt`] instead of looping.
const CHAIN_SQL: &str = "WITH RECURSIVE chain (id, owner_id, parent_id, is_public, trashed_at, depth) AS ( \
        SELECT id, owner_id, parent_id, is_public, trashed_at, 0 FROM folders WHERE id = $1 \
        UNION ALL \
        SELECT f.id, f.owner_id, f.parent_id, f.is_public, f.trashed_at, c.depth + 1 \
        FROM folders f JOIN chain c ON f.id = c.parent_id \
        WHERE c.parent_id <> '' AND c.depth < $2) \
    SELECT id, owner_id, parent_id, is_public, trashed_at FROM chain ORDER BY depth";

/// Folder `$1` and every folder below it, parents first, at most `$2` levels down.
const SUBTREE_SQL: &str = "WITH RECURSIVE sub (id, depth) AS ( \
        SELECT id, 0 FROM folders WHERE id = $1 \
        UNION ALL \
        SELECT f.id, s.depth + 1 FROM folders f JOIN sub s ON f.parent_id = s.id WHERE s.depth < $2) \
    SELECT f.id, f.owner_id, f.parent_id, f.name, f.is_public, f.created_at, f.updated_at, f.trashed_at \
    FROM sub s JOIN folders f ON f.id = s.id ORDER BY s.depth, f.id";

/// How many levels of folders lie below folder `$1` (0 for a folder without subfolders),
/// counting at most `$2`.
const SUBTREE_HEIGHT_SQL: &str = "WITH RECURSIVE sub (id, depth) AS ( \
        SELECT id, 0 FROM folders WHERE id = $1 \
        UNION ALL \
        SELECT f.id, s.depth + 1 FROM folders f JOIN sub s ON f.parent_id = s.id WHERE s.depth < $2) \
    SELECT CAST(MAX(depth) AS BIGINT) AS height FROM sub";

pub(super) use crate::store::folders::corrupt;

macro_rules! folder_from_row {
    ($row:expr) => {{
        let row = $row;
        FolderRecord {
            id: row.try_get("id")?,
            owner_id: row.try_get("owner_id")?,
            parent_id: row.try_get("parent_id")?,
            name: row.try_get("name")?,
            public: row.try_get("is_public")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            trashed_at: row.try_get("trashed_at")?,
        }
    }};
}

/// Runs [`CHAIN_SQL`] for `$id` on `$executor` (a pool or a transaction).
macro_rules! chain_on {
    ($executor:expr, $id:expr) => {{
        let id: &str = $id;
        let rows = sqlx::query(CHAIN_SQL)
            .bind(id)
            .bind(MAX_DEPTH as i64)
            .fetch_all($executor)
            .await?;
        if rows.len() > MAX_DEPTH {
            return Err(corrupt(id));
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(ChainNode {
                id: row.try_get("id")?,
                owner_id: row.try_get("owner_id")?,
                parent_id: row.try_get("parent_id")?,
                public: row.try_get("is_public")?,
                trashed: row.try_get::<Option<i64>, _>("trashed_at")?.is_some(),
            });
        }
        out
    }};
}

/// The checks of moving folder `$id` of `$owner` under `$parent` inside transaction `$tx`:
/// moves of one owner's folders take turns (exclusive lock on the tree), and the cycle and
/// depth checks read the tree inside this transaction, so two opposite moves racing each other
/// cannot both pass.
macro_rules! check_move {
    ($tx:ident, $id:expr, $owner:expr, $parent:expr) => {{
        let (id, owner, parent): (&str, &str, &str) = ($id, $owner, $parent);
        $tx.lock_tree(owner, true).await?;
        if !$tx.lock_folder(parent, false).await? {
            return Err(Error::ParentGone);
        }
        let above = chain_on!(&mut *$tx, parent);
        if above.first().is_some_and(|p| p.owner_id != owner) {
            return Err(Error::Invalid(
                "folders move only within their owner's tree".into(),
            ));
        }
        if above.iter().any(|n| n.id == id) {
            return Err(Error::Invalid("a folder cannot move into itself".into()));
        }
        let below: i64 = sqlx::query(SUBTREE_HEIGHT_SQL)
            .bind(id)
            .bind(MAX_DEPTH as i64)
            .fetch_one(&mut *$tx)
            .await?
            .try_get::<Option<i64>, _>("height")?
            .unwrap_or(0);
        let deepest = above.len() as i64 + 1 + below;
        if deepest > MAX_DEPTH as i64 {
            return Err(Error::Invalid(format!(
                "folders nest at most {MAX_DEPTH} deep: this move would make the deepest {deepest}"
            )));
        }
    }};
}

/// Refuses with `Conflict` when folder `$id` is a team's space (it goes only with its team).
macro_rules! refuse_space {
    ($tx:ident, $id:expr) => {
        if sqlx::query("SELECT 1 AS one FROM teams WHERE space_id = $1")
            .bind($id)
            .fetch_optional(&mut *$tx)
            .await?
            .is_some()
        {
            return Err(Error::Conflict(crate::store::teams::SPACE_STAYS.into()));
        }
    };
}

#[async_trait]
impl FolderStore for SqlStore {
    async fn create(&self, f: &FolderRecord, event: &AuditEvent) -> Result<()> {
        in_tx_with_event!(&self.db, event, |tx| {
            if !f.parent_id.is_empty() {
                // Shared lock on the owner's tree: no move reshapes it until this commits, so the
                // depth checked here is the depth the new folder gets.
                tx.lock_tree(&f.owner_id, false).await?;
                if !tx.lock_folder(&f.parent_id, false).await? {
                    return Err(Error::ParentGone);
                }
                if chain_on!(&mut *tx, &f.parent_id).len() >= MAX_DEPTH {
                    return Err(Error::Invalid(format!(
                        "folders nest at most {MAX_DEPTH} deep"
                    )));
                }
            }
            sqlx::query(
                "INSERT INTO folders (id, owner_id, parent_id, name, is_public, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&f.id)
            .bind(&f.owner_id)
            .bind(&f.parent_id)
            .bind(&f.name)
            .bind(f.public)
            .bind(f.created_at)
            .bind(f.updated_at)
            .execute(&mut *tx)
            .await?
        });
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<FolderRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM folders WHERE id = $1");
        on_db!(&self.db, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await? {
                Some(row) => Ok(Some(folder_from_row!(&row))),
                None => Ok(None),
            }
        })
    }

    async fn chain(&self, id: &str) -> Result<Vec<ChainNode>> {
        on_db!(&self.db, pool => Ok(chain_on!(pool, id)))
    }

    async fn children(&self, owner_id: &str, parent_id: &str) -> Result<Vec<FolderRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM folders WHERE owner_id = $1 AND parent_id = $2 AND trashed_at IS NULL ORDER BY name LIMIT 1000"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(owner_id).bind(parent_id).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(folder_from_row!(row));
            }
            Ok(out)
        })
    }

    async fn update(&self, id: &str, c: &FolderChange, at: i64, event: &AuditEvent) -> Result<()> {
        in_tx_with_event!(&self.db, event, |tx| {
            if let Some(parent) = c.parent_id.as_deref().filter(|p| !p.is_empty()) {
                let owner: Option<String> =
                    sqlx::query("SELECT owner_id FROM folders WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .map(|r| r.try_get("owner_id"))
                        .transpose()?;
                let Some(owner) = owner else {
                    return Err(Error::NotFound);
                };
                refuse_space!(tx, id);
                check_move!(tx, id, &owner, parent);
            }
            let n = sqlx::query(
                "UPDATE folders SET name = COALESCE($1, name), parent_id = COALESCE($2, parent_id), \
                 is_public = COALESCE($3, is_public), updated_at = $4 WHERE id = $5",
            )
            .bind(&c.name)
            .bind(&c.parent_id)
            .bind(c.public)
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(Error::NotFound);
            }
        });
        Ok(())
    }

    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()> {
        in_tx_with_event!(&self.db, event, |tx| {
            // Exclusive: an upload or a new subfolder racing this delete waits, then finds it gone.
            if !tx.lock_folder(id, true).await? {
                return Err(Error::NotFound);
            }
            refuse_space!(tx, id);
            let files: i64 = sqlx::query("SELECT COUNT(*) AS n FROM files WHERE folder_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            let subs: i64 = sqlx::query("SELECT COUNT(*) AS n FROM folders WHERE parent_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            if files + subs > 0 {
                return Err(Error::Conflict(FOLDER_NOT_EMPTY.into()));
            }
            sqlx::query("DELETE FROM shares WHERE resource_kind = 'folder' AND resource_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM folders WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
        });
        Ok(())
    }

    async fn edges(&self) -> Result<Vec<FolderEdge>> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query("SELECT id, owner_id, parent_id FROM folders").fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(FolderEdge {
                    id: r.try_get("id")?,
                    owner_id: r.try_get("owner_id")?,
                    parent_id: r.try_get("parent_id")?,
                });
            }
            Ok(out)
        })
    }

    async fn reattach(&self, id: &str, name: &str, at: i64, event: &AuditEvent) -> Result<()> {
        in_tx_with_event!(&self.db, event, |tx| {
            let n = sqlx::query(
                "UPDATE folders SET parent_id = '', name = $1, updated_at = $2 WHERE id = $3",
            )
            .bind(name)
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(Error::NotFound);
            }
        });
        Ok(())
    }

    async fn trash(&self, id: &str, at: i64, event: &AuditEvent) -> Result<()> {
        in_tx_with_event!(&self.db, event, |tx| {
            // Exclusive: an upload or a new subfolder racing this waits, then finds it trashed.
            if !tx.lock_folder(id, true).await? {
                return Err(Error::NotFound);
            }
            refuse_space!(tx, id);
            let n = sqlx::query(
                "UPDATE folders SET trashed_at = $1, updated_at = $1 WHERE id = $2 AND trashed_at IS NULL",
            )
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(Error::NotFound);
            }
        });
        Ok(())
    }

    async fn restore(
        &self,
        id: &str,
        parent_id: &str,
        name: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        in_tx_with_event!(&self.db, event, |tx| {
            let owner: Option<String> = sqlx::query(
                "SELECT owner_id FROM folders WHERE id = $1 AND trashed_at IS NOT NULL",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get("owner_id"))
            .transpose()?;
            let Some(owner) = owner else {
                return Err(Error::NotFound);
            };
            if !parent_id.is_empty() {
                check_move!(tx, id, &owner, parent_id);
            }
            let n = sqlx::query(
                "UPDATE folders SET trashed_at = NULL, parent_id = $1, name = $2, updated_at = $3 \
                 WHERE id = $4 AND trashed_at IS NOT NULL",
            )
            .bind(parent_id)
            .bind(name)
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(Error::NotFound);
            }
        });
        Ok(())
    }

    async fn trashed(&self, q: &TrashQuery<'_>) -> Result<Vec<FolderRecord>> {
        let sql = super::trashed_sql("folders", COLUMNS);
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(q.owner_id)
                .bind(q.before)
                .bind(i64::from(q.limit))
                .fetch_all(pool)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(folder_from_row!(row));
            }
            Ok(out)
        })
    }

    async fn subtree(&self, id: &str) -> Result<Vec<FolderRecord>> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query(SUBTREE_SQL).bind(id).bind(MAX_DEPTH as i64).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(folder_from_row!(row));
            }
            Ok(out)
        })
    }
}
