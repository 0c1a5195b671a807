//! The incident: what happened, when, to what, and what we will do about it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use crate::error::{InputFormat, Result};
use crate::parse;

/// One incident, as written by its responders in YAML or JSON.
///
/// Read it with [`Incident::from_yaml_str`], [`Incident::from_json_str`] or
/// [`Incident::from_path`]; all three validate it (see [`Error::InvalidIncident`]).
/// The field set follows the Google SRE book's postmortem template.
///
/// [`Error::InvalidIncident`]: crate::Error::InvalidIncident
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Incident {
    /// A stable identifier, e.g. `INC-2025-031`.
    pub id: String,
    /// A one-line title.
    pub title: String,
    /// How bad it was.
    pub severity: Severity,
    /// Where the incident stands.
    pub status: Status,
    /// When impact began.
    pub start: Timestamp,
    /// When someone (or something) noticed. When absent, the timeline infers it from the first
    /// alert that fired at or after `start`.
    pub detected: Option<Timestamp>,
    /// When a responder acknowledged the page.
    pub acknowledged: Option<Timestamp>,
    /// When impact stopped (a rollback, a failover), even if the cause was not yet fixed.
    pub mitigated: Option<Timestamp>,
    /// When the incident was over (also accepted as `end` in the source).
    pub resolved: Option<Timestamp>,
    /// Services involved; the timeline keeps only events of these services (or of none).
    pub services: Vec<String>,
    /// People accountable for the postmortem.
    pub owners: Vec<String>,
    /// Executive summary (Markdown).
    pub summary: Option<String>,
    /// Who and what was affected, and how (Markdown).
    pub impact: Option<String>,
    /// Root causes, each with an optional five-whys chain.
    pub root_causes: Vec<RootCause>,
    /// What set it off (Markdown).
    pub trigger: Option<String>,
    /// How it was mitigated and fixed (Markdown).
    pub resolution: Option<String>,
    /// How it was detected (Markdown).
    pub detection: Option<String>,
    /// Follow-up work.
    pub action_items: Vec<ActionItem>,
    /// Lessons learned.
    pub lessons: Lessons,
    /// Free notes from responders; they join the timeline.
    pub notes: Vec<Note>,
    /// Which audit events count towards affected users and resources.
    pub affected: AffectedFilter,
    #[serde(skip)]
    pub(crate) lines: BTreeMap<String, u64>,
}

impl Incident {
    /// Reads and validates an incident written in YAML.
    pub fn from_yaml_str(text: &str) -> Result<Self> {
        parse::incident(text, InputFormat::Yaml, "<incident>")
    }

    /// Reads and validates an incident written in JSON.
    pub fn from_json_str(text: &str) -> Result<Self> {
        parse::incident(text, InputFormat::Json, "<incident>")
    }

    /// Reads and validates an incident file: `.json` files as JSON, anything else as YAML.
    /// Errors name the file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| crate::Error::io(path, e))?;
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => InputFormat::Json,
            _ => InputFormat::Yaml,
        };
        parse::incident(&text, format, &path.display().to_string())
    }

    /// The 1-based source line of a field (`status`, `action_items[1]`, `notes[0]` ...), when
    /// the parser recorded it; lint findings use it to point into the file.
    pub fn line_of(&self, field: &str) -> Option<u64> {
        self.lines.get(field).copied()
    }
}

/// A root cause and the chain of "why?" that led to it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct RootCause {
    /// The cause in one or two sentences (Markdown).
    pub summary: String,
    /// Successive answers to "why?", outermost first.
    pub five_whys: Vec<String>,
}

/// A follow-up task.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActionItem {
    /// What will be done.
    pub title: String,
    /// What kind of action it is.
    pub kind: ActionKind,
    /// Who will do it (lint flags items without one).
    pub owner: Option<String>,
    /// How urgent it is.
    pub priority: Priority,
    /// When it is due.
    pub due: Option<Date>,
    /// The tracker reference (`OPS-123` or a URL).
    pub ticket: Option<String>,
    /// Where it stands.
    pub status: ActionStatus,
}

/// Lessons learned, in the Google SRE book's three headings.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lessons {
    /// What went well.
    pub went_well: Vec<String>,
    /// What went wrong.
    pub went_wrong: Vec<String>,
    /// Where we got lucky.
    pub got_lucky: Vec<String>,
}

impl Lessons {
    /// True when no lesson was written at all.
    pub fn is_empty(&self) -> bool {
        self.went_well.is_empty() && self.went_wrong.is_empty() && self.got_lucky.is_empty()
    }
}

/// A free note for the timeline.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct Note {
    /// When it happened.
    pub time: Timestamp,
    /// What happened (one line of Markdown).
    pub text: String,
    /// The service it concerns, if any.
    pub service: Option<String>,
    /// Who wrote or did it, if recorded.
    pub author: Option<String>,
}

impl Note {
    /// A note at `time`.
    pub fn new(time: Timestamp, text: impl Into<String>) -> Self {
        Self {
            time,
            text: text.into(),
            service: None,
            author: None,
        }
    }

    /// The same note, tagged with a service.
    pub fn with_service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// The same note, with an author.
    pub fn with_author(mut self, author: impl Into<String>) -> Self {
        self.author = Some(author.into());
        self
    }
}

/// Which audit events count towards affected users and resources. Empty lists match
/// everything.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct AffectedFilter {
    /// Action prefixes, e.g. `file.` or `file.downloaded`.
    pub actions: Vec<String>,
    /// Outcomes, e.g. `failure`, `denied`.
    pub outcomes: Vec<String>,
}

impl AffectedFilter {
    /// A filter from action prefixes and outcomes.
    pub fn new(actions: Vec<String>, outcomes: Vec<String>) -> Self {
        Self { actions, outcomes }
    }

    pub(crate) fn matches(&self, action: &str, outcome: Option<&str>) -> bool {
        let action_ok =
            self.actions.is_empty() || self.actions.iter().any(|p| action.starts_with(p.as_str()));
        let outcome_ok = self.outcomes.is_empty()
            || outcome.is_some_and(|o| self.outcomes.iter().any(|w| w.eq_ignore_ascii_case(o)));
        action_ok && outcome_ok
    }
}

/// Defines a closed set of words with a lenient parser (case, `-`, `_` and spaces ignored),
/// a canonical spelling for display and serialization, and the list of accepted spellings.
macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value's canonical spelling.
            pub const ALL: &'static [&'static str] = &[$($text),+];

            /// The canonical spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub(crate) fn parse_word(text: &str) -> Option<Self> {
                let wanted = normalize_word(text);
                $(if wanted == normalize_word($text) { return Some($name::$variant); })+
                None
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::Error;

            /// Parses any accepted spelling (case, `-`, `_` and spaces ignored).
            fn from_str(text: &str) -> crate::Result<Self> {
                Self::parse_word(text).ok_or_else(|| {
                    crate::Error::InvalidArgument(format!(
                        "`{text}` is not one of {}",
                        Self::ALL.join(", ")
                    ))
                })
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

fn normalize_word(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '-' | '_' | ' ' | '\''))
        .flat_map(char::to_lowercase)
        .collect()
}

word_enum!(
    /// Severity, SEV1 being the worst.
    Severity {
        /// Critical: broad outage or data exposure.
        Sev1 => "SEV1",
        /// Major: a core feature down for many users.
        Sev2 => "SEV2",
        /// Minor: degraded, with a workaround.
        Sev3 => "SEV3",
        /// Low: little user impact.
        Sev4 => "SEV4",
        /// Informational: a near miss.
        Sev5 => "SEV5",
    }
);

word_enum!(
    /// Where an incident stands.
    Status {
        /// Responders are looking into it.
        Investigating => "investigating",
        /// The cause is known.
        Identified => "identified",
        /// Impact has stopped.
        Mitigated => "mitigated",
        /// A fix is in place and being watched.
        Monitoring => "monitoring",
        /// Over.
        Resolved => "resolved",
        /// Over, and the postmortem is done.
        Closed => "closed",
    }
);

impl Status {
    /// True for `resolved` and `closed`.
    pub fn is_over(self) -> bool {
        matches!(self, Status::Resolved | Status::Closed)
    }
}

word_enum!(
    /// Urgency of an action item, P0 being the most urgent.
    Priority {
        /// Drop everything.
        P0 => "P0",
        /// This sprint.
        P1 => "P1",
        /// This quarter.
        P2 => "P2",
        /// When convenient.
        P3 => "P3",
    }
);

word_enum!(
    /// The kind of an action item, as in the Google SRE template.
    ActionKind {
        /// Reduces the impact of a recurrence.
        Mitigate => "mitigate",
        /// Stops a recurrence.
        Prevent => "prevent",
        /// Detects a recurrence sooner.
        Detect => "detect",
        /// Changes how people work.
        Process => "process",
        /// Anything else.
        Other => "other",
    }
);

word_enum!(
    /// Where an action item stands.
    ActionStatus {
        /// Not started.
        Open => "open",
        /// Being worked on.
        InProgress => "in progress",
        /// Finished.
        Done => "done",
        /// Decided against.
        WontDo => "won't do",
    }
);

impl ActionStatus {
    /// True while work remains (`open`, `in progress`).
    pub fn is_pending(self) -> bool {
        matches!(self, ActionStatus::Open | ActionStatus::InProgress)
    }
}
