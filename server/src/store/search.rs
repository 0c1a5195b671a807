//! The search index (the `search_docs` table and, on SQLite, its FTS5 indexes): which files
//! match a query, in one of a few orders, a page at a time.
//!
//! What a term matches is the same on every backend: a file whose name (folded to lower case)
//! contains the term, or whose content's words include, for every word of the term, a word
//! starting with it, or that carries a tag whose name contains the term, or has a text field
//! whose value contains it. The caller folds terms ([`fold`]); the index holds folded text.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;

use super::Result;
use super::fields::FieldKind;
use super::files::FileRecord;

/// A match expression over files.
#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    /// Files a folded term matches (see the module docs).
    Term(String),
    /// Files matching every one.
    All(Vec<Match>),
    /// Files matching any one.
    Any(Vec<Match>),
    /// Files not matching it.
    Not(Box<Match>),
}

/// A comparison of a field with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// Equal.
    Eq,
    /// Not equal (files without the field do not match).
    Ne,
    /// Less than.
    Lt,
    /// At most.
    Le,
    /// More than.
    Gt,
    /// At least.
    Ge,
}

impl Compare {
    /// The SQL operator.
    pub fn sql(self) -> &'static str {
        match self {
            Compare::Eq => "=",
            Compare::Ne => "<>",
            Compare::Lt => "<",
            Compare::Le => "<=",
            Compare::Gt => ">",
            Compare::Ge => ">=",
        }
    }

    /// Whether `a` compares with `b` so.
    pub fn holds<T: PartialOrd>(self, a: &T, b: &T) -> bool {
        match self {
            Compare::Eq => a == b,
            Compare::Ne => a != b,
            Compare::Lt => a < b,
            Compare::Le => a <= b,
            Compare::Gt => a > b,
            Compare::Ge => a >= b,
        }
    }
}

/// A filter on a field: `key` compared with a text or number.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldFilter {
    /// The key.
    pub key: String,
    /// The comparison.
    pub op: Compare,
    /// What it is compared with: text for string fields, a number for the rest (booleans 0/1,
    /// dates in microseconds).
    pub value: FieldOperand,
}

/// The right-hand side of a [`FieldFilter`].
#[derive(Debug, Clone, PartialEq)]
pub enum FieldOperand {
    /// Compared with string fields.
    Text(String),
    /// Compared with number, boolean and date fields of this kind.
    Number(FieldKind, f64),
}

/// The order of results (ties broken by id, in the same direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchOrder {
    /// Last change.
    #[default]
    Updated,
    /// Creation.
    Created,
    /// Name.
    Name,
    /// Size.
    Size,
}

/// Where a page starts: after the file with this sort value and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// A time or a size.
    Number(i64, String),
    /// A name.
    Text(String, String),
}

/// Which files a search may return before authorization: those of these owners, these files,
/// and those anywhere below these folders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Owners (the caller, their teams).
    pub owners: Vec<String>,
    /// Files shared with the caller.
    pub files: Vec<String>,
    /// Folders shared with the caller.
    pub folders: Vec<String>,
}

/// A search.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// The candidates.
    pub scope: Scope,
    /// What must match (`None`: every file in scope).
    pub matching: Option<Match>,
    /// Media types: exact (`image/png`) or a prefix ending in `/` (`image/`); any of them.
    pub types: Vec<String>,
    /// Name extensions, folded, without the dot; any of them.
    pub extensions: Vec<String>,
    /// At least this many bytes.
    pub min_size: Option<u64>,
    /// At most this many bytes.
    pub max_size: Option<u64>,
    /// Only these owners' files.
    pub owner: Option<String>,
    /// Changed at or after (microseconds).
    pub modified_after: Option<i64>,
    /// Changed before (microseconds).
    pub modified_before: Option<i64>,
    /// Carrying every one of these tags (ids).
    pub tags: Vec<String>,
    /// Only below this folder (at any depth).
    pub folder: Option<String>,
    /// Every one holds.
    pub fields: Vec<FieldFilter>,
    /// Order.
    pub order: SearchOrder,
    /// Descending.
    pub desc: bool,
    /// Start after this.
    pub after: Option<After>,
    /// At most this many.
    pub limit: u32,
}

/// The search index.
///
/// Contract (checked by [`super::conformance`]): `search` returns files in scope, not marked
/// as trashed, that match everything the query asks, in its order, after `after`; names and
/// content stay indexed through uploads, new versions, renames and restores (in the
/// transaction of each), and a deleted file leaves the index with it.
#[async_trait]
pub trait SearchIndex: Debug + Send + Sync + 'static {
    /// A page of matching files.
    async fn search(&self, query: &SearchQuery) -> Result<Vec<FileRecord>>;
    /// Replaces the words of `file_id`'s content and refolds its name (for reindexing); false
    /// when the file is not there.
    async fn reindex(&self, file_id: &str, words: &str) -> Result<bool>;
    /// File ids in id order, at most `limit` after `after` (to walk every file when reindexing).
    async fn file_ids(&self, after: Option<&str>, limit: u32) -> Result<Vec<String>>;
}

/// A search index behind a pointer.
pub type DynSearchIndex = dyn SearchIndex;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: SearchIndex + ?Sized> SearchIndex for Arc<T> {
    async fn search(&self, query: &SearchQuery) -> Result<Vec<FileRecord>> {
        (**self).search(query).await
    }
    async fn reindex(&self, file_id: &str, words: &str) -> Result<bool> {
        (**self).reindex(file_id, words).await
    }
    async fn file_ids(&self, after: Option<&str>, limit: u32) -> Result<Vec<String>> {
        (**self).file_ids(after, limit).await
    }
}

/// Text folded the way the index holds it: lower case (full Unicode).
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// Whether `c` is part of a word: a letter, digit or combining mark.
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c as u32, 0x0300..=0x036F | 0x0591..=0x05C7 | 0x0610..=0x061A | 0x064B..=0x065F
            | 0x0900..=0x0903 | 0x093A..=0x094F | 0x0E31..=0x0E3A | 0x0E47..=0x0E4E)
}

/// The words of `text`, folded, split at every other character.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !is_word_char(c))
        .filter(|w| !w.is_empty())
        .map(fold)
}

/// Words longer than this are left out of the index (encoded blobs, not words).
pub const MAX_WORD_CHARS: usize = 64;

/// The index's text of some content: its distinct words, folded, in the order they first
/// occur, separated by spaces, at most `max_bytes` long (a word that would pass it and every
/// word after are left out).
pub fn word_list(text: &str, max_bytes: usize) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut out = String::new();
    for w in words(text) {
        if w.chars().count() > MAX_WORD_CHARS || seen.contains(&w) {
            continue;
        }
        if out.len() + w.len() + 1 > max_bytes {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&w);
        seen.insert(w);
    }
    out
}

/// The most bytes of words a file's document holds (under PostgreSQL's 1 MiB tsvector limit).
pub const MAX_WORDS_BYTES: usize = 512 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_lists_are_distinct_folded_and_bounded() {
        assert_eq!(
            word_list("Report, report; RÉSUMÉ 東京 x-y", 100),
            "report résumé 東京 x y"
        );
        assert_eq!(word_list("aaa bbb ccc", 7), "aaa bbb");
        assert_eq!(word_list(&"z".repeat(65), 100), "");
    }
}
