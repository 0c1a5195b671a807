//! What the server's test files share: the real services scripts/test.sh starts.
#![allow(dead_code)] // each test file uses its own part

#[macro_use]
pub mod router;
pub mod receiver;
pub mod smtp;

/// The value of `var`, or `None` with a printed note. Under scripts/test.sh
/// (`STRONGROOM_TEST_REQUIRE_SERVICES=1`) a missing service is a failure, never a skip.
pub fn required(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            if std::env::var("STRONGROOM_TEST_REQUIRE_SERVICES").as_deref() == Ok("1") {
                panic!("{var} is not set but scripts/test.sh requires the real services");
            }
            eprintln!("note: skipped: {var} is unset (run scripts/services.sh up)");
            None
        }
    }
}

/// A fresh PostgreSQL database for one test (the test role has CREATEDB; `services.sh reset`
/// drops the `sr_*` databases of the previous run), or `None` when PostgreSQL is not configured.
pub async fn fresh_postgres(prefix: &str) -> Option<String> {
    let url = required("STRONGROOM_TEST_POSTGRES_URL")?;
    let name = format!("sr_{prefix}_{}", uuid::Uuid::now_v7().simple());
    let pool = sqlx::PgPool::connect(&url).await.expect("postgres");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (base, _) = url.rsplit_once('/').unwrap();
    Some(format!("{base}/{name}"))
}
