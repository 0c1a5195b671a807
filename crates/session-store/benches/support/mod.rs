// Shared by the benches: criterion estimates, interleaved A/B timing and ratio lines.

use std::path::PathBuf;

/// Where criterion writes its results (same lookup order as criterion itself, minus the
/// `cargo metadata` fallback).
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("criterion")
}

/// Mean time per iteration in nanoseconds of `group/function`, if criterion measured it.
pub fn mean_ns(group: &str, function: &str) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(function)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

/// Prints `group: ours X, peer Y, ratio Z×` (ratio = ours / peer time; below 1 is faster).
pub fn print_ratio(group: &str, ours: &str, peer: &str) {
    match (mean_ns(group, ours), mean_ns(group, peer)) {
        (Some(a), Some(b)) => println!(
            "RATIO {group}: {ours} {:.2} µs, {peer} {:.2} µs, time ratio {:.2}×",
            a / 1e3,
            b / 1e3,
            a / b
        ),
        _ => println!("RATIO {group}: no saved estimates (run with `cargo bench`)"),
    }
}

/// Interleaved A/B timing: `rounds` alternating batches of `batch` calls each, so that load
/// from other processes hits both sides alike. Returns the median ns per call of each side and
/// the median of the per-round ratios (each ratio compares two adjacent batches, which cancels
/// drift in machine load).
pub fn interleaved(
    rounds: usize,
    batch: usize,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> (f64, f64, f64) {
    let time = |f: &mut dyn FnMut()| {
        let start = std::time::Instant::now();
        for _ in 0..batch {
            f();
        }
        start.elapsed().as_nanos() as f64 / batch as f64
    };
    let (mut ta, mut tb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which side goes first so neither always runs on a warmer cache.
        let (x, y) = if round % 2 == 0 {
            let x = time(&mut a);
            (x, time(&mut b))
        } else {
            let y = time(&mut b);
            (time(&mut a), y)
        };
        ta.push(x);
        tb.push(y);
        ratios.push(x / y);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut ta), median(&mut tb), median(&mut ratios))
}

/// Prints an interleaved A/B result as a ratio line.
pub fn print_interleaved(name: &str, ours: &str, peer: &str, (a, b, ratio): (f64, f64, f64)) {
    println!(
        "RATIO {name} (interleaved): {ours} {:.2} µs, {peer} {:.2} µs, median paired time ratio {ratio:.2}×",
        a / 1e3,
        b / 1e3,
    );
}
