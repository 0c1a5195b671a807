//! Decision latency against the number of template-linked shares that do not concern the
//! request, and the time to load them (adding links and building the engine).
//!
//! `cargo run --release -p strongroom-access-policy --example many_links`

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
    println!("| unrelated links | load time | authorize (median) |");
    println!("| --- | --- | --- |");
    for links in [0usize, 1_000, 10_000, 100_000] {
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
        println!(
            "| {links} | {:.2} s | {:.1} µs |",
            load.as_secs_f64(),
            samples[100] * 1e6
        );
    }
    Ok(())
}
