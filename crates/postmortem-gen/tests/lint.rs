//! Lint rules.

use std::sync::Arc;

use strongroom_postmortem::jiff::SignedDuration;
use strongroom_postmortem::{
    EntryKind, Incident, Level, LintConfig, Linter, ManualClock, Rule, Section, Timeline,
    TimelineBuilder, TimelineEntry, TimelineSource,
};

const COMPLETE: &str = "\
id: I
title: T
severity: SEV2
status: resolved
start: 2025-03-14T09:00:00Z
resolved: 2025-03-14T10:00:00Z
summary: s
impact: i
trigger: t
resolution: r
detection: d
root_causes:
  - summary: c
action_items:
  - title: fix it
    owner: alice
    due: 2025-04-01
lessons:
  went_well: [w]
notes:
  - time: 2025-03-14T09:20:00Z
    text: n1
  - time: 2025-03-14T09:45:00Z
    text: n2
";

fn linter(today: &str) -> Linter {
    Linter::default().with_clock(Arc::new(ManualClock::new(
        format!("{today}T12:00:00Z").parse().unwrap(),
    )))
}

fn timeline(incident: &Incident) -> Timeline {
    TimelineBuilder::new(incident).build().unwrap()
}

fn rules(findings: &[strongroom_postmortem::Finding]) -> Vec<Rule> {
    findings.iter().map(|f| f.rule).collect()
}

#[test]
fn a_complete_postmortem_is_clean() {
    let incident = Incident::from_yaml_str(COMPLETE).unwrap();
    let findings = linter("2025-03-20").lint(&incident, &timeline(&incident));
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn missing_sections_are_errors_and_configurable() {
    let text = COMPLETE
        .replace("summary: s\n", "")
        .replace("detection: d\n", "detection: '   '\n");
    let incident = Incident::from_yaml_str(&text).unwrap();
    let findings = linter("2025-03-20").lint(&incident, &timeline(&incident));
    let missing: Vec<_> = findings
        .iter()
        .filter(|f| f.rule == Rule::MissingSection)
        .map(|f| (f.field.as_deref().unwrap(), f.level))
        .collect();
    assert_eq!(
        missing,
        [("summary", Level::Error), ("detection", Level::Error)]
    );

    let mut config = LintConfig::default();
    config.required_sections = vec![Section::Impact];
    let findings = Linter::new(config)
        .with_clock(Arc::new(ManualClock::new(
            "2025-03-20T00:00:00Z".parse().unwrap(),
        )))
        .lint(&incident, &timeline(&incident));
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn timeline_section_needs_more_than_milestones() {
    let text = COMPLETE.split("notes:").next().unwrap().to_owned();
    let incident = Incident::from_yaml_str(&text).unwrap();
    let findings = linter("2025-03-20").lint(&incident, &timeline(&incident));
    assert!(
        findings
            .iter()
            .any(|f| f.rule == Rule::MissingSection && f.field.as_deref() == Some("timeline"))
    );
}

#[test]
fn action_items_without_owner_due_date_or_past_due() {
    let text = COMPLETE.replace(
        "action_items:\n  - title: fix it\n    owner: alice\n    due: 2025-04-01\n",
        "action_items:\n  - title: fix it\n    owner: alice\n    due: 2025-04-01\n  - title: nobody\n    due: 2025-05-01\n  - title: someday\n    owner: bob\n  - title: done late\n    owner: bob\n    due: 2025-03-01\n    status: done\n",
    );
    let incident = Incident::from_yaml_str(&text).unwrap();
    let findings = linter("2025-04-10").lint(&incident, &timeline(&incident));
    let got: Vec<_> = findings
        .iter()
        .map(|f| (f.rule, f.level, f.field.as_deref().unwrap_or(""), f.line))
        .collect();
    assert_eq!(
        got,
        [
            (
                Rule::ActionItemOwner,
                Level::Error,
                "action_items[1]",
                Some(18)
            ),
            (
                Rule::ActionItemOverdue,
                Level::Warning,
                "action_items[0]",
                Some(15)
            ),
            (
                Rule::ActionItemDue,
                Level::Warning,
                "action_items[2]",
                Some(20)
            ),
        ],
        "{findings:#?}"
    );
    assert!(
        findings[0]
            .to_string()
            .starts_with("18: error[action-item-owner]")
    );

    let mut config = LintConfig::default();
    config.require_due_dates = false;
    let findings = Linter::new(config)
        .with_clock(Arc::new(ManualClock::new(
            "2025-03-20T00:00:00Z".parse().unwrap(),
        )))
        .lint(&incident, &timeline(&incident));
    assert_eq!(rules(&findings), [Rule::ActionItemOwner]);
}

#[test]
fn timeline_gaps_are_found_and_configurable() {
    let incident = Incident::from_yaml_str(COMPLETE).unwrap();
    let mut config = LintConfig::default();
    config.max_timeline_gap = Some(SignedDuration::from_mins(15));
    let findings = Linter::new(config.clone())
        .with_clock(Arc::new(ManualClock::new(
            "2025-03-20T00:00:00Z".parse().unwrap(),
        )))
        .lint(&incident, &timeline(&incident));
    // 09:00 start, 09:20, 09:45, 10:00 resolved: gaps of 20 and 25 minutes.
    let gaps: Vec<_> = findings
        .iter()
        .filter(|f| f.rule == Rule::TimelineGap)
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    assert!(gaps[0].contains("20m 00s between 2025-03-14T09:00:00Z and 2025-03-14T09:20:00Z"));
    assert!(gaps[1].contains("25m 00s"));

    config.max_timeline_gap = None;
    let findings = Linter::new(config).lint(&incident, &timeline(&incident));
    assert!(!rules(&findings).contains(&Rule::TimelineGap));
}

#[test]
fn a_collapsed_run_covers_its_whole_span() {
    #[derive(Debug)]
    struct Run;
    impl TimelineSource for Run {
        fn name(&self) -> &str {
            "run"
        }
        fn entries(&self) -> strongroom_postmortem::Result<Vec<TimelineEntry>> {
            Ok((5..=55)
                .step_by(10)
                .map(|m| {
                    let t = format!("2025-03-14T09:{m:02}:00Z");
                    TimelineEntry::new(t.parse().unwrap(), EntryKind::Audit, t.clone(), "x")
                        .with_audit("file.downloaded", None, None, Some("failure".into()))
                })
                .collect())
        }
    }
    let without_notes = COMPLETE.split("notes:").next().unwrap();
    let incident = Incident::from_yaml_str(without_notes).unwrap();
    let timeline = TimelineBuilder::new(&incident).source(Run).build().unwrap();
    assert_eq!(
        timeline
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::Audit)
            .count(),
        1
    );
    let mut config = LintConfig::default();
    config.max_timeline_gap = Some(SignedDuration::from_mins(15));
    let findings = Linter::new(config).lint(&incident, &timeline);
    assert!(
        !rules(&findings).contains(&Rule::TimelineGap),
        "{findings:?}"
    );
}

#[test]
fn status_and_milestones_must_agree() {
    let open_but_resolved = COMPLETE.replace("status: resolved", "status: monitoring");
    let incident = Incident::from_yaml_str(&open_but_resolved).unwrap();
    let findings = linter("2025-03-20").lint(&incident, &timeline(&incident));
    assert_eq!(rules(&findings), [Rule::StatusMismatch]);
    assert_eq!(findings[0].line, Some(6));

    let closed_without_time = COMPLETE
        .replace("status: resolved", "status: closed")
        .replace("resolved: 2025-03-14T10:00:00Z\n", "");
    let incident = Incident::from_yaml_str(&closed_without_time).unwrap();
    let findings = linter("2025-03-20").lint(&incident, &timeline(&incident));
    assert!(rules(&findings).contains(&Rule::StatusMismatch));
    assert!(findings.iter().all(|f| f.level == Level::Warning));
}

#[test]
fn section_names_parse() {
    assert_eq!(
        "root-causes".parse::<Section>().unwrap(),
        Section::RootCauses
    );
    assert!("appendix".parse::<Section>().is_err());
}
