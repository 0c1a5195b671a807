//! Differences between two versions of a file: a unified diff and its hunks for text, a summary
//! (sizes, digests, changed blocks) for anything else. Both are bounded: text is diffed only up
//! to `files.diff_max_bytes` a side and within a time budget; the summary streams in blocks.

use std::time::Duration;

use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use serde::Serialize;
use sha2::{Digest, Sha256};
use similar::{ChangeTag, TextDiff};
use utoipa::ToSchema;

use super::files::Files;
use super::{Ctx, Error, Result};
use crate::store::VersionRecord;

/// The block size of a binary summary.
pub const BLOCK: u64 = 1 << 20;
/// The most changed blocks listed in a summary (the count is always exact).
const MAX_LISTED_BLOCKS: usize = 1000;
/// How long a text diff may compute before it settles for a coarser (still correct) answer.
const DIFF_BUDGET: Duration = Duration::from_secs(2);

/// What kind of difference to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiffFormat {
    /// Text when both sides are UTF-8 text within the size limit, else a summary.
    #[default]
    Auto,
    /// Text, or a 422 saying why not.
    Text,
    /// Always the summary.
    Summary,
}

/// The difference between two versions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Diff {
    /// The file.
    pub file_id: String,
    /// The older side's version.
    pub from: i64,
    /// The newer side's version.
    pub to: i64,
    /// Whether the two contents are byte for byte the same.
    pub identical: bool,
    /// `text` or `summary`.
    pub kind: &'static str,
    /// For text: the unified diff (`diff -u` format).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unified: Option<String>,
    /// For text: the hunks of the unified diff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hunks: Option<Vec<Hunk>>,
    /// For other content: what changed, by block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
}

/// One `@@` section of a unified diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Hunk {
    /// First line in the old text, from 1 (the line before, for an empty range).
    pub old_start: usize,
    /// Lines of the old text in the hunk.
    pub old_lines: usize,
    /// First line in the new text, from 1.
    pub new_start: usize,
    /// Lines of the new text in the hunk.
    pub new_lines: usize,
    /// The lines: `op` is ` ` (kept), `-` (removed) or `+` (added); `text` without its newline.
    pub lines: Vec<HunkLine>,
}

/// A line of a hunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct HunkLine {
    /// ` `, `-` or `+`.
    pub op: &'static str,
    /// The line, without its line ending.
    pub text: String,
}

/// A summary of a binary difference.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Summary {
    /// Old size in bytes.
    pub from_size: u64,
    /// New size in bytes.
    pub to_size: u64,
    /// Old SHA-256.
    pub from_sha256: String,
    /// New SHA-256.
    pub to_sha256: String,
    /// The block size the comparison uses (fixed blocks: an insertion shifts every later block,
    /// so all of them count as changed).
    pub block_size: u64,
    /// How many blocks differ (or exist on one side only).
    pub changed_blocks: u64,
    /// The first of them by index, at most 1000.
    pub changed: Vec<u64>,
}

/// The unified diff and hunks of two texts with `context` lines around each change.
pub fn text_diff(old: &str, new: &str, context: usize, names: (&str, &str)) -> (String, Vec<Hunk>) {
    let diff = TextDiff::configure()
        .timeout(DIFF_BUDGET)
        .diff_lines(old, new);
    let unified = diff
        .unified_diff()
        .context_radius(context)
        .header(names.0, names.1)
        .to_string();
    let mut hunks = Vec::new();
    for group in diff.grouped_ops(context) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let mut lines = Vec::new();
        for op in &group {
            for change in diff.iter_changes(op) {
                lines.push(HunkLine {
                    op: match change.tag() {
                        ChangeTag::Equal => " ",
                        ChangeTag::Delete => "-",
                        ChangeTag::Insert => "+",
                    },
                    text: change
                        .value()
                        .trim_end_matches('\n')
                        .trim_end_matches('\r')
                        .to_owned(),
                });
            }
        }
        // Unified-diff numbering: from 1, and an empty range names the line before it.
        let start = |r: &std::ops::Range<usize>| if r.is_empty() { r.start } else { r.start + 1 };
        hunks.push(Hunk {
            old_start: start(&old_range),
            old_lines: old_range.len(),
            new_start: start(&new_range),
            new_lines: new_range.len(),
            lines,
        });
    }
    (unified, hunks)
}

impl Files {
    /// The difference between versions `from` and `to` of a file (reading both needs
    /// `download`: a diff shows content).
    pub async fn diff(
        &self,
        ctx: &Ctx,
        id: &str,
        from: i64,
        to: i64,
        format: DiffFormat,
        context: usize,
    ) -> Result<Diff> {
        if context > 1000 {
            return Err(Error::BadRequest("context is at most 1000 lines".into()));
        }
        let file = self.authorize_on(ctx, "download", id).await?;
        let (a, b) = (
            self.version_of(&file, from).await?,
            self.version_of(&file, to).await?,
        );
        let identical = a.sha256 == b.sha256 && a.size == b.size;
        let limit = self.limits.diff_max_bytes;
        let small = a.size <= limit && b.size <= limit;
        let mut out = Diff {
            file_id: file.id.clone(),
            from,
            to,
            identical,
            kind: "summary",
            unified: None,
            hunks: None,
            summary: None,
        };
        if format != DiffFormat::Summary {
            if !small {
                if format == DiffFormat::Text {
                    return Err(Error::Invalid(format!(
                        "a text diff takes at most {limit} bytes a side (files.diff_max_bytes); ask for format=summary"
                    )));
                }
            } else {
                let (old, new) = (self.read_whole(&a).await?, self.read_whole(&b).await?);
                match (std::str::from_utf8(&old), std::str::from_utf8(&new)) {
                    (Ok(old), Ok(new)) if !old.contains('\0') && !new.contains('\0') => {
                        let names = (
                            format!("v{from}/{}", file.name),
                            format!("v{to}/{}", file.name),
                        );
                        let (unified, hunks) = text_diff(old, new, context, (&names.0, &names.1));
                        out.kind = "text";
                        out.unified = Some(unified);
                        out.hunks = Some(hunks);
                        return Ok(out);
                    }
                    _ if format == DiffFormat::Text => {
                        return Err(Error::Invalid(
                            "these versions are not both UTF-8 text; ask for format=summary".into(),
                        ));
                    }
                    _ => {}
                }
            }
        }
        out.summary = Some(self.summary(&a, &b).await?);
        Ok(out)
    }

    /// The whole content of a (small) version, checked against its digest.
    async fn read_whole(&self, v: &VersionRecord) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(v.size as usize);
        if v.size > 0 {
            let mut body = self
                .blobs
                .get(&ObjectPath::from(v.blob_key.as_str()), None)
                .await?;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| Error::Internal(format!("read blob: {e}")))?;
                if out.len() as u64 + chunk.len() as u64 > v.size {
                    break;
                }
                out.extend_from_slice(&chunk);
            }
        }
        if hex::encode(Sha256::digest(&out)) != v.sha256 {
            self.guard.metrics.integrity_failures.inc();
            return Err(Error::Internal(format!(
                "version {} of file {} failed its integrity check: run GET /files/{}/verify",
                v.version, v.file_id, v.file_id
            )));
        }
        Ok(out)
    }

    /// Block digests of both sides, compared.
    async fn summary(&self, a: &VersionRecord, b: &VersionRecord) -> Result<Summary> {
        let (da, db) = (self.block_digests(a).await?, self.block_digests(b).await?);
        let blocks = da.len().max(db.len());
        let changed: Vec<u64> = (0..blocks)
            .filter(|i| da.get(*i) != db.get(*i))
            .map(|i| i as u64)
            .collect();
        Ok(Summary {
            from_size: a.size,
            to_size: b.size,
            from_sha256: a.sha256.clone(),
            to_sha256: b.sha256.clone(),
            block_size: BLOCK,
            changed_blocks: changed.len() as u64,
            changed: changed.into_iter().take(MAX_LISTED_BLOCKS).collect(),
        })
    }

    async fn block_digests(&self, v: &VersionRecord) -> Result<Vec<[u8; 32]>> {
        let mut out = Vec::new();
        if v.size == 0 {
            return Ok(out);
        }
        let mut body = self
            .blobs
            .get(&ObjectPath::from(v.blob_key.as_str()), None)
            .await?;
        let (mut hasher, mut filled) = (Sha256::new(), 0u64);
        while let Some(chunk) = body.next().await {
            let mut chunk = chunk.map_err(|e| Error::Internal(format!("read blob: {e}")))?;
            while !chunk.is_empty() {
                let take = ((BLOCK - filled) as usize).min(chunk.len());
                hasher.update(&chunk[..take]);
                filled += take as u64;
                chunk = chunk.slice(take..);
                if filled == BLOCK {
                    out.push(hasher.finalize_reset().into());
                    filled = 0;
                }
            }
        }
        if filled > 0 {
            out.push(hasher.finalize().into());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_diffs_have_unified_output_and_hunks() {
        let old = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n";
        let new = "one\ntwo\nTHREE\nfour\nfive\nsix\nseven\neight\nnine\nten\neleven\n";
        let (unified, hunks) = text_diff(old, new, 1, ("a", "b"));
        assert!(unified.starts_with("--- a\n+++ b\n"), "{unified}");
        assert!(unified.contains("-three\n+THREE\n"), "{unified}");
        assert_eq!(hunks.len(), 2, "{hunks:?}");
        assert_eq!(
            (
                hunks[0].old_start,
                hunks[0].old_lines,
                hunks[0].new_start,
                hunks[0].new_lines
            ),
            (2, 3, 2, 3)
        );
        let ops: Vec<&str> = hunks[0].lines.iter().map(|l| l.op).collect();
        assert_eq!(ops, [" ", "-", "+", " "]);
        assert_eq!(hunks[0].lines[1].text, "three");
        assert_eq!(hunks[1].lines.last().unwrap().text, "eleven");
        // Same as `diff -u`'s header line for the second hunk.
        assert!(unified.contains("@@ -10 +10,2 @@"), "{unified}");
    }

    #[test]
    fn identical_texts_have_no_hunks() {
        let (unified, hunks) = text_diff("a\nb\n", "a\nb\n", 3, ("x", "y"));
        assert!(hunks.is_empty());
        assert!(!unified.contains("@@"));
    }
}
