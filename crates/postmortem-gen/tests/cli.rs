//! The command-line tool, run as a process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_strongroom-postmortem"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    (
        status.code().unwrap(),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

fn with_sources(cmd: &mut Command) -> &mut Command {
    cmd.arg(fixture("incident.yaml"))
        .arg("--audit")
        .arg(fixture("audit.jsonl"))
        .arg("--alerts")
        .arg(fixture("alerts.json"))
        .arg("--notes")
        .arg(fixture("notes.txt"))
}

#[test]
fn render_markdown_and_html() {
    let (code, out, err) = run(with_sources(bin().arg("render").arg("--strict")));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("# Postmortem: EU file downloads failed"),
        "{out}"
    );
    assert!(out.contains("| Time to detect | 7m 30s |"), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let (code, _, err) = run(with_sources(
        bin().args(["render", "--format", "html", "-o"]).arg(&html),
    ));
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<h2>Action Items</h2>"), "{html}");
}

#[test]
fn lint_reports_errors_with_lines_and_exit_one() {
    let (code, out, err) = run(with_sources(bin().arg("lint")));
    assert_eq!(code, 1, "{out}{err}");
    // The second action item (line 42 of the fixture) has no owner.
    assert!(
        out.contains("incident.yaml:42: error[action-item-owner]"),
        "{out}"
    );

    let (code, out, _) = run(with_sources(bin().args([
        "lint",
        "--require",
        "summary,impact",
        "--max-gap",
        "off",
    ])));
    assert_eq!(code, 1, "owner errors still count: {out}");
}

#[test]
fn lint_passes_a_complete_incident_and_deny_warnings_tightens_it() {
    let dir = tempfile::tempdir().unwrap();
    let fixed = dir.path().join("incident.yaml");
    let text = std::fs::read_to_string(fixture("incident.yaml"))
        .unwrap()
        .replace("    kind: detect\n", "    kind: detect\n    owner: carol\n");
    std::fs::write(&fixed, text).unwrap();

    let (code, out, err) = run(bin().arg("lint").arg(&fixed).args(["--max-gap", "off"]));
    assert_eq!(code, 0, "{out}{err}");

    // A five-minute gap limit finds silences in the timeline: warnings, which only fail with
    // --deny-warnings.
    let (code, out, _) = run(bin().arg("lint").arg(&fixed).args(["--max-gap", "5m"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warning[timeline-gap]"), "{out}");
    let (code, _, _) =
        run(bin()
            .arg("lint")
            .arg(&fixed)
            .args(["--max-gap", "5m", "--deny-warnings"]));
    assert_eq!(code, 1);
}

#[test]
fn new_writes_a_skeleton_that_lints_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inc.yaml");
    let (code, _, err) = run(bin()
        .args([
            "new",
            "--id",
            "INC-9",
            "--title",
            "Login: slow",
            "--severity",
            "sev-1",
            "--start",
            "2025-05-01T08:00:00Z",
            "-o",
        ])
        .arg(&path));
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("severity: SEV1"), "{text}");

    // Fresh skeletons parse; lint lists the missing sections.
    let (code, out, _) = run(bin().arg("lint").arg(&path));
    assert_eq!(code, 1);
    assert!(out.contains("error[missing-section]"), "{out}");

    let (code, _, err) = run(bin()
        .args(["new", "--id", "X", "--title", "Y", "-o"])
        .arg(&path));
    assert_eq!(code, 73, "{err}");
    let (code, _, _) = run(bin()
        .args(["new", "--id", "X", "--title", "Y", "--force", "-o"])
        .arg(&path));
    assert_eq!(code, 0);
}

#[test]
fn bad_input_gives_data_error_codes() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "id: X\ntitle: T\nseverity: SEV2\nstatus: resolved\nstart: 2025-03-14T09:00:00\n",
    )
    .unwrap();
    let (code, _, err) = run(bin().arg("render").arg(&bad));
    assert_eq!(code, 65);
    assert!(
        err.contains("line 5") && err.contains("no time zone"),
        "{err}"
    );

    let (code, _, err) = run(bin().arg("render").arg(dir.path().join("missing.yaml")));
    assert_eq!(code, 66, "{err}");

    let template = dir.path().join("t.md");
    std::fs::write(&template, "# {{ incident.title }}\n{{ incident.titel }}\n").unwrap();
    let (code, _, err) = run(bin()
        .arg("render")
        .arg(fixture("incident.yaml"))
        .arg("--strict")
        .arg("--template")
        .arg(&template));
    assert_eq!(code, 65);
    assert!(
        err.contains("incident.titel") && err.contains("line 2"),
        "{err}"
    );

    let (code, _, _) = run(bin()
        .args(["render", "--before", "soon"])
        .arg(fixture("incident.yaml")));
    assert_eq!(code, 2);
    let (code, _, _) = run(bin().arg("frobnicate"));
    assert_eq!(code, 2);
}
