//! Search: the files a caller may read that match a query and filters, a page at a time.
//!
//! Candidates come from the index within the caller's reach (their own files, their teams',
//! and what is shared with them or their groups, at any depth), so nothing else is even
//! looked at. Each page of candidates is then authorized at once: their folder chains in one
//! query, the shares on all of them in one, and one list decision of the policy engine over
//! one entity set (not a decision per file). A candidate the policy refuses (an expired share,
//! a sharer who lost the right, an operator's forbid) is left out and the next ones are read,
//! so a page holds only readable files; the cursor is where reading stopped.

use std::sync::Arc;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::files::{FileMeta, Files};
use super::folders::Folders;
use super::{Ctx, Guard, names};
use crate::error::{Error, Result};
use crate::store::Shares as Listed;
use crate::store::search::{
    After, Compare, FieldFilter, FieldOperand, Scope, SearchOrder, SearchQuery, fold,
};
use crate::store::{DynGrantStore, DynSearchIndex, FieldKind};

/// Rounds of candidates one page reads at most before answering with what it found.
const MAX_ROUNDS: usize = 5;

/// A search, as the API takes it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SearchRequest {
    /// The query (see [`super::query`]); none: every file within reach.
    pub q: Option<String>,
    /// Media types: `image/png`, or a family (`image`, `image/*`); any of them.
    pub types: Vec<String>,
    /// Name extensions (`pdf`, `.md`); any of them.
    pub extensions: Vec<String>,
    /// At least this many bytes.
    pub min_size: Option<u64>,
    /// At most this many bytes.
    pub max_size: Option<u64>,
    /// Only this account's files (a user id, or `me`).
    pub owner: Option<String>,
    /// Only this team's files.
    pub team: Option<String>,
    /// Changed at or after (RFC 3339 or a day).
    pub modified_after: Option<String>,
    /// Changed before (RFC 3339 or a day).
    pub modified_before: Option<String>,
    /// Carrying every one of these tags (ids).
    pub tags: Vec<String>,
    /// Only within this folder, at any depth.
    pub folder: Option<String>,
    /// Field conditions: `key=value`, `key!=value`, `key<value`, `key<=value`, `key>value`,
    /// `key>=value`; a value is a number, `true`/`false`, a date, or text (quote it,
    /// `key="12"`, to compare as text).
    pub fields: Vec<String>,
    /// `updated` (default), `created`, `name` or `size`.
    pub sort: Option<String>,
    /// Descending (default: yes for `updated` and `created`, no for `name` and `size`).
    pub desc: Option<bool>,
    /// Where to go on from (a page's `next_cursor`).
    pub cursor: Option<String>,
    /// Files per page, 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// A page of results.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchPage {
    /// Matching files the caller may read, in order.
    pub files: Vec<FileMeta>,
    /// Where the next page starts, while there may be more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Search over what the caller may read.
#[derive(Debug, Clone)]
pub struct Search {
    index: Arc<DynSearchIndex>,
    grants: Arc<DynGrantStore>,
    files: Files,
    folders: Folders,
    guard: Guard,
}

/// What [`Search::reindex`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Reindexed {
    /// Files whose index entry was rewritten.
    pub files: u64,
    /// Of them, those with content words (text-like files).
    pub with_content: u64,
    /// Files deleted while the walk went by.
    pub gone: u64,
    /// Files whose stored content could not be read (their entry was left as it was).
    pub unreadable: u64,
}

/// Files one reindex step reads the ids of.
const REINDEX_BATCH: u32 = 500;

#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    /// Sort and direction it belongs to.
    s: String,
    d: bool,
    n: Option<i64>,
    t: Option<String>,
    i: String,
}

fn bad(m: impl Into<String>) -> Error {
    Error::BadRequest(m.into())
}

/// `image` / `image/*` -> `image/`; `image/png` stays.
fn media_type(t: &str) -> Result<String> {
    let t = t.trim().to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match t.split_once('/') {
        None if token(&t) => Ok(format!("{t}/")),
        Some((family, "*")) if token(family) => Ok(format!("{family}/")),
        Some((family, sub)) if token(family) && token(sub) => Ok(t),
        _ => Err(bad(format!(
            "invalid media type {t:?} (image/png, image or image/*)"
        ))),
    }
}

fn extension(e: &str) -> Result<String> {
    let e = fold(e.trim().trim_start_matches('.'));
    if e.is_empty() || e.chars().count() > 16 || !e.chars().all(char::is_alphanumeric) {
        return Err(bad(format!(
            "invalid extension {e:?}: letters and digits, at most 16"
        )));
    }
    Ok(e)
}

fn time(t: &str, what: &str) -> Result<i64> {
    super::fields::date(t).map_err(|_| {
        bad(format!(
            "{what} is RFC 3339 (2026-12-31T09:30:00Z) or a day (2026-12-31), not {t:?}"
        ))
    })
}

/// `key<op>value` (see [`SearchRequest::fields`]).
pub fn field_filter(text: &str) -> Result<FieldFilter> {
    let at = text.find(['=', '!', '<', '>']).ok_or_else(|| {
        bad(format!(
            "a field condition is key=value, key>=value …, not {text:?}"
        ))
    })?;
    let key = super::fields::key(&text[..at]).map_err(|e| bad(e.to_string()))?;
    let rest = &text[at..];
    let (op, value) = [
        (">=", Compare::Ge),
        ("<=", Compare::Le),
        ("!=", Compare::Ne),
        ("=", Compare::Eq),
        ("<", Compare::Lt),
        (">", Compare::Gt),
    ]
    .iter()
    .find_map(|(s, op)| rest.strip_prefix(s).map(|v| (*op, v)))
    .ok_or_else(|| bad(format!("unknown comparison in {text:?}")))?;
    if value.is_empty() {
        return Err(bad(format!("no value in {text:?}")));
    }
    let operand = if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        FieldOperand::Text(value[1..value.len() - 1].to_owned())
    } else if value == "true" || value == "false" {
        FieldOperand::Number(FieldKind::Boolean, if value == "true" { 1.0 } else { 0.0 })
    } else if let Ok(n) = value.parse::<f64>()
        && n.is_finite()
    {
        FieldOperand::Number(FieldKind::Number, n)
    } else if let Ok(t) = super::fields::date(value) {
        FieldOperand::Number(FieldKind::Date, t as f64)
    } else {
        FieldOperand::Text(value.to_owned())
    };
    Ok(FieldFilter {
        key,
        op,
        value: operand,
    })
}

impl Search {
    /// Rewrites every file's index entry from what is stored: the name folded again and the
    /// words of its current content extracted again (operators run it after changing
    /// `search.content_bytes`, or to repair the index). Each file is one transaction, so
    /// servers may keep running; a file that gets a new version while its words are read is
    /// read again.
    pub async fn reindex(&self) -> Result<Reindexed> {
        let mut done = Reindexed::default();
        let mut after: Option<String> = None;
        loop {
            let ids = self.index.file_ids(after.as_deref(), REINDEX_BATCH).await?;
            let Some(last) = ids.last().cloned() else {
                break;
            };
            for id in &ids {
                self.reindex_one(id, &mut done).await?;
            }
            after = Some(last);
        }
        tracing::info!(
            files = done.files,
            with_content = done.with_content,
            gone = done.gone,
            unreadable = done.unreadable,
            "search index rebuilt"
        );
        Ok(done)
    }

    async fn reindex_one(&self, id: &str, done: &mut Reindexed) -> Result<()> {
        for _ in 0..3 {
            let Some(f) = self.files.store.get(id).await? else {
                done.gone += 1;
                return Ok(());
            };
            let words = match self
                .files
                .words_of_blob(&f.blob_key, &f.content_type, &f.name, f.size)
                .await
            {
                Ok(words) => words,
                Err(e) => {
                    tracing::warn!(file = %id, error = %e, "reindex: content unreadable, entry kept");
                    done.unreadable += 1;
                    return Ok(());
                }
            };
            if !self.index.reindex(id, &words).await? {
                done.gone += 1;
                return Ok(());
            }
            // A version that landed meanwhile wrote its own words first; ours would be older.
            match self.files.store.get(id).await? {
                Some(now) if now.blob_key != f.blob_key => continue,
                _ => {
                    done.files += 1;
                    done.with_content += u64::from(!words.is_empty());
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Over the index and the share store, authorizing through the file and folder services.
    pub fn new(
        index: Arc<DynSearchIndex>,
        grants: Arc<DynGrantStore>,
        files: Files,
        folders: Folders,
        guard: Guard,
    ) -> Search {
        Search {
            index,
            grants,
            files,
            folders,
            guard,
        }
    }

    /// What the caller may search: their files, their teams', and what is shared with them.
    async fn scope(&self, ctx: &Ctx) -> Result<Scope> {
        let me = ctx.user_id()?.to_owned();
        let (_, m) = super::grants::access(self.grants.as_ref(), &[&me], &[]).await?;
        let mut scope = Scope {
            owners: vec![me.clone()],
            ..Default::default()
        };
        scope
            .owners
            .extend(m.teams_of(&me).map(|(t, _)| t.to_owned()));
        for g in self.grants.list(Listed::HeldBy(&me)).await? {
            match g.resource_kind.as_str() {
                "file" => scope.files.push(g.resource_id),
                _ => scope.folders.push(g.resource_id),
            }
        }
        scope.files.sort();
        scope.files.dedup();
        scope.folders.sort();
        scope.folders.dedup();
        Ok(scope)
    }

    /// The query of a request, without its scope, page start and limit.
    async fn query(&self, ctx: &Ctx, r: &SearchRequest) -> Result<SearchQuery> {
        let mut q = SearchQuery {
            matching: r
                .q
                .as_deref()
                .filter(|q| !q.trim().is_empty())
                .map(super::query::parse)
                .transpose()?,
            min_size: r.min_size,
            max_size: r.max_size,
            ..Default::default()
        };
        if r.types.len() > 20 || r.extensions.len() > 20 || r.tags.len() > 20 || r.fields.len() > 20
        {
            return Err(bad("at most 20 of each filter"));
        }
        q.types = r
            .types
            .iter()
            .map(|t| media_type(t))
            .collect::<Result<_>>()?;
        q.extensions = r
            .extensions
            .iter()
            .map(|e| extension(e))
            .collect::<Result<_>>()?;
        q.tags = r
            .tags
            .iter()
            .map(|t| names::id(t).map_err(|_| bad(format!("invalid tag id {t:?}"))))
            .collect::<Result<_>>()?;
        q.fields = r
            .fields
            .iter()
            .map(|f| field_filter(f))
            .collect::<Result<_>>()?;
        if let (Some(a), Some(b)) = (r.min_size, r.max_size)
            && a > b
        {
            return Err(bad("min_size is more than max_size"));
        }
        q.modified_after = r
            .modified_after
            .as_deref()
            .map(|t| time(t, "modified_after"))
            .transpose()?;
        q.modified_before = r
            .modified_before
            .as_deref()
            .map(|t| time(t, "modified_before"))
            .transpose()?;
        q.owner = match (r.owner.as_deref(), r.team.as_deref()) {
            (Some(_), Some(_)) => return Err(bad("give owner or team, not both")),
            (Some("me"), None) => Some(ctx.user_id()?.to_owned()),
            (Some(o), None) | (None, Some(o)) => {
                Some(names::id(o).map_err(|_| bad(format!("invalid account or team id {o:?}")))?)
            }
            (None, None) => None,
        };
        if let Some(f) = r.folder.as_deref().filter(|f| !f.is_empty()) {
            // Searching a folder is listing it, deeply: the caller must be able to list it.
            let nodes = self.folders.authorize_on(ctx, "list", f).await?;
            q.folder = Some(nodes[0].id.clone());
        }
        let (order, name) = match r.sort.as_deref().unwrap_or("updated") {
            "updated" => (SearchOrder::Updated, "updated"),
            "created" => (SearchOrder::Created, "created"),
            "name" => (SearchOrder::Name, "name"),
            "size" => (SearchOrder::Size, "size"),
            other => {
                return Err(bad(format!(
                    "cannot sort by {other:?}: use updated, created, name or size"
                )));
            }
        };
        q.order = order;
        q.desc = r
            .desc
            .unwrap_or(matches!(order, SearchOrder::Updated | SearchOrder::Created));
        if let Some(c) = &r.cursor {
            let invalid = || {
                bad("invalid cursor: use the next_cursor of the page before, with the same sort")
            };
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .map_err(|_| invalid())?;
            let c: Cursor = serde_json::from_slice(&raw).map_err(|_| invalid())?;
            if c.s != name || c.d != q.desc {
                return Err(invalid());
            }
            q.after = Some(match (c.n, c.t) {
                (Some(n), None) => After::Number(n, c.i),
                (None, Some(t)) => After::Text(t, c.i),
                _ => return Err(invalid()),
            });
        }
        Ok(q)
    }

    fn cursor(q: &SearchQuery, f: &crate::store::FileRecord) -> String {
        let (s, n, t) = match q.order {
            SearchOrder::Updated => ("updated", Some(f.updated_at), None),
            SearchOrder::Created => ("created", Some(f.created_at), None),
            SearchOrder::Size => ("size", Some(f.size.min(i64::MAX as u64) as i64), None),
            SearchOrder::Name => ("name", None, Some(f.name.clone())),
        };
        let c = Cursor {
            s: s.into(),
            d: q.desc,
            n,
            t,
            i: f.id.clone(),
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&c).unwrap_or_default())
    }

    /// A page of the files the caller may read that match `r`.
    pub async fn search(&self, ctx: &Ctx, r: &SearchRequest) -> Result<SearchPage> {
        self.guard.authorize_platform(ctx, "list_root").await?;
        let limit = r.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(bad("limit must be between 1 and 200"));
        }
        let mut q = self.query(ctx, r).await?;
        q.scope = self.scope(ctx).await?;
        q.limit = (limit * 2).clamp(20, 400);
        let mut found: Vec<FileMeta> = Vec::new();
        let mut next_cursor = None;
        for _ in 0..MAX_ROUNDS {
            let batch = self.index.search(&q).await?;
            let exhausted = batch.len() < q.limit as usize;
            let ids: Vec<&str> = batch.iter().map(|f| f.id.as_str()).collect();
            let located = self.files.store.locate_many(&ids).await?;
            let mut chains = Vec::with_capacity(batch.len());
            let mut live = Vec::with_capacity(batch.len());
            for f in &batch {
                // In a trashed folder: not found, like everywhere else.
                let Some(l) = located
                    .iter()
                    .find(|l| l.file.id == f.id)
                    .filter(|l| !l.folders.iter().any(|c| c.trashed))
                else {
                    continue;
                };
                let meta = FileMeta::from(l.file.clone());
                let mut chain = vec![meta.policy_node()];
                chain.extend(super::folders::nodes(l.folders.clone()));
                chains.push(chain);
                live.push((f, meta));
            }
            let allowed = self.folders.allowed_many(ctx, "read", chains).await?;
            let mut last = batch.last();
            for ((record, meta), ok) in live.into_iter().zip(allowed) {
                if !ok {
                    continue;
                }
                found.push(meta);
                if found.len() == limit as usize {
                    last = Some(record);
                    break;
                }
            }
            let full = found.len() == limit as usize;
            match last {
                Some(l) if full || !exhausted => {
                    q.after = Some(match q.order {
                        SearchOrder::Updated => After::Number(l.updated_at, l.id.clone()),
                        SearchOrder::Created => After::Number(l.created_at, l.id.clone()),
                        SearchOrder::Size => {
                            After::Number(l.size.min(i64::MAX as u64) as i64, l.id.clone())
                        }
                        SearchOrder::Name => After::Text(l.name.clone(), l.id.clone()),
                    });
                    next_cursor = Some(Self::cursor(&q, l));
                }
                _ => next_cursor = None,
            }
            if full || exhausted {
                if exhausted && !full {
                    next_cursor = None;
                }
                break;
            }
        }
        self.files.label(&mut found).await?;
        // The query's words are not recorded: they can say more than the caller would want
        // kept; its size and the answer's are.
        self.guard
            .record_read(
                ctx.event("search.performed", "search", "")
                    .attr(
                        "query_chars",
                        r.q.as_deref().map_or(0, |q| q.chars().count()),
                    )
                    .attr("results", found.len()),
            )
            .await?;
        Ok(SearchPage {
            files: found,
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse() {
        assert_eq!(media_type("image").unwrap(), "image/");
        assert_eq!(media_type("Image/*").unwrap(), "image/");
        assert_eq!(media_type("text/plain").unwrap(), "text/plain");
        assert!(media_type("a b").is_err());
        assert_eq!(extension(".PDF").unwrap(), "pdf");
        assert!(extension("p%").is_err());
        let f = field_filter("pages>=10").unwrap();
        assert_eq!((f.key.as_str(), f.op), ("pages", Compare::Ge));
        assert_eq!(f.value, FieldOperand::Number(FieldKind::Number, 10.0));
        assert_eq!(
            field_filter("client=Acme").unwrap().value,
            FieldOperand::Text("Acme".into())
        );
        assert_eq!(
            field_filter("code=\"12\"").unwrap().value,
            FieldOperand::Text("12".into())
        );
        assert_eq!(field_filter("ok!=true").unwrap().op, Compare::Ne);
        assert!(matches!(
            field_filter("due<2026-01-01").unwrap().value,
            FieldOperand::Number(FieldKind::Date, _)
        ));
        for bad in ["pages", "=3", "pages>=", "bad key=1"] {
            assert!(field_filter(bad).is_err(), "{bad}");
        }
    }
}
