//! The text of text-like content, for the search index: which files have text worth indexing,
//! and their words (see [`crate::store::search::word_list`]).

use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::store::search::{MAX_WORDS_BYTES, word_list};

/// Media types (besides `text/*`) whose content is text.
const TEXT_TYPES: &[&str] = &[
    "application/json",
    "application/ld+json",
    "application/xml",
    "application/xhtml+xml",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "application/yaml",
    "application/x-yaml",
    "application/toml",
    "application/sql",
    "application/x-sh",
    "application/x-httpd-php",
    "application/rtf",
    "application/csv",
    "image/svg+xml",
    "message/rfc822",
];

/// Name extensions of text, for content sent as `application/octet-stream`.
const TEXT_EXTENSIONS: &[&str] = &[
    "txt", "md", "markdown", "rst", "csv", "tsv", "json", "yaml", "yml", "toml", "ini", "cfg",
    "conf", "log", "xml", "html", "htm", "css", "js", "mjs", "ts", "tsx", "jsx", "rs", "py", "rb",
    "go", "java", "kt", "c", "h", "cpp", "hpp", "cs", "sh", "bash", "zsh", "sql", "tex", "srt",
    "vtt", "org", "adoc", "eml", "svg",
];

/// Whether content of `content_type` named `name` is text to index.
pub fn is_text_like(content_type: &str, name: &str) -> bool {
    let base = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if base.starts_with("text/")
        || TEXT_TYPES.contains(&base.as_str())
        || base.ends_with("+json")
        || base.ends_with("+xml")
    {
        return true;
    }
    base == "application/octet-stream"
        && name
            .rsplit_once('.')
            .is_some_and(|(_, ext)| TEXT_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// The words of the first bytes of some content: empty when they are not UTF-8 text (a NUL
/// byte, or an invalid sequence before the last few bytes, which may be a character cut off).
pub fn words_of(bytes: &[u8]) -> String {
    if bytes.contains(&0) {
        return String::new();
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() => {
            // Cut in the middle of a character: what comes before it is whole.
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return String::new(),
    };
    word_list(text, MAX_WORDS_BYTES)
}

/// The first `limit` bytes of a stream, collected as it passes.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    taken: Arc<Mutex<Vec<u8>>>,
    limit: usize,
}

impl Sample {
    /// Collects up to `limit` bytes (0: none).
    pub fn new(limit: u64) -> Sample {
        Sample {
            taken: Arc::default(),
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
        }
    }

    /// Notes a chunk going by.
    pub fn see(&self, chunk: &Bytes) {
        let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        let room = self.limit.saturating_sub(taken.len());
        if room > 0 {
            taken.extend_from_slice(&chunk[..room.min(chunk.len())]);
        }
    }

    /// The words of what was collected.
    pub fn words(&self) -> String {
        words_of(&self.taken.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_told_from_binary() {
        assert!(is_text_like("text/plain; charset=utf-8", "a"));
        assert!(is_text_like("application/vnd.api+json", "a"));
        assert!(is_text_like("application/octet-stream", "notes.MD"));
        assert!(!is_text_like("application/octet-stream", "photo.jpg"));
        assert!(!is_text_like("image/png", "a.txt"));
        assert_eq!(words_of(b"Hello hello World"), "hello world");
        assert_eq!(words_of(b"bin\0ary"), "");
        assert_eq!(words_of(b"ok \xff bad"), "");
        // A character cut at the end of the sample.
        assert_eq!(
            words_of("caf\u{e9}".as_bytes().split_last().unwrap().1),
            "caf"
        );
    }

    #[test]
    fn a_sample_keeps_only_its_limit() {
        let s = Sample::new(5);
        s.see(&Bytes::from_static(b"abc "));
        s.see(&Bytes::from_static(b"defgh"));
        assert_eq!(s.words(), "abc d");
    }
}
