//! Decides a JSON workload (schema, policies, entities, requests) and prints the time per call,
//! the Rust-side reference for the Python and Node bindings' per-call overhead
//! (`bench/bindings.sh` writes the workload and runs this).
//!
//! `cargo run --release -p strongroom-access-policy --example json_workload -- WORKLOAD.json`

use std::time::Instant;

use strongroom_access_policy::{PolicyBundle, PolicyEngine, Request, entities_from_json};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: json_workload WORKLOAD.json")?;
    let workload: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let text = |key: &str| {
        workload[key]
            .as_str()
            .ok_or(format!("`{key}` must be a string"))
    };
    let mut bundle = PolicyBundle::from_cedarschema(text("schema")?)?;
    bundle.add_policies("policies", text("policies")?)?;
    let engine = PolicyEngine::new(bundle)?;
    let schema = engine.schema();
    let entities = entities_from_json(workload["entities"].clone(), Some(&schema))?;
    let requests = workload["requests"]
        .as_array()
        .ok_or("`requests` must be an array")?;

    // As the bindings do it: each request arrives as JSON and is checked against the schema.
    let per_call = median_per_call(requests.len(), || {
        for r in requests {
            let request = Request::from_json(r, Some(&schema)).expect("valid request");
            std::hint::black_box(engine.authorize(&request, &entities));
        }
    });
    println!("rust_authorize_from_json_us={:.2}", per_call * 1e6);
    Ok(())
}

fn median_per_call(calls: usize, mut pass: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            pass();
            start.elapsed().as_secs_f64() / calls as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
