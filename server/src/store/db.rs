//! The metadata database: SQLite or PostgreSQL behind one enum, with the audit outbox next to it
//! so that a change and its event commit in one transaction.
//!
//! Queries are written once with `$n` placeholders (both drivers accept them) and run on either
//! pool through [`on_db!`], which expands the same body for each backend.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use strongroom_audit::{AuditEvent, PostgresOutbox, SqliteOutbox};

/// The name of the table recording the server's own applied migrations (the crates keep theirs).
const MIGRATIONS_TABLE: &str = "_strongroom_server_migrations";

/// A metadata database and its outbox.
#[derive(Debug, Clone)]
pub enum Db {
    /// SQLite (the embedded default).
    Sqlite {
        /// The pool.
        pool: SqlitePool,
        /// The outbox in the same database.
        outbox: SqliteOutbox,
        /// Serializes this process's write transactions (see [`Db::writer`]).
        writer: WriteLock,
    },
    /// PostgreSQL.
    Postgres {
        /// The pool.
        pool: PgPool,
        /// The outbox in the same database.
        outbox: PostgresOutbox,
    },
}

/// Runs `$body` with `$pool` (and optionally `$outbox`) bound to whichever backend `$db` is.
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::db::Db::Sqlite { pool: $pool, .. } => $body,
            $crate::store::db::Db::Postgres { pool: $pool, .. } => $body,
        }
    };
    ($db:expr, $pool:ident, $outbox:ident => $body:expr) => {
        match $db {
            $crate::store::db::Db::Sqlite {
                pool: $pool,
                outbox: $outbox,
                ..
            } => $body,
            $crate::store::db::Db::Postgres {
                pool: $pool,
                outbox: $outbox,
                ..
            } => $body,
        }
    };
}

/// Runs one write and its audit event in one transaction: the statements of `$body` (which see
/// the transaction as `$tx`) and the outbox row commit together, or neither does; so does the
/// event's bump of `daily_activity` ([`crate::store::stats::tally`]).
macro_rules! in_tx_with_event {
    ($db:expr, $event:expr, |$tx:ident| $body:expr) => {
        $crate::store::db::on_db!($db, pool, outbox => {
            let _turn = $db.writer().await;
            let mut $tx = $crate::store::db::BeginWrite::begin_write(pool).await?;
            let _ = $body;
            outbox.enqueue(&mut $tx, $event).await?;
            // Uploads and downloads per day are counted with the event that reports them.
            if let Some(t) = $crate::store::stats::tally($event) {
                sqlx::query(
                    "INSERT INTO daily_activity (day, owner_id, uploads, upload_bytes, downloads, download_bytes) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (day, owner_id) DO UPDATE SET \
                     uploads = daily_activity.uploads + excluded.uploads, \
                     upload_bytes = daily_activity.upload_bytes + excluded.upload_bytes, \
                     downloads = daily_activity.downloads + excluded.downloads, \
                     download_bytes = daily_activity.download_bytes + excluded.download_bytes",
                )
                .bind(t.day)
                .bind(t.owner_id)
                .bind(t.counts.uploads.min(i64::MAX as u64) as i64)
                .bind(t.counts.upload_bytes.min(i64::MAX as u64) as i64)
                .bind(t.counts.downloads.min(i64::MAX as u64) as i64)
                .bind(t.counts.download_bytes.min(i64::MAX as u64) as i64)
                .execute(&mut *$tx)
                .await?;
            }
            $tx.commit().await?;
        })
    };
}

/// [`in_tx_with_event!`] for writes that record no audit event (the chunk index: bookkeeping
/// of what is stored, not a user's action).
macro_rules! in_tx {
    ($db:expr, |$tx:ident| $body:expr) => {
        $crate::store::db::on_db!($db, pool => {
            let _turn = $db.writer().await;
            let mut $tx = $crate::store::db::BeginWrite::begin_write(pool).await?;
            let _ = $body;
            $tx.commit().await?;
        })
    };
}

pub(in crate::store) use {in_tx, in_tx_with_event, on_db};

/// Starts a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (`BEGIN IMMEDIATE`): a deferred transaction that reads first and writes later cannot upgrade
/// its lock once another writer committed (`SQLITE_BUSY_SNAPSHOT`), while an immediate one waits
/// its turn under `busy_timeout`.
pub trait BeginWrite {
    /// The database.
    type Db: sqlx::Database;
    /// Begins.
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
    + Send;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}

/// Row locks inside a write transaction, for invariants that span rows (a folder must exist while
/// something is put into it, and stay empty while it is deleted; a file's current version is read
/// and replaced by one writer at a time). PostgreSQL takes `FOR SHARE` / `FOR UPDATE` row locks;
/// SQLite needs nothing, its write transactions already run one at a time.
pub trait RowLock {
    /// Locks file `id` for an update and reads its current version and content digest.
    fn lock_file(
        &mut self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Option<(i64, String)>, sqlx::Error>> + Send;

    /// Locks folder `id` (shared: to add to it; exclusive: to delete or trash it) and tells
    /// whether it is there: shared, only a folder not at the top of a trashed subtree counts, so
    /// nothing new lands in a trashed folder; exclusive, any folder does.
    fn lock_folder(
        &mut self,
        id: &str,
        exclusive: bool,
    ) -> impl std::future::Future<Output = Result<bool, sqlx::Error>> + Send;

    /// Locks the folder tree of `owner`: exclusive to move folders in it (moves take turns, so
    /// their cycle and depth checks see each other), shared to create one (no move reshapes the
    /// tree while the new folder's depth is checked). PostgreSQL locks the owner's user row
    /// (`FOR NO KEY UPDATE` / `FOR SHARE`, which leave foreign-key checks alone).
    fn lock_tree(
        &mut self,
        owner: &str,
        exclusive: bool,
    ) -> impl std::future::Future<Output = Result<(), sqlx::Error>> + Send;

    /// Makes changes to group nesting take turns (so two concurrent adds cannot close a cycle
    /// that neither saw). PostgreSQL takes a transaction-level advisory lock.
    fn lock_groups(&mut self) -> impl std::future::Future<Output = Result<(), sqlx::Error>> + Send;
}

/// The advisory lock key for group nesting ("sr-grps" in ASCII).
const GROUPS_LOCK: i64 = 0x0073_722d_6772_7073;

impl RowLock for sqlx::Transaction<'static, sqlx::Sqlite> {
    async fn lock_file(&mut self, id: &str) -> Result<Option<(i64, String)>, sqlx::Error> {
        use sqlx::Row;
        let row = sqlx::query("SELECT version, sha256 FROM files WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **self)
            .await?;
        row.map(|r| Ok((r.try_get("version")?, r.try_get("sha256")?)))
            .transpose()
    }

    async fn lock_folder(&mut self, id: &str, exclusive: bool) -> Result<bool, sqlx::Error> {
        let sql = if exclusive {
            "SELECT id FROM folders WHERE id = $1"
        } else {
            "SELECT id FROM folders WHERE id = $1 AND trashed_at IS NULL"
        };
        let row = sqlx::query(sql)
            .bind(id)
            .fetch_optional(&mut **self)
            .await?;
        Ok(row.is_some())
    }

    async fn lock_tree(&mut self, _owner: &str, _exclusive: bool) -> Result<(), sqlx::Error> {
        // Write transactions begin IMMEDIATE: they already run one at a time.
        Ok(())
    }

    async fn lock_groups(&mut self) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

impl RowLock for sqlx::Transaction<'static, sqlx::Postgres> {
    async fn lock_file(&mut self, id: &str) -> Result<Option<(i64, String)>, sqlx::Error> {
        use sqlx::Row;
        let row = sqlx::query("SELECT version, sha256 FROM files WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut **self)
            .await?;
        row.map(|r| Ok((r.try_get("version")?, r.try_get("sha256")?)))
            .transpose()
    }

    async fn lock_folder(&mut self, id: &str, exclusive: bool) -> Result<bool, sqlx::Error> {
        let sql = if exclusive {
            "SELECT id FROM folders WHERE id = $1 FOR UPDATE"
        } else {
            "SELECT id FROM folders WHERE id = $1 AND trashed_at IS NULL FOR SHARE"
        };
        let row = sqlx::query(sql)
            .bind(id)
            .fetch_optional(&mut **self)
            .await?;
        Ok(row.is_some())
    }

    async fn lock_tree(&mut self, owner: &str, exclusive: bool) -> Result<(), sqlx::Error> {
        let sql = if exclusive {
            "SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE"
        } else {
            "SELECT id FROM users WHERE id = $1 FOR SHARE"
        };
        sqlx::query(sql)
            .bind(owner)
            .fetch_optional(&mut **self)
            .await?;
        Ok(())
    }

    async fn lock_groups(&mut self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(GROUPS_LOCK)
            .execute(&mut **self)
            .await?;
        Ok(())
    }
}

/// One writer at a time inside this process, for SQLite.
///
/// SQLite has one write lock per database. Without this, every pooled connection that wants to
/// write spins in SQLite's busy handler, whose growing sleeps (up to 100 ms each) made the tail
/// latency of small uploads reach a second under load; a fair async mutex queues them instead.
/// Other processes and the crates' own writers still meet `busy_timeout`.
#[derive(Debug, Clone, Default)]
pub struct WriteLock(std::sync::Arc<tokio::sync::Mutex<()>>);

impl Db {
    /// Waits for this process's turn to write (no wait on PostgreSQL).
    pub async fn writer(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self {
            Db::Sqlite { writer, .. } => Some(writer.0.lock().await),
            // PostgreSQL has row locks; its writers need no queue.
            Db::Postgres { .. } => None,
        }
    }

    /// Connects to `url` (creating a SQLite file if missing) and runs every migration: the
    /// server's and those of the crates that keep tables in the same database.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, sqlx::Error> {
        if url.starts_with("sqlite:") {
            // WAL lets readers proceed during a write; busy_timeout makes writers queue
            // instead of failing with SQLITE_BUSY.
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                .connect_with(opts)
                .await?;
            let mut migrator = sqlx::migrate!("./migrations/sqlite");
            migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
            migrator.run(&pool).await?;
            let outbox = SqliteOutbox::new(pool.clone())
                .await
                .map_err(|e| sqlx::Error::Configuration(e.to_string().into()))?;
            Ok(Db::Sqlite {
                pool,
                outbox,
                writer: WriteLock::default(),
            })
        } else {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            let mut migrator = sqlx::migrate!("./migrations/postgres");
            migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
            migrator.run(&pool).await?;
            let outbox = PostgresOutbox::new(pool.clone())
                .await
                .map_err(|e| sqlx::Error::Configuration(e.to_string().into()))?;
            Ok(Db::Postgres { pool, outbox })
        }
    }

    /// Records an event on its own (for actions that change no row, such as a denial).
    pub async fn record(&self, event: &AuditEvent) -> super::Result<()> {
        in_tx_with_event!(self, event, |tx| ());
        Ok(())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        on_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.is_ok())
    }

    /// Events written but not yet published.
    pub async fn outbox_pending(&self) -> u64 {
        on_db!(self, _pool, outbox => outbox.pending().await.unwrap_or(0))
    }

    /// Age of the oldest unpublished event.
    pub async fn outbox_lag(&self) -> Duration {
        on_db!(self, _pool, outbox => outbox.lag().await.unwrap_or_default())
    }
}
