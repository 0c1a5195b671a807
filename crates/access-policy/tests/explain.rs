//! `explain`: the clause that failed, the values it saw, the forbid that fired, the permits that granted.

use serde_json::json;
use strongroom_access_policy::pack::{self, Graph, PackContext, Res, ResourceOptions, Role, Who};
use strongroom_access_policy::{
    ClausePart, EntitiesBuilder, EntityBuilder, Explanation, Outcome, PolicyBundle, PolicyEngine,
    Request, SeenValue, Timestamp, cedar_policy::Entities,
};

fn now() -> Timestamp {
    Timestamp::parse("2026-06-01T12:00:00Z").unwrap()
}

fn ctx() -> PackContext {
    let mut c = PackContext::new(now(), "10.0.0.1");
    c.mfa = true;
    c.device_trusted = true;
    c
}

fn pack_world() -> (PolicyEngine, Entities) {
    let mut bundle = pack::bundle().unwrap();
    let dan = pack::user("dan").unwrap();
    bundle
        .add_link(pack::share("dan-f2", &dan, Role::Editor, &Res::file("f2"), None).unwrap())
        .unwrap();
    bundle
        .add_link(
            pack::share(
                "dan-f1-old",
                &dan,
                Role::Viewer,
                &Res::file("f1"),
                Some(now().plus_seconds(-5)),
            )
            .unwrap(),
        )
        .unwrap();
    let engine = PolicyEngine::new(bundle).unwrap();
    let mut g = Graph::new();
    g.user("ann", &[]).user("bob", &[]).user("dan", &[]);
    g.folder("docs", None, "ann", &ResourceOptions::default());
    g.file("f1", Some("docs"), "ann", &ResourceOptions::default());
    g.file("f2", Some("docs"), "ann", &ResourceOptions::default());
    g.grant(&Res::file("f1"), &Who::User("bob".into()), Role::Viewer);
    let entities = g.build(&engine.schema()).unwrap();
    (engine, entities)
}

fn explain(
    engine: &PolicyEngine,
    entities: &Entities,
    who: &str,
    action: &str,
    file: &str,
    c: &PackContext,
) -> Explanation {
    let r = Request::builder()
        .principal("User", who)
        .action(action)
        .resource("File", file)
        .context_json(c.to_json())
        .build(&engine.schema())
        .unwrap();
    let e = engine.explain(&r, entities);
    assert_eq!(
        e.decision,
        engine.authorize(&r, entities),
        "explain decides exactly like authorize"
    );
    e
}

fn value<'a>(values: &'a [SeenValue], expr: &str) -> &'a str {
    values
        .iter()
        .find(|v| v.expression == expr)
        .unwrap_or_else(|| panic!("no value for `{expr}` in {values:?}"))
        .value
        .as_deref()
        .unwrap()
}

#[test]
fn deny_names_each_candidate_permit_and_its_failed_clause_with_values() {
    let (engine, entities) = pack_world();
    let e = explain(&engine, &entities, "bob", "write", "f1", &ctx());
    assert!(!e.decision.allowed);
    assert!(e.forbidden_by.is_empty());
    // permits for `write`: owner-all, editor-edit and the share-editor link; not viewer-read
    let ids: Vec<&str> = e.candidates.iter().map(|c| c.policy.id.as_str()).collect();
    assert!(
        ids.contains(&"editor-edit") && ids.contains(&"owner-all") && ids.contains(&"dan-f2"),
        "{ids:?}"
    );
    assert!(
        !ids.contains(&"viewer-read") && !ids.contains(&"public-read"),
        "{ids:?}"
    );
    assert_eq!(e.candidates_considered, e.candidates.len());

    let editor = e
        .candidates
        .iter()
        .find(|c| c.policy.id == "editor-edit")
        .unwrap();
    let failed = editor.failed.as_ref().unwrap();
    assert_eq!(
        failed.part,
        ClausePart::When {
            clause: 0,
            conjunct: 0
        }
    );
    assert_eq!(failed.expression, "principal in resource.editor");
    assert_eq!(failed.outcome, Outcome::Was(false));
    assert_eq!(value(&failed.values, "principal"), r#"User::"bob""#);
    assert_eq!(
        value(&failed.values, "resource.editor"),
        r#"Role::"file:f1#editor""#
    );
    assert_eq!((editor.checks_passed, editor.checks_total), (1, 2));
    assert_eq!(
        editor.policy.annotations["reason"],
        "editors may read, comment, change, delete and share"
    );
}

#[test]
fn a_template_link_for_another_resource_fails_at_its_resource_scope() {
    let (engine, entities) = pack_world();
    let e = explain(&engine, &entities, "dan", "write", "f1", &ctx());
    let link = e
        .candidates
        .iter()
        .find(|c| c.policy.id == "dan-f2")
        .unwrap();
    assert_eq!(link.policy.template.as_deref(), Some("share-editor"));
    let failed = link.failed.as_ref().unwrap();
    assert_eq!(failed.part, ClausePart::ResourceScope);
    assert_eq!(failed.expression, r#"resource in File::"f2""#);
    assert_eq!(value(&failed.values, "resource"), r#"File::"f1""#);
    // the principal and action scope passed before it
    assert_eq!(link.checks_passed, 2);
}

#[test]
fn an_expired_link_is_the_reason_named() {
    let (engine, entities) = pack_world();
    let e = explain(&engine, &entities, "dan", "read", "f1", &ctx());
    assert!(!e.decision.allowed);
    assert_eq!(e.decision.expired_links, vec!["dan-f1-old".to_string()]);
    let link = &e.candidates[0];
    assert_eq!(
        link.policy.id, "dan-f1-old",
        "the expired link passed every check, so it is nearest"
    );
    let failed = link.failed.as_ref().unwrap();
    assert_eq!(failed.part, ClausePart::Expiry);
    assert_eq!(value(&failed.values, "now"), "2026-06-01T12:00:00.000Z");
    assert!(
        failed.expression.contains("2026-06-01T11:59:55.000Z"),
        "{}",
        failed.expression
    );
}

#[test]
fn deny_by_forbid_shows_the_forbid_and_the_values_that_made_it_hold() {
    let (engine, entities) = pack_world();
    let mut c = ctx();
    c.risk_score = 93;
    let e = explain(&engine, &entities, "bob", "read", "f1", &c);
    assert!(!e.decision.allowed);
    assert_eq!(e.forbidden_by.len(), 1);
    let f = &e.forbidden_by[0];
    assert_eq!(f.policy.id, "high-risk");
    assert!(f.satisfied && f.failed.is_none());
    assert_eq!(f.held[0].expression, "context.risk_score >= 80");
    assert_eq!(value(&f.held[0].values, "context.risk_score"), "93");
    // the permit that would otherwise have granted is listed as satisfied
    let viewer = e
        .candidates
        .iter()
        .find(|p| p.policy.id == "viewer-read")
        .unwrap();
    assert!(viewer.satisfied);
}

#[test]
fn unless_clauses_report_the_disjunct_that_held() {
    let (engine, entities) = pack_world();
    let mut c = ctx();
    c.mfa = false;
    let e = explain(&engine, &entities, "ann", "delete", "f1", &c);
    let f = e
        .forbidden_by
        .iter()
        .find(|f| f.policy.id == "mfa-for-sensitive")
        .unwrap();
    let unless = f
        .held
        .iter()
        .find(|h| matches!(h.part, ClausePart::Unless { .. }))
        .unwrap();
    assert_eq!(unless.expression, "context.mfa");
    assert_eq!(unless.outcome, Outcome::Was(false));
}

fn toy(policy: &str) -> (PolicyEngine, Entities) {
    let mut b = PolicyBundle::from_cedarschema(
        r#"entity U { age?: Long, name: String }; entity D;
           action a appliesTo { principal: U, resource: D, context: { a: Bool, b: Long, x: Bool, y: Bool } };"#,
    )
    .unwrap();
    b.add_policies("p", policy).unwrap();
    let engine = PolicyEngine::new(b).unwrap();
    let entities = EntitiesBuilder::new()
        .entity(EntityBuilder::new("U", "u").attr("name", "yann"))
        .build(&engine.schema())
        .unwrap();
    (engine, entities)
}

fn toy_explain(
    engine: &PolicyEngine,
    entities: &Entities,
    context: serde_json::Value,
) -> Explanation {
    let r = Request::builder()
        .principal("U", "u")
        .action("a")
        .resource("D", "d")
        .context_json(context)
        .build(&engine.schema())
        .unwrap();
    engine.explain(&r, entities)
}

const CTX: fn(bool, i64, bool, bool) -> serde_json::Value =
    |a, b, x, y| json!({"a": a, "b": b, "x": x, "y": y});

#[test]
fn when_clauses_are_split_at_and_and_the_first_false_conjunct_is_named() {
    let (engine, entities) = toy(
        r#"permit(principal, action, resource) when { context.a && context.b > 3 && principal.name == "zed" };"#,
    );
    let e = toy_explain(&engine, &entities, CTX(true, 2, false, false));
    let c = &e.candidates[0];
    let failed = c.failed.as_ref().unwrap();
    assert_eq!(
        failed.part,
        ClausePart::When {
            clause: 0,
            conjunct: 1
        }
    );
    assert_eq!(failed.expression, "context.b > 3");
    assert_eq!(value(&failed.values, "context.b"), "2");
    assert_eq!((c.checks_passed, c.checks_total), (1, 3));
    // with b fixed, the third conjunct is the one that fails, and it shows the name it saw
    let e = toy_explain(&engine, &entities, CTX(true, 4, false, false));
    let failed = e.candidates[0].failed.as_ref().unwrap();
    assert_eq!(
        failed.part,
        ClausePart::When {
            clause: 0,
            conjunct: 2
        }
    );
    assert_eq!(value(&failed.values, "principal.name"), r#""yann""#);
}

#[test]
fn unless_clauses_are_split_at_or() {
    let (engine, entities) = toy(
        "permit(principal, action, resource) when { context.a } unless { context.x || context.y };",
    );
    let e = toy_explain(&engine, &entities, CTX(true, 0, false, true));
    let failed = e.candidates[0].failed.as_ref().unwrap();
    assert_eq!(
        failed.part,
        ClausePart::Unless {
            clause: 1,
            disjunct: 1
        }
    );
    assert_eq!(failed.expression, "context.y");
    assert_eq!(failed.outcome, Outcome::Was(true));
    let ok = toy_explain(&engine, &entities, CTX(true, 0, false, false));
    assert!(ok.decision.allowed);
    assert_eq!(
        ok.granted_by[0].held.len(),
        3,
        "one when conjunct and two unless disjuncts held"
    );
}

#[test]
fn evaluation_errors_are_named_as_the_failing_clause() {
    let (engine, entities) = toy(
        "permit(principal, action, resource) when { context.a && context.b * 9223372036854775807 > 0 };",
    );
    let e = toy_explain(&engine, &entities, CTX(true, 2, false, false));
    assert_eq!(e.decision.errors.len(), 1);
    let failed = e.candidates[0].failed.as_ref().unwrap();
    assert_eq!(
        failed.part,
        ClausePart::When {
            clause: 0,
            conjunct: 1
        }
    );
    assert!(
        matches!(&failed.outcome, Outcome::Error(m) if m.contains("overflow")),
        "{:?}",
        failed.outcome
    );
    assert!(
        failed.values[0].value.is_err(),
        "the operand's own error is shown: {:?}",
        failed.values
    );
    // an optional attribute read behind its `has` guard fails cleanly at the guard
    let (engine, entities) =
        toy("permit(principal, action, resource) when { principal has age && principal.age > 3 };");
    let e = toy_explain(&engine, &entities, CTX(true, 0, false, false));
    let failed = e.candidates[0].failed.as_ref().unwrap();
    assert_eq!(failed.expression, "principal has age");
    assert_eq!(failed.outcome, Outcome::Was(false));
    assert!(e.decision.errors.is_empty());
}

#[test]
fn allow_lists_the_granting_permits() {
    let (engine, entities) = pack_world();
    let e = explain(&engine, &entities, "ann", "read", "f1", &ctx());
    assert!(e.decision.allowed);
    let ids: Vec<&str> = e.granted_by.iter().map(|g| g.policy.id.as_str()).collect();
    let mut want = e.decision.policy_ids().collect::<Vec<_>>();
    want.sort();
    let mut got = ids.clone();
    got.sort();
    assert_eq!(got, want);
    assert!(ids.contains(&"owner-all"));
    assert!(e.candidates.is_empty() && e.forbidden_by.is_empty());
    let owner = e
        .granted_by
        .iter()
        .find(|g| g.policy.id == "owner-all")
        .unwrap();
    assert_eq!(
        value(&owner.held[0].values, "resource.owner"),
        r#"Role::"file:f1#owner""#
    );
}

#[test]
fn candidates_are_nearest_first_and_capped() {
    let (engine, entities) = pack_world();
    let r = Request::builder()
        .principal("User", "dan")
        .action("write")
        .resource("File", "f1")
        .context_json(ctx().to_json())
        .build(&engine.schema())
        .unwrap();
    let full = engine.explain(&r, &entities);
    for pair in full.candidates.windows(2) {
        assert!(pair[0].checks_passed >= pair[1].checks_passed);
    }
    let capped = engine.explain_with_limit(&r, &entities, 1);
    assert_eq!(capped.candidates.len(), 1);
    assert_eq!(capped.candidates_considered, full.candidates_considered);
    assert_eq!(capped.candidates[0], full.candidates[0]);
}

#[test]
fn no_permit_for_the_action_says_so() {
    let (engine, entities) = toy("permit(principal, action, resource) when { false };");
    let e = toy_explain(&engine, &entities, CTX(true, 0, false, false));
    assert_eq!(e.candidates[0].failed.as_ref().unwrap().expression, "false");
    let (engine, entities) = toy(r#"forbid(principal, action, resource) when { context.a };"#);
    let e = toy_explain(&engine, &entities, CTX(false, 0, false, false));
    assert!(e.candidates.is_empty());
    assert!(e.to_string().contains("no permit applies"), "{e}");
}

#[test]
fn renders_as_text_and_json() {
    let (engine, entities) = pack_world();
    let e = explain(&engine, &entities, "bob", "write", "f1", &ctx());
    let text = e.to_string();
    assert!(text.starts_with("DENY (policy set version 1)"), "{text}");
    assert!(text.contains("permit `editor-edit` (1/2 checks passed): when #0.0 `principal in resource.editor` was false"), "{text}");
    assert!(
        text.contains(r#"resource.editor = Role::"file:f1#editor""#),
        "{text}"
    );
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["decision"]["allowed"], false);
    assert!(
        v["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["failed"]["part"]["kind"] == "when")
    );
}
