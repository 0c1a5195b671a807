//! PostgreSQL test databases: one fresh schema per test so parallel tests (in this crate and
//! others) never collide.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

/// A pool whose `search_path` is a fresh schema; `None` (with a printed note) when
/// `STRONGROOM_TEST_POSTGRES_URL` is unset, unless `STRONGROOM_TEST_REQUIRE_SERVICES=1`, in which
/// case a missing or unreachable server fails the test.
pub(crate) async fn schema_pool(test: &str) -> Option<PgPool> {
    let require = std::env::var("STRONGROOM_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    let Ok(url) = std::env::var("STRONGROOM_TEST_POSTGRES_URL") else {
        assert!(
            !require,
            "STRONGROOM_TEST_POSTGRES_URL is unset but STRONGROOM_TEST_REQUIRE_SERVICES=1"
        );
        eprintln!("note: {test} skipped: STRONGROOM_TEST_POSTGRES_URL is unset");
        return None;
    };
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL at STRONGROOM_TEST_POSTGRES_URL is unreachable: {e}")
        });
    let schema = format!("audit_{}_{}", test, uuid::Uuid::now_v7().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let options = PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    Some(
        PgPoolOptions::new()
            .max_connections(10)
            .connect_with(options)
            .await
            .unwrap(),
    )
}

/// A second, independent pool on the same schema (as a second server would have).
pub(crate) async fn second_pool(pool: &PgPool) -> PgPool {
    PgPoolOptions::new()
        .max_connections(10)
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap()
}
