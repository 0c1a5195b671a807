//! The incident's timeline: entries from several sources, merged into one ordered story.

mod alertmanager;
mod audit;
mod builder;
mod notes;

use std::fmt::Debug;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;

use crate::error::Result;

pub use alertmanager::AlertmanagerSource;
pub use audit::AuditSource;
pub use builder::{Metrics, Timeline, TimelineBuilder, Window};
pub use notes::NotesSource;

/// Where timeline entries come from: an audit export, alert notifications, notes, or anything
/// a caller implements.
///
/// Sources are synchronous: postmortems are written after the fact, from files or snapshots.
/// Entries may be returned in any order and may repeat (the builder sorts and deduplicates
/// them by [`TimelineEntry::key`]).
pub trait TimelineSource: Debug + Send + Sync {
    /// A short label shown in reports, e.g. `audit` or `alertmanager`.
    fn name(&self) -> &str;

    /// Every entry this source knows of; the builder filters them.
    fn entries(&self) -> Result<Vec<TimelineEntry>>;
}

/// A type-erased [`TimelineSource`].
pub type DynTimelineSource = dyn TimelineSource;

impl<T: TimelineSource + ?Sized> TimelineSource for Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn entries(&self) -> Result<Vec<TimelineEntry>> {
        (**self).entries()
    }
}

impl<T: TimelineSource + ?Sized> TimelineSource for Box<T> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn entries(&self) -> Result<Vec<TimelineEntry>> {
        (**self).entries()
    }
}

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryKind {
    /// An alert started firing.
    AlertFiring,
    /// An alert stopped firing.
    AlertResolved,
    /// An audit event (or a run of similar ones, see [`TimelineEntry::count`]).
    Audit,
    /// A note from a responder.
    Note,
    /// One of the incident's own milestones (start, detected, acknowledged, mitigated,
    /// resolved). Among entries at the same instant, milestones sort last: an alert that
    /// fired at 09:09 is what detected the incident at 09:09.
    Milestone,
}

/// Someone or something in an audit event: `{type, id}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[non_exhaustive]
pub struct Party {
    /// `user`, `service`, `anonymous`, `file`, `folder` ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The identifier, absent for anonymous actors.
    pub id: Option<String>,
}

impl Party {
    /// A party of `kind` with an optional id.
    pub fn new(kind: impl Into<String>, id: Option<String>) -> Self {
        Self {
            kind: kind.into(),
            id,
        }
    }
}

impl std::fmt::Display for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{}:{id}", self.kind),
            None => f.write_str(&self.kind),
        }
    }
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TimelineEntry {
    /// When it happened (the first occurrence, for a collapsed run).
    pub time: Timestamp,
    /// What it records.
    pub kind: EntryKind,
    /// The [`TimelineSource::name`] it came from (`incident` for milestones and inline notes).
    pub source: String,
    /// The service it concerns, when known; used by the service filter.
    pub service: Option<String>,
    /// One line for people (Markdown).
    pub text: String,
    /// Audit events: who acted.
    pub actor: Option<Party>,
    /// Audit events: on what.
    pub resource: Option<Party>,
    /// Audit events: the dotted action, e.g. `file.downloaded`.
    pub action: Option<String>,
    /// Audit events: `success`, `failure`, `denied` ...
    pub outcome: Option<String>,
    /// How many events this entry stands for (similar consecutive audit events collapse).
    pub count: usize,
    /// The last occurrence, for a collapsed run.
    pub until: Option<Timestamp>,
    /// Identity for deduplication: entries with equal keys are the same event (an audit event
    /// id, an alert fingerprint with its start time ...).
    pub key: String,
}

impl TimelineEntry {
    /// An entry; `key` identifies the underlying event for deduplication.
    pub fn new(
        time: Timestamp,
        kind: EntryKind,
        key: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Self {
            time,
            kind,
            source: String::new(),
            service: None,
            text: text.into(),
            actor: None,
            resource: None,
            action: None,
            outcome: None,
            count: 1,
            until: None,
            key: key.into(),
        }
    }

    /// The same entry, tagged with a service.
    pub fn with_service(mut self, service: Option<String>) -> Self {
        self.service = service;
        self
    }

    /// The same entry, labelled with its source's name.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// The same entry, with the audit details that affected-user counting reads.
    pub fn with_audit(
        mut self,
        action: impl Into<String>,
        actor: Option<Party>,
        resource: Option<Party>,
        outcome: Option<String>,
    ) -> Self {
        self.action = Some(action.into());
        self.actor = actor;
        self.resource = resource;
        self.outcome = outcome;
        self
    }

    /// The last instant this entry covers.
    pub fn end(&self) -> Timestamp {
        self.until.unwrap_or(self.time)
    }
}

/// A timestamp field in a source document: refused without a zone, like the incident's.
#[derive(Debug, Clone, Copy)]
struct ZonedTime(Timestamp);

impl<'de> serde::Deserialize<'de> for ZonedTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        crate::time::parse_timestamp(&text)
            .map(ZonedTime)
            .map_err(|e| serde::de::Error::custom(crate::time::describe(&text, &e)))
    }
}
