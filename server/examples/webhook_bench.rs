//! Webhook delivery as the server does it, against a plain reqwest POST loop to the same
//! receiver in the same run.
//!
//! Ours: N committed events (written to the outbox), relayed into the deliveries table by the
//! fan-out, then sent by the webhook worker (claimed under a lease, signed, the attempt and the
//! outcome written back), until all are delivered. The peer: the same N bodies POSTed with
//! reqwest, as many at once as the worker sends (8), nothing stored. The receiver is an axum
//! server in this process answering 204. Reported: events per second and the p99 of one
//! request's latency, each side.
//!
//! Run: `cargo run --release -p strongroom --example webhook_bench` (SQLite in a temporary
//! directory; `STRONGROOM_DATABASE_URL=postgres://…` for PostgreSQL; `EVENTS=` for N, default
//! 2000).

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use strongroom::app::App;
use strongroom::authz::Principal;
use strongroom::config::Config;
use strongroom::domain::Ctx;
use strongroom::domain::webhooks::Owner;
use strongroom_audit::{Actor, AuditEvent, Resource};

fn percentile(mut samples: Vec<f64>, p: f64) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let events: usize = std::env::var("EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = receiver.local_addr().unwrap().port();
    let app_router = axum::Router::new().route(
        "/{*path}",
        axum::routing::post(|_: axum::body::Bytes| async { axum::http::StatusCode::NO_CONTENT }),
    );
    tokio::spawn(async move { axum::serve(receiver, app_router).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::load(None, Vec::<(String, String)>::new()).unwrap();
    config.data_dir = dir.path().to_owned();
    config.storage.url = "memory://".into();
    config.webhooks.allow_loopback = true;
    config.webhooks.allow_http = true;
    if let Ok(url) = std::env::var("STRONGROOM_DATABASE_URL") {
        config.database.url = url;
    }
    let app = App::build(config).await.unwrap();
    let mut admin = Ctx::system();
    admin.principal = Principal::User {
        id: "bench".into(),
        admin: true,
    };
    let url = format!("http://127.0.0.1:{port}/hook");
    app.webhooks
        .create(&admin, Owner::Platform, &url, vec!["bench".into()], None)
        .await
        .unwrap();
    let relay = app.relay.as_ref().unwrap();
    while relay.run_once().await.unwrap().published > 0 {}
    let worker = app.webhook_worker.as_ref().unwrap();

    let made: Vec<AuditEvent> = (0..events)
        .map(|i| {
            AuditEvent::builder(
                Actor::User("bench".into()),
                "bench.happened",
                Resource::new("file", format!("f{i}")).unwrap(),
            )
            .attributes(serde_json::json!({ "n": i, "note": "x".repeat(200) }))
            .build()
            .unwrap()
        })
        .collect();
    for e in &made {
        app.events.record(e).await.unwrap();
    }

    // Ours: relay into deliveries, then send until none is due.
    let started = Instant::now();
    while relay.run_once().await.unwrap().published > 0 {}
    let relayed = started.elapsed();
    let mut delivered = 0;
    while delivered < events {
        let round = worker.deliver_due().await.unwrap();
        delivered += round.delivered;
        assert!(round.attempted > 0, "stalled at {delivered} of {events}");
    }
    let ours = started.elapsed();
    let hook = app.webhooks.list(&admin, Owner::Platform).await.unwrap()[0]
        .id
        .clone();
    let mut latencies = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = app
            .webhooks
            .deliveries(
                &admin,
                &hook,
                Some("delivered"),
                before.as_deref(),
                Some(500),
            )
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        before = Some(last.id.clone());
        for d in &page {
            let one = app.webhooks.delivery(&admin, &hook, &d.id).await.unwrap();
            for a in one.attempt_log.unwrap_or_default() {
                latencies.push(a.latency_ms as f64);
            }
        }
    }

    // The peer: the same bodies, 8 at a time, nothing stored.
    let bodies: Vec<String> = made.iter().map(strongroom_audit::message_body).collect();
    let client = reqwest::Client::new();
    let started = Instant::now();
    let peer_latencies: Vec<f64> = futures::stream::iter(bodies)
        .map(|b| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let t = Instant::now();
                let r = client.post(&url).body(b).send().await.unwrap();
                assert!(r.status().is_success());
                t.elapsed().as_secs_f64() * 1000.0
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let peer = started.elapsed();

    let rate = |d: Duration| events as f64 / d.as_secs_f64();
    println!(
        "{{\"events\": {events}, \"ours_events_per_s\": {:.0}, \"ours_relay_s\": {:.3}, \"ours_p99_ms\": {:.2}, \"peer_events_per_s\": {:.0}, \"peer_p99_ms\": {:.2}, \"ratio\": {:.3}}}",
        rate(ours),
        relayed.as_secs_f64(),
        percentile(latencies, 0.99),
        rate(peer),
        percentile(peer_latencies, 0.99),
        rate(ours) / rate(peer),
    );
}
