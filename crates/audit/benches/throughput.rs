//! Throughput of the audit crate next to its plain peers, in one run:
//!
//! - chained, batched append into SQLite and PostgreSQL vs a plain batched INSERT of the same
//!   rows into an identical table (no hashing, no head lock, no duplicate check);
//! - verify throughput;
//! - webhook deliveries/s to a local HTTP receiver;
//! - end to end: PostgreSQL outbox -> relay -> Kafka -> ingester -> PostgreSQL audit log, events/s
//!   and latency percentiles from commit to stored.
//!
//! `cargo bench -p strongroom-audit --all-features --bench throughput`
//! PostgreSQL and Kafka parts read STRONGROOM_TEST_POSTGRES_URL / STRONGROOM_TEST_KAFKA_BROKERS
//! (`eval "$(scripts/services.sh env)"`) and are skipped when unset.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder, Sqlite, SqlitePool};
use strongroom_audit::{
    Actor, AuditEvent, AuditLog, AuditRecord, ChainId, CheckpointSigner, DynAuditStore,
    EventPublisher, IngestConfig, KafkaIngester, KafkaPublisher, MemoryAuditStore, OutboxRelay,
    PostgresAuditStore, PostgresOutbox, RelayConfig, Resource, SqliteAuditStore, SsrfGuard, Uuid,
    WebhookConfig, WebhookDispatcher, WebhookSecret,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const EVENTS: usize = 20_000;
const BATCH: usize = 1_000;
const RUNS: usize = 3;

fn events(n: usize) -> Vec<AuditEvent> {
    (0..n)
        .map(|i| {
            AuditEvent::builder(
                Actor::User(format!("user{}", i % 97)),
                if i % 3 == 0 {
                    "file.uploaded"
                } else {
                    "file.downloaded"
                },
                Resource::new("file", format!("file-{}", i % 1013)).unwrap(),
            )
            .ip("198.51.100.7".parse().unwrap())
            .user_agent("Mozilla/5.0 (X11; Linux x86_64) bench")
            .request_id(format!("req-{i}"))
            .attribute("bytes", i * 17)
            .attribute("folder", "projects/2026/q4")
            .build()
            .unwrap()
        })
        .collect()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

fn row(workload: &str, ours: f64, unit: &str, peer: Option<(&str, f64)>) {
    match peer {
        Some((name, theirs)) => {
            println!(
                "| {workload} | {ours:.0} {unit} | {name}: {theirs:.0} {unit} | {:.2}× |",
                ours / theirs
            )
        }
        None => println!("| {workload} | {ours:.0} {unit} | – | – |"),
    }
}

const PLAIN_DDL: &str = "CREATE TABLE plain_records (chain TEXT NOT NULL, seq BIGINT NOT NULL, event_id TEXT NOT NULL, \
    time_us BIGINT NOT NULL, actor_kind TEXT NOT NULL, actor_id TEXT NOT NULL, action TEXT NOT NULL, \
    resource_type TEXT NOT NULL, resource_id TEXT NOT NULL, outcome TEXT NOT NULL, event TEXT NOT NULL, \
    prev_hash BYTEA NOT NULL, hash BYTEA NOT NULL, PRIMARY KEY (chain, seq), UNIQUE (chain, event_id))";
const PLAIN_INDEXES: [&str; 4] = [
    "CREATE INDEX plain_actor ON plain_records (chain, actor_kind, actor_id, seq)",
    "CREATE INDEX plain_resource ON plain_records (chain, resource_type, resource_id, seq)",
    "CREATE INDEX plain_action ON plain_records (chain, action, seq)",
    "CREATE INDEX plain_time ON plain_records (chain, time_us, seq)",
];

macro_rules! push_plain_rows {
    ($qb:expr, $chain:expr, $records:expr) => {{
        $qb.push(
            "INSERT INTO plain_records (chain, seq, event_id, time_us, actor_kind, actor_id, action, \
             resource_type, resource_id, outcome, event, prev_hash, hash) ",
        );
        $qb.push_values($records.iter(), |mut b, r: &AuditRecord| {
            let e = &r.event;
            b.push_bind($chain.to_owned())
                .push_bind(r.seq as i64)
                .push_bind(e.id().to_string())
                .push_bind(e.time().as_microsecond())
                .push_bind(e.actor().kind().to_owned())
                .push_bind(e.actor().id().to_owned())
                .push_bind(e.action().to_owned())
                .push_bind(e.resource().kind.clone())
                .push_bind(e.resource().id.clone())
                .push_bind(e.outcome().as_str().to_owned())
                .push_bind(e.to_json())
                .push_bind(r.prev_hash.0.to_vec())
                .push_bind(r.hash.0.to_vec());
        });
    }};
}

/// The rows the audit log would write, precomputed, so the peer does only the INSERTs.
fn linked(chain: &ChainId, events: &[AuditEvent]) -> Vec<AuditRecord> {
    let mut head = strongroom_audit::ChainHead {
        seq: 0,
        hash: chain.genesis(),
    };
    events
        .iter()
        .map(|e| {
            let r = AuditRecord::link(head, e.clone());
            head = r.as_head();
            r
        })
        .collect()
}

async fn chained(store: Arc<DynAuditStore>, events: &[AuditEvent]) -> f64 {
    let log = AuditLog::builder(
        store,
        ChainId::new(format!("bench-{}", Uuid::now_v7().simple())).unwrap(),
        CheckpointSigner::generate(),
    )
    .checkpoint_every(10_000)
    .build();
    let start = Instant::now();
    for chunk in events.chunks(BATCH) {
        log.append_batch(chunk.to_vec()).await.unwrap();
    }
    events.len() as f64 / start.elapsed().as_secs_f64()
}

async fn sqlite_pair(events: &[AuditEvent]) {
    let mut ours = Vec::new();
    let mut plain = Vec::new();
    let mut verify = Vec::new();
    for _ in 0..RUNS {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteAuditStore::open(dir.path().join("a.db").to_str().unwrap())
                .await
                .unwrap(),
        );
        ours.push(chained(store.clone(), events).await);

        let chain = ChainId::new("verify").unwrap();
        let log = AuditLog::builder(store.clone(), chain.clone(), CheckpointSigner::generate())
            .checkpoint_every(5000)
            .build();
        for chunk in events.chunks(BATCH) {
            log.append_batch(chunk.to_vec()).await.unwrap();
        }
        let start = Instant::now();
        log.verify(..).await.unwrap();
        verify.push(events.len() as f64 / start.elapsed().as_secs_f64());

        // The peer: same rows, same columns and indexes, in a table of the same database.
        let pool: SqlitePool = store.pool().clone();
        sqlx::query(sqlx::AssertSqlSafe(PLAIN_DDL.replace("BYTEA", "BLOB")))
            .execute(&pool)
            .await
            .unwrap();
        for ddl in PLAIN_INDEXES {
            sqlx::query(ddl).execute(&pool).await.unwrap();
        }
        let records = linked(&ChainId::new("plain").unwrap(), events);
        let start = Instant::now();
        for chunk in records.chunks(BATCH) {
            let mut tx = pool.begin().await.unwrap();
            for sub in chunk.chunks(500) {
                let mut qb = QueryBuilder::<Sqlite>::new("");
                push_plain_rows!(qb, "plain", sub);
                qb.build().execute(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
        plain.push(events.len() as f64 / start.elapsed().as_secs_f64());
    }
    row(
        "SQLite: chained append, batches of 1000 (events/s)",
        median(ours),
        "ev/s",
        Some(("plain batched INSERT, same rows", median(plain))),
    );
    row("SQLite: verify (records/s)", median(verify), "rec/s", None);
}

async fn pg_pool(url: &str) -> PgPool {
    let admin = PgPool::connect(url).await.unwrap();
    let schema = format!("audit_bench_{}", Uuid::now_v7().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .unwrap();
    let options = PgConnectOptions::from_str(url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    PgPoolOptions::new()
        .max_connections(16)
        .connect_with(options)
        .await
        .unwrap()
}

async fn postgres_pair(url: &str, events: &[AuditEvent]) {
    let mut ours = Vec::new();
    let mut plain = Vec::new();
    let mut verify = Vec::new();
    for _ in 0..RUNS {
        let pool = pg_pool(url).await;
        let store = Arc::new(PostgresAuditStore::new(pool.clone()).await.unwrap());
        ours.push(chained(store.clone(), events).await);

        let log = AuditLog::builder(
            store.clone(),
            ChainId::new("verify").unwrap(),
            CheckpointSigner::generate(),
        )
        .build();
        for chunk in events.chunks(BATCH) {
            log.append_batch(chunk.to_vec()).await.unwrap();
        }
        let start = Instant::now();
        log.verify(..).await.unwrap();
        verify.push(events.len() as f64 / start.elapsed().as_secs_f64());

        sqlx::query(PLAIN_DDL).execute(&pool).await.unwrap();
        for ddl in PLAIN_INDEXES {
            sqlx::query(ddl).execute(&pool).await.unwrap();
        }
        let records = linked(&ChainId::new("plain").unwrap(), events);
        let start = Instant::now();
        for chunk in records.chunks(BATCH) {
            let mut tx = pool.begin().await.unwrap();
            for sub in chunk.chunks(500) {
                let mut qb = QueryBuilder::<Postgres>::new("");
                push_plain_rows!(qb, "plain", sub);
                qb.build().execute(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
        plain.push(events.len() as f64 / start.elapsed().as_secs_f64());
    }
    row(
        "PostgreSQL: chained append, batches of 1000 (events/s)",
        median(ours),
        "ev/s",
        Some(("plain batched INSERT, same rows", median(plain))),
    );
    row(
        "PostgreSQL: verify (records/s)",
        median(verify),
        "rec/s",
        None,
    );
}

async fn memory_verify(events: &[AuditEvent]) {
    let log = AuditLog::builder(
        Arc::new(MemoryAuditStore::new()),
        ChainId::new("m").unwrap(),
        CheckpointSigner::generate(),
    )
    .build();
    for chunk in events.chunks(BATCH) {
        log.append_batch(chunk.to_vec()).await.unwrap();
    }
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        log.verify(..).await.unwrap();
        runs.push(events.len() as f64 / start.elapsed().as_secs_f64());
    }
    row("memory: verify (records/s)", median(runs), "rec/s", None);
}

/// A keep-alive HTTP/1.1 receiver answering 200 to everything.
async fn receiver() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut reader = BufReader::new(read);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let mut len = 0;
                    loop {
                        let mut h = String::new();
                        reader.read_line(&mut h).await.unwrap();
                        if h.trim_end().is_empty() {
                            break;
                        }
                        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; len];
                    reader.read_exact(&mut body).await.unwrap();
                    if write
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    url
}

async fn webhooks(events: &[AuditEvent]) {
    let url = receiver().await;
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let d = WebhookDispatcher::new(WebhookConfig {
            ssrf: SsrfGuard::strict().allow_loopback(),
            ..WebhookConfig::default()
        })
        .unwrap();
        d.add_endpoint(&url, WebhookSecret::generate(), &[])
            .unwrap();
        d.publish(&events[..5000]).await.unwrap();
        let start = Instant::now();
        let round = d.deliver_due().await;
        assert_eq!(round.delivered, 5000);
        runs.push(5000.0 / start.elapsed().as_secs_f64());
    }
    row(
        "webhooks: signed deliveries to a local receiver, 32 in flight (deliveries/s)",
        median(runs),
        "del/s",
        None,
    );
}

async fn pipeline(url: &str, brokers: &str) {
    use rdkafka::ClientConfig;
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let topic = format!("audit-bench-{}", Uuid::now_v7().simple());
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    admin
        .create_topics(
            &[NewTopic::new(&topic, 4, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .unwrap();

    let app = pg_pool(url).await;
    let outbox = Arc::new(PostgresOutbox::new(app.clone()).await.unwrap());
    let audit = Arc::new(PostgresAuditStore::new(pg_pool(url).await).await.unwrap());
    let log = AuditLog::builder(
        audit.clone(),
        ChainId::new("pipeline").unwrap(),
        CheckpointSigner::generate(),
    )
    .build();
    let relay = OutboxRelay::new(
        outbox.clone(),
        Arc::new(KafkaPublisher::new(brokers, &topic).unwrap()),
    )
    .with_config(RelayConfig {
        batch_size: 1000,
        idle_wait: Duration::from_millis(5),
        ..RelayConfig::default()
    })
    .unwrap();
    let ingester = KafkaIngester::new(
        brokers,
        &format!("bench-{}", Uuid::now_v7().simple()),
        &topic,
        log.clone(),
        IngestConfig {
            batch_size: 5000,
            batch_wait: Duration::from_millis(20),
        },
    )
    .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let relay_task = {
        let stop = stop.clone();
        tokio::spawn(async move {
            relay
                .run(async move {
                    while !stop.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                })
                .await;
        })
    };
    // Warm up the consumer group before measuring.
    let warm = events(1);
    let mut tx = app.begin().await.unwrap();
    outbox.enqueue(&mut tx, &warm[0]).await.unwrap();
    tx.commit().await.unwrap();
    while ingester.metrics().stored < 1 {
        ingester
            .ingest_batch(Duration::from_millis(200))
            .await
            .unwrap();
    }

    // Steady load: 10 events per transaction, 20,000 events, as fast as the producer can commit.
    let total = 20_000;
    let load = events(total);
    let producer = {
        let outbox = outbox.clone();
        let app = app.clone();
        let load = load.clone();
        tokio::spawn(async move {
            let mut committed = HashMap::new();
            for chunk in load.chunks(10) {
                let mut tx = app.begin().await.unwrap();
                for e in chunk {
                    outbox.enqueue(&mut tx, e).await.unwrap();
                }
                tx.commit().await.unwrap();
                let now = Instant::now();
                for e in chunk {
                    committed.insert(e.id(), now);
                }
            }
            committed
        })
    };
    let start = Instant::now();
    let mut stored_at: HashMap<Uuid, Instant> = HashMap::new();
    let mut seen = 1;
    while stored_at.len() < total {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "pipeline stalled at {}",
            stored_at.len()
        );
        ingester
            .ingest_batch(Duration::from_millis(100))
            .await
            .unwrap();
        let now = Instant::now();
        loop {
            let records = strongroom_audit::AuditStore::read(&*audit, log.chain(), seen + 1, 5000)
                .await
                .unwrap();
            if records.is_empty() {
                break;
            }
            seen = records.last().unwrap().seq;
            for r in records {
                stored_at.insert(r.event.id(), now);
            }
        }
    }
    let elapsed = start.elapsed();
    let committed = producer.await.unwrap();
    stop.store(true, Ordering::Relaxed);
    relay_task.await.unwrap();
    let mut latencies: Vec<f64> = load
        .iter()
        .map(|e| {
            stored_at[&e.id()]
                .saturating_duration_since(committed[&e.id()])
                .as_secs_f64()
                * 1000.0
        })
        .collect();
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize];
    row(
        "end to end: PG outbox -> relay -> Kafka -> ingester -> PG audit log (events/s)",
        total as f64 / elapsed.as_secs_f64(),
        "ev/s",
        None,
    );
    println!(
        "| end to end latency, commit to stored (ms) | p50 {:.0} / p99 {:.0} / max {:.0} | – | – |",
        p(0.5),
        p(0.99),
        p(1.0)
    );
    log.verify(..).await.unwrap();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let postgres = std::env::var("STRONGROOM_TEST_POSTGRES_URL").ok();
    let kafka = std::env::var("STRONGROOM_TEST_KAFKA_BROKERS").ok();
    let events = events(EVENTS);
    println!("{EVENTS} events, batches of {BATCH}, median of {RUNS} runs");
    println!("| workload | ours | peer | ratio |");
    println!("| --- | --- | --- | --- |");
    sqlite_pair(&events).await;
    match &postgres {
        Some(url) => postgres_pair(url, &events).await,
        None => println!("(PostgreSQL skipped: STRONGROOM_TEST_POSTGRES_URL unset)"),
    }
    memory_verify(&events).await;
    webhooks(&events).await;
    match (&postgres, &kafka) {
        (Some(url), Some(brokers)) => pipeline(url, brokers).await,
        _ => println!("(pipeline skipped: PostgreSQL or Kafka unset)"),
    }
}
