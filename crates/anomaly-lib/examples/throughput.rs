//! Throughput and memory: `score_and_observe` over a JSON-lines stream written by
//! `export_stream` (one core, parsing excluded), with the AUC of the same unsupervised run; and
//! memory per user with 100k users.
//!
//! ```text
//! cargo run --release -p strongroom-anomaly --example throughput -- /tmp/stream.jsonl
//! cargo run --release -p strongroom-anomaly --example throughput -- --memory [--users 100000]
//! ```

use std::io::BufRead;
use std::time::Instant;

use strongroom_anomaly::eval::{self, StreamConfig, roc_auc, tpr_at_fpr};
use strongroom_anomaly::{Config, Event, Model};

#[derive(serde::Deserialize)]
struct Line {
    event: Event,
    attack: Option<String>,
    scored: bool,
}

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn memory(users: usize) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = StreamConfig::default();
    config.users = users;
    config.days = 10;
    config.warmup_days = 1;
    config.attacked_share = 0.0;
    config.exfiltration_share = 0.0;
    let stream = eval::generate(&config)?;
    let before = resident_bytes();
    let mut model = Model::new(Config::default())?;
    for l in &stream.events {
        model.score_and_observe(&l.event)?;
    }
    let after = resident_bytes();
    let n = model.user_count().max(1);
    println!(
        "users {} events {}",
        model.user_count(),
        stream.events.len()
    );
    println!(
        "memory_per_user_estimate_bytes={}",
        model.approx_memory_bytes() / n
    );
    if let (Some(b), Some(a)) = (before, after) {
        println!(
            "memory_per_user_rss_bytes={}",
            a.saturating_sub(b) / n as u64
        );
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--memory") {
        let users = args
            .iter()
            .position(|a| a == "--users")
            .and_then(|i| args.get(i + 1))
            .map_or(Ok(100_000), |v| v.parse())?;
        return memory(users);
    }
    let path = args
        .first()
        .ok_or("usage: throughput STREAM.jsonl | --memory")?;
    let mut lines = Vec::new();
    for line in std::io::BufReader::new(std::fs::File::open(path)?).lines() {
        lines.push(serde_json::from_str::<Line>(&line?)?);
    }
    let mut model = Model::new(Config::default())?;
    let mut scores = Vec::with_capacity(lines.len());
    let started = Instant::now();
    for l in &lines {
        scores.push(model.score_and_observe(&l.event)?.score);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (s, y): (Vec<f64>, Vec<bool>) = lines
        .iter()
        .zip(&scores)
        .filter(|(l, _)| l.scored)
        .map(|(l, s)| (*s, l.attack.is_some()))
        .unzip();
    println!("events={} seconds={elapsed:.3}", lines.len());
    println!("events_per_sec={:.0}", lines.len() as f64 / elapsed);
    println!("auc={:.4}", roc_auc(&s, &y).unwrap_or(f64::NAN));
    println!(
        "tpr_at_1pct_fpr={:.4}",
        tpr_at_fpr(&s, &y, 0.01).unwrap_or(f64::NAN)
    );
    Ok(())
}
