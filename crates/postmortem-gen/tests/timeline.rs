//! Merging, filtering, ordering and measuring timelines.

use std::sync::Arc;

use strongroom_postmortem::jiff::{SignedDuration, Timestamp};
use strongroom_postmortem::{
    AffectedFilter, DynTimelineSource, EntryKind, Incident, Party, Result, TimelineBuilder,
    TimelineEntry, TimelineSource,
};

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn incident(extra: &str) -> Incident {
    Incident::from_yaml_str(&format!(
        "id: I\ntitle: T\nseverity: SEV2\nstatus: resolved\nstart: 2025-03-14T09:00:00Z\n\
         resolved: 2025-03-14T10:00:00Z\nservices: [api]\n{extra}"
    ))
    .unwrap()
}

/// A caller-defined source, as the trait allows.
#[derive(Debug)]
struct Fixed(Vec<TimelineEntry>);

impl TimelineSource for Fixed {
    fn name(&self) -> &str {
        "fixed"
    }

    fn entries(&self) -> Result<Vec<TimelineEntry>> {
        Ok(self.0.clone())
    }
}

fn audit(id: &str, time: &str, user: &str, outcome: &str, service: &str) -> TimelineEntry {
    TimelineEntry::new(ts(time), EntryKind::Audit, format!("audit:{id}"), id)
        .with_service(Some(service.to_owned()))
        .with_audit(
            "file.downloaded",
            Some(Party::new("user", Some(user.to_owned()))),
            Some(Party::new("file", Some(format!("f-{id}")))),
            Some(outcome.to_owned()),
        )
}

fn note(key: &str, time: &str, service: Option<&str>) -> TimelineEntry {
    TimelineEntry::new(ts(time), EntryKind::Note, key, key).with_service(service.map(str::to_owned))
}

#[test]
fn sorts_dedups_and_filters_by_window_and_service() {
    let incident = incident("");
    let source = Fixed(vec![
        note("late", "2025-03-14T09:30:00Z", None),
        note("early", "2025-03-14T08:30:00Z", Some("api")),
        note("too-early", "2025-03-14T07:59:59Z", None),
        note("too-late", "2025-03-14T11:00:01Z", None),
        note("edge", "2025-03-14T11:00:00Z", None),
        note("other-service", "2025-03-14T09:10:00Z", Some("billing")),
        note("late", "2025-03-14T09:30:00Z", None),
    ]);
    let timeline = TimelineBuilder::new(&incident)
        .source(source)
        .build()
        .unwrap();
    let keys: Vec<_> = timeline
        .entries
        .iter()
        .filter(|e| e.kind != EntryKind::Milestone)
        .map(|e| e.key.as_str())
        .collect();
    assert_eq!(keys, ["early", "late", "edge"]);
    assert!(timeline.entries.windows(2).all(|w| w[0].time <= w[1].time));
    assert_eq!(timeline.entries[0].source, "fixed");
    assert_eq!(timeline.window.from, ts("2025-03-14T08:00:00Z"));
    assert_eq!(timeline.window.to, Some(ts("2025-03-14T11:00:00Z")));
}

#[test]
fn window_and_services_can_be_overridden() {
    let incident = incident("");
    let shared: Arc<DynTimelineSource> = Arc::new(Fixed(vec![
        note("a", "2025-03-14T08:50:00Z", Some("billing")),
        note("b", "2025-03-14T09:10:00Z", Some("api")),
    ]));
    let timeline = TimelineBuilder::new(&incident)
        .shared_source(shared)
        .window(SignedDuration::from_mins(5), SignedDuration::ZERO)
        .services(vec!["billing".into(), "api".into()])
        .build()
        .unwrap();
    let keys: Vec<_> = timeline
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Note)
        .map(|e| e.key.as_str())
        .collect();
    assert_eq!(keys, ["b"], "08:50 is outside a five-minute lead");
}

#[test]
fn unresolved_incidents_have_an_open_window() {
    let incident = Incident::from_yaml_str(
        "id: I\ntitle: T\nseverity: SEV2\nstatus: investigating\nstart: 2025-03-14T09:00:00Z\n",
    )
    .unwrap();
    let timeline = TimelineBuilder::new(&incident)
        .source(Fixed(vec![note(
            "much later",
            "2025-03-20T00:00:00Z",
            None,
        )]))
        .build()
        .unwrap();
    assert_eq!(timeline.window.to, None);
    assert!(timeline.entries.iter().any(|e| e.key == "much later"));
    assert_eq!(timeline.metrics.time_to_resolve, None);
    assert_eq!(timeline.metrics.time_to_detect, None);
}

#[test]
fn detection_is_inferred_from_the_first_alert_after_start_only_when_missing() {
    let alert =
        |key: &str, time: &str| TimelineEntry::new(ts(time), EntryKind::AlertFiring, key, key);
    let alerts = Fixed(vec![
        alert("before-start", "2025-03-14T08:58:00Z"),
        alert("second", "2025-03-14T09:07:00Z"),
        alert("first", "2025-03-14T09:04:00Z"),
    ]);
    let inferred = TimelineBuilder::new(&incident(""))
        .source(alerts)
        .build()
        .unwrap();
    assert!(inferred.metrics.detected_inferred);
    assert_eq!(inferred.metrics.detected, Some(ts("2025-03-14T09:04:00Z")));
    assert_eq!(
        inferred.metrics.time_to_detect,
        Some(SignedDuration::from_mins(4))
    );
    assert_eq!(inferred.metrics.alerts_fired, 3);
    // The milestone sorts after the alert at the same instant.
    let at_four: Vec<_> = inferred
        .entries
        .iter()
        .filter(|e| e.time == ts("2025-03-14T09:04:00Z"))
        .map(|e| e.kind)
        .collect();
    assert_eq!(at_four, [EntryKind::AlertFiring, EntryKind::Milestone]);

    let explicit = incident("detected: 2025-03-14T09:02:00Z\n");
    let timeline = TimelineBuilder::new(&explicit)
        .source(Fixed(vec![alert("first", "2025-03-14T09:04:00Z")]))
        .build()
        .unwrap();
    assert!(!timeline.metrics.detected_inferred);
    assert_eq!(
        timeline.metrics.time_to_detect,
        Some(SignedDuration::from_mins(2))
    );
}

#[test]
fn affected_counts_follow_the_filter_and_the_impact_period() {
    let entries = vec![
        audit("1", "2025-03-14T09:01:00Z", "u-1", "failure", "api"),
        audit("2", "2025-03-14T09:02:00Z", "u-1", "failure", "api"),
        audit("3", "2025-03-14T09:03:00Z", "u-2", "success", "api"),
        audit("4", "2025-03-14T08:59:00Z", "u-3", "failure", "api"), // before start
        audit("5", "2025-03-14T10:30:00Z", "u-4", "failure", "api"), // after resolved
    ];
    let all = TimelineBuilder::new(&incident(""))
        .source(Fixed(entries.clone()))
        .build()
        .unwrap();
    assert_eq!(all.metrics.affected_users, 2);
    assert_eq!(all.metrics.affected_resources, 3);
    assert_eq!(all.metrics.audit_events, 5);

    let failures = TimelineBuilder::new(&incident(""))
        .source(Fixed(entries.clone()))
        .affected(AffectedFilter::new(
            vec!["file.".into()],
            vec!["FAILURE".into()],
        ))
        .build()
        .unwrap();
    assert_eq!(failures.metrics.affected_users, 1);
    assert_eq!(failures.metrics.affected_resources, 2);

    let from_incident = TimelineBuilder::new(&incident("affected:\n  actions: [auth.]\n"))
        .source(Fixed(entries))
        .build()
        .unwrap();
    assert_eq!(from_incident.metrics.affected_users, 0);
}

#[test]
fn runs_of_similar_audit_events_collapse_unless_told_not_to() {
    let entries = vec![
        audit("1", "2025-03-14T09:01:00Z", "u-1", "failure", "api"),
        audit("2", "2025-03-14T09:02:00Z", "u-2", "failure", "api"),
        audit("3", "2025-03-14T09:03:00Z", "u-2", "failure", "api"),
        audit("4", "2025-03-14T09:04:00Z", "u-1", "success", "api"),
    ];
    let collapsed = TimelineBuilder::new(&incident(""))
        .source(Fixed(entries.clone()))
        .build()
        .unwrap();
    let audits: Vec<_> = collapsed
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Audit)
        .collect();
    assert_eq!(audits.len(), 2);
    assert_eq!(audits[0].count, 3);
    assert_eq!(audits[0].until, Some(ts("2025-03-14T09:03:00Z")));
    assert_eq!(
        audits[0].text,
        "`file.downloaded` (failure) × 3: 2 actors, 3 resources"
    );
    assert_eq!(audits[1].count, 1);

    let flat = TimelineBuilder::new(&incident(""))
        .source(Fixed(entries))
        .collapse_runs(false)
        .build()
        .unwrap();
    assert_eq!(
        flat.entries
            .iter()
            .filter(|e| e.kind == EntryKind::Audit)
            .count(),
        4
    );
}

#[test]
fn inline_notes_join_the_timeline_and_milestones_are_present() {
    let incident = incident(
        "mitigated: 2025-03-14T09:30:00Z\nnotes:\n  - time: 2025-03-14T09:15:00Z\n    text: Rolled back\n    author: alice\n",
    );
    let timeline = TimelineBuilder::new(&incident).build().unwrap();
    let texts: Vec<_> = timeline.entries.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "**Impact started**",
            "Rolled back (alice)",
            "**Mitigated**",
            "**Resolved**"
        ]
    );
    assert_eq!(timeline.entries[1].source, "incident");
}
