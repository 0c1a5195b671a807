//! Evaluation harness: generates a seeded stream with labelled attacks (or reads an RBA CSV),
//! runs the model and the trivial baseline, and prints AUC, TPR at fixed FPR and the share of
//! legitimate logins challenged.
//!
//! ```text
//! cargo run --release -p strongroom-anomaly --example evaluate -- [--users N] [--days D] [--seed S]
//! cargo run --release -p strongroom-anomaly --example evaluate -- --rba rba-dataset.csv [--warmup-until UNIX_SECONDS]
//! ```

use std::time::Instant;

use strongroom_anomaly::eval::{self, NoveltyBaseline, StreamConfig};
use strongroom_anomaly::{Config, Model, Timestamp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let stream = if let Some(path) = value("--rba") {
        let warmup = value("--warmup-until")
            .map(|v| v.parse())
            .transpose()?
            .unwrap_or(0);
        let file = std::io::BufReader::new(std::fs::File::open(path)?);
        eval::read_rba_csv(file, Timestamp::from_unix_seconds(warmup))?
    } else {
        let mut config = StreamConfig::default();
        if let Some(v) = value("--users") {
            config.users = v.parse()?;
        }
        if let Some(v) = value("--days") {
            config.days = v.parse()?;
        }
        if let Some(v) = value("--seed") {
            config.seed = v.parse()?;
        }
        if let Some(v) = value("--warmup-days") {
            config.warmup_days = v.parse()?;
        }
        eprintln!(
            "generating {} users x {} days (seed {})",
            config.users, config.days, config.seed
        );
        eval::generate(&config)?
    };
    println!("stream: {} events", stream.events.len());

    let mut model = Model::new(Config::default())?;
    let started = Instant::now();
    let report = eval::evaluate(&mut model, &stream)?;
    let elapsed = started.elapsed().as_secs_f64();
    println!("\n== strongroom-anomaly ==");
    print!("{report}");
    println!(
        "throughput           {:.0} events/s (score_and_observe, one core)",
        stream.events.len() as f64 / elapsed
    );
    println!(
        "memory (estimate)    {:.1} MiB for {} users",
        model.approx_memory_bytes() as f64 / (1 << 20) as f64,
        model.user_count()
    );

    let baseline = NoveltyBaseline::default().evaluate(&stream);
    println!("\n== trivial baseline: count of never-seen IP/ASN/country/UA/device ==");
    print!("{baseline}");
    Ok(())
}
