//! Appends events to a hash-chained audit log, queries it page by page, takes a signed
//! checkpoint, applies retention and verifies what remains.
//!
//! `cargo run -p strongroom-audit --example audit_log`

use std::sync::Arc;

use strongroom_audit::{
    Actor, AuditEvent, AuditLog, AuditQuery, ChainId, CheckpointSigner, MemoryAuditStore, Outcome,
    Resource, Timestamp,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), strongroom_audit::Error> {
    let signer = CheckpointSigner::generate();
    println!(
        "checkpoint key id {} (public key {})",
        signer.key_id(),
        hex(&signer.public_key())
    );
    let log = AuditLog::builder(
        Arc::new(MemoryAuditStore::new()),
        ChainId::new("example")?,
        signer,
    )
    .checkpoint_every(10)
    .build();

    let start = Timestamp::now().as_second() - 3600;
    for i in 0..25 {
        let (actor, action, outcome) = match i % 3 {
            0 => (
                Actor::User("alice".into()),
                "file.uploaded",
                Outcome::Success,
            ),
            1 => (
                Actor::User("bob".into()),
                "file.downloaded",
                Outcome::Success,
            ),
            _ => (Actor::Anonymous, "auth.login", Outcome::Failure),
        };
        let event =
            AuditEvent::builder(actor, action, Resource::new("file", format!("f{}", i % 4))?)
                .outcome(outcome)
                .time(Timestamp::from_second(start + i * 60).expect("valid time"))
                .build()?;
        log.append(event).await?;
    }

    let mut query = AuditQuery::new().action_prefix("file").limit(5);
    let mut page_number = 1;
    loop {
        let page = log.query(&query).await?;
        let seqs: Vec<u64> = page.records.iter().map(|r| r.seq).collect();
        println!("page {page_number}: {seqs:?}");
        match page.next {
            Some(cursor) => query = query.after(cursor),
            None => break,
        }
        page_number += 1;
    }

    let checkpoint = log.checkpoint().await?;
    println!(
        "checkpoint: {} records, head {}",
        checkpoint.seq, checkpoint.head
    );
    let retention = log
        .delete_before(Timestamp::from_second(start + 10 * 60).expect("valid time"))
        .await?;
    println!("retention deleted {} records", retention.deleted);
    let report = log.verify(..).await?;
    println!(
        "verified records {}..={} ({} checkpoints, anchor {:?})",
        report.first, report.last, report.checkpoints, report.anchor
    );
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
