//! [`TagStore`], [`FieldStore`] and [`SearchIndex`] in SQL. The statements are shared but for
//! how a search term reaches the text indexes: FTS5 `MATCH` on SQLite, `LIKE` (pg_trgm) and
//! `@@` (tsvector) on PostgreSQL.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use sqlx::Row;
use strongroom_audit::AuditEvent;

use super::SqlStore;
use crate::store::db::{Db, in_tx_with_event, on_db};
use crate::store::fields::{FieldChanges, FieldDef, FieldKind, FieldStore, FieldValue, conforms};
use crate::store::search::{
    After, FieldOperand, Match, SearchIndex, SearchOrder, SearchQuery, fold, words,
};
use crate::store::tags::{Item, TagRecord, TagStore, TagUse};
use crate::store::{Error, FileRecord, MAX_DEPTH, Result, TAG_OWNER};

const TAG_COLUMNS: &str = "t.id, t.owner_id, t.name, t.colour, t.created_by, t.created_at";

macro_rules! tag_from_row {
    ($row:expr) => {{
        let r = $row;
        TagRecord {
            id: r.try_get("id")?,
            owner_id: r.try_get("owner_id")?,
            name: r.try_get("name")?,
            colour: r.try_get("colour")?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
        }
    }};
}

/// A value bound to a dynamically built statement.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i64),
    Real(f64),
}

/// Binds `$args` to `$q` in order.
macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Text(t) => q.bind(t.clone()),
                Arg::Int(i) => q.bind(*i),
                Arg::Real(r) => q.bind(*r),
            };
        }
        q
    }};
}

/// Placeholders and their values, numbered as they are added.
#[derive(Debug, Default)]
struct Args(Vec<Arg>);

impl Args {
    fn push(&mut self, a: Arg) -> String {
        self.0.push(a);
        format!("${}", self.0.len())
    }
    fn text(&mut self, t: impl Into<String>) -> String {
        self.push(Arg::Text(t.into()))
    }
    fn int(&mut self, i: i64) -> String {
        self.push(Arg::Int(i))
    }
    fn list(&mut self, items: &[String]) -> String {
        items
            .iter()
            .map(|i| self.text(i.clone()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `%text%` for `LIKE … ESCAPE '\'`.
fn contains_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

fn item_lists(items: &[Item]) -> (Vec<&str>, Vec<&str>) {
    let mut files = Vec::new();
    let mut folders = Vec::new();
    for i in items {
        match i {
            Item::File(id) => files.push(id.as_str()),
            Item::Folder(id) => folders.push(id.as_str()),
        }
    }
    (files, folders)
}

#[async_trait]
impl TagStore for SqlStore {
    async fn create(&self, tag: &TagRecord, event: &AuditEvent) -> Result<()> {
        in_tx_with_event!(&self.db, event, |tx| {
            let owner = sqlx::query("SELECT id FROM users WHERE id = $1")
                .bind(&tag.owner_id)
                .fetch_optional(&mut *tx)
                .await?;
            if owner.is_none() {
                return Err(Error::NotFound);
            }
            sqlx::query(
                "INSERT INTO tags (id, owner_id, name, name_key, colour, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&tag.id)
            .bind(&tag.owner_id)
            .bind(&tag.name)
            .bind(fold(&tag.name))
            .bind(&tag.colour)
            .bind(&tag.created_by)
            .bind(tag.created_at)
            .execute(&mut *tx)
            .await?
        });
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<TagRecord>> {
        let sql = format!("SELECT {TAG_COLUMNS} FROM tags t WHERE t.id = $1");
        on_db!(&self.db, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await? {
                Some(r) => Ok(Some(tag_from_row!(&r))),
                None => Ok(None),
            }
        })
    }

    async fn vocabulary(&self, owner_id: &str) -> Result<Vec<TagUse>> {
        let sql = format!(
            "SELECT {TAG_COLUMNS}, \
                (SELECT CAST(COUNT(*) AS BIGINT) FROM file_tags x WHERE x.tag_id = t.id) AS files, \
                (SELECT CAST(COUNT(*) AS BIGINT) FROM folder_tags x WHERE x.tag_id = t.id) AS folders \
             FROM tags t WHERE t.owner_id = $1 ORDER BY t.name_key, t.id"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(owner_id).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let files: i64 = r.try_get("files")?;
                let folders: i64 = r.try_get("folders")?;
                out.push(TagUse { tag: tag_from_row!(r), files: files.max(0) as u64, folders: folders.max(0) as u64 });
            }
            Ok(out)
        })
    }

    async fn update(
        &self,
        id: &str,
        name: Option<&str>,
        colour: Option<Option<&str>>,
        event: &AuditEvent,
    ) -> Result<()> {
        in_tx_with_event!(&self.db, event, |tx| {
            let n = sqlx::query(
                "UPDATE tags SET name = COALESCE($1, name), name_key = COALESCE($2, name_key), \
                 colour = CASE WHEN $3 THEN $4 ELSE colour END WHERE id = $5",
            )
            .bind(name)
            .bind(name.map(fold))
            .bind(colour.is_some())
            .bind(colour.flatten())
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
            let n = sqlx::query("DELETE FROM tags WHERE id = $1")
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

    async fn apply(
        &self,
        tag_id: &str,
        items: &[Item],
        by: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<u64> {
        let (files, folders) = item_lists(items);
        let mut added = 0;
        in_tx_with_event!(&self.db, event, |tx| {
            let owner: String = match sqlx::query("SELECT owner_id FROM tags WHERE id = $1")
                .bind(tag_id)
                .fetch_optional(&mut *tx)
                .await?
            {
                Some(r) => r.try_get("owner_id")?,
                None => return Err(Error::NotFound),
            };
            for (table, ids) in [("files", &files), ("folders", &folders)] {
                for id in ids.iter() {
                    let sql = format!("SELECT owner_id FROM {table} WHERE id = $1");
                    let found = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(*id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    match found {
                        None => return Err(Error::NotFound),
                        Some(r) if r.try_get::<String, _>("owner_id")? != owner => {
                            return Err(Error::Invalid(TAG_OWNER.into()));
                        }
                        Some(_) => {}
                    }
                }
            }
            for (table, column, ids) in [
                ("file_tags", "file_id", &files),
                ("folder_tags", "folder_id", &folders),
            ] {
                let sql = format!(
                    "INSERT INTO {table} (tag_id, {column}, tagged_by, tagged_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING"
                );
                for id in ids.iter() {
                    added += sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                        .bind(tag_id)
                        .bind(*id)
                        .bind(by)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
            }
        });
        Ok(added)
    }

    async fn remove(&self, tag_id: &str, items: &[Item], event: &AuditEvent) -> Result<u64> {
        let (files, folders) = item_lists(items);
        let mut removed = 0;
        in_tx_with_event!(&self.db, event, |tx| {
            if sqlx::query("SELECT id FROM tags WHERE id = $1")
                .bind(tag_id)
                .fetch_optional(&mut *tx)
                .await?
                .is_none()
            {
                return Err(Error::NotFound);
            }
            for (table, column, ids) in [
                ("file_tags", "file_id", &files),
                ("folder_tags", "folder_id", &folders),
            ] {
                let sql = format!("DELETE FROM {table} WHERE tag_id = $1 AND {column} = $2");
                for id in ids.iter() {
                    removed += sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                        .bind(tag_id)
                        .bind(*id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
            }
        });
        Ok(removed)
    }

    async fn of_items(&self, ids: &[&str]) -> Result<HashMap<String, Vec<TagRecord>>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let list = list.join(", ");
        let sql = format!(
            "SELECT x.item_id, {TAG_COLUMNS} FROM ( \
                SELECT file_id AS item_id, tag_id FROM file_tags WHERE file_id IN ({list}) \
                UNION ALL SELECT folder_id, tag_id FROM folder_tags WHERE folder_id IN ({list})) x \
             JOIN tags t ON t.id = x.tag_id ORDER BY t.name_key, t.id"
        );
        on_db!(&self.db, pool => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for id in ids {
                q = q.bind(*id);
            }
            let rows = q.fetch_all(pool).await?;
            let mut out: HashMap<String, Vec<TagRecord>> = HashMap::new();
            for r in &rows {
                let item: String = r.try_get("item_id")?;
                out.entry(item).or_default().push(tag_from_row!(r));
            }
            Ok(out)
        })
    }

    async fn items(&self, tag_id: &str, after: Option<&Item>, limit: u32) -> Result<Vec<Item>> {
        if self.get(tag_id).await?.is_none() {
            return Err(Error::NotFound);
        }
        let sql = "SELECT kind, id FROM ( \
                SELECT 'file' AS kind, file_id AS id FROM file_tags WHERE tag_id = $1 \
                UNION ALL SELECT 'folder', folder_id FROM folder_tags WHERE tag_id = $1) x \
             WHERE $2 IS NULL OR kind > $2 OR (kind = $2 AND id > $3) ORDER BY kind, id LIMIT $4";
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sql)
                .bind(tag_id)
                .bind(after.map(Item::kind))
                .bind(after.map(Item::id))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let kind: String = r.try_get("kind")?;
                let id: String = r.try_get("id")?;
                out.push(if kind == "file" { Item::File(id) } else { Item::Folder(id) });
            }
            Ok(out)
        })
    }
}

fn value_from_row(kind: &str, text: Option<String>, number: Option<f64>) -> Result<FieldValue> {
    let bad = || Error::Corrupt(format!("a stored field of kind {kind:?} has no value"));
    Ok(match FieldKind::parse(kind) {
        Some(FieldKind::String) => FieldValue::String(text.ok_or_else(bad)?),
        Some(FieldKind::Number) => FieldValue::Number(number.ok_or_else(bad)?),
        Some(FieldKind::Boolean) => FieldValue::Boolean(number.ok_or_else(bad)? != 0.0),
        Some(FieldKind::Date) => FieldValue::Date(number.ok_or_else(bad)? as i64),
        None => return Err(Error::Corrupt(format!("a stored field of kind {kind:?}"))),
    })
}

#[async_trait]
impl FieldStore for SqlStore {
    async fn change(
        &self,
        file_id: &str,
        changes: &FieldChanges,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        in_tx_with_event!(&self.db, event, |tx| {
            let owner: String = match sqlx::query("SELECT owner_id FROM files WHERE id = $1")
                .bind(file_id)
                .fetch_optional(&mut *tx)
                .await?
            {
                Some(r) => r.try_get("owner_id")?,
                None => return Err(Error::NotFound),
            };
            let rows = sqlx::query(
                "SELECT key, kind, choices, description FROM field_schemas WHERE owner_id = $1 ORDER BY key",
            )
            .bind(&owner)
            .fetch_all(&mut *tx)
            .await?;
            let mut schema = Vec::with_capacity(rows.len());
            for r in &rows {
                schema.push(def_from_row(
                    r.try_get("key")?,
                    r.try_get("kind")?,
                    r.try_get("choices")?,
                    r.try_get("description")?,
                )?);
            }
            conforms(&schema, changes)?;
            for key in &changes.unset {
                sqlx::query("DELETE FROM file_fields WHERE file_id = $1 AND key = $2")
                    .bind(file_id)
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
            }
            for (key, value) in &changes.set {
                let text = match value {
                    FieldValue::String(s) => Some(s.as_str()),
                    _ => None,
                };
                sqlx::query(
                    "INSERT INTO file_fields (file_id, key, kind, text_value, text_key, number_value) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (file_id, key) DO UPDATE SET \
                     kind = excluded.kind, text_value = excluded.text_value, text_key = excluded.text_key, \
                     number_value = excluded.number_value",
                )
                .bind(file_id)
                .bind(key)
                .bind(value.kind().name())
                .bind(text)
                .bind(text.map(fold))
                .bind(value.number())
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("UPDATE files SET updated_at = $1 WHERE id = $2")
                .bind(at)
                .bind(file_id)
                .execute(&mut *tx)
                .await?
        });
        Ok(())
    }

    async fn of_files(
        &self,
        ids: &[&str],
    ) -> Result<HashMap<String, BTreeMap<String, FieldValue>>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT file_id, key, kind, text_value, number_value FROM file_fields WHERE file_id IN ({})",
            list.join(", ")
        );
        on_db!(&self.db, pool => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for id in ids {
                q = q.bind(*id);
            }
            let rows = q.fetch_all(pool).await?;
            let mut out: HashMap<String, BTreeMap<String, FieldValue>> = HashMap::new();
            for r in &rows {
                let kind: String = r.try_get("kind")?;
                let value = value_from_row(&kind, r.try_get("text_value")?, r.try_get("number_value")?)?;
                out.entry(r.try_get("file_id")?).or_default().insert(r.try_get("key")?, value);
            }
            Ok(out)
        })
    }

    async fn schema(&self, owner_id: &str) -> Result<Vec<FieldDef>> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query(
                "SELECT key, kind, choices, description FROM field_schemas WHERE owner_id = $1 ORDER BY key",
            )
            .bind(owner_id)
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(def_from_row(
                    r.try_get("key")?,
                    r.try_get("kind")?,
                    r.try_get("choices")?,
                    r.try_get("description")?,
                )?);
            }
            Ok(out)
        })
    }

    async fn set_schema(
        &self,
        owner_id: &str,
        defs: &[FieldDef],
        event: &AuditEvent,
    ) -> Result<()> {
        in_tx_with_event!(&self.db, event, |tx| {
            if sqlx::query("SELECT id FROM users WHERE id = $1")
                .bind(owner_id)
                .fetch_optional(&mut *tx)
                .await?
                .is_none()
            {
                return Err(Error::NotFound);
            }
            sqlx::query("DELETE FROM field_schemas WHERE owner_id = $1")
                .bind(owner_id)
                .execute(&mut *tx)
                .await?;
            for d in defs {
                let choices = d
                    .choices
                    .as_ref()
                    .map(|c| serde_json::to_string(c).unwrap_or_default());
                sqlx::query(
                    "INSERT INTO field_schemas (owner_id, key, kind, choices, description) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(owner_id)
                .bind(&d.key)
                .bind(d.kind.name())
                .bind(choices)
                .bind(&d.description)
                .execute(&mut *tx)
                .await?;
            }
        });
        Ok(())
    }
}

fn def_from_row(
    key: String,
    kind: String,
    choices: Option<String>,
    description: String,
) -> Result<FieldDef> {
    let kind = FieldKind::parse(&kind)
        .ok_or_else(|| Error::Corrupt(format!("field schema kind {kind:?}")))?;
    let choices = choices
        .map(|c| serde_json::from_str::<Vec<String>>(&c))
        .transpose()
        .map_err(|e| Error::Corrupt(format!("field schema choices: {e}")))?;
    Ok(FieldDef {
        key,
        kind,
        choices,
        description,
    })
}

/// Which text indexes a term goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
}

/// The SQL condition of a match expression.
fn match_sql(m: &Match, dialect: Dialect, args: &mut Args) -> String {
    match m {
        Match::All(all) if all.is_empty() => "1 = 1".into(),
        Match::Any(any) if any.is_empty() => "1 = 0".into(),
        Match::All(all) => format!(
            "({})",
            all.iter()
                .map(|m| match_sql(m, dialect, args))
                .collect::<Vec<_>>()
                .join(" AND ")
        ),
        Match::Any(any) => format!(
            "({})",
            any.iter()
                .map(|m| match_sql(m, dialect, args))
                .collect::<Vec<_>>()
                .join(" OR ")
        ),
        Match::Not(m) => format!("NOT {}", match_sql(m, dialect, args)),
        Match::Term(t) => term_sql(t, dialect, args),
    }
}

/// One term: the files whose name contains it, whose content has words starting with each of
/// its words, or with a tag or text field containing it. The indexed arms form one set of
/// file ids (a `UNION` the planner can start from, instead of testing every file in scope);
/// a name substring under three characters, which trigrams cannot find, is tested row by row.
fn term_sql(term: &str, dialect: Dialect, args: &mut Args) -> String {
    let like = args.text(contains_pattern(term));
    let ws: Vec<String> = words(term).collect();
    let trigrams = term.chars().count() >= 3;
    let mut sets = Vec::new();
    let mut rows = Vec::new();
    if !trigrams {
        rows.push(format!("d.name_key LIKE {like} ESCAPE '\\'"));
    }
    match dialect {
        Dialect::Sqlite => {
            if trigrams {
                let p = args.text(format!("\"{}\"", term.replace('"', "\"\"")));
                sets.push(format!(
                    "SELECT n.file_id FROM search_docs n WHERE n.doc_id IN \
                     (SELECT rowid FROM search_names WHERE search_names MATCH {p})"
                ));
            }
            if !ws.is_empty() {
                let q = ws
                    .iter()
                    .map(|w| format!("\"{w}\"*"))
                    .collect::<Vec<_>>()
                    .join(" AND ");
                let p = args.text(q);
                sets.push(format!(
                    "SELECT w.file_id FROM search_docs w WHERE w.doc_id IN \
                     (SELECT rowid FROM search_words WHERE search_words MATCH {p})"
                ));
            }
        }
        Dialect::Postgres => {
            if trigrams {
                sets.push(format!(
                    "SELECT n.file_id FROM search_docs n WHERE n.name_key LIKE {like} ESCAPE '\\'"
                ));
            }
            if !ws.is_empty() {
                let q = ws
                    .iter()
                    .map(|w| format!("'{w}':*"))
                    .collect::<Vec<_>>()
                    .join(" & ");
                let p = args.text(q);
                sets.push(format!(
                    "SELECT w.file_id FROM search_docs w WHERE w.doc @@ to_tsquery('simple', {p})"
                ));
            }
        }
    }
    sets.push(format!(
        "SELECT ft.file_id FROM file_tags ft JOIN tags t ON t.id = ft.tag_id WHERE t.name_key LIKE {like} ESCAPE '\\'"
    ));
    sets.push(format!(
        "SELECT ff.file_id FROM file_fields ff WHERE ff.kind = 'string' AND ff.text_key LIKE {like} ESCAPE '\\'"
    ));
    let mut arms = vec![format!("f.id IN ({})", sets.join(" UNION "))];
    arms.extend(rows);
    format!("({})", arms.join(" OR "))
}

/// A recursive CTE named `name`: the folders `roots` and everything below them.
fn tree_cte(name: &str, roots: &str) -> String {
    format!(
        "{name} (id, depth) AS (SELECT id, 0 FROM folders WHERE id IN ({roots}) \
         UNION ALL SELECT c.id, t.depth + 1 FROM folders c JOIN {name} t ON c.parent_id = t.id \
         WHERE t.depth < {MAX_DEPTH})"
    )
}

fn search_sql(q: &SearchQuery, dialect: Dialect) -> (String, Args) {
    let mut args = Args::default();
    let mut ctes = Vec::new();
    let mut scope = Vec::new();
    if !q.scope.owners.is_empty() {
        scope.push(format!("f.owner_id IN ({})", args.list(&q.scope.owners)));
    }
    if !q.scope.files.is_empty() {
        scope.push(format!("f.id IN ({})", args.list(&q.scope.files)));
    }
    if !q.scope.folders.is_empty() {
        ctes.push(tree_cte("shared_tree", &args.list(&q.scope.folders)));
        scope.push("f.folder_id IN (SELECT id FROM shared_tree)".into());
    }
    let mut wh = vec!["f.trashed_at IS NULL".to_owned()];
    wh.push(if scope.is_empty() {
        "1 = 0".into()
    } else {
        format!("({})", scope.join(" OR "))
    });
    if let Some(folder) = &q.folder {
        let root = args.text(folder.clone());
        ctes.push(tree_cte("under_tree", &root));
        wh.push("f.folder_id IN (SELECT id FROM under_tree)".into());
    }
    if let Some(o) = &q.owner {
        wh.push(format!("f.owner_id = {}", args.text(o.clone())));
    }
    if !q.types.is_empty() {
        let arms: Vec<String> = q
            .types
            .iter()
            .map(|t| {
                if t.ends_with('/') {
                    let mut p = contains_pattern(t);
                    p.remove(0);
                    format!("f.content_type LIKE {} ESCAPE '\\'", args.text(p))
                } else {
                    format!("f.content_type = {}", args.text(t.clone()))
                }
            })
            .collect();
        wh.push(format!("({})", arms.join(" OR ")));
    }
    if !q.extensions.is_empty() {
        let arms: Vec<String> = q
            .extensions
            .iter()
            .map(|e| {
                let mut p = contains_pattern(&format!(".{e}"));
                p.pop();
                format!("d.name_key LIKE {} ESCAPE '\\'", args.text(p))
            })
            .collect();
        wh.push(format!("({})", arms.join(" OR ")));
    }
    if let Some(m) = q.min_size {
        wh.push(format!(
            "f.size >= {}",
            args.int(m.min(i64::MAX as u64) as i64)
        ));
    }
    if let Some(m) = q.max_size {
        wh.push(format!(
            "f.size <= {}",
            args.int(m.min(i64::MAX as u64) as i64)
        ));
    }
    if let Some(t) = q.modified_after {
        wh.push(format!("f.updated_at >= {}", args.int(t)));
    }
    if let Some(t) = q.modified_before {
        wh.push(format!("f.updated_at < {}", args.int(t)));
    }
    for tag in &q.tags {
        wh.push(format!(
            "f.id IN (SELECT file_id FROM file_tags WHERE tag_id = {})",
            args.text(tag.clone())
        ));
    }
    for ff in &q.fields {
        let key = args.text(ff.key.clone());
        let cond = match &ff.value {
            FieldOperand::Text(t) => format!(
                "x.kind = 'string' AND x.text_value {} {}",
                ff.op.sql(),
                args.text(t.clone())
            ),
            FieldOperand::Number(kind, n) => format!(
                "x.kind = {} AND x.number_value {} {}",
                args.text(kind.name()),
                ff.op.sql(),
                args.push(Arg::Real(*n))
            ),
        };
        wh.push(format!(
            "EXISTS (SELECT 1 FROM file_fields x WHERE x.file_id = f.id AND x.key = {key} AND {cond})"
        ));
    }
    if let Some(m) = &q.matching {
        wh.push(match_sql(m, dialect, &mut args));
    }
    let column = match q.order {
        SearchOrder::Updated => "f.updated_at",
        SearchOrder::Created => "f.created_at",
        SearchOrder::Size => "f.size",
        SearchOrder::Name => "f.name",
    };
    let cmp = if q.desc { "<" } else { ">" };
    match &q.after {
        Some(After::Number(n, id)) => {
            let (n, id) = (args.int(*n), args.text(id.clone()));
            wh.push(format!(
                "({column} {cmp} {n} OR ({column} = {n} AND f.id {cmp} {id}))"
            ));
        }
        Some(After::Text(t, id)) => {
            let (t, id) = (args.text(t.clone()), args.text(id.clone()));
            wh.push(format!(
                "({column} {cmp} {t} OR ({column} = {t} AND f.id {cmp} {id}))"
            ));
        }
        None => {}
    }
    let dir = if q.desc { "DESC" } else { "ASC" };
    let limit = args.int(i64::from(q.limit));
    let with = if ctes.is_empty() {
        String::new()
    } else {
        format!("WITH RECURSIVE {} ", ctes.join(", "))
    };
    let sql = format!(
        "{with}SELECT {} FROM files f LEFT JOIN search_docs d ON d.file_id = f.id WHERE {} \
         ORDER BY {column} {dir}, f.id {dir} LIMIT {limit}",
        super::files::PREFIXED_COLUMNS,
        wh.join(" AND ")
    );
    (sql, args)
}

#[async_trait]
impl SearchIndex for SqlStore {
    async fn search(&self, q: &SearchQuery) -> Result<Vec<FileRecord>> {
        let dialect = match &self.db {
            Db::Sqlite { .. } => Dialect::Sqlite,
            Db::Postgres { .. } => Dialect::Postgres,
        };
        let (sql, args) = search_sql(q, dialect);
        on_db!(&self.db, pool => {
            let query = bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), &args.0);
            let rows = query.fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(super::files::file_from_row!(r));
            }
            Ok(out)
        })
    }

    async fn reindex(&self, file_id: &str, words: &str) -> Result<bool> {
        let mut found = false;
        crate::store::db::in_tx!(&self.db, |tx| {
            let name: Option<String> = sqlx::query("SELECT name FROM files WHERE id = $1")
                .bind(file_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("name"))
                .transpose()?;
            if let Some(name) = name {
                found = true;
                sqlx::query(
                    "INSERT INTO search_docs (file_id, name_key, words) VALUES ($1, $2, $3) \
                     ON CONFLICT (file_id) DO UPDATE SET name_key = excluded.name_key, words = excluded.words",
                )
                .bind(file_id)
                .bind(fold(&name))
                .bind(words)
                .execute(&mut *tx)
                .await?;
            }
        });
        Ok(found)
    }

    async fn file_ids(&self, after: Option<&str>, limit: u32) -> Result<Vec<String>> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query("SELECT id FROM files WHERE $1 IS NULL OR id > $1 ORDER BY id LIMIT $2")
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(r.try_get("id")?);
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
