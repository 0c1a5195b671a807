//! Engine behaviour: hot replace, versions, batch order, queries, providers, decision log.

use std::sync::Arc;

use serde_json::json;
use strongroom_access_policy::pack::{self, Graph, PackContext, Res, ResourceOptions, Role, Who};
use strongroom_access_policy::{
    EntityProvider, Error, MemoryEntityProvider, MemorySink, PolicyBundle, PolicyEngine, Request,
    Timestamp,
    cedar_policy::{Entities, EntityUid},
};

fn ctx() -> PackContext {
    let mut c = PackContext::new(
        Timestamp::parse("2026-06-01T12:00:00Z").unwrap(),
        "10.0.0.1",
    );
    c.mfa = true;
    c.device_trusted = true;
    c
}

fn graph(files: usize) -> Graph {
    let mut g = Graph::new();
    g.user("owner", &[]).user("bob", &[]);
    g.folder("root", None, "owner", &ResourceOptions::default());
    g.folder("shared", Some("root"), "owner", &ResourceOptions::default());
    for i in 0..files {
        let folder = if i % 2 == 0 { "shared" } else { "root" };
        g.file(
            &format!("f{i}"),
            Some(folder),
            "owner",
            &ResourceOptions::default(),
        );
    }
    g.grant(
        &Res::folder("shared"),
        &Who::User("bob".into()),
        Role::Viewer,
    );
    g
}

fn req(engine: &PolicyEngine, who: &EntityUid, action: &str, res: &EntityUid) -> Request {
    Request::builder()
        .principal_uid(who.clone())
        .action(action)
        .resource_uid(res.clone())
        .context_json(ctx().to_json())
        .build(&engine.schema())
        .unwrap()
}

#[test]
fn replace_refuses_invalid_sets_and_keeps_the_live_one() {
    let engine = pack::engine().unwrap();
    let entities = graph(2).build(&engine.schema()).unwrap();
    let r = req(
        &engine,
        &pack::user("bob").unwrap(),
        "read",
        &pack::file("f0").unwrap(),
    );
    assert!(engine.authorize(&r, &entities).allowed);

    let mut bad = pack::bundle().unwrap();
    bad.add_policies(
        "typo",
        "permit(principal, action, resource) when { resource.ownr == principal };",
    )
    .unwrap();
    match engine.replace(bad) {
        Err(Error::Validation { diagnostics }) => {
            assert!(
                diagnostics
                    .iter()
                    .any(|d| d.policy.as_deref() == Some("typo") && d.message.contains("ownr")),
                "{diagnostics:?}"
            );
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(engine.version(), 1);
    assert!(engine.authorize(&r, &entities).allowed);

    // a valid replacement that drops viewer-read takes effect, with a new version
    let mut b = PolicyBundle::from_cedarschema(pack::SCHEMA).unwrap();
    b.add_policies(
        "only-owner",
        r#"permit(principal, action, resource is File) when { principal in resource.owner };"#,
    )
    .unwrap();
    assert_eq!(engine.replace(b).unwrap(), 2);
    let d = engine.authorize(&r, &entities);
    assert!(!d.allowed);
    assert_eq!(d.version, 2);
}

#[test]
fn readers_keep_deciding_during_replaces() {
    let engine = Arc::new(pack::engine().unwrap());
    let entities = Arc::new(graph(2).build(&engine.schema()).unwrap());
    let r = req(
        &engine,
        &pack::user("bob").unwrap(),
        "read",
        &pack::file("f0").unwrap(),
    );
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (engine, entities, r) = (engine.clone(), entities.clone(), r.clone());
            std::thread::spawn(move || {
                let mut last = 0;
                for _ in 0..2000 {
                    let d = engine.authorize(&r, &entities);
                    assert!(d.allowed, "every live set allows this request");
                    assert!(d.version >= last, "versions never go back");
                    last = d.version;
                }
            })
        })
        .collect();
    for _ in 0..20 {
        engine.replace(pack::bundle().unwrap()).unwrap();
    }
    for t in readers {
        t.join().unwrap();
    }
    assert_eq!(engine.version(), 21);
}

#[test]
fn batch_results_are_in_order_small_and_large() {
    let engine = pack::engine().unwrap();
    let entities = graph(200).build(&engine.schema()).unwrap();
    let bob = pack::user("bob").unwrap();
    for n in [3, 200] {
        let reqs: Vec<Request> = (0..n)
            .map(|i| {
                req(
                    &engine,
                    &bob,
                    "read",
                    &pack::file(&format!("f{i}")).unwrap(),
                )
            })
            .collect();
        let got = engine.authorize_batch(&reqs, &entities);
        assert_eq!(got.len(), n);
        for (i, d) in got.iter().enumerate() {
            assert_eq!(d.allowed, i % 2 == 0, "request {i} of {n}");
            assert_eq!(*d, engine.authorize(&reqs[i], &entities));
        }
    }
    assert!(engine.authorize_batch(&[], &entities).is_empty());
}

#[test]
fn list_resources_matches_authorize_over_many_candidates() {
    let engine = pack::engine().unwrap();
    let entities = graph(1000).build(&engine.schema()).unwrap();
    let bob = pack::user("bob").unwrap();
    let read = pack::action("read").unwrap();
    let candidates: Vec<EntityUid> = (0..1000)
        .map(|i| pack::file(&format!("f{i}")).unwrap())
        .collect();
    let got = engine
        .list_resources(&bob, &read, &candidates, &ctx().to_json(), &entities)
        .unwrap();
    let want: Vec<EntityUid> = candidates
        .iter()
        .filter(|c| {
            engine
                .authorize(&req(&engine, &bob, "read", c), &entities)
                .allowed
        })
        .cloned()
        .collect();
    assert_eq!(got.len(), 500);
    assert_eq!(got, want);
    // a small list takes the sequential path and agrees too
    let few = engine
        .list_resources(&bob, &read, &candidates[..4], &ctx().to_json(), &entities)
        .unwrap();
    assert_eq!(few, vec![candidates[0].clone(), candidates[2].clone()]);
    // bad inputs are typed errors
    let team = pack::team("t").unwrap();
    assert!(matches!(
        engine.list_resources(&bob, &read, &[team], &ctx().to_json(), &entities),
        Err(Error::InvalidRequest(_))
    ));
    assert!(matches!(
        engine.list_resources(&bob, &read, &candidates[..1], &json!({}), &entities),
        Err(Error::InvalidRequest(_))
    ));
    let nope = pack::action("fly").unwrap();
    assert!(matches!(
        engine.list_resources(&bob, &nope, &candidates[..1], &ctx().to_json(), &entities),
        Err(Error::InvalidRequest(_))
    ));
}

#[test]
fn list_resources_sees_template_shares_for_the_principal_only() {
    let mut bundle = pack::bundle().unwrap();
    for i in 0..300 {
        let who = pack::user(&format!("u{i}")).unwrap();
        bundle
            .add_link(
                pack::share(
                    &format!("s{i}"),
                    &who,
                    Role::Viewer,
                    &Res::file(&format!("f{i}")),
                    None,
                )
                .unwrap(),
            )
            .unwrap();
    }
    let engine = PolicyEngine::new(bundle).unwrap();
    let entities = graph(300).build(&engine.schema()).unwrap();
    let u7 = pack::user("u7").unwrap();
    let candidates: Vec<EntityUid> = (0..300)
        .map(|i| pack::file(&format!("f{i}")).unwrap())
        .collect();
    let got = engine
        .list_resources(
            &u7,
            &pack::action("read").unwrap(),
            &candidates,
            &ctx().to_json(),
            &entities,
        )
        .unwrap();
    assert_eq!(got, vec![pack::file("f7").unwrap()]);
}

#[test]
fn allowed_actions_per_role() {
    let engine = pack::engine().unwrap();
    let entities = graph(2).build(&engine.schema()).unwrap();
    let names = |v: Vec<EntityUid>| {
        let mut n: Vec<String> = v.iter().map(|a| a.id().unescaped().to_owned()).collect();
        n.sort();
        n
    };
    let f0 = pack::file("f0").unwrap();
    let bob = engine
        .allowed_actions(
            &pack::user("bob").unwrap(),
            &f0,
            &ctx().to_json(),
            &entities,
        )
        .unwrap();
    // The order is part of the contract (sorted by action id), not the schema's hash order.
    assert!(bob.windows(2).all(|w| w[0].to_string() < w[1].to_string()));
    assert_eq!(names(bob), vec!["download", "read"]);
    let owner = engine
        .allowed_actions(
            &pack::user("owner").unwrap(),
            &f0,
            &ctx().to_json(),
            &entities,
        )
        .unwrap();
    assert_eq!(
        names(owner),
        vec![
            "comment", "delete", "download", "manage", "read", "share", "write"
        ]
    );
    let folder = engine
        .allowed_actions(
            &pack::user("bob").unwrap(),
            &pack::folder("shared").unwrap(),
            &ctx().to_json(),
            &entities,
        )
        .unwrap();
    assert_eq!(names(folder), vec!["download", "list", "read"]);
    assert!(matches!(
        engine.allowed_actions(
            &pack::user("bob").unwrap(),
            &f0,
            &json!({"mfa": true}),
            &entities
        ),
        Err(Error::InvalidRequest(_))
    ));
}

#[test]
fn every_decision_reaches_the_sink() {
    let sink = Arc::new(MemorySink::new());
    let engine = PolicyEngine::builder(pack::bundle().unwrap())
        .decision_sink(sink.clone())
        .build()
        .unwrap();
    let entities = graph(2).build(&engine.schema()).unwrap();
    let bob = pack::user("bob").unwrap();
    let r0 = req(&engine, &bob, "read", &pack::file("f0").unwrap());
    let r1 = req(&engine, &bob, "write", &pack::file("f0").unwrap());
    engine.authorize(&r0, &entities);
    engine.authorize_batch(&[r1.clone(), r0.clone()], &entities);
    let records = sink.take();
    assert_eq!(records.len(), 3);
    assert!(records[0].allowed && records[0].policies == vec!["viewer-read".to_string()]);
    assert_eq!(records[1].action, r#"Action::"write""#);
    assert!(!records[1].allowed);
    assert_eq!(records[0].principal, r#"User::"bob""#);
    assert_eq!(records[0].version, 1);
}

#[test]
fn channel_sink_delivers_off_thread() {
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = strongroom_access_policy::ChannelSink::spawn(16, move |r| {
        let _ = tx.send(r);
    })
    .unwrap();
    let engine = PolicyEngine::builder(pack::bundle().unwrap())
        .decision_sink(Arc::new(sink))
        .build()
        .unwrap();
    let entities = graph(1).build(&engine.schema()).unwrap();
    engine.authorize(
        &req(
            &engine,
            &pack::user("owner").unwrap(),
            "read",
            &pack::file("f0").unwrap(),
        ),
        &entities,
    );
    let record = rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
    assert!(record.allowed);
    assert!(
        record.policies.contains(&"owner-all".to_string()),
        "{:?}",
        record.policies
    );
}

#[tokio::test]
async fn memory_provider_feeds_the_engine_and_takes_updates() {
    let engine = pack::engine().unwrap();
    let entities: Entities = graph(2).build(&engine.schema()).unwrap();
    let provider = MemoryEntityProvider::new(entities, Some(engine.schema()));
    let carol = pack::user("carol").unwrap();
    let f0 = pack::file("f0").unwrap();
    let r = req(&engine, &carol, "read", &f0);
    assert!(!engine.authorize_with(&provider, &r).await.unwrap().allowed);
    // carol joins the viewers of the shared folder
    let mut g = Graph::new();
    g.user("carol", &[]).grant(
        &Res::folder("shared"),
        &Who::User("carol".into()),
        Role::Viewer,
    );
    let extra = g.build(&engine.schema()).unwrap();
    provider
        .upsert(extra.into_iter().filter(|e| e.uid() == carol))
        .unwrap();
    assert!(engine.authorize_with(&provider, &r).await.unwrap().allowed);
    let dynp: &dyn EntityProvider = &provider;
    assert!(
        dynp.entities_for(&r, &engine.schema())
            .await
            .unwrap()
            .get(&carol)
            .is_some()
    );
    provider.remove([carol.clone()]).unwrap();
    assert!(!engine.authorize_with(&provider, &r).await.unwrap().allowed);
}

#[test]
fn evaluation_errors_are_reported_per_policy() {
    let mut b = PolicyBundle::from_cedarschema("entity U; entity D; action a appliesTo { principal: U, resource: D, context: { n: Long } };").unwrap();
    b.add_policies(
        "overflow",
        "permit(principal, action, resource) when { context.n * 9223372036854775807 > 0 };",
    )
    .unwrap();
    b.add_policies(
        "plain",
        "permit(principal, action, resource) when { context.n == 2 };",
    )
    .unwrap();
    let engine = PolicyEngine::new(b).unwrap();
    let r = Request::builder()
        .principal("U", "u")
        .action("a")
        .resource("D", "d")
        .context("n", 2)
        .build(&engine.schema())
        .unwrap();
    let d = engine.authorize(&r, &Entities::empty());
    assert!(d.allowed);
    assert_eq!(d.policy_ids().collect::<Vec<_>>(), vec!["plain"]);
    assert_eq!(d.errors.len(), 1);
    assert_eq!(d.errors[0].policy, "overflow");
    assert!(
        d.errors[0].message.contains("overflow"),
        "{}",
        d.errors[0].message
    );
}

#[test]
fn link_expiry_falls_back_to_the_clock_without_context_now() {
    use strongroom_access_policy::{ManualClock, TemplateLink};
    let mut b = PolicyBundle::from_cedarschema(
        "entity U; entity D; action a appliesTo { principal: U, resource: D };",
    )
    .unwrap();
    b.add_policies("t", "permit(principal == ?principal, action, resource);")
        .unwrap();
    let t0 = Timestamp::parse("2026-01-01").unwrap();
    b.add_link(
        TemplateLink::new("l", "t")
            .principal(r#"U::"u""#)
            .expires_at(t0.plus_seconds(10)),
    )
    .unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let engine = PolicyEngine::builder(b)
        .clock(clock.clone())
        .build()
        .unwrap();
    let r = Request::builder()
        .principal("U", "u")
        .action("a")
        .resource("D", "d")
        .build(&engine.schema())
        .unwrap();
    assert!(engine.authorize(&r, &Entities::empty()).allowed);
    clock.advance_seconds(10);
    let d = engine.authorize(&r, &Entities::empty());
    assert!(!d.allowed);
    assert_eq!(d.expired_links, vec!["l".to_string()]);
}
