//! `authorize` against raw `cedar_policy::Authorizer::is_authorized` on identical inputs, plus
//! list_resources over 10k candidates, authorize_batch over 10k requests and explain's cost.
//! Prints the ratios; run with `cargo bench -p strongroom-access-policy --bench authorize`.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use strongroom_access_policy::cedar_policy::{Authorizer, Entities, EntityUid};
use strongroom_access_policy::pack::{self, Graph, PackContext, Res, ResourceOptions, Role, Who};
use strongroom_access_policy::{PolicyEngine, Request, Timestamp};

const FILES: usize = 10_000;

struct World {
    engine: PolicyEngine,
    entities: Entities,
    request: Request,
    deny: Request,
    candidates: Vec<EntityUid>,
    context: serde_json::Value,
}

/// A GDrive-like graph: nested folders, groups, and a request touching about 20 entities.
fn world() -> World {
    let engine = pack::engine().unwrap();
    let mut g = Graph::new();
    g.user("bob", &["eng"])
        .group("eng", &["staff"])
        .group("staff", &[])
        .user("owner", &[]);
    g.folder("root", None, "owner", &ResourceOptions::default());
    g.folder("a", Some("root"), "owner", &ResourceOptions::default());
    g.folder("b", Some("a"), "owner", &ResourceOptions::default());
    for i in 0..FILES {
        g.file(
            &format!("f{i}"),
            Some(if i % 2 == 0 { "b" } else { "root" }),
            "owner",
            &ResourceOptions::default(),
        );
    }
    g.grant(&Res::folder("a"), &Who::Group("staff".into()), Role::Viewer);
    let entities = g.build(&engine.schema()).unwrap();
    let mut ctx = PackContext::new(
        Timestamp::parse("2026-06-01T12:00:00Z").unwrap(),
        "10.0.0.1",
    );
    ctx.mfa = true;
    let context = ctx.to_json();
    let req = |action: &str| {
        engine
            .request(
                Request::builder()
                    .principal("User", "bob")
                    .action(action)
                    .resource("File", "f0")
                    .context_json(context.clone()),
            )
            .unwrap()
    };
    World {
        request: req("read"),
        deny: req("write"),
        candidates: (0..FILES)
            .map(|i| pack::file(&format!("f{i}")).unwrap())
            .collect(),
        engine,
        entities,
        context,
    }
}

/// Median nanoseconds per call over `rounds` rounds of `iters` calls.
fn median_ns(rounds: usize, iters: usize, mut f: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

fn ratios() {
    let w = world();
    let policies = w.engine.bundle().policy_set().clone();
    let raw = Authorizer::new();
    assert_eq!(
        raw.is_authorized(w.request.as_cedar(), &policies, &w.entities)
            .decision(),
        strongroom_access_policy::cedar_policy::Decision::Allow
    );
    // Interleave the two so machine noise hits both alike.
    let (mut ours, mut peer) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        ours.push(median_ns(11, 2000, || {
            black_box(w.engine.authorize(black_box(&w.request), &w.entities));
        }));
        peer.push(median_ns(11, 2000, || {
            black_box(raw.is_authorized(black_box(w.request.as_cedar()), &policies, &w.entities));
        }));
    }
    ours.sort_by(|a, b| a.total_cmp(b));
    peer.sort_by(|a, b| a.total_cmp(b));
    let (o, p) = (ours[2], peer[2]);
    println!(
        "authorize (allow, ~20 entities/request): ours {:.2} µs, cedar is_authorized {:.2} µs, ratio {:.2}×",
        o / 1e3,
        p / 1e3,
        o / p
    );

    let explain = median_ns(5, 200, || {
        black_box(w.engine.explain(black_box(&w.deny), &w.entities));
    });
    let deny = median_ns(5, 2000, || {
        black_box(w.engine.authorize(black_box(&w.deny), &w.entities));
    });
    println!(
        "explain (deny) {:.2} µs vs authorize (deny) {:.2} µs: {:.1}× the cost",
        explain / 1e3,
        deny / 1e3,
        explain / deny
    );

    let read = pack::action("read").unwrap();
    let bob = pack::user("bob").unwrap();
    let list = median_ns(3, 3, || {
        black_box(
            w.engine
                .list_resources(&bob, &read, &w.candidates, &w.context, &w.entities)
                .unwrap(),
        );
    });
    let reqs: Vec<Request> = w
        .candidates
        .iter()
        .map(|c| {
            w.engine
                .request(
                    Request::builder()
                        .principal_uid(bob.clone())
                        .action("read")
                        .resource_uid(c.clone())
                        .context_json(w.context.clone()),
                )
                .unwrap()
        })
        .collect();
    let looped = median_ns(3, 3, || {
        for r in &reqs {
            black_box(raw.is_authorized(r.as_cedar(), &policies, &w.entities));
        }
    });
    println!(
        "list_resources over {FILES} candidates: {:.1} ms; a loop of cedar is_authorized over prebuilt requests: {:.1} ms; ratio {:.2}×",
        list / 1e6,
        looped / 1e6,
        list / looped
    );
    let batch = median_ns(3, 3, || {
        black_box(w.engine.authorize_batch(&reqs, &w.entities));
    });
    let loop_ours = median_ns(3, 3, || {
        for r in &reqs {
            black_box(w.engine.authorize(r, &w.entities));
        }
    });
    println!(
        "authorize_batch of {FILES}: {:.1} ms; loop of authorize: {:.1} ms; ratio {:.2}×",
        batch / 1e6,
        loop_ours / 1e6,
        batch / loop_ours
    );
}

fn bench(c: &mut Criterion) {
    let w = world();
    let policies = w.engine.bundle().policy_set().clone();
    let raw = Authorizer::new();
    let mut g = c.benchmark_group("authorize");
    g.bench_function("strongroom authorize", |b| {
        b.iter(|| w.engine.authorize(black_box(&w.request), &w.entities))
    });
    g.bench_function("cedar is_authorized", |b| {
        b.iter(|| raw.is_authorized(black_box(w.request.as_cedar()), &policies, &w.entities))
    });
    g.bench_function("strongroom explain (deny)", |b| {
        b.iter(|| w.engine.explain(black_box(&w.deny), &w.entities))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = bench
}

fn main() {
    ratios();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
