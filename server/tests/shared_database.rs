//! The server and the crates it embeds keep their tables in one database: each records its
//! migrations in its own table, so they can all migrate it, in any order, at every start.

use strongroom::store::Db;

mod common;
use strongroom_access_policy::{PostgresPolicyStore, SqlitePolicyStore};
use strongroom_audit::{PostgresAuditStore, SqliteAuditStore};
use strongroom_session_store::{PostgresSessionStore, SqliteSessionStore};

async fn migrate_everything(url: &str) {
    let db = Db::connect(url, 4).await.expect("server migrations");
    match &db {
        Db::Sqlite { pool, .. } => {
            SqlitePolicyStore::from_pool(pool.clone())
                .await
                .expect("policy store");
            SqliteSessionStore::from_pool(pool.clone())
                .await
                .expect("session store");
            SqliteAuditStore::new(pool.clone())
                .await
                .expect("audit store");
        }
        Db::Postgres { pool, .. } => {
            PostgresPolicyStore::from_pool(pool.clone())
                .await
                .expect("policy store");
            PostgresSessionStore::from_pool(pool.clone())
                .await
                .expect("session store");
            PostgresAuditStore::new(pool.clone())
                .await
                .expect("audit store");
        }
    }
}

#[tokio::test]
async fn sqlite_one_database_for_all() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("all.db").display());
    // Twice: a restart finds everything applied.
    migrate_everything(&url).await;
    migrate_everything(&url).await;
}

#[tokio::test]
async fn postgres_one_database_for_all() {
    let Some(url) = common::fresh_postgres("shared").await else {
        return;
    };
    migrate_everything(&url).await;
    migrate_everything(&url).await;
}
