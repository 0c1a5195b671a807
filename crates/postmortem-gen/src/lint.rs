//! Checks that a postmortem is complete enough to publish.

use std::fmt;
use std::sync::Arc;

use jiff::SignedDuration;
use jiff::tz::Offset;
use serde::Serialize;

use crate::clock::{Clock, SystemClock};
use crate::incident::Incident;
use crate::time::human_duration;
use crate::timeline::{EntryKind, Timeline};

/// A section of the postmortem that lint can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Section {
    /// `summary`.
    Summary,
    /// `impact`.
    Impact,
    /// `root_causes` (at least one).
    RootCauses,
    /// `trigger`.
    Trigger,
    /// `resolution`.
    Resolution,
    /// `detection`.
    Detection,
    /// `action_items` (at least one).
    ActionItems,
    /// `lessons` (at least one lesson under any heading).
    Lessons,
    /// A timeline with at least one entry besides the incident's own milestones.
    Timeline,
}

impl Section {
    /// Every section, in template order.
    pub const ALL: [Section; 9] = [
        Section::Summary,
        Section::Impact,
        Section::RootCauses,
        Section::Trigger,
        Section::Resolution,
        Section::Detection,
        Section::ActionItems,
        Section::Lessons,
        Section::Timeline,
    ];

    /// The field name used in incident files.
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Summary => "summary",
            Section::Impact => "impact",
            Section::RootCauses => "root_causes",
            Section::Trigger => "trigger",
            Section::Resolution => "resolution",
            Section::Detection => "detection",
            Section::ActionItems => "action_items",
            Section::Lessons => "lessons",
            Section::Timeline => "timeline",
        }
    }

    fn is_present(self, incident: &Incident, timeline: &Timeline) -> bool {
        match self {
            Section::Summary => incident.summary.is_some(),
            Section::Impact => incident.impact.is_some(),
            Section::RootCauses => !incident.root_causes.is_empty(),
            Section::Trigger => incident.trigger.is_some(),
            Section::Resolution => incident.resolution.is_some(),
            Section::Detection => incident.detection.is_some(),
            Section::ActionItems => !incident.action_items.is_empty(),
            Section::Lessons => !incident.lessons.is_empty(),
            Section::Timeline => timeline
                .entries
                .iter()
                .any(|e| e.kind != EntryKind::Milestone),
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Section {
    type Err = crate::Error;

    fn from_str(text: &str) -> crate::Result<Self> {
        Section::ALL
            .into_iter()
            .find(|s| s.as_str() == text.trim().replace('-', "_"))
            .ok_or_else(|| {
                crate::Error::InvalidArgument(format!(
                    "unknown section `{text}` (expected one of {})",
                    Section::ALL.map(Section::as_str).join(", ")
                ))
            })
    }
}

/// Which rules apply, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LintConfig {
    /// Sections that must be present (default: all of them).
    pub required_sections: Vec<Section>,
    /// Longest allowed silence in the timeline between `start` and `resolved`; `None` turns
    /// the check off (default 30 minutes).
    pub max_timeline_gap: Option<SignedDuration>,
    /// Whether pending action items without a due date are reported (default true).
    pub require_due_dates: bool,
}

impl Default for LintConfig {
    fn default() -> Self {
        Self {
            required_sections: Section::ALL.to_vec(),
            max_timeline_gap: Some(SignedDuration::from_mins(30)),
            require_due_dates: true,
        }
    }
}

/// What a rule checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Rule {
    /// A required section is missing or empty.
    MissingSection,
    /// An action item has no owner.
    ActionItemOwner,
    /// An action item has no due date.
    ActionItemDue,
    /// A pending action item is past its due date.
    ActionItemOverdue,
    /// The timeline is silent for longer than allowed.
    TimelineGap,
    /// The status and the milestones disagree (resolved without a `resolved` time, or the
    /// other way round).
    StatusMismatch,
}

impl Rule {
    /// The rule's name, e.g. `action-item-owner`.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::MissingSection => "missing-section",
            Rule::ActionItemOwner => "action-item-owner",
            Rule::ActionItemDue => "action-item-due",
            Rule::ActionItemOverdue => "action-item-overdue",
            Rule::TimelineGap => "timeline-gap",
            Rule::StatusMismatch => "status-mismatch",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Level {
    /// Worth fixing; does not block publishing.
    Warning,
    /// Blocks publishing.
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Warning => "warning",
            Level::Error => "error",
        })
    }
}

/// One problem lint found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// The rule.
    pub rule: Rule,
    /// How serious it is.
    pub level: Level,
    /// The field concerned, e.g. `action_items[1]`.
    pub field: Option<String>,
    /// 1-based line in the incident file, when known.
    pub line: Option<u64>,
    /// What is wrong, for people.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "{line}: ")?;
        }
        write!(f, "{}[{}]: {}", self.level, self.rule, self.message)
    }
}

/// Runs the lint rules.
#[derive(Debug, Clone)]
pub struct Linter {
    config: LintConfig,
    clock: Arc<dyn Clock>,
}

impl Default for Linter {
    fn default() -> Self {
        Self::new(LintConfig::default())
    }
}

impl Linter {
    /// A linter with `config`, using the system clock for overdue items.
    pub fn new(config: LintConfig) -> Self {
        Self {
            config,
            clock: Arc::new(SystemClock),
        }
    }

    /// Uses `clock` to decide what is overdue.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Every finding for `incident` and its `timeline`, errors first, then in field order.
    pub fn lint(&self, incident: &Incident, timeline: &Timeline) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut push = |rule, level, field: Option<String>, message: String| {
            let line = field.as_deref().and_then(|f| incident.line_of(f));
            findings.push(Finding {
                rule,
                level,
                field,
                line,
                message,
            });
        };

        for section in &self.config.required_sections {
            if !section.is_present(incident, timeline) {
                push(
                    Rule::MissingSection,
                    Level::Error,
                    Some(section.as_str().to_owned()),
                    format!("required section `{section}` is missing or empty"),
                );
            }
        }

        match (incident.status.is_over(), incident.resolved) {
            (true, None) => push(
                Rule::StatusMismatch,
                Level::Warning,
                Some("status".into()),
                format!(
                    "status is `{}` but no `resolved` time is set",
                    incident.status
                ),
            ),
            (false, Some(_)) => push(
                Rule::StatusMismatch,
                Level::Warning,
                Some("resolved".into()),
                format!(
                    "a `resolved` time is set but status is still `{}`",
                    incident.status
                ),
            ),
            _ => {}
        }

        let today = Offset::UTC.to_datetime(self.clock.now()).date();
        for (i, item) in incident.action_items.iter().enumerate() {
            let field = format!("action_items[{i}]");
            if item.owner.is_none() {
                push(
                    Rule::ActionItemOwner,
                    Level::Error,
                    Some(field.clone()),
                    format!("action item \"{}\" has no owner", item.title),
                );
            }
            match item.due {
                None if self.config.require_due_dates && item.status.is_pending() => push(
                    Rule::ActionItemDue,
                    Level::Warning,
                    Some(field),
                    format!("action item \"{}\" has no due date", item.title),
                ),
                Some(due) if due < today && item.status.is_pending() => push(
                    Rule::ActionItemOverdue,
                    Level::Warning,
                    Some(field),
                    format!(
                        "action item \"{}\" was due {due} and is still {}",
                        item.title, item.status
                    ),
                ),
                _ => {}
            }
        }

        if let Some(max_gap) = self.config.max_timeline_gap {
            for (from, to) in gaps(incident, timeline, max_gap) {
                push(
                    Rule::TimelineGap,
                    Level::Warning,
                    None,
                    format!(
                        "no timeline entries for {} between {from} and {to}; add notes on what happened",
                        human_duration(to.duration_since(from))
                    ),
                );
            }
        }

        findings.sort_by_key(|f| std::cmp::Reverse(f.level));
        findings
    }
}

/// Silences longer than `max_gap` inside the incident (start to resolved, or to the last
/// entry while unresolved). A collapsed run of audit events covers its whole span.
fn gaps(
    incident: &Incident,
    timeline: &Timeline,
    max_gap: SignedDuration,
) -> Vec<(jiff::Timestamp, jiff::Timestamp)> {
    let end = incident
        .resolved
        .or_else(|| timeline.entries.iter().map(|e| e.end()).max())
        .unwrap_or(incident.start);
    let mut spans: Vec<_> = timeline
        .entries
        .iter()
        .filter(|e| e.end() >= incident.start && e.time <= end)
        .map(|e| (e.time.max(incident.start), e.end().min(end)))
        .collect();
    spans.sort();
    let mut out = Vec::new();
    let mut covered = incident.start;
    for (from, to) in spans.into_iter().chain(std::iter::once((end, end))) {
        if from.duration_since(covered) > max_gap {
            out.push((covered, from));
        }
        covered = covered.max(to);
    }
    out
}
