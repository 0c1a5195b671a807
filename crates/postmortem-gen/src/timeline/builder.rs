//! Merging sources into one timeline and measuring the incident from it.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::notes::note_entry;
use super::{DynTimelineSource, EntryKind, Party, TimelineEntry, TimelineSource};
use crate::error::{Error, Result};
use crate::incident::{AffectedFilter, Incident};

/// Builds a [`Timeline`] for one incident from any number of sources.
///
/// The incident's own milestones and inline notes are always included. Entries from all
/// sources are deduplicated by key (the first wins), kept only inside the window (by default
/// one hour before `start` to one hour after `resolved`; unbounded after `start` while the
/// incident is unresolved) and only for the incident's services (entries without a service are
/// kept), then sorted by time. Consecutive audit entries with the same action, outcome and
/// service collapse into one entry with a count, unless [`collapse_runs`] is turned off.
///
/// [`collapse_runs`]: TimelineBuilder::collapse_runs
#[derive(Debug)]
pub struct TimelineBuilder<'a> {
    incident: &'a Incident,
    sources: Vec<Arc<DynTimelineSource>>,
    before: SignedDuration,
    after: SignedDuration,
    collapse: bool,
    services: Option<Vec<String>>,
    affected: Option<AffectedFilter>,
}

/// The span of time a timeline covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Window {
    /// First instant kept.
    pub from: Timestamp,
    /// Last instant kept; `None` while the incident is unresolved.
    pub to: Option<Timestamp>,
}

impl Window {
    /// True when `t` lies inside the window.
    pub fn contains(&self, t: Timestamp) -> bool {
        t >= self.from && self.to.is_none_or(|to| t <= to)
    }
}

/// Durations and counts computed from the incident and its timeline.
///
/// Following PagerDuty's and incident.io's definitions: time to detect, mitigate and resolve
/// are measured from `start`; time to acknowledge from detection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Metrics {
    /// The detection instant used: the incident's `detected`, else the first alert that fired
    /// at or after `start`.
    pub detected: Option<Timestamp>,
    /// True when `detected` was inferred from an alert.
    pub detected_inferred: bool,
    /// `detected - start`.
    pub time_to_detect: Option<SignedDuration>,
    /// `acknowledged - detected`.
    pub time_to_acknowledge: Option<SignedDuration>,
    /// `mitigated - start`.
    pub time_to_mitigate: Option<SignedDuration>,
    /// `resolved - start`.
    pub time_to_resolve: Option<SignedDuration>,
    /// Distinct actors of type `user` in matching audit events during the incident.
    pub affected_users: usize,
    /// Distinct resources in matching audit events during the incident.
    pub affected_resources: usize,
    /// Audit events in the window (before collapsing).
    pub audit_events: usize,
    /// Distinct alerts that fired in the window.
    pub alerts_fired: usize,
}

/// An incident's timeline: ordered entries, the window they were taken from, and metrics.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Timeline {
    /// Entries, oldest first.
    pub entries: Vec<TimelineEntry>,
    /// The window entries were kept from.
    pub window: Window,
    /// What was measured.
    pub metrics: Metrics,
}

impl<'a> TimelineBuilder<'a> {
    /// A builder for `incident` with no sources yet.
    pub fn new(incident: &'a Incident) -> Self {
        Self {
            incident,
            sources: Vec::new(),
            before: SignedDuration::from_hours(1),
            after: SignedDuration::from_hours(1),
            collapse: true,
            services: None,
            affected: None,
        }
    }

    /// Adds a source.
    pub fn source(mut self, source: impl TimelineSource + 'static) -> Self {
        self.sources.push(Arc::new(source));
        self
    }

    /// Adds a shared source.
    pub fn shared_source(mut self, source: Arc<DynTimelineSource>) -> Self {
        self.sources.push(source);
        self
    }

    /// How far before `start` and after `resolved` entries are kept (default one hour each).
    /// Negative durations are refused by [`build`](Self::build).
    pub fn window(mut self, before: SignedDuration, after: SignedDuration) -> Self {
        self.before = before;
        self.after = after;
        self
    }

    /// Whether consecutive similar audit entries collapse into one (default true).
    pub fn collapse_runs(mut self, collapse: bool) -> Self {
        self.collapse = collapse;
        self
    }

    /// Keeps entries of these services instead of the incident's (an empty list keeps all).
    pub fn services(mut self, services: Vec<String>) -> Self {
        self.services = Some(services);
        self
    }

    /// Counts affected users and resources with this filter instead of the incident's.
    pub fn affected(mut self, filter: AffectedFilter) -> Self {
        self.affected = Some(filter);
        self
    }

    /// Gathers, filters, orders and measures.
    pub fn build(self) -> Result<Timeline> {
        if self.before.is_negative() || self.after.is_negative() {
            return Err(Error::InvalidArgument(format!(
                "the timeline window must not be negative (before {}, after {})",
                self.before, self.after
            )));
        }
        let incident = self.incident;
        let window = Window {
            from: incident
                .start
                .checked_sub(self.before)
                .map_err(|e| Error::InvalidArgument(format!("window start out of range: {e}")))?,
            to: incident
                .resolved
                .map(|r| r.checked_add(self.after))
                .transpose()
                .map_err(|e| Error::InvalidArgument(format!("window end out of range: {e}")))?,
        };
        let services = self.services.as_ref().unwrap_or(&incident.services);
        let wanted_service = |entry: &TimelineEntry| match &entry.service {
            Some(s) => services.is_empty() || services.iter().any(|w| w == s),
            None => true,
        };

        let mut gathered: Vec<TimelineEntry> = incident
            .notes
            .iter()
            .map(|n| note_entry(n, "incident"))
            .collect();
        for source in &self.sources {
            let name = source.name().to_owned();
            gathered.extend(source.entries()?.into_iter().map(|mut e| {
                if e.source.is_empty() {
                    e.source.clone_from(&name);
                }
                e
            }));
        }

        let mut seen = HashSet::new();
        let mut entries: Vec<TimelineEntry> = gathered
            .into_iter()
            .filter(|e| window.contains(e.time) && wanted_service(e))
            .filter(|e| seen.insert(e.key.clone()))
            .collect();

        let first_alert = entries
            .iter()
            .filter(|e| e.kind == EntryKind::AlertFiring && e.time >= incident.start)
            .min_by_key(|e| e.time)
            .cloned();
        let (detected, detected_inferred) = match (incident.detected, &first_alert) {
            (Some(d), _) => (Some(d), false),
            (None, Some(alert)) => (Some(alert.time), true),
            (None, None) => (None, false),
        };
        let inferred_from = if detected_inferred {
            first_alert.as_ref()
        } else {
            None
        };
        entries.extend(milestones(incident, inferred_from));
        // Stable: equal instants keep kind order, then source order.
        entries.sort_by_key(|e| (e.time, e.kind));

        let affected = self.affected.as_ref().unwrap_or(&incident.affected);
        let impact_end = incident.resolved;
        let mut users = BTreeSet::new();
        let mut resources = BTreeSet::new();
        for e in entries.iter().filter(|e| e.kind == EntryKind::Audit) {
            let during = e.time >= incident.start && impact_end.is_none_or(|end| e.time <= end);
            let action = e.action.as_deref().unwrap_or_default();
            if during && affected.matches(action, e.outcome.as_deref()) {
                if let Some(actor) = e.actor.as_ref().filter(|a| a.kind == "user") {
                    users.insert(actor.clone());
                }
                if let Some(resource) = &e.resource {
                    resources.insert(resource.clone());
                }
            }
        }
        let alerts_fired = entries
            .iter()
            .filter(|e| e.kind == EntryKind::AlertFiring)
            .count();
        let audit_events = entries
            .iter()
            .filter(|e| e.kind == EntryKind::Audit)
            .count();

        let since = |later: Option<Timestamp>, earlier: Option<Timestamp>| {
            Some(later?.duration_since(earlier?))
        };
        let metrics = Metrics {
            detected,
            detected_inferred,
            time_to_detect: since(detected, Some(incident.start)),
            time_to_acknowledge: since(incident.acknowledged, detected),
            time_to_mitigate: since(incident.mitigated, Some(incident.start)),
            time_to_resolve: since(incident.resolved, Some(incident.start)),
            affected_users: users.len(),
            affected_resources: resources.len(),
            audit_events,
            alerts_fired,
        };

        if self.collapse {
            entries = collapse(entries);
        }
        Ok(Timeline {
            entries,
            window,
            metrics,
        })
    }
}

fn milestones(incident: &Incident, inferred_from: Option<&TimelineEntry>) -> Vec<TimelineEntry> {
    let mut out = Vec::new();
    let mut push = |time: Option<Timestamp>, name: &str, text: String| {
        if let Some(time) = time {
            out.push(
                TimelineEntry::new(
                    time,
                    EntryKind::Milestone,
                    format!("milestone:{name}"),
                    text,
                )
                .with_source("incident"),
            );
        }
    };
    push(Some(incident.start), "start", "**Impact started**".into());
    match inferred_from {
        Some(alert) => push(
            Some(alert.time),
            "detected",
            "**Detected** (first alert after start)".into(),
        ),
        None => push(incident.detected, "detected", "**Detected**".into()),
    }
    push(
        incident.acknowledged,
        "acknowledged",
        "**Acknowledged**".into(),
    );
    push(incident.mitigated, "mitigated", "**Mitigated**".into());
    push(incident.resolved, "resolved", "**Resolved**".into());
    out
}

/// Folds each run of adjacent audit entries with equal (action, outcome, service) into its
/// first entry, which then counts the run and records its end.
fn collapse(entries: Vec<TimelineEntry>) -> Vec<TimelineEntry> {
    struct Run {
        head: TimelineEntry,
        actors: BTreeSet<Party>,
        resources: BTreeSet<Party>,
    }
    fn finish(run: Run) -> TimelineEntry {
        let mut head = run.head;
        if head.count > 1 {
            let action = head.action.clone().unwrap_or_default();
            let outcome = head
                .outcome
                .as_ref()
                .map(|o| format!(" ({o})"))
                .unwrap_or_default();
            head.text = format!(
                "`{action}`{outcome} × {}: {} actors, {} resources",
                head.count,
                run.actors.len(),
                run.resources.len()
            );
            head.actor = None;
            head.resource = None;
        }
        head
    }
    let same = |a: &TimelineEntry, b: &TimelineEntry| {
        a.kind == EntryKind::Audit
            && b.kind == EntryKind::Audit
            && a.action == b.action
            && a.outcome == b.outcome
            && a.service == b.service
    };

    let mut out = Vec::with_capacity(entries.len());
    let mut current: Option<Run> = None;
    for entry in entries {
        match current.as_mut() {
            Some(run) if same(&run.head, &entry) => {
                run.head.count += 1;
                run.head.until = Some(entry.time);
                run.actors.extend(entry.actor);
                run.resources.extend(entry.resource);
            }
            _ => {
                if let Some(run) = current.take() {
                    out.push(finish(run));
                }
                current = Some(Run {
                    actors: entry.actor.iter().cloned().collect(),
                    resources: entry.resource.iter().cloned().collect(),
                    head: entry,
                });
            }
        }
    }
    if let Some(run) = current {
        out.push(finish(run));
    }
    out
}
