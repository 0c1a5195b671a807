#![doc = include_str!("../README.md")]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

mod clock;
mod error;
mod html;
mod incident;
mod lint;
mod parse;
mod render;
mod skeleton;
mod time;
mod timeline;

pub use crate::{
    clock::{Clock, ManualClock, SystemClock},
    error::{Error, InputFormat, Problem, ProblemKind, Result, TemplateErrorKind, UnknownVariable},
    incident::{
        ActionItem, ActionKind, ActionStatus, AffectedFilter, Incident, Lessons, Note, Priority,
        RootCause, Severity, Status,
    },
    lint::{Finding, Level, LintConfig, Linter, Rule, Section},
    render::{DEFAULT_TEMPLATE, OutputFormat, Renderer},
    skeleton::incident_skeleton,
    timeline::{
        AlertmanagerSource, AuditSource, DynTimelineSource, EntryKind, Metrics, NotesSource, Party,
        Timeline, TimelineBuilder, TimelineEntry, TimelineSource, Window,
    },
};

/// Re-exported so callers can name timestamps, dates and durations without adding `jiff`.
pub use jiff;
