//! Writes a generated stream as JSON lines, one `{"event": .., "attack": .., "scored": ..}` per
//! event (`scored` is false during warm-up), for comparing with other tools on the same data.
//!
//! ```text
//! cargo run --release -p strongroom-anomaly --example export_stream -- --out /tmp/stream.jsonl [--users N] [--days D] [--seed S]
//! ```

use std::io::{BufWriter, Write};

use strongroom_anomaly::eval::{self, StreamConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let mut config = StreamConfig::default();
    if let Some(v) = value("--users") {
        config.users = v.parse()?;
    }
    if let Some(v) = value("--days") {
        config.days = v.parse()?;
    }
    if let Some(v) = value("--warmup-days") {
        config.warmup_days = v.parse()?;
    }
    if let Some(v) = value("--seed") {
        config.seed = v.parse()?;
    }
    let out = value("--out").ok_or("--out PATH is required")?;
    let stream = eval::generate(&config)?;
    let mut w = BufWriter::new(std::fs::File::create(&out)?);
    for l in &stream.events {
        let line = serde_json::json!({
            "event": l.event,
            "attack": l.attack.map(|k| k.name()),
            "scored": l.event.time >= stream.warmup_end,
        });
        serde_json::to_writer(&mut w, &line)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    let attacks = stream.events.iter().filter(|l| l.attack.is_some()).count();
    eprintln!(
        "wrote {} events ({attacks} attack) to {out}",
        stream.events.len()
    );
    Ok(())
}
