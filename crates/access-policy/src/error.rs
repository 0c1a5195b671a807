//! The crate's one error type.

use serde::Serialize;

/// One message from Cedar's parser or validator, with where it points in the source when Cedar says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The policy (or document) the message is about, when known.
    pub policy: Option<String>,
    /// The message itself.
    pub message: String,
    /// Cedar's hint on how to fix it, if any.
    pub help: Option<String>,
    /// 1-based line in the source text, when Cedar gives a location.
    pub line: Option<usize>,
    /// 1-based column in the source text, when Cedar gives a location.
    pub column: Option<usize>,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(p) = &self.policy {
            write!(f, "[{p}] ")?;
        }
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, "{l}:{c}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.help {
            write!(f, " (help: {h})")?;
        }
        Ok(())
    }
}

impl Diagnostic {
    /// Builds a diagnostic from any miette diagnostic, resolving its first label against `source`.
    pub(crate) fn from_miette(
        policy: Option<String>,
        d: &dyn miette::Diagnostic,
        source: Option<&str>,
    ) -> Self {
        let (line, column) = d
            .labels()
            .and_then(|mut labels| labels.next())
            .and_then(|label| source.map(|src| line_col(src, label.offset())))
            .map_or((None, None), |(l, c)| (Some(l), Some(c)));
        Self {
            policy,
            message: d.to_string(),
            help: d.help().map(|h| h.to_string()),
            line,
            column,
        }
    }
}

fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = src.get(..offset).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

fn join(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Policy, template or schema text failed to parse.
    #[error("parse error in {what}: {}", join(.diagnostics))]
    Parse {
        /// What was being parsed (a document id, "schema", ...).
        what: String,
        /// Cedar's messages with source locations.
        diagnostics: Vec<Diagnostic>,
    },
    /// A policy set failed validation against the schema; nothing was installed.
    #[error("policy set failed validation: {}", join(.diagnostics))]
    Validation {
        /// The validator's messages, one per problem.
        diagnostics: Vec<Diagnostic>,
    },
    /// A request (principal, action, resource, context) does not fit the schema or is malformed.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// Entity data does not fit the schema, is malformed, or its hierarchy is cyclic.
    #[error("invalid entities: {0}")]
    InvalidEntities(String),
    /// A template link is wrong: unknown template, missing slot, clashing id, bad expiry.
    #[error("invalid template link `{link}`: {reason}")]
    InvalidLink {
        /// The link id.
        link: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An argument is out of range or malformed (an id, a size limit, a test case).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The named policy, template, link or document does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// Something with that id already exists.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// A store write lost a race with another writer (expected version did not match).
    #[error("version conflict: expected {expected}, found {found}")]
    Conflict {
        /// The version the caller expected.
        expected: u64,
        /// The version the store has.
        found: u64,
    },
    /// A backing store (database, filesystem) failed.
    #[error("store error: {0}")]
    Store(String),
    /// An entity provider failed to fetch entities.
    #[error("entity provider error: {0}")]
    Provider(String),
    /// Reading a file failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn parse(what: impl Into<String>, d: &dyn miette::Diagnostic, src: &str) -> Self {
        let what = what.into();
        let diagnostics = collect(Some(what.clone()), d, Some(src));
        Self::Parse { what, diagnostics }
    }
}

/// Flattens a miette diagnostic and its related diagnostics (Cedar groups parse errors that way).
pub(crate) fn collect(
    policy: Option<String>,
    d: &dyn miette::Diagnostic,
    src: Option<&str>,
) -> Vec<Diagnostic> {
    let related: Vec<Diagnostic> = d
        .related()
        .map(|it| {
            it.map(|r| Diagnostic::from_miette(policy.clone(), r, src))
                .collect()
        })
        .unwrap_or_default();
    if related.is_empty() {
        vec![Diagnostic::from_miette(policy, d, src)]
    } else {
        let mut all = vec![Diagnostic::from_miette(policy, d, src)];
        all.extend(related);
        all
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 99), (1, 3));
    }
}
