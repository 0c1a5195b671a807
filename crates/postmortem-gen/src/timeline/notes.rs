//! Free notes from responders.

use std::path::Path;

use super::{EntryKind, TimelineEntry, TimelineSource};
use crate::error::{Error, InputFormat, Result};
use crate::incident::Note;
use crate::time::{describe, parse_timestamp};

/// Free notes: a chat log, a scribe's notes, anything with a time.
///
/// The text form is one note per line, `TIMESTAMP text`, where the text may start with
/// `[service]`; blank lines and lines starting with `#` are skipped:
///
/// ```text
/// 2025-03-14T09:15:00Z [files-api] Rolled back deploy 4711
/// ```
#[derive(Debug, Clone, Default)]
pub struct NotesSource {
    notes: Vec<Note>,
}

impl NotesSource {
    /// Notes already in hand.
    pub fn new(notes: Vec<Note>) -> Self {
        Self { notes }
    }

    /// Parses the text form; `origin` names it in errors.
    pub fn from_text(text: &str, origin: &str) -> Result<Self> {
        let mut notes = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let malformed = |message: String| Error::Malformed {
                origin: origin.to_owned(),
                format: InputFormat::Text,
                line: Some(index as u64 + 1),
                column: None,
                message,
            };
            let (stamp, rest) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| malformed("expected `TIMESTAMP text`".into()))?;
            let time = parse_timestamp(stamp).map_err(|e| malformed(describe(stamp, &e)))?;
            let rest = rest.trim();
            let (service, text) = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
                Some((service, text)) => (Some(service.trim().to_owned()), text.trim()),
                None => (None, rest),
            };
            if text.is_empty() {
                return Err(malformed("the note has a time but no text".into()));
            }
            let mut note = Note::new(time, text);
            note.service = service.filter(|s| !s.is_empty());
            notes.push(note);
        }
        Ok(Self { notes })
    }

    /// Reads the text form from a file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_text(&text, &path.display().to_string())
    }
}

impl TimelineSource for NotesSource {
    fn name(&self) -> &str {
        "notes"
    }

    fn entries(&self) -> Result<Vec<TimelineEntry>> {
        Ok(self.notes.iter().map(|n| note_entry(n, "notes")).collect())
    }
}

pub(super) fn note_entry(note: &Note, source: &str) -> TimelineEntry {
    let text = match &note.author {
        Some(author) => format!("{} ({author})", note.text),
        None => note.text.clone(),
    };
    TimelineEntry::new(
        note.time,
        EntryKind::Note,
        format!("note:{}:{}", note.time, note.text),
        text,
    )
    .with_service(note.service.clone())
    .with_source(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_with_optional_service() {
        let text = "# scribe log\n2025-03-14T09:15:00Z [files-api] Rolled back 4711\n\n2025-03-14T09:20:00+00:00 Error rate falling\n";
        let entries = NotesSource::from_text(text, "notes.txt")
            .unwrap()
            .entries()
            .unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].service.as_deref(), Some("files-api"));
        assert_eq!(entries[0].text, "Rolled back 4711");
        assert_eq!(entries[1].service, None);
    }

    #[test]
    fn bad_lines_name_their_line() {
        let err =
            NotesSource::from_text("2025-03-14T09:15:00Z ok\n2025-03-14T09:16:00 no zone", "n")
                .unwrap_err();
        assert!(
            matches!(err, Error::Malformed { line: Some(2), .. }),
            "{err}"
        );
        assert!(err.to_string().contains("no time zone"));
        let err = NotesSource::from_text("2025-03-14T09:15:00Z", "n").unwrap_err();
        assert!(matches!(err, Error::Malformed { line: Some(1), .. }));
    }
}
