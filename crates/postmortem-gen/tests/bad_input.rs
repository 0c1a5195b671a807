//! Every kind of bad input the issue lists gets a clear, typed error that points at a line.

use strongroom_postmortem::jiff::{SignedDuration, Timestamp};
use strongroom_postmortem::{
    Error, Incident, InputFormat, OutputFormat, ProblemKind, Renderer, TemplateErrorKind,
    TimelineBuilder,
};

const GOOD: &str = "\
id: INC-1
title: Uploads slow
severity: SEV3
status: resolved
start: 2025-03-14T09:00:00Z
detected: 2025-03-14T09:05:00Z
resolved: 2025-03-14T10:00:00Z
";

fn problems_of(err: Error) -> Vec<strongroom_postmortem::Problem> {
    match err {
        Error::InvalidIncident { problems, .. } => problems,
        other => panic!("expected InvalidIncident, got {other:?}"),
    }
}

#[test]
fn good_yaml_and_json_parse() {
    let yaml = Incident::from_yaml_str(GOOD).unwrap();
    let json = Incident::from_json_str(
        r#"{"id":"INC-1","title":"Uploads slow","severity":"sev-3","status":"Resolved",
            "start":"2025-03-14T09:00:00Z","detected":"2025-03-14T09:05:00Z",
            "end":"2025-03-14T10:00:00Z"}"#,
    )
    .unwrap();
    assert_eq!(yaml.resolved, json.resolved);
    assert_eq!(yaml.severity, json.severity);
    assert_eq!(yaml.status, json.status);
}

#[test]
fn malformed_yaml_reports_its_line() {
    let text = GOOD.replace("title: Uploads slow", "title: [Uploads slow");
    let err = Incident::from_yaml_str(&text).unwrap_err();
    let Error::Malformed {
        format,
        line,
        message,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*format, InputFormat::Yaml);
    assert!(line.is_some_and(|l| (2..=3).contains(&l)), "{err}");
    assert!(!message.is_empty());
}

#[test]
fn malformed_json_reports_line_and_column() {
    let text = "{\n  \"id\": \"INC-1\",\n  \"title\": \"x\"\n  \"severity\": \"SEV1\"\n}";
    let err = Incident::from_json_str(text).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Malformed {
                format: InputFormat::Json,
                line: Some(4),
                column: Some(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("<incident>:4:"), "{err}");
}

#[test]
fn unknown_and_missing_fields_are_malformed_with_lines() {
    let typo = GOOD.replace("resolved: ", "resovled: ");
    let err = Incident::from_yaml_str(&typo).unwrap_err();
    assert!(
        matches!(err, Error::Malformed { line: Some(7), .. }),
        "{err}"
    );
    assert!(err.to_string().contains("resovled"), "{err}");

    let missing = GOOD.replace("severity: SEV3\n", "");
    let err = Incident::from_yaml_str(&missing).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("severity"), "{err}");
}

#[test]
fn timestamp_without_zone_is_refused_at_its_line() {
    let text = GOOD.replace(
        "detected: 2025-03-14T09:05:00Z",
        "detected: 2025-03-14T09:05:00",
    );
    let problems = problems_of(Incident::from_yaml_str(&text).unwrap_err());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].kind, ProblemKind::MissingZone);
    assert_eq!(problems[0].field, "detected");
    assert_eq!(problems[0].line, Some(6));
    assert!(problems[0].message.contains("no time zone"));

    let json = r#"{"id":"I","title":"T","severity":"SEV1","status":"resolved",
"start":"2025-03-14 09:00"}"#;
    let problems = problems_of(Incident::from_json_str(json).unwrap_err());
    assert_eq!(problems[0].kind, ProblemKind::MissingZone);
    // JSON validation problems get lines too.
    assert_eq!(problems[0].line, Some(2));
}

#[test]
fn garbage_timestamps_and_dates_are_invalid() {
    let text = format!(
        "{}action_items:\n  - title: x\n    due: next week\n",
        GOOD.replace("start: 2025-03-14T09:00:00Z", "start: yesterday")
    );
    let problems = problems_of(Incident::from_yaml_str(&text).unwrap_err());
    let kinds: Vec<_> = problems
        .iter()
        .map(|p| (p.field.as_str(), p.kind, p.line))
        .collect();
    assert!(
        kinds.contains(&("start", ProblemKind::InvalidTime, Some(5))),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("action_items[0].due", ProblemKind::InvalidTime, Some(10))),
        "{kinds:?}"
    );
}

#[test]
fn end_before_start_is_refused() {
    let text = GOOD.replace(
        "resolved: 2025-03-14T10:00:00Z",
        "resolved: 2025-03-14T08:00:00Z",
    );
    let err = Incident::from_yaml_str(&text).unwrap_err();
    let message = err.to_string();
    let problems = problems_of(err);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].kind, ProblemKind::OutOfOrder);
    assert_eq!(problems[0].field, "resolved");
    assert_eq!(problems[0].line, Some(7));
    assert!(
        message.contains("line 7: resolved: resolved (2025-03-14T08:00:00Z) is before start"),
        "{message}"
    );

    // Same through the `end` alias, and offsets are compared as instants: 09:30+01:00 is
    // 08:30Z, before the 09:00Z start.
    let text = GOOD.replace(
        "resolved: 2025-03-14T10:00:00Z",
        "end: 2025-03-14T09:30:00+01:00",
    );
    let problems = problems_of(Incident::from_yaml_str(&text).unwrap_err());
    assert_eq!(problems[0].kind, ProblemKind::OutOfOrder);
}

#[test]
fn acknowledged_before_detected_is_refused_but_early_mitigation_is_not() {
    let text = format!("{GOOD}acknowledged: 2025-03-14T09:01:00Z\n");
    let problems = problems_of(Incident::from_yaml_str(&text).unwrap_err());
    assert_eq!(problems[0].field, "acknowledged");
    assert!(problems[0].message.contains("before detected"));

    // An automatic failover may mitigate before anyone detects.
    let text = format!("{GOOD}mitigated: 2025-03-14T09:02:00Z\n");
    assert!(Incident::from_yaml_str(&text).is_ok());
}

#[test]
fn all_problems_are_listed_at_once() {
    let text = "\
id: ''
title: T
severity: SEV9
status: done
start: 2025-03-14T09:00:00
action_items:
  - title: x
    priority: urgent
";
    let problems = problems_of(Incident::from_yaml_str(text).unwrap_err());
    let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "id",
            "severity",
            "status",
            "start",
            "action_items[0].priority"
        ]
    );
    assert!(problems.iter().all(|p| p.line.is_some()), "{problems:?}");
    assert_eq!(problems[1].kind, ProblemKind::InvalidValue);
    assert!(problems[1].message.contains("`SEV1`"));
}

#[test]
fn titles_must_be_single_lines() {
    let text = GOOD.replace("title: Uploads slow", "title: |\n  Uploads\n  slow");
    let problems = problems_of(Incident::from_yaml_str(&text).unwrap_err());
    assert_eq!(problems[0].field, "title");
    assert_eq!(problems[0].kind, ProblemKind::InvalidValue);
}

#[test]
fn incident_file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inc.yaml");
    std::fs::write(&path, GOOD.replace("SEV3", "SEV0")).unwrap();
    let err = Incident::from_path(&path).unwrap_err();
    assert!(
        err.to_string().starts_with(&path.display().to_string()),
        "{err}"
    );
    let err = Incident::from_path(dir.path().join("none.yaml")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}

fn sample() -> (Incident, strongroom_postmortem::Timeline) {
    let incident = Incident::from_yaml_str(GOOD).unwrap();
    let timeline = TimelineBuilder::new(&incident).build().unwrap();
    (incident, timeline)
}

#[test]
fn template_syntax_errors_have_lines() {
    let err =
        Renderer::from_template_str("mine.md", "# {{ incident.title }}\n\n{% if %}\n").unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Template {
                kind: TemplateErrorKind::Syntax,
                line: Some(3),
                template,
                ..
            } if template == "mine.md"
        ),
        "{err:?}"
    );
}

#[test]
fn strict_mode_names_unknown_variables_even_in_branches_not_taken() {
    let (incident, timeline) = sample();
    let source =
        "# {{ incident.title }}\n{% if false %}{{ incident.titel }}{% endif %}\n{{ reporter }}\n";
    let renderer = Renderer::from_template_str("t.md", source).unwrap();
    // Lenient by default: renders, unknowns are empty.
    let out = renderer
        .render(&incident, &timeline, OutputFormat::Markdown)
        .unwrap();
    assert_eq!(out, "# Uploads slow\n\n");

    let err = renderer
        .strict(true)
        .render(&incident, &timeline, OutputFormat::Markdown)
        .unwrap_err();
    let Error::UnknownVariables { variables, .. } = &err else {
        panic!("{err:?}")
    };
    let found: Vec<_> = variables
        .iter()
        .map(|v| (v.name.as_str(), v.line))
        .collect();
    assert_eq!(found, [("incident.titel", Some(2)), ("reporter", Some(3))]);
}

#[test]
fn strict_mode_catches_undefined_values_at_render_time() {
    let (incident, timeline) = sample();
    let source = "{% for e in timeline %}\n{{ e.text }} {{ e.nope }}\n{% endfor %}\n";
    let err = Renderer::from_template_str("loop.md", source)
        .unwrap()
        .strict(true)
        .render(&incident, &timeline, OutputFormat::Markdown)
        .unwrap_err();
    let Error::Template {
        kind,
        line,
        message,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*kind, TemplateErrorKind::UndefinedVariable);
    assert_eq!(*line, Some(2));
    assert!(message.contains("e.nope"), "{message}");
}

#[test]
fn template_render_errors_and_missing_files() {
    let (incident, timeline) = sample();
    let err = Renderer::from_template_str("f.md", "{{ incident.title | timefmt }}")
        .unwrap()
        .render(&incident, &timeline, OutputFormat::Markdown)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Template {
                kind: TemplateErrorKind::Render,
                line: Some(1),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("not a timestamp"), "{err}");
    let err = Renderer::from_template_file("/nonexistent/template.md").unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
}

#[test]
fn negative_windows_are_refused() {
    let incident = Incident::from_yaml_str(GOOD).unwrap();
    let err = TimelineBuilder::new(&incident)
        .window(SignedDuration::from_mins(-5), SignedDuration::ZERO)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)));
}

#[test]
fn output_format_names() {
    assert_eq!("HTML".parse::<OutputFormat>().unwrap(), OutputFormat::Html);
    assert_eq!(
        "md".parse::<OutputFormat>().unwrap(),
        OutputFormat::Markdown
    );
    assert!("pdf".parse::<OutputFormat>().is_err());
    // Timestamps are re-exported for callers.
    let _: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
}

#[test]
fn template_files_can_include_their_neighbours_but_nothing_outside() {
    let (incident, timeline) = sample();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("parts")).unwrap();
    std::fs::write(
        dir.path().join("parts/header.md"),
        "# {{ incident.id }}: {{ incident.title }}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("secret.txt"), "secret\n").unwrap();
    let main = dir.path().join("main.md");
    std::fs::write(
        &main,
        "{% include \"parts/header.md\" %}\nSeverity {{ incident.severity }}\n",
    )
    .unwrap();
    let out = Renderer::from_template_file(&main)
        .unwrap()
        .strict(true)
        .render(&incident, &timeline, OutputFormat::Markdown)
        .unwrap();
    assert_eq!(out, "# INC-1: Uploads slow\nSeverity SEV3\n");

    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let nested = dir.path().join("sub/main.md");
    std::fs::write(&nested, "{% include \"../secret.txt\" %}\n").unwrap();
    let err = Renderer::from_template_file(&nested)
        .unwrap()
        .render(&incident, &timeline, OutputFormat::Markdown)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Template {
                kind: TemplateErrorKind::Render,
                line: Some(1),
                ..
            }
        ),
        "{err:?}"
    );
}
