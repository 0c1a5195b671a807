//! The policy test runner.

use strongroom_access_policy::{Expect, TestSuite, pack};

#[test]
fn the_shipped_cases_pass() {
    let suite = TestSuite::from_json_str(include_str!("cases/file_platform.json")).unwrap();
    let report = pack::engine().unwrap().run_tests(&suite);
    assert!(report.ok(), "{report}");
    assert_eq!(report.passed, 4);
    assert!(report.to_string().ends_with("4 passed, 0 failed\n"));
}

#[test]
fn failures_are_reported_with_the_explanation_and_bad_cases_do_not_stop_the_run() {
    let mut suite = TestSuite::from_json_str(include_str!("cases/file_platform.json")).unwrap();
    suite.cases[2].expect = Expect::Allow; // viewer cannot write: now wrongly expected to pass
    suite.cases[1].policies = Some(vec!["owner-all".into()]);
    suite.cases[0].resource = "not a uid".into();
    let report = pack::engine().unwrap().run_tests(&suite);
    assert_eq!((report.passed, report.failed), (1, 3));
    let wrong = report.results[2].failure.as_deref().unwrap();
    assert!(wrong.starts_with("expected allow, got deny"), "{wrong}");
    assert!(
        wrong.contains("principal in resource.editor"),
        "the explanation is attached: {wrong}"
    );
    assert!(
        report.results[1]
            .failure
            .as_deref()
            .unwrap()
            .contains("determining policies")
    );
    assert!(
        report.results[0]
            .failure
            .as_deref()
            .unwrap()
            .starts_with("bad case")
    );
    assert!(report.to_string().contains("FAIL viewer cannot write"));
}

#[test]
fn malformed_files_are_typed_errors() {
    assert!(TestSuite::from_json_str("{").is_err());
    assert!(TestSuite::from_json_str(r#"{"cases": [{"name": "x"}]}"#).is_err());
    assert!(TestSuite::from_json_str(r#"{"cases": [], "extra": 1}"#).is_err());
}
