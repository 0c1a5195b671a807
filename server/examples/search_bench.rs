//! Search latency of the store's index against a plain `LIKE '%term%'` scan of the same
//! tables, in one run: `bench/search.sh` runs it on SQLite and on PostgreSQL.
//!
//! It fills a fresh database with `--users` accounts of `--files` files each (names of two
//! made-up words, a number and an extension; text files with 80 content words drawn with a
//! Zipf-like skew from 5,000), then times `--queries` searches of each kind, each asked of our
//! index ([`SearchIndex::search`], the query `GET /search` runs) and of the scan peer: a name
//! query (five letters inside a name word) and a content query (a mid-frequency content word),
//! within one owner's files and within every owner's. Both return the newest 50 matches; the
//! peer matches names *or* content by `LIKE`, as a search without an index would.
//!
//! Usage: `search_bench <sqlite://path | postgres://…/db> [--users 100] [--files 1000]
//! [--queries 200] [--keep]`. A PostgreSQL URL's database is used as the maintenance connection: a fresh
//! database is created next to it and dropped afterwards (kept with `--keep`, to look into).

use std::time::{Duration, Instant};

use sqlx::{Connection, Executor};
use strongroom::store::search::{Match, Scope, SearchIndex, SearchOrder, SearchQuery, word_list};
use strongroom::store::{Db, SqlStore};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Skewed towards 0: rank r is picked about as often as 1/(r+1).
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        (((n as f64 + 1.0).powf(u) - 1.0) as usize).min(n - 1)
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zi", "pa", "do", "fe", "gu", "hi", "jo",
    "bre", "qua", "str", "ion", "ent", "ar", "or", "el", "an",
];

fn word(rng: &mut Rng) -> String {
    let n = 3 + rng.below(3);
    (0..n)
        .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
        .collect()
}

struct Args {
    url: String,
    users: usize,
    files: usize,
    queries: usize,
    keep: bool,
}

fn args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        url: it
            .next()
            .ok_or("usage: search_bench <database-url> [--users N] [--files N] [--queries N]")?,
        users: 100,
        files: 1000,
        queries: 200,
        keep: false,
    };
    while let Some(flag) = it.next() {
        if flag == "--keep" {
            a.keep = true;
            continue;
        }
        let v: usize = it
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or(format!("{flag} needs a number"))?;
        match flag.as_str() {
            "--users" => a.users = v,
            "--files" => a.files = v,
            "--queries" => a.queries = v,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = args()?;
    let (url, cleanup) = if a.url.starts_with("postgres") {
        let name = format!("srbench_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&a.url).await?;
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await?;
        let (base, _) = a
            .url
            .rsplit_once('/')
            .ok_or("a PostgreSQL URL ends in /database")?;
        (format!("{base}/{name}"), Some(name))
    } else {
        (a.url.clone(), None)
    };
    let result = run(&a, &url).await;
    if let Some(name) = cleanup.filter(|_| !a.keep) {
        let mut admin = sqlx::PgConnection::connect(&a.url).await?;
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE {name} WITH (FORCE)"
            )))
            .await?;
    }
    result
}

async fn run(a: &Args, url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let db = Db::connect(url, 4).await?;
    let backend = match &db {
        Db::Sqlite { .. } => "SQLite",
        Db::Postgres { .. } => "PostgreSQL",
    };
    let mut rng = Rng(0x5EED);
    let name_words: Vec<String> = (0..2000).map(|_| word(&mut rng)).collect();
    let content_words: Vec<String> = (0..5000).map(|_| word(&mut rng)).collect();
    let exts = ["txt", "md", "csv", "pdf", "png", "docx"];
    let users: Vec<String> = (0..a.users).map(|i| format!("bench-user-{i:04}")).collect();

    let started = Instant::now();
    let mut t = 0i64;
    for chunk in users.chunks(500) {
        insert_users(&db, chunk).await?;
    }
    let mut rows = Vec::with_capacity(500);
    for (u, user) in users.iter().enumerate() {
        for i in 0..a.files {
            t += 1;
            let ext = exts[rng.below(exts.len())];
            let name = format!(
                "{}-{} {}.{ext}",
                name_words[rng.zipf(name_words.len())],
                name_words[rng.below(name_words.len())],
                i
            );
            let text = if matches!(ext, "txt" | "md" | "csv") {
                let ws: Vec<&str> = (0..80)
                    .map(|_| content_words[rng.zipf(content_words.len())].as_str())
                    .collect();
                word_list(&ws.join(" "), 1 << 19)
            } else {
                String::new()
            };
            rows.push((format!("f-{u:04}-{i:06}"), user.clone(), name, t, text));
            if rows.len() == 500 {
                insert_files(&db, &rows).await?;
                rows.clear();
            }
        }
    }
    if !rows.is_empty() {
        insert_files(&db, &rows).await?;
    }
    if let Db::Postgres { pool, .. } = &db {
        sqlx::query("ANALYZE").execute(pool).await?;
    }
    eprintln!(
        "search_bench: {backend}: {} files of {} users loaded in {:.1} s",
        a.users * a.files,
        a.users,
        started.elapsed().as_secs_f64()
    );

    let store = SqlStore::new(db.clone());
    let machine = std::env::var("SEARCH_BENCH_MACHINE").unwrap_or_else(|_| "this machine".into());
    let mut report = Vec::new();
    for (kind, pick) in [("name", 0usize), ("content", 1)] {
        for scope_all in [false, true] {
            let mut ours = Vec::new();
            let mut peer = Vec::new();
            let (mut ours_hits, mut peer_hits) = (0usize, 0usize);
            for q in 0..(a.queries + 20) {
                let term = if pick == 0 {
                    let w = &name_words[rng.zipf(name_words.len())];
                    let start = rng.below(w.len().saturating_sub(5).max(1));
                    w.get(start..(start + 5).min(w.len()))
                        .unwrap_or(w)
                        .to_owned()
                } else {
                    content_words[100 + rng.below(1900)].clone()
                };
                let owners: Vec<String> = if scope_all {
                    users.clone()
                } else {
                    vec![users[rng.below(users.len())].clone()]
                };
                let query = SearchQuery {
                    scope: Scope {
                        owners: owners.clone(),
                        ..Scope::default()
                    },
                    matching: Some(Match::Term(term.clone())),
                    order: SearchOrder::Updated,
                    desc: true,
                    limit: 50,
                    ..SearchQuery::default()
                };
                let t0 = Instant::now();
                let found = store.search(&query).await?;
                let d_ours = t0.elapsed();
                let t1 = Instant::now();
                let scanned = like_scan(&db, &owners, &term).await?;
                let d_peer = t1.elapsed();
                if q >= 20 {
                    ours.push(d_ours);
                    peer.push(d_peer);
                    ours_hits += found.len();
                    peer_hits += scanned;
                }
            }
            ours.sort();
            peer.sort();
            let scope = if scope_all {
                format!("all {} users ({} files)", a.users, a.users * a.files)
            } else {
                format!("one user ({} files)", a.files)
            };
            let (o50, o99, p50, p99) = (
                percentile(&ours, 0.5),
                percentile(&ours, 0.99),
                percentile(&peer, 0.5),
                percentile(&peer, 0.99),
            );
            report.push(format!(
                "| {backend}: {kind} query, {scope}, newest 50 | p50 {:.2} ms, p99 {:.2} ms | `LIKE '%term%'` scan, same tables | p50 {:.2} ms, p99 {:.2} ms | {:.2}× (p50), {:.2}× (p99) | mean hits {:.1} vs {:.1} | {machine} | `bench/search.sh` |",
                ms(o50),
                ms(o99),
                ms(p50),
                ms(p99),
                ms(p50) / ms(o50),
                ms(p99) / ms(o99),
                ours_hits as f64 / a.queries as f64,
                peer_hits as f64 / a.queries as f64,
            ));
        }
    }
    for line in report {
        println!("{line}");
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn insert_users(db: &Db, users: &[String]) -> Result<(), sqlx::Error> {
    macro_rules! insert {
        ($pool:expr) => {{
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO users (id, email, name, password_hash, is_admin, created_at, updated_at) ",
            );
            qb.push_values(users, |mut b, u| {
                b.push_bind(u.clone())
                    .push_bind(format!("{u}@example.com"))
                    .push_bind("Bench")
                    .push_bind("x")
                    .push_bind(false)
                    .push_bind(0i64)
                    .push_bind(0i64);
            });
            qb.build().execute($pool).await?;
        }};
    }
    match db {
        Db::Sqlite { pool, .. } => insert!(pool),
        Db::Postgres { pool, .. } => insert!(pool),
    }
    Ok(())
}

async fn insert_files(
    db: &Db,
    rows: &[(String, String, String, i64, String)],
) -> Result<(), sqlx::Error> {
    macro_rules! insert {
        ($pool:expr) => {{
            let mut tx = $pool.begin().await?;
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO files (id, owner_id, folder_id, name, size, content_type, sha256, signature, blob_key, is_public, version, created_at, updated_at) ",
            );
            qb.push_values(rows, |mut b, (id, owner, name, t, _)| {
                b.push_bind(id.clone())
                    .push_bind(owner.clone())
                    .push_bind("")
                    .push_bind(name.clone())
                    .push_bind(4096i64)
                    .push_bind("text/plain")
                    .push_bind("00")
                    .push_bind("sig")
                    .push_bind(format!("blobs/{id}"))
                    .push_bind(false)
                    .push_bind(1i64)
                    .push_bind(*t)
                    .push_bind(*t);
            });
            qb.build().execute(&mut *tx).await?;
            let mut qb = sqlx::QueryBuilder::new("INSERT INTO search_docs (file_id, name_key, words) ");
            qb.push_values(rows, |mut b, (id, _, name, _, words)| {
                b.push_bind(id.clone())
                    .push_bind(name.to_lowercase())
                    .push_bind(words.clone());
            });
            qb.build().execute(&mut *tx).await?;
            tx.commit().await?;
        }};
    }
    match db {
        Db::Sqlite { pool, .. } => insert!(pool),
        Db::Postgres { pool, .. } => insert!(pool),
    }
    Ok(())
}

/// The peer: the newest 50 of the owners' files whose name or content contains `term`.
async fn like_scan(db: &Db, owners: &[String], term: &str) -> Result<usize, sqlx::Error> {
    let pattern = format!("%{}%", term.to_lowercase());
    macro_rules! scan {
        ($pool:expr) => {{
            let mut qb = sqlx::QueryBuilder::new(
                "SELECT f.id FROM files f JOIN search_docs d ON d.file_id = f.id WHERE f.trashed_at IS NULL AND f.owner_id IN (",
            );
            let mut sep = qb.separated(", ");
            for o in owners {
                sep.push_bind(o.clone());
            }
            qb.push(") AND (d.name_key LIKE ")
                .push_bind(pattern.clone())
                .push(" OR d.words LIKE ")
                .push_bind(pattern.clone())
                .push(") ORDER BY f.updated_at DESC, f.id DESC LIMIT 50");
            Ok(qb.build().fetch_all($pool).await?.len())
        }};
    }
    match db {
        Db::Sqlite { pool, .. } => scan!(pool),
        Db::Postgres { pool, .. } => scan!(pool),
    }
}
