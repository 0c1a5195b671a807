//! Why a request was allowed or denied, clause by clause.
//!
//! Each policy is cut into the checks Cedar evaluates in order: principal, action and resource
//! scope, then every `when` clause split at its top-level `&&`, every `unless` clause split at
//! its top-level `||`. Re-evaluating those checks one by one (with Cedar's own evaluator) finds
//! the first one that failed, and evaluating its operands shows the values it saw.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use cedar_policy::pst::{self, BinaryOp, Clause, UnaryOp};
use cedar_policy::{Entities, EvalResult, Expression, Policy, PolicyId};
use serde::Serialize;

use crate::bundle::PolicyBundle;
use crate::decision::{Decision, Effect, PolicyInfo};
use crate::engine::{Live, PolicyEngine};
use crate::request::Request;
use crate::scope;

/// Candidate permits listed in a deny explanation unless asked otherwise (nearest first).
pub const DEFAULT_MAX_CANDIDATES: usize = 20;

/// Longest value text kept in an explanation; longer ones are cut with `…`.
const MAX_VALUE_CHARS: usize = 200;

/// Which part of a policy a check comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClausePart {
    /// The principal scope.
    PrincipalScope,
    /// The action scope.
    ActionScope,
    /// The resource scope.
    ResourceScope,
    /// A `when` clause (0-based) and which of its `&&`-joined conjuncts (0-based).
    When {
        /// Index among the policy's clauses.
        clause: usize,
        /// Index of the conjunct within the clause.
        conjunct: usize,
    },
    /// An `unless` clause and which of its `||`-joined disjuncts.
    Unless {
        /// Index among the policy's clauses.
        clause: usize,
        /// Index of the disjunct within the clause.
        disjunct: usize,
    },
    /// The link's expiry (engine-enforced).
    Expiry,
}

impl std::fmt::Display for ClausePart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PrincipalScope => write!(f, "principal scope"),
            Self::ActionScope => write!(f, "action scope"),
            Self::ResourceScope => write!(f, "resource scope"),
            Self::When { clause, conjunct } => write!(f, "when #{clause}.{conjunct}"),
            Self::Unless { clause, disjunct } => write!(f, "unless #{clause}.{disjunct}"),
            Self::Expiry => write!(f, "link expiry"),
        }
    }
}

/// How a check came out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// It evaluated to this boolean.
    Was(bool),
    /// Evaluation failed (a missing attribute, an overflow, a type error).
    Error(String),
}

/// A value a check saw: a sub-expression and what it evaluated to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeenValue {
    /// The sub-expression, in Cedar syntax.
    pub expression: String,
    /// Its value in Cedar syntax, or the error evaluating it.
    pub value: std::result::Result<String, String>,
}

/// One check of a policy and how it came out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClauseTrace {
    /// Where in the policy.
    pub part: ClausePart,
    /// The check in Cedar syntax.
    pub expression: String,
    /// What it evaluated to.
    pub outcome: Outcome,
    /// The values of its operands.
    pub values: Vec<SeenValue>,
}

/// How one policy fared against the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyTrace {
    /// The policy.
    pub policy: Arc<PolicyInfo>,
    /// Whether every check passed.
    pub satisfied: bool,
    /// Checks passed before the first failure (all of them when satisfied).
    pub checks_passed: usize,
    /// Checks in the policy.
    pub checks_total: usize,
    /// The first check that failed, for an unsatisfied policy.
    pub failed: Option<ClauseTrace>,
    /// For a satisfied policy: its conditions, each with the values that made it hold.
    pub held: Vec<ClauseTrace>,
}

/// Why a request got its decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Explanation {
    /// The decision, exactly as `authorize` gives it.
    pub decision: Decision,
    /// Allow: the permits that granted it, with the conditions that held.
    pub granted_by: Vec<PolicyTrace>,
    /// Deny: the forbids that fired, with the conditions that held.
    pub forbidden_by: Vec<PolicyTrace>,
    /// Deny: permits for this action and why each did not apply, nearest (most checks passed) first.
    pub candidates: Vec<PolicyTrace>,
    /// How many permits for this action were looked at (`candidates` may be cut short).
    pub candidates_considered: usize,
}

impl std::fmt::Display for Explanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.decision.allowed {
            "ALLOW"
        } else {
            "DENY"
        };
        writeln!(
            f,
            "{verdict} (policy set version {})",
            self.decision.version
        )?;
        for t in &self.granted_by {
            writeln!(f, "  granted by permit `{}`", t.policy.id)?;
            write_held(f, t)?;
        }
        for t in &self.forbidden_by {
            writeln!(f, "  forbidden by `{}`", t.policy.id)?;
            write_held(f, t)?;
        }
        if !self.decision.allowed && self.forbidden_by.is_empty() && self.candidates.is_empty() {
            writeln!(f, "  no permit applies to this action (deny by default)")?;
        }
        for t in &self.candidates {
            let Some(c) = &t.failed else { continue };
            let outcome = match &c.outcome {
                Outcome::Was(b) => format!("was {b}"),
                Outcome::Error(e) => format!("failed: {e}"),
            };
            writeln!(
                f,
                "  permit `{}` ({}/{} checks passed): {} `{}` {outcome}",
                t.policy.id, t.checks_passed, t.checks_total, c.part, c.expression
            )?;
            write_values(f, &c.values)?;
        }
        for e in &self.decision.errors {
            writeln!(f, "  error in `{}`: {}", e.policy, e.message)?;
        }
        Ok(())
    }
}

fn write_held(f: &mut std::fmt::Formatter<'_>, t: &PolicyTrace) -> std::fmt::Result {
    for c in &t.held {
        writeln!(f, "    {} `{}` held", c.part, c.expression)?;
        write_values(f, &c.values)?;
    }
    Ok(())
}

fn write_values(f: &mut std::fmt::Formatter<'_>, values: &[SeenValue]) -> std::fmt::Result {
    for v in values {
        match &v.value {
            Ok(val) => writeln!(f, "      {} = {val}", v.expression)?,
            Err(e) => writeln!(f, "      {} -> error: {e}", v.expression)?,
        }
    }
    Ok(())
}

/// A condition check, parsed once per policy set.
#[derive(Debug)]
struct CondCheck {
    part: ClausePart,
    text: String,
    /// `None` when the text would not parse back (then the check is reported unevaluated).
    expr: Option<Expression>,
    /// `true` for when-conjuncts, `false` for unless-disjuncts.
    want: bool,
    operands: Vec<(String, Expression)>,
}

/// Condition checks per static policy or template, built on the first explain of a generation.
#[derive(Debug, Default)]
pub(crate) struct Plans {
    conditions: HashMap<PolicyId, Arc<Vec<CondCheck>>>,
}

impl Plans {
    pub(crate) fn build(bundle: &PolicyBundle) -> Self {
        let mut conditions = HashMap::new();
        for t in bundle.policies.templates() {
            if let Ok(pst) = t.to_pst() {
                conditions.insert(t.id().clone(), Arc::new(checks(pst.clauses())));
            }
        }
        for p in bundle.policies.policies().filter(|p| p.is_static()) {
            if let Ok(pst::Policy::Static(sp)) = p.to_pst() {
                conditions.insert(p.id().clone(), Arc::new(checks(sp.body().clauses())));
            }
        }
        Self { conditions }
    }

    fn for_policy(&self, p: &Policy) -> Option<&Arc<Vec<CondCheck>>> {
        self.conditions.get(p.template_id().unwrap_or(p.id()))
    }
}

fn checks(clauses: &[Clause]) -> Vec<CondCheck> {
    let mut out = Vec::new();
    for (i, clause) in clauses.iter().enumerate() {
        let (expr, want) = match clause {
            Clause::When(e) => (e, true),
            Clause::Unless(e) => (e, false),
        };
        let mut parts = Vec::new();
        let op = if want { BinaryOp::And } else { BinaryOp::Or };
        split(expr, &op, &mut parts);
        for (j, part) in parts.into_iter().enumerate() {
            let text = part.to_string();
            let part_kind = if want {
                ClausePart::When {
                    clause: i,
                    conjunct: j,
                }
            } else {
                ClausePart::Unless {
                    clause: i,
                    disjunct: j,
                }
            };
            let operands = operands(part)
                .into_iter()
                .filter(|o| !is_constant(o))
                .filter_map(|o| {
                    let text = o.to_string();
                    Expression::from_str(&text).ok().map(|e| (text, e))
                })
                .collect();
            out.push(CondCheck {
                part: part_kind,
                expr: Expression::from_str(&text).ok(),
                text,
                want,
                operands,
            });
        }
    }
    out
}

fn split<'a>(e: &'a pst::Expr, op: &BinaryOp, out: &mut Vec<&'a pst::Expr>) {
    match e {
        pst::Expr::BinaryOp { op: o, left, right } if o == op => {
            split(left, op, out);
            split(right, op, out);
        }
        other => out.push(other),
    }
}

fn operands(e: &pst::Expr) -> Vec<&pst::Expr> {
    match e {
        pst::Expr::BinaryOp { left, right, .. } => vec![&**left, &**right],
        pst::Expr::UnaryOp { expr, .. }
        | pst::Expr::GetAttr { expr, .. }
        | pst::Expr::HasAttr { expr, .. }
        | pst::Expr::Like { expr, .. } => vec![&**expr],
        pst::Expr::Is { expr, in_expr, .. } => {
            let mut v = vec![&**expr];
            v.extend(in_expr.as_deref());
            v
        }
        pst::Expr::IfThenElse { cond, .. } => vec![&**cond],
        _ => Vec::new(),
    }
}

fn is_constant(e: &pst::Expr) -> bool {
    match e {
        pst::Expr::Literal(_) => true,
        pst::Expr::UnaryOp {
            op: UnaryOp::Ip | UnaryOp::Decimal | UnaryOp::Datetime | UnaryOp::Duration,
            expr,
        } => is_constant(expr),
        pst::Expr::Set(items) => items.iter().all(|i| is_constant(i)),
        pst::Expr::Record(fields) => fields.values().all(|v| is_constant(v)),
        _ => false,
    }
}

fn show(v: &EvalResult) -> String {
    let s = v.to_string();
    if s.chars().count() > MAX_VALUE_CHARS {
        let mut cut: String = s.chars().take(MAX_VALUE_CHARS).collect();
        cut.push('…');
        cut
    } else {
        s
    }
}

struct Tracer<'a> {
    request: &'a Request,
    entities: &'a Entities,
    plans: &'a Plans,
}

impl Tracer<'_> {
    fn seen(&self, operands: &[(String, Expression)]) -> Vec<SeenValue> {
        operands
            .iter()
            .map(|(text, e)| SeenValue {
                expression: text.clone(),
                value: cedar_policy::eval_expression(&self.request.inner, self.entities, e)
                    .map(|v| show(&v))
                    .map_err(|err| err.to_string()),
            })
            .collect()
    }

    fn scope_checks(&self, p: &Policy) -> Vec<(ClausePart, String, bool, SeenValue)> {
        let (req, ents) = (self.request, self.entities);
        let mut out = Vec::with_capacity(3);
        let seen = |name: &str, uid: &cedar_policy::EntityUid| SeenValue {
            expression: name.to_owned(),
            value: Ok(uid.to_string()),
        };
        let pc = p.principal_constraint();
        if let Some(text) = scope::principal_text(&pc) {
            let ok = scope::principal_matches(&pc, req.principal(), ents);
            out.push((
                ClausePart::PrincipalScope,
                text,
                ok,
                seen("principal", req.principal()),
            ));
        }
        let ac = p.action_constraint();
        if let Some(text) = scope::action_text(&ac) {
            let ok = scope::action_matches(&ac, req.action(), ents);
            out.push((
                ClausePart::ActionScope,
                text,
                ok,
                seen("action", req.action()),
            ));
        }
        let rc = p.resource_constraint();
        if let Some(text) = scope::resource_text(&rc) {
            let ok = scope::resource_matches(&rc, req.resource(), ents);
            out.push((
                ClausePart::ResourceScope,
                text,
                ok,
                seen("resource", req.resource()),
            ));
        }
        out
    }

    fn trace(&self, p: &Policy, info: &Arc<PolicyInfo>) -> PolicyTrace {
        let scope = self.scope_checks(p);
        let conds = self
            .plans
            .for_policy(p)
            .map(|c| c.as_slice())
            .unwrap_or(&[]);
        let checks_total = scope.len() + conds.len();
        let mut passed = 0;
        let fail = |failed: ClauseTrace, passed: usize| PolicyTrace {
            policy: info.clone(),
            satisfied: false,
            checks_passed: passed,
            checks_total,
            failed: Some(failed),
            held: Vec::new(),
        };
        for (part, text, ok, value) in scope {
            if !ok {
                let failed = ClauseTrace {
                    part,
                    expression: text,
                    outcome: Outcome::Was(false),
                    values: vec![value],
                };
                return fail(failed, passed);
            }
            passed += 1;
        }
        let mut held = Vec::new();
        for c in conds {
            let outcome = match &c.expr {
                None => Outcome::Error("this check could not be re-evaluated on its own".into()),
                Some(e) => {
                    match cedar_policy::eval_expression(&self.request.inner, self.entities, e) {
                        Ok(EvalResult::Bool(b)) => Outcome::Was(b),
                        Ok(other) => {
                            Outcome::Error(format!("evaluated to non-boolean {}", show(&other)))
                        }
                        Err(err) => Outcome::Error(err.to_string()),
                    }
                }
            };
            let trace = ClauseTrace {
                part: c.part,
                expression: c.text.clone(),
                values: self.seen(&c.operands),
                outcome: outcome.clone(),
            };
            if outcome != Outcome::Was(c.want) {
                return fail(trace, passed);
            }
            passed += 1;
            held.push(trace);
        }
        PolicyTrace {
            policy: info.clone(),
            satisfied: true,
            checks_passed: passed,
            checks_total,
            failed: None,
            held,
        }
    }
}

impl PolicyEngine {
    /// Explains the decision for `request` over `entities` (listing at most
    /// [`DEFAULT_MAX_CANDIDATES`] candidate permits).
    pub fn explain(&self, request: &Request, entities: &Entities) -> Explanation {
        self.explain_with_limit(request, entities, DEFAULT_MAX_CANDIDATES)
    }

    /// Explains, listing at most `max_candidates` candidate permits for a deny.
    pub fn explain_with_limit(
        &self,
        request: &Request,
        entities: &Entities,
        max_candidates: usize,
    ) -> Explanation {
        let live = self.live();
        let decision = self.decide(&live, request, entities);
        let plans = live
            .explain
            .get_or_init(|| Arc::new(Plans::build(&live.bundle)))
            .clone();
        let tracer = Tracer {
            request,
            entities,
            plans: &plans,
        };
        let traced = |info: &Arc<PolicyInfo>| -> Option<PolicyTrace> {
            let p = live.bundle.policies.policy(&PolicyId::new(&info.id))?;
            Some(tracer.trace(p, info))
        };
        let mut explanation = Explanation {
            granted_by: Vec::new(),
            forbidden_by: Vec::new(),
            candidates: Vec::new(),
            candidates_considered: 0,
            decision,
        };
        if explanation.decision.allowed {
            explanation.granted_by = explanation
                .decision
                .policies
                .iter()
                .filter_map(traced)
                .collect();
            return explanation;
        }
        explanation.forbidden_by = explanation
            .decision
            .policies
            .iter()
            .filter(|p| p.effect == Effect::Forbid)
            .filter_map(traced)
            .collect();
        let mut candidates = self.candidate_traces(&live, &tracer, request, entities);
        explanation.candidates_considered = candidates.len();
        candidates.sort_by(|a, b| {
            b.checks_passed
                .cmp(&a.checks_passed)
                .then_with(|| a.policy.id.cmp(&b.policy.id))
        });
        candidates.truncate(max_candidates);
        explanation.candidates = candidates;
        explanation
    }

    fn candidate_traces(
        &self,
        live: &Live,
        tracer: &Tracer<'_>,
        request: &Request,
        entities: &Entities,
    ) -> Vec<PolicyTrace> {
        let mut now = None;
        live.bundle
            .policies
            .policies()
            .filter(|p| p.effect() == cedar_policy::Effect::Permit)
            .filter(|p| scope::action_matches(&p.action_constraint(), request.action(), entities))
            .filter_map(|p| {
                let info = live.info.get(p.id())?;
                let mut t = tracer.trace(p, info);
                if t.satisfied
                    && let Some(at) = info.expires_at
                {
                    let now = *now.get_or_insert_with(|| self.now_for(request, entities));
                    if now >= at {
                        t.satisfied = false;
                        t.failed = Some(ClauseTrace {
                            part: ClausePart::Expiry,
                            expression: format!("now < {at}"),
                            outcome: Outcome::Was(false),
                            values: vec![SeenValue {
                                expression: "now".into(),
                                value: Ok(now.to_string()),
                            }],
                        });
                        t.held.clear();
                    }
                }
                Some(t)
            })
            .collect()
    }
}
