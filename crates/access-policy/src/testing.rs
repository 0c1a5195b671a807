//! Policy tests: a cases file (request -> expected decision) run against an engine, like `opa test`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::PolicyEngine;
use crate::error::{Error, Result};
use crate::request::{Request, entities_from_json};

/// What a case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// The request is allowed.
    Allow,
    /// The request is denied.
    Deny,
}

/// One test case. Entity uids use Cedar syntax (`User::"alice"`); `action` may be a bare id
/// (`read`, meaning `Action::"read"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    /// Its name in the report.
    pub name: String,
    /// The principal.
    pub principal: String,
    /// The action.
    pub action: String,
    /// The resource.
    pub resource: String,
    /// Context (Cedar JSON), defaulting to the suite's.
    #[serde(default)]
    pub context: Option<Value>,
    /// Entities for this case only (Cedar entity JSON), instead of the suite's.
    #[serde(default)]
    pub entities: Option<Value>,
    /// The expected decision.
    pub expect: Expect,
    /// When given, the determining policy ids must be exactly these (any order).
    #[serde(default)]
    pub policies: Option<Vec<String>>,
}

/// A cases file: shared entities and context, then the cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSuite {
    /// Entities every case uses unless it brings its own (Cedar entity JSON array).
    #[serde(default)]
    pub entities: Option<Value>,
    /// Context every case uses unless it brings its own.
    #[serde(default)]
    pub context: Option<Value>,
    /// The cases, run in order.
    pub cases: Vec<TestCase>,
}

impl TestSuite {
    /// Parses a cases file (JSON).
    pub fn from_json_str(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::InvalidInput(format!("cases file: {e}")))
    }
}

/// How one case came out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseResult {
    /// The case name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// What went wrong, for a failure: a wrong decision (with the explanation) or bad input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// The outcome of a suite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestReport {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Every case, in order.
    pub results: Vec<CaseResult>,
}

impl TestReport {
    /// Whether every case passed.
    pub fn ok(&self) -> bool {
        self.failed == 0
    }
}

impl std::fmt::Display for TestReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for r in &self.results {
            match &r.failure {
                None => writeln!(f, "ok   {}", r.name)?,
                Some(why) => {
                    writeln!(f, "FAIL {}", r.name)?;
                    for line in why.lines() {
                        writeln!(f, "     {line}")?;
                    }
                }
            }
        }
        writeln!(f, "{} passed, {} failed", self.passed, self.failed)
    }
}

fn uid_text(text: &str, default_type: &str) -> String {
    if text.contains("::") {
        text.to_owned()
    } else {
        format!("{default_type}::{}", Value::String(text.to_owned()))
    }
}

impl PolicyEngine {
    /// Runs every case of `suite` against the live set. A case with malformed input fails
    /// (with the error) rather than stopping the run.
    pub fn run_tests(&self, suite: &TestSuite) -> TestReport {
        let schema = self.schema();
        let shared = suite
            .entities
            .clone()
            .map(|v| entities_from_json(v, Some(&schema)));
        let results: Vec<CaseResult> = suite
            .cases
            .iter()
            .map(|case| {
                let outcome = (|| -> Result<Option<String>> {
                    let entities = match (&case.entities, &shared) {
                        (Some(v), _) => entities_from_json(v.clone(), Some(&schema))?,
                        (None, Some(Ok(e))) => e.clone(),
                        (None, Some(Err(e))) => return Err(Error::InvalidEntities(e.to_string())),
                        (None, None) => entities_from_json(Value::Array(vec![]), Some(&schema))?,
                    };
                    let context = case
                        .context
                        .clone()
                        .or_else(|| suite.context.clone())
                        .unwrap_or_else(|| Value::Object(Default::default()));
                    let request = Request::from_json(
                        &serde_json::json!({
                            "principal": case.principal,
                            "action": uid_text(&case.action, "Action"),
                            "resource": case.resource,
                            "context": context,
                        }),
                        Some(&schema),
                    )?;
                    let decision = self.authorize(&request, &entities);
                    let want = case.expect == Expect::Allow;
                    let mut problems = Vec::new();
                    if decision.allowed != want {
                        problems.push(format!(
                            "expected {}, got {}",
                            if want { "allow" } else { "deny" },
                            if decision.allowed { "allow" } else { "deny" }
                        ));
                    }
                    if let Some(expected) = &case.policies {
                        let mut got: Vec<&str> = decision.policy_ids().collect();
                        let mut exp: Vec<&str> = expected.iter().map(String::as_str).collect();
                        got.sort_unstable();
                        exp.sort_unstable();
                        if got != exp {
                            problems.push(format!(
                                "expected determining policies {exp:?}, got {got:?}"
                            ));
                        }
                    }
                    if problems.is_empty() {
                        return Ok(None);
                    }
                    let why = self.explain(&request, &entities);
                    Ok(Some(format!("{}\n{why}", problems.join("; "))))
                })();
                let failure = match outcome {
                    Ok(f) => f,
                    Err(e) => Some(format!("bad case: {e}")),
                };
                CaseResult {
                    name: case.name.clone(),
                    passed: failure.is_none(),
                    failure,
                }
            })
            .collect();
        let passed = results.iter().filter(|r| r.passed).count();
        TestReport {
            failed: results.len() - passed,
            passed,
            results,
        }
    }
}
