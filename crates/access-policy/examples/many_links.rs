//! Decision latency against the number of template-linked shares that do not concern the
//! request, the time to load them (adding links and building the engine) and the memory they
//! take; then the worst decision latency of 2 reader threads while the set is hot-reloaded.
//!
//! `cargo run --release -p strongroom-access-policy --example many_links`

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use strongroom_access_policy::pack::{self, Graph, PackContext, Res, ResourceOptions, Role};
use strongroom_access_policy::{PolicyEngine, Request, Timestamp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut graph = Graph::new();
    graph.user("ann", &[]).user("bob", &[]);
    graph.folder("reports", None, "ann", &ResourceOptions::default());
    graph.file(
        "q3.pdf",
        Some("reports"),
        "ann",
        &ResourceOptions::default(),
    );
    let context = PackContext::new(Timestamp::parse("2026-06-01T12:00:00Z")?, "10.0.0.7");
    println!("| unrelated links | load time | RSS growth | authorize (median) |");
    println!("| --- | --- | --- | --- |");
    for links in [0usize, 1_000, 10_000, 100_000] {
        let rss_before = rss_kib();
        let start = Instant::now();
        let mut bundle = pack::bundle()?;
        // Bob's own share, plus `links` shares of other files to other users.
        bundle.add_link(pack::share(
            "bob-q3",
            &pack::user("bob")?,
            Role::Viewer,
            &Res::file("q3.pdf"),
            None,
        )?)?;
        for n in 0..links {
            let who = pack::user(&format!("user{n}"))?;
            bundle.add_link(pack::share(
                &format!("s{n}"),
                &who,
                Role::Viewer,
                &Res::file(&format!("doc{n}")),
                None,
            )?)?;
        }
        let engine = PolicyEngine::new(bundle)?;
        let load = start.elapsed();
        let entities = graph.build(&engine.schema())?;
        let request = engine.request(
            Request::builder()
                .principal("User", "bob")
                .action("read")
                .resource("File", "q3.pdf")
                .context_json(context.to_json()),
        )?;
        assert!(engine.authorize(&request, &entities).allowed);
        let mut samples: Vec<f64> = (0..200)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(engine.authorize(&request, &entities));
                t.elapsed().as_secs_f64()
            })
            .collect();
        samples.sort_by(f64::total_cmp);
        let grown = rss_kib().saturating_sub(rss_before);
        println!(
            "| {links} | {:.2} s | {:.1} MiB | {:.1} µs |",
            load.as_secs_f64(),
            grown as f64 / 1024.0,
            samples[100] * 1e6
        );
        if links == 10_000 {
            hot_reload(&engine, &request, &entities);
        }
    }
    Ok(())
}

/// Two readers decide in a loop while the main thread installs 20 new sets (each re-validated);
/// prints the median and worst single decision latency the readers saw.
fn hot_reload(
    engine: &PolicyEngine,
    request: &Request,
    entities: &strongroom_access_policy::cedar_policy::Entities,
) {
    let done = AtomicBool::new(false);
    let bundle = engine.bundle();
    let mut latencies = std::thread::scope(|scope| {
        let readers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut seen = Vec::new();
                    while !done.load(Ordering::Relaxed) {
                        let t = Instant::now();
                        std::hint::black_box(engine.authorize(request, entities));
                        seen.push(t.elapsed().as_secs_f64());
                    }
                    seen
                })
            })
            .collect();
        for _ in 0..20 {
            engine.replace(bundle.clone()).expect("valid set");
        }
        done.store(true, Ordering::Relaxed);
        readers
            .into_iter()
            .flat_map(|r| r.join().expect("reader"))
            .collect::<Vec<_>>()
    });
    latencies.sort_by(f64::total_cmp);
    println!(
        "\nhot reload of a 10,000-link set x20 under 2 readers: {} decisions, median {:.1} µs, worst {:.1} µs",
        latencies.len(),
        latencies[latencies.len() / 2] * 1e6,
        latencies.last().copied().unwrap_or_default() * 1e6
    );
}

/// Resident set size of this process, in KiB (Linux; 0 elsewhere).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4)
}
