//! The end-to-end golden test: the sample incident, audit export, Alertmanager payloads and
//! notes under `tests/fixtures/` must render exactly to `tests/fixtures/expected/`.
//!
//! After an intended change to the template or the pipeline, regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p strongroom-postmortem --test golden` and review the diff.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use strongroom_postmortem::jiff::Timestamp;
use strongroom_postmortem::{
    AlertmanagerSource, AuditSource, Incident, ManualClock, NotesSource, OutputFormat, Renderer,
    Timeline, TimelineBuilder,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn sample() -> (Incident, Timeline) {
    let dir = fixtures();
    let incident = Incident::from_path(dir.join("incident.yaml")).unwrap();
    let timeline = TimelineBuilder::new(&incident)
        .source(AuditSource::from_path(dir.join("audit.jsonl")).unwrap())
        .source(AlertmanagerSource::from_path(dir.join("alerts.json")).unwrap())
        .source(NotesSource::from_path(dir.join("notes.txt")).unwrap())
        .build()
        .unwrap();
    (incident, timeline)
}

fn renderer() -> Renderer {
    let now: Timestamp = "2025-03-17T12:00:00Z".parse().unwrap();
    Renderer::new()
        .strict(true)
        .with_clock(Arc::new(ManualClock::new(now)))
}

fn check_golden(name: &str, actual: &str) {
    let path = fixtures().join("expected").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .map_or_else(
                || expected.lines().count().min(actual.lines().count()) + 1,
                |i| i + 1,
            );
        panic!(
            "{} differs from the rendered report first at line {line}:\n expected: {:?}\n   actual: {:?}\n\
             (UPDATE_GOLDEN=1 regenerates it after an intended change)",
            path.display(),
            expected.lines().nth(line - 1),
            actual.lines().nth(line - 1),
        );
    }
}

#[test]
fn markdown_report_matches_golden_file() {
    let (incident, timeline) = sample();
    let markdown = renderer()
        .render(&incident, &timeline, OutputFormat::Markdown)
        .unwrap();
    check_golden("postmortem.md", &markdown);
}

#[test]
fn html_report_matches_golden_file() {
    let (incident, timeline) = sample();
    let html = renderer()
        .render(&incident, &timeline, OutputFormat::Html)
        .unwrap();
    check_golden("postmortem.html", &html);
}

#[test]
fn sample_metrics_come_from_the_sources() {
    let (_, timeline) = sample();
    let m = &timeline.metrics;
    // No `detected` in the incident: the first alert after start (09:09:30) detected it.
    assert!(m.detected_inferred);
    assert_eq!(m.time_to_detect.unwrap().as_secs(), 7 * 60 + 30);
    assert_eq!(m.time_to_acknowledge.unwrap().as_secs(), 2 * 60 + 30);
    assert_eq!(m.time_to_mitigate.unwrap().as_secs(), 39 * 60);
    assert_eq!(m.time_to_resolve.unwrap().as_secs(), 63 * 60);
    // Failed downloads during the incident: six users (the anonymous one is not a user) and
    // nine files.
    assert_eq!(m.affected_users, 6);
    assert_eq!(m.affected_resources, 9);
    // Two alerts fired for the incident's services (repeats and the search alert dropped).
    assert_eq!(m.alerts_fired, 2);
    // 22 native events + 1 CloudEvents duplicate of one of them; minus the one three hours
    // early, the billing one and the duplicate.
    assert_eq!(m.audit_events, 20);
}
