//! [`FileStore`] in SQL.

use async_trait::async_trait;
use sqlx::Row;
use strongroom_audit::AuditEvent;

use super::SqlStore;
use crate::store::db::{RowLock, in_tx_with_event, on_db};
use crate::store::folders::ChainNode;
use crate::store::{
    Error, FileChange, FileOrder, FileQuery, FileRecord, FileStore, FileUsage, Located, MAX_DEPTH,
    Quota, Result, TrashQuery,
};

const COLUMNS: &str = "id, owner_id, folder_id, name, size, content_type, sha256, signature, blob_key, is_public, version, created_at, updated_at, trashed_at";

/// The file `$1` and the folders above it, nearest first, in one statement: one row per folder
/// (the file's columns repeated), or one row with NULL folder columns for a file at the root.
/// The chain stops after `$2 + 1` folders, so a cycle left by an older version cannot loop.
const LOCATE_SQL: &str = "WITH RECURSIVE chain (id, owner_id, parent_id, is_public, trashed_at, depth) AS ( \
        SELECT f.id, f.owner_id, f.parent_id, f.is_public, f.trashed_at, 0 FROM folders f JOIN files x ON f.id = x.folder_id WHERE x.id = $1 \
        UNION ALL \
        SELECT f.id, f.owner_id, f.parent_id, f.is_public, f.trashed_at, c.depth + 1 \
        FROM folders f JOIN chain c ON f.id = c.parent_id \
        WHERE c.parent_id <> '' AND c.depth < $2) \
    SELECT x.id, x.owner_id, x.folder_id, x.name, x.size, x.content_type, x.sha256, x.signature, x.blob_key, x.is_public, x.version, x.created_at, x.updated_at, x.trashed_at, \
        c.id AS c_id, c.owner_id AS c_owner_id, c.parent_id AS c_parent_id, c.is_public AS c_is_public, \
        c.trashed_at AS c_trashed_at \
    FROM files x LEFT JOIN chain c ON TRUE WHERE x.id = $1 ORDER BY c.depth";

macro_rules! file_from_row {
    ($row:expr) => {{
        let row = $row;
        let size: i64 = row.try_get("size")?;
        FileRecord {
            id: row.try_get("id")?,
            owner_id: row.try_get("owner_id")?,
            folder_id: row.try_get("folder_id")?,
            name: row.try_get("name")?,
            size: size.max(0) as u64,
            content_type: row.try_get("content_type")?,
            sha256: row.try_get("sha256")?,
            signature: row.try_get("signature")?,
            blob_key: row.try_get("blob_key")?,
            public: row.try_get("is_public")?,
            version: row.try_get("version")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            trashed_at: row.try_get("trashed_at")?,
        }
    }};
}

pub(super) use file_from_row;

/// [`COLUMNS`] of `files f`.
pub(super) const PREFIXED_COLUMNS: &str = "f.id, f.owner_id, f.folder_id, f.name, f.size, f.content_type, f.sha256, f.signature, f.blob_key, f.is_public, f.version, f.created_at, f.updated_at, f.trashed_at";

macro_rules! located_from_rows {
    ($rows:expr) => {{
        let rows = $rows;
        match rows.first() {
            None => None,
            Some(first) => {
                let file = file_from_row!(first);
                let mut folders = Vec::with_capacity(rows.len());
                for r in rows.iter() {
                    let Some(id) = r.try_get::<Option<String>, _>("c_id")? else {
                        continue;
                    };
                    folders.push(ChainNode {
                        id,
                        owner_id: r.try_get("c_owner_id")?,
                        parent_id: r.try_get("c_parent_id")?,
                        public: r.try_get("c_is_public")?,
                        trashed: r.try_get::<Option<i64>, _>("c_trashed_at")?.is_some(),
                    });
                }
                if folders.len() > MAX_DEPTH {
                    return Err(super::folders::corrupt(&file.folder_id));
                }
                Some(Located { file, folders })
            }
        }
    }};
}

/// Inside transaction `$tx`: refolds the name in file `$id`'s search document.
macro_rules! rename_doc {
    ($tx:ident, $id:expr, $name:expr) => {
        sqlx::query("UPDATE search_docs SET name_key = $1 WHERE file_id = $2")
            .bind(crate::store::search::fold($name))
            .bind($id)
            .execute(&mut *$tx)
            .await?
    };
}

#[async_trait]
impl FileStore for SqlStore {
    async fn insert(
        &self,
        f: &FileRecord,
        words: &str,
        quota: &Quota,
        event: &AuditEvent,
    ) -> Result<()> {
        in_tx_with_event!(&self.db, event, |tx| {
            if !f.folder_id.is_empty() && !tx.lock_folder(&f.folder_id, false).await? {
                return Err(Error::ParentGone);
            }
            sqlx::query(
                "INSERT INTO files (id, owner_id, folder_id, name, size, content_type, sha256, signature, blob_key, is_public, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12)",
            )
            .bind(&f.id)
            .bind(&f.owner_id)
            .bind(&f.folder_id)
            .bind(&f.name)
            .bind(f.size.min(i64::MAX as u64) as i64)
            .bind(&f.content_type)
            .bind(&f.sha256)
            .bind(&f.signature)
            .bind(&f.blob_key)
            .bind(f.public)
            .bind(f.created_at)
            .bind(f.updated_at)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO file_versions (file_id, version, size, content_type, sha256, signature, blob_key, created_by, created_at) \
                 VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&f.id)
            .bind(f.size.min(i64::MAX as u64) as i64)
            .bind(&f.content_type)
            .bind(&f.sha256)
            .bind(&f.signature)
            .bind(&f.blob_key)
            .bind(&f.owner_id)
            .bind(f.created_at)
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO search_docs (file_id, name_key, words) VALUES ($1, $2, $3)")
                .bind(&f.id)
                .bind(crate::store::search::fold(&f.name))
                .bind(words)
                .execute(&mut *tx)
                .await?;
            // Counted with the new rows in: a name clash above fails first (the caller makes a
            // version of it instead), and the check sees exactly what would commit.
            check_quota!(tx, &f.owner_id, quota, 0, 0)
        });
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<FileRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM files WHERE id = $1");
        on_db!(&self.db, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await? {
                Some(row) => Ok(Some(file_from_row!(&row))),
                None => Ok(None),
            }
        })
    }

    async fn locate(&self, id: &str) -> Result<Option<Located>> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query(LOCATE_SQL).bind(id).bind(MAX_DEPTH as i64).fetch_all(pool).await?;
            Ok(located_from_rows!(rows))
        })
    }

    async fn locate_many(&self, ids: &[&str]) -> Result<Vec<Located>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = (2..ids.len() + 2).map(|i| format!("${i}")).collect();
        let list = list.join(", ");
        // LOCATE_SQL over many files: each chain row carries the file it belongs to.
        let sql = format!(
            "WITH RECURSIVE chain (file_id, id, owner_id, parent_id, is_public, trashed_at, depth) AS ( \
                SELECT x.id, f.id, f.owner_id, f.parent_id, f.is_public, f.trashed_at, 0 FROM folders f JOIN files x ON f.id = x.folder_id WHERE x.id IN ({list}) \
                UNION ALL \
                SELECT c.file_id, f.id, f.owner_id, f.parent_id, f.is_public, f.trashed_at, c.depth + 1 \
                FROM folders f JOIN chain c ON f.id = c.parent_id \
                WHERE c.parent_id <> '' AND c.depth < $1) \
            SELECT x.id, x.owner_id, x.folder_id, x.name, x.size, x.content_type, x.sha256, x.signature, x.blob_key, x.is_public, x.version, x.created_at, x.updated_at, x.trashed_at, \
                c.id AS c_id, c.owner_id AS c_owner_id, c.parent_id AS c_parent_id, c.is_public AS c_is_public, \
                c.trashed_at AS c_trashed_at \
            FROM files x LEFT JOIN chain c ON c.file_id = x.id WHERE x.id IN ({list}) ORDER BY x.id, c.depth"
        );
        on_db!(&self.db, pool => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(MAX_DEPTH as i64);
            for id in ids {
                q = q.bind(*id);
            }
            let rows = q.fetch_all(pool).await?;
            let mut out = Vec::new();
            let mut start = 0;
            while start < rows.len() {
                let id: String = rows[start].try_get("id")?;
                let mut end = start + 1;
                while end < rows.len() && rows[end].try_get::<String, _>("id")? == id {
                    end += 1;
                }
                if let Some(l) = located_from_rows!(&rows[start..end]) {
                    out.push(l);
                }
                start = end;
            }
            Ok(out)
        })
    }

    async fn list(&self, q: &FileQuery<'_>) -> Result<Vec<FileRecord>> {
        let column = match q.order {
            FileOrder::Name => "name",
            FileOrder::Created => "created_at",
            FileOrder::Updated => "updated_at",
            FileOrder::Size => "size",
        };
        let dir = if q.desc { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {COLUMNS} FROM files WHERE owner_id = $1 AND folder_id = $2 AND trashed_at IS NULL ORDER BY {column} {dir}, id {dir} LIMIT $3 OFFSET $4"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(q.owner_id)
                .bind(q.folder_id)
                .bind(i64::from(q.limit))
                .bind(q.offset.min(i64::MAX as u64) as i64)
                .fetch_all(pool)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(file_from_row!(row));
            }
            Ok(out)
        })
    }

    async fn find_named(
        &self,
        owner_id: &str,
        folder_id: &str,
        name: &str,
    ) -> Result<Option<FileRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM files WHERE owner_id = $1 AND folder_id = $2 AND name = $3 AND trashed_at IS NULL"
        );
        on_db!(&self.db, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(owner_id).bind(folder_id).bind(name).fetch_optional(pool).await? {
                Some(row) => Ok(Some(file_from_row!(&row))),
                None => Ok(None),
            }
        })
    }

    async fn update(&self, id: &str, c: &FileChange, at: i64, event: &AuditEvent) -> Result<()> {
        in_tx_with_event!(&self.db, event, |tx| {
            if let Some(folder) = c.folder_id.as_deref().filter(|f| !f.is_empty())
                && !tx.lock_folder(folder, false).await?
            {
                return Err(Error::ParentGone);
            }
            let n = sqlx::query(
                "UPDATE files SET name = COALESCE($1, name), folder_id = COALESCE($2, folder_id), \
                 is_public = COALESCE($3, is_public), updated_at = $4 WHERE id = $5",
            )
            .bind(&c.name)
            .bind(&c.folder_id)
            .bind(c.public)
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(Error::NotFound);
            }
            if let Some(name) = &c.name {
                rename_doc!(tx, id, name);
            }
        });
        Ok(())
    }

    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<Option<Vec<String>>> {
        let blobs: Vec<String>;
        in_tx_with_event!(&self.db, event, |tx| {
            blobs = sqlx::query("SELECT DISTINCT blob_key FROM file_versions WHERE file_id = $1")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get("blob_key"))
                .collect::<Result<_, _>>()?;
            sqlx::query("DELETE FROM shares WHERE resource_kind = 'file' AND resource_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            // Its links and versions go with it (`ON DELETE CASCADE`).
            let n = sqlx::query("DELETE FROM files WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Ok(None);
            }
        });
        Ok(Some(blobs))
    }

    async fn trash(&self, id: &str, at: i64, event: &AuditEvent) -> Result<()> {
        in_tx_with_event!(&self.db, event, |tx| {
            let n = sqlx::query(
                "UPDATE files SET trashed_at = $1, updated_at = $1 WHERE id = $2 AND trashed_at IS NULL",
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
        folder_id: &str,
        name: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        in_tx_with_event!(&self.db, event, |tx| {
            if !folder_id.is_empty() && !tx.lock_folder(folder_id, false).await? {
                return Err(Error::ParentGone);
            }
            let n = sqlx::query(
                "UPDATE files SET trashed_at = NULL, folder_id = $1, name = $2, updated_at = $3 \
                 WHERE id = $4 AND trashed_at IS NOT NULL",
            )
            .bind(folder_id)
            .bind(name)
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(Error::NotFound);
            }
            rename_doc!(tx, id, name);
        });
        Ok(())
    }

    async fn trashed(&self, q: &TrashQuery<'_>) -> Result<Vec<FileRecord>> {
        let sql = super::trashed_sql("files", COLUMNS);
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(q.owner_id)
                .bind(q.before)
                .bind(i64::from(q.limit))
                .fetch_all(pool)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(file_from_row!(row));
            }
            Ok(out)
        })
    }

    async fn in_folder(&self, folder_id: &str) -> Result<Vec<FileRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM files WHERE folder_id = $1 ORDER BY id");
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(folder_id).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(file_from_row!(row));
            }
            Ok(out)
        })
    }

    async fn usage(&self, owner_id: &str) -> Result<FileUsage> {
        // The trash: files marked, and files anywhere below a marked folder.
        const SQL: &str = "WITH RECURSIVE binned (id, depth) AS ( \
                SELECT id, 0 FROM folders WHERE owner_id = $1 AND trashed_at IS NOT NULL \
                UNION ALL \
                SELECT f.id, b.depth + 1 FROM folders f JOIN binned b ON f.parent_id = b.id WHERE b.depth < $2), \
            per_file AS ( \
                SELECT f.id, (f.trashed_at IS NOT NULL OR f.folder_id IN (SELECT id FROM binned)) AS in_trash, \
                    (SELECT CAST(COUNT(*) AS BIGINT) FROM file_versions v WHERE v.file_id = f.id) AS versions, \
                    (SELECT CAST(COALESCE(SUM(v.size), 0) AS BIGINT) FROM file_versions v WHERE v.file_id = f.id) AS bytes \
                FROM files f WHERE f.owner_id = $1) \
            SELECT CAST(COUNT(*) AS BIGINT) AS files, CAST(COALESCE(SUM(versions), 0) AS BIGINT) AS versions, \
                CAST(COALESCE(SUM(bytes), 0) AS BIGINT) AS bytes, \
                CAST(COALESCE(SUM(CASE WHEN in_trash THEN 1 ELSE 0 END), 0) AS BIGINT) AS trash_files, \
                CAST(COALESCE(SUM(CASE WHEN in_trash THEN bytes ELSE 0 END), 0) AS BIGINT) AS trash_bytes \
            FROM per_file";
        on_db!(&self.db, pool => {
            let r = sqlx::query(SQL).bind(owner_id).bind(MAX_DEPTH as i64).fetch_one(pool).await?;
            let n = |c: &str| -> Result<u64> { Ok(r.try_get::<i64, _>(c)?.max(0) as u64) };
            Ok(FileUsage {
                files: n("files")?,
                versions: n("versions")?,
                bytes: n("bytes")?,
                trash_files: n("trash_files")?,
                trash_bytes: n("trash_bytes")?,
            })
        })
    }

    async fn owners(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query(
                "SELECT DISTINCT owner_id FROM files WHERE ($1 IS NULL OR owner_id > $1) \
                 ORDER BY owner_id LIMIT $2",
            )
            .bind(after)
            .bind(limit.min(i64::MAX as usize) as i64)
            .fetch_all(pool)
            .await?;
            rows.iter().map(|r| Ok(r.try_get("owner_id")?)).collect()
        })
    }
}
