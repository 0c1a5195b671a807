//! Refresh-token rotation: single-client latency on every backend (criterion), rotation
//! throughput on PostgreSQL with 16 concurrent clients next to pgbench's built-in
//! simple-update on the same database in the same run, and memory per session in the memory
//! store. `cargo bench -p strongroom-session-store --all-features --bench refresh`
//! (PostgreSQL parts need STRONGROOM_TEST_POSTGRES_URL and `pgbench` on PATH.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::Criterion;
use strongroom_session_store::{
    Algorithm, ClientInfo, DynSessionStore, KeyRing, Login, MemorySessionStore, SessionManager,
    TokenPolicy,
};

const CLIENTS: usize = 16;

fn manager(store: Arc<DynSessionStore>) -> Arc<SessionManager> {
    let keys = KeyRing::generate(Algorithm::EdDSA).unwrap();
    let policy = TokenPolicy::new("https://auth.example", "files-api");
    Arc::new(
        SessionManager::builder(store, keys, policy)
            .build()
            .unwrap(),
    )
}

fn bench_latency(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    store: Arc<DynSessionStore>,
) {
    let manager = manager(store);
    let client = ClientInfo::new();
    let mut token = rt
        .block_on(manager.login(Login::new(format!("bench-{name}"))))
        .unwrap()
        .refresh_token;
    c.bench_function(&format!("refresh/{name}"), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    token = manager
                        .refresh(token.as_str(), &client)
                        .await
                        .unwrap()
                        .refresh_token;
                }
                start.elapsed()
            })
        })
    });
}

/// `CLIENTS` tasks, each refreshing its own session in a loop for `duration`.
async fn rotation_throughput(manager: Arc<SessionManager>, duration: Duration) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let manager = manager.clone();
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let client = ClientInfo::new();
            let mut token = manager
                .login(Login::new(format!("tput-{i}")))
                .await
                .unwrap()
                .refresh_token;
            while Instant::now() < deadline {
                token = manager
                    .refresh(token.as_str(), &client)
                    .await
                    .unwrap()
                    .refresh_token;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let start = Instant::now();
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

#[cfg(feature = "postgres")]
mod pg {
    use std::process::Command;
    use std::str::FromStr as _;

    use rand::RngCore as _;
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use strongroom_session_store::PostgresSessionStore;

    pub struct Schema {
        pub url: String,
        pub name: String,
    }

    pub async fn fresh_schema(url: &str) -> Schema {
        let mut suffix = [0u8; 6];
        rand::rng().fill_bytes(&mut suffix);
        let name = format!("session_store_bench_{}", hex::encode(suffix));
        let admin = sqlx::PgPool::connect(url)
            .await
            .expect("PostgreSQL reachable");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&admin)
            .await
            .unwrap();
        Schema {
            url: url.to_owned(),
            name,
        }
    }

    pub async fn store(schema: &Schema, connections: u32) -> PostgresSessionStore {
        let options = PgConnectOptions::from_str(&schema.url)
            .unwrap()
            .options([("search_path", schema.name.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(connections)
            .connect_with(options)
            .await
            .unwrap();
        PostgresSessionStore::from_pool(pool).await.unwrap()
    }

    pub async fn drop_schema(schema: &Schema) {
        let admin = sqlx::PgPool::connect(&schema.url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            schema.name
        )))
        .execute(&admin)
        .await
        .unwrap();
    }

    /// pgbench's built-in simple-update script (`-N`), 16 clients, in its own schema.
    pub fn pgbench_tps(schema: &Schema, clients: usize, secs: u64) -> Option<f64> {
        let run = |args: &[&str]| {
            Command::new("pgbench")
                .args(args)
                .arg(&schema.url)
                .env("PGOPTIONS", format!("-c search_path={}", schema.name))
                .output()
        };
        let init = run(&["-i", "-q", "-s", "1"]).ok()?;
        if !init.status.success() {
            eprintln!(
                "pgbench -i failed: {}",
                String::from_utf8_lossy(&init.stderr)
            );
            return None;
        }
        let clients = clients.to_string();
        let secs = secs.to_string();
        let out = run(&[
            "-n",
            "-b",
            "simple-update",
            "-c",
            &clients,
            "-j",
            "2",
            "-T",
            &secs,
        ])
        .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find(|l| l.starts_with("tps = "))
            .and_then(|l| l["tps = ".len()..].split_whitespace().next()?.parse().ok())
    }
}

/// Resident memory of this process in bytes (Linux).
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

async fn memory_per_session(sessions: usize) -> Option<f64> {
    let store: Arc<DynSessionStore> = Arc::new(MemorySessionStore::new());
    let manager = manager(store);
    let client = ClientInfo::new()
        .device_id("laptop-7f3a9c")
        .device_name("Alice's laptop")
        .ip("203.0.113.9".parse().unwrap())
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0");
    let before = rss_bytes()?;
    for i in 0..sessions {
        let login = Login::new(format!("user-{i:08}"))
            .roles(["editor"])
            .amr(["pwd"])
            .client(client.clone());
        manager.login(login).await.unwrap();
    }
    let after = rss_bytes()?;
    Some(after.saturating_sub(before) as f64 / sessions as f64)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut criterion = Criterion::default().configure_from_args();
    bench_latency(
        &mut criterion,
        &rt,
        "memory",
        Arc::new(MemorySessionStore::new()),
    );

    #[cfg(feature = "sqlite")]
    let sqlite_dir = tempfile::tempdir().unwrap();
    #[cfg(feature = "sqlite")]
    {
        let store = rt
            .block_on(strongroom_session_store::SqliteSessionStore::open(
                sqlite_dir.path().join("bench.db"),
            ))
            .unwrap();
        bench_latency(&mut criterion, &rt, "sqlite", Arc::new(store));
    }

    #[cfg(feature = "postgres")]
    let pg_url = std::env::var("STRONGROOM_TEST_POSTGRES_URL").ok();
    #[cfg(feature = "postgres")]
    if let Some(url) = &pg_url {
        let schema = rt.block_on(pg::fresh_schema(url));
        let store = rt.block_on(pg::store(&schema, 4));
        bench_latency(&mut criterion, &rt, "postgres", Arc::new(store));
        rt.block_on(pg::drop_schema(&schema));
    }
    criterion.final_summary();

    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --benches`: the criterion smoke run above is enough.
    }
    let secs: u64 = std::env::var("STRONGROOM_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let memory_tps = rt.block_on(rotation_throughput(
        manager(Arc::new(MemorySessionStore::new())),
        Duration::from_secs(secs),
    ));
    println!("THROUGHPUT refresh/memory, {CLIENTS} clients: {memory_tps:.0} rotations/s");

    #[cfg(feature = "postgres")]
    match &pg_url {
        Some(url) => {
            let schema = rt.block_on(pg::fresh_schema(url));
            let store = rt.block_on(pg::store(&schema, CLIENTS as u32));
            let ours = rt.block_on(rotation_throughput(
                manager(Arc::new(store)),
                Duration::from_secs(secs),
            ));
            let peer = pg::pgbench_tps(&schema, CLIENTS, secs);
            rt.block_on(pg::drop_schema(&schema));
            match peer {
                Some(peer) => println!(
                    "RATIO refresh/postgres, {CLIENTS} clients: strongroom {ours:.0} rotations/s, \
                     pgbench simple-update {peer:.0} tps, throughput ratio {:.2}×",
                    ours / peer
                ),
                None => println!(
                    "THROUGHPUT refresh/postgres: {ours:.0} rotations/s (pgbench unavailable)"
                ),
            }
        }
        None => println!("note: STRONGROOM_TEST_POSTGRES_URL unset; PostgreSQL throughput skipped"),
    }

    let sessions = 100_000;
    match rt.block_on(memory_per_session(sessions)) {
        Some(bytes) => println!(
            "MEMORY MemorySessionStore: {bytes:.0} bytes per session (RSS delta over {sessions} logins)"
        ),
        None => println!("MEMORY: /proc/self/statm unavailable"),
    }
}
