//! `check()` latency and `grant()` throughput, in memory and (with `--features postgres` and
//! `STRONGROOM_TEST_POSTGRES_URL` set) on PostgreSQL, each next to the raw store read a check
//! cannot avoid, with the ratio printed.
//!
//! `cargo bench -p strongroom-consent --features postgres --bench ledger`

use criterion::Criterion;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use strongroom_consent::{
    ConsentLedger, ConsentStoreExt, Controller, DynConsentStore, Grant, LedgerKey, LegalBasis,
    MemoryConsentStore, PolicyVersion, Purpose, Timestamp,
};
use tokio::runtime::Runtime;

/// Records in the benchmarked subject's chain (grants and withdrawals alternating).
const CHAIN_LEN: usize = 10;

fn ledger(store: Arc<DynConsentStore>) -> ConsentLedger {
    let purpose = Purpose::new(
        "newsletter",
        "Monthly newsletter",
        LegalBasis::Consent,
        PolicyVersion::new("1", "We e-mail you once a month.", Timestamp::UNIX_EPOCH)
            .expect("policy"),
    )
    .expect("purpose");
    ConsentLedger::builder(store, LedgerKey::from_bytes([7; 32]))
        .controller(Controller::new("Example GmbH", "DPO", "dpo@example.com"))
        .jurisdiction("EU")
        .purpose(purpose)
        .build()
        .expect("ledger")
}

fn grant() -> Grant {
    Grant::new("newsletter", "1", "web-form").ttl(Duration::from_secs(86_400))
}

async fn seed(ledger: &ConsentLedger, subject: &str) {
    for i in 0..CHAIN_LEN {
        if i % 2 == 0 {
            ledger.grant(subject, grant()).await.expect("grant");
        } else {
            ledger
                .withdraw(subject, "newsletter", "")
                .await
                .expect("withdraw");
        }
    }
}

/// Mean time per call over `n` calls, after a warm-up.
fn mean<F: FnMut()>(n: u32, mut f: F) -> Duration {
    for _ in 0..n / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed() / n
}

struct Backend {
    name: &'static str,
    store: Arc<DynConsentStore>,
    ratio_iterations: u32,
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, backend: &Backend, rows: &mut Vec<String>) {
    let ledger = ledger(backend.store.clone());
    let subject = "bench-subject@example.com";
    rt.block_on(seed(&ledger, subject));
    let chain = ledger.subject_digest(subject).expect("digest");
    let store = backend.store.clone();

    let mut group = c.benchmark_group(backend.name);
    group.bench_function("check", |b| {
        b.to_async(rt).iter(|| async {
            black_box(
                ledger
                    .check_now(subject, "newsletter")
                    .await
                    .expect("check"),
            )
        })
    });
    group.bench_function("raw_read_all", |b| {
        b.to_async(rt)
            .iter(|| async { black_box(store.read_all(&chain).await.expect("read")) })
    });
    let counter = AtomicU64::new(0);
    group.bench_function("grant_new_subject", |b| {
        b.to_async(rt).iter(|| async {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            black_box(
                ledger
                    .grant(&format!("s{n}"), grant())
                    .await
                    .expect("grant"),
            )
        })
    });
    group.finish();

    let n = backend.ratio_iterations;
    let check = mean(n, || {
        rt.block_on(ledger.check_now(subject, "newsletter"))
            .expect("check");
    });
    let raw = mean(n, || {
        rt.block_on(store.read_all(&chain)).expect("read");
    });
    let grant_time = mean(n / 4, || {
        let k = counter.fetch_add(1, Ordering::Relaxed);
        rt.block_on(ledger.grant(&format!("r{k}"), grant()))
            .expect("grant");
    });
    let ratio = check.as_secs_f64() / raw.as_secs_f64();
    println!(
        "{}: check {:?} vs raw read of the {CHAIN_LEN}-record chain {:?} = {ratio:.2}x; grant {:?} ({:.0}/s)",
        backend.name,
        check,
        raw,
        grant_time,
        1.0 / grant_time.as_secs_f64()
    );
    rows.push(format!(
        "| check() on a {CHAIN_LEN}-record chain, {} | {:.1} µs | raw ConsentStore::read_all {:.1} µs | {ratio:.2}× |",
        backend.name,
        check.as_secs_f64() * 1e6,
        raw.as_secs_f64() * 1e6
    ));
    rows.push(format!(
        "| grant() to a new subject, {} | {:.0} grants/s ({:.1} µs) | | |",
        backend.name,
        1.0 / grant_time.as_secs_f64(),
        grant_time.as_secs_f64() * 1e6
    ));
}

/// A store plus the cleanup that drops its schema.
type Provisioned = (Arc<DynConsentStore>, Box<dyn FnOnce(&Runtime)>);

#[cfg(feature = "postgres")]
fn postgres(rt: &Runtime) -> Option<Provisioned> {
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use std::str::FromStr;
    let url = std::env::var("STRONGROOM_TEST_POSTGRES_URL").ok()?;
    rt.block_on(async {
        let schema = format!("consent_bench_{}", std::process::id());
        let admin = PgPoolOptions::new().connect(&url).await.expect("connect");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE"
        )))
        .execute(&admin)
        .await
        .expect("drop schema");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await
            .expect("create schema");
        let options = PgConnectOptions::from_str(&url)
            .expect("url")
            .options([("search_path", schema.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .expect("connect");
        let store = strongroom_consent::PostgresConsentStore::with_pool(pool)
            .await
            .expect("migrate");
        let cleanup = move |rt: &Runtime| {
            rt.block_on(async {
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                    .execute(&admin)
                    .await
                    .expect("drop schema");
            })
        };
        Some((
            Arc::new(store) as Arc<DynConsentStore>,
            Box::new(cleanup) as Box<dyn FnOnce(&Runtime)>,
        ))
    })
}

#[cfg(not(feature = "postgres"))]
fn postgres(_rt: &Runtime) -> Option<Provisioned> {
    None
}

fn main() {
    let rt = Runtime::new().expect("runtime");
    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut backends = vec![Backend {
        name: "memory",
        store: Arc::new(MemoryConsentStore::new()),
        ratio_iterations: 20_000,
    }];
    let mut cleanup = None;
    match postgres(&rt) {
        Some((store, drop_schema)) => {
            cleanup = Some(drop_schema);
            backends.push(Backend {
                name: "PostgreSQL 15",
                store,
                ratio_iterations: 2_000,
            })
        }
        None => println!(
            "note: PostgreSQL skipped (needs --features postgres and STRONGROOM_TEST_POSTGRES_URL)"
        ),
    }
    let mut rows = Vec::new();
    for backend in &backends {
        bench_backend(&mut c, &rt, backend, &mut rows);
    }
    println!("\nBENCHMARKS.md rows:");
    for row in rows {
        println!("{row}");
    }
    if let Some(cleanup) = cleanup {
        cleanup(&rt);
    }
    c.final_summary();
}
