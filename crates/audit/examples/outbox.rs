//! The transactional outbox: an application writes its own row and the event in one SQLite
//! transaction; a relay publishes committed events to an in-process bus and to an audit log.
//!
//! `cargo run -p strongroom-audit --features sqlite --example outbox`

use std::sync::Arc;

use strongroom_audit::{
    Actor, AuditEvent, AuditLog, ChainId, CheckpointSigner, EventPublisher, InProcessBus,
    MemoryAuditStore, OutboxRelay, Resource, Result, SqliteOutbox,
};

/// Sends every event to several publishers.
#[derive(Debug)]
struct FanOut(Vec<Arc<dyn EventPublisher>>);

#[async_trait::async_trait]
impl EventPublisher for FanOut {
    async fn publish(&self, events: &[AuditEvent]) -> Result<()> {
        for publisher in &self.0 {
            publisher.publish(events).await?;
        }
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("app.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("open SQLite");
    sqlx::query("CREATE TABLE files (id TEXT PRIMARY KEY, name TEXT NOT NULL)")
        .execute(&pool)
        .await
        .expect("schema");
    let outbox = Arc::new(SqliteOutbox::new(pool.clone()).await?);

    for (id, name, commit) in [
        ("f1", "report.pdf", true),
        ("f2", "draft.txt", false),
        ("f3", "photo.jpg", true),
    ] {
        let mut tx = pool.begin().await.expect("begin");
        sqlx::query("INSERT INTO files (id, name) VALUES (?, ?)")
            .bind(id)
            .bind(name)
            .execute(&mut *tx)
            .await
            .expect("insert");
        let event = AuditEvent::builder(
            Actor::User("alice".into()),
            "file.uploaded",
            Resource::new("file", id)?,
        )
        .attribute("name", name)
        .build()?;
        outbox.enqueue(&mut tx, &event).await?;
        if commit {
            tx.commit().await.expect("commit")
        } else {
            tx.rollback().await.expect("rollback")
        }
    }
    println!(
        "pending after the transactions: {} (the rolled-back upload left nothing)",
        outbox.pending().await?
    );

    let bus = Arc::new(InProcessBus::new(64)?);
    let mut subscriber = bus.subscribe();
    let log = AuditLog::builder(
        Arc::new(MemoryAuditStore::new()),
        ChainId::new("app")?,
        CheckpointSigner::generate(),
    )
    .build();
    let relay = OutboxRelay::new(
        outbox.clone(),
        Arc::new(FanOut(vec![bus.clone(), Arc::new(log.clone())])),
    );
    let batch = relay.run_once().await?;
    println!(
        "relay published {} events; pending now {}",
        batch.published,
        outbox.pending().await?
    );
    while let Some(event) = subscriber.try_recv()? {
        println!(
            "bus: {} {} {}",
            event.action(),
            event.resource().id,
            event.id()
        );
    }
    println!("audit log head: {:?}", log.head().await?.seq);
    log.verify(..).await?;
    Ok(())
}
