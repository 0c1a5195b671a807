//! [`WebhookStore`] in SQL (`webhook_endpoints`, `webhook_deliveries`, `webhook_attempts`).

use async_trait::async_trait;
use sqlx::Row;
use strongroom_audit::AuditEvent;

use super::SqlStore;
use crate::store::db::{in_tx, in_tx_with_event, on_db};
use crate::store::webhooks::{
    AttemptRecord, DeliveryRecord, DeliveryState, ENDPOINT_DISABLED, EndpointRecord, Next,
    STILL_PENDING, WebhookScope, WebhookStore, WrappedSecret,
};
use crate::store::{Error, Result};

const ENDPOINT_COLUMNS: &str = "id, scope, owner_id, url, event_types, description, enabled, \
     disabled_reason, kek_id, secret, previous_kek_id, previous_secret, previous_until, \
     created_by, created_at, updated_at";

const DELIVERY_COLUMNS: &str = "id, endpoint_id, message_id, event_type, body, state, attempts, \
     due_at, last_status, last_error, created_at, updated_at";

macro_rules! endpoint_from_row {
    ($row:expr) => {{
        let r = $row;
        let kind: String = r.try_get("scope")?;
        let owner: Option<String> = r.try_get("owner_id")?;
        let scope = WebhookScope::from_parts(&kind, owner)
            .ok_or_else(|| Error::Corrupt(format!("webhook endpoint with scope {kind:?}")))?;
        let types: String = r.try_get("event_types")?;
        let previous = match (
            r.try_get::<Option<String>, _>("previous_kek_id")?,
            r.try_get::<Option<String>, _>("previous_secret")?,
            r.try_get::<Option<i64>, _>("previous_until")?,
        ) {
            (Some(kek_id), Some(wrapped), Some(until)) => {
                Some((WrappedSecret { kek_id, wrapped }, until))
            }
            _ => None,
        };
        Ok::<_, Error>(EndpointRecord {
            id: r.try_get("id")?,
            scope,
            url: r.try_get("url")?,
            event_types: serde_json::from_str(&types)
                .map_err(|e| Error::Corrupt(format!("webhook event types: {e}")))?,
            description: r.try_get("description")?,
            enabled: r.try_get("enabled")?,
            disabled_reason: r.try_get("disabled_reason")?,
            secret: WrappedSecret {
                kek_id: r.try_get("kek_id")?,
                wrapped: r.try_get("secret")?,
            },
            previous,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        })
    }};
}

macro_rules! delivery_from_row {
    ($row:expr) => {{
        let r = $row;
        let state: String = r.try_get("state")?;
        Ok::<_, Error>(DeliveryRecord {
            id: r.try_get("id")?,
            endpoint_id: r.try_get("endpoint_id")?,
            message_id: r.try_get("message_id")?,
            event_type: r.try_get("event_type")?,
            body: r.try_get("body")?,
            state: DeliveryState::parse(&state)
                .ok_or_else(|| Error::Corrupt(format!("webhook delivery in state {state:?}")))?,
            attempts: r.try_get::<i64, _>("attempts")?.clamp(0, u32::MAX as i64) as u32,
            due_at: r.try_get("due_at")?,
            last_status: r
                .try_get::<Option<i64>, _>("last_status")?
                .map(|s| s.clamp(0, u16::MAX as i64) as u16),
            last_error: r.try_get("last_error")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        })
    }};
}

/// Binds an endpoint's settings and secrets, in the column order both `create` and `update`
/// name them: url, event_types, description, enabled, disabled_reason, kek_id, secret,
/// previous_kek_id, previous_secret, previous_until.
macro_rules! bind_settings {
    ($q:expr, $e:expr, $types:expr) => {
        $q.bind(&$e.url)
            .bind(&$types)
            .bind(&$e.description)
            .bind($e.enabled)
            .bind(&$e.disabled_reason)
            .bind(&$e.secret.kek_id)
            .bind(&$e.secret.wrapped)
            .bind($e.previous.as_ref().map(|(s, _)| s.kek_id.as_str()))
            .bind($e.previous.as_ref().map(|(s, _)| s.wrapped.as_str()))
            .bind($e.previous.as_ref().map(|(_, until)| *until))
    };
}

/// Buries the pending deliveries of endpoint `$id` with `$reason`, inside transaction `$tx`.
macro_rules! bury_pending {
    ($tx:ident, $id:expr, $reason:expr, $at:expr) => {
        sqlx::query(
            "UPDATE webhook_deliveries SET state = 'dead', last_error = $1, updated_at = $2 \
             WHERE endpoint_id = $3 AND state = 'pending'",
        )
        .bind($reason)
        .bind($at)
        .bind($id)
        .execute(&mut *$tx)
        .await?
    };
}

fn types_json(e: &EndpointRecord) -> Result<String> {
    serde_json::to_string(&e.event_types).map_err(|e| Error::Backend(e.to_string()))
}

#[async_trait]
impl WebhookStore for SqlStore {
    async fn create(&self, e: &EndpointRecord, event: &AuditEvent) -> Result<()> {
        let types = types_json(e)?;
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                if let Some(owner) = e.scope.owner() {
                    let found = sqlx::query("SELECT 1 AS one FROM users WHERE id = $1")
                        .bind(owner)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if found.is_none() {
                        return Err(Error::NotFound);
                    }
                }
                let q = sqlx::query(
                    "INSERT INTO webhook_endpoints (id, scope, owner_id, url, event_types, description, \
                     enabled, disabled_reason, kek_id, secret, previous_kek_id, previous_secret, \
                     previous_until, created_by, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                )
                .bind(&e.id)
                .bind(e.scope.kind())
                .bind(e.scope.owner());
                let q = bind_settings!(q, e, types);
                q.bind(&e.created_by)
                    .bind(e.created_at)
                    .bind(e.updated_at)
                    .execute(&mut *tx)
                    .await?
            });
            Ok::<_, Error>(())
        };
        run.await
    }

    async fn get(&self, id: &str) -> Result<Option<EndpointRecord>> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1");
        on_db!(&self.db, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await? {
                Some(r) => Ok(Some(endpoint_from_row!(&r)?)),
                None => Ok(None),
            }
        })
    }

    async fn list(&self, scope: &WebhookScope) -> Result<Vec<EndpointRecord>> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE scope = $1 \
             AND (($2 IS NULL AND owner_id IS NULL) OR owner_id = $2) ORDER BY created_at, id"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(scope.kind())
                .bind(scope.owner())
                .fetch_all(pool)
                .await?;
            rows.iter().map(|r| endpoint_from_row!(r)).collect()
        })
    }

    async fn enabled(&self) -> Result<Vec<EndpointRecord>> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE enabled = $1 ORDER BY id"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(true).fetch_all(pool).await?;
            rows.iter().map(|r| endpoint_from_row!(r)).collect()
        })
    }

    async fn update(&self, e: &EndpointRecord, event: &AuditEvent) -> Result<()> {
        let types = types_json(e)?;
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                let q = sqlx::query(
                    "UPDATE webhook_endpoints SET url = $1, event_types = $2, description = $3, \
                     enabled = $4, disabled_reason = $5, kek_id = $6, secret = $7, \
                     previous_kek_id = $8, previous_secret = $9, previous_until = $10, \
                     updated_at = $11 WHERE id = $12",
                );
                let n = bind_settings!(q, e, types)
                    .bind(e.updated_at)
                    .bind(&e.id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(Error::NotFound);
                }
                if !e.enabled {
                    bury_pending!(tx, &e.id, "endpoint disabled", e.updated_at);
                }
            });
            Ok::<_, Error>(())
        };
        run.await
    }

    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()> {
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                let n = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(Error::NotFound);
                }
            });
            Ok::<_, Error>(())
        };
        run.await
    }

    async fn enqueue(&self, deliveries: &[DeliveryRecord]) -> Result<u64> {
        if deliveries.is_empty() {
            return Ok(0);
        }
        let mut added = 0u64;
        let run = async {
            in_tx!(&self.db, |tx| {
                for d in deliveries {
                    // An endpoint deleted meanwhile takes nothing (the subquery finds no row).
                    added += sqlx::query(
                        "INSERT INTO webhook_deliveries (id, endpoint_id, message_id, event_type, body, \
                         state, attempts, due_at, last_status, last_error, created_at, updated_at) \
                         SELECT $1, id, $2, $3, $4, 'pending', 0, $5, NULL, NULL, $6, $6 \
                         FROM webhook_endpoints WHERE id = $7 \
                         ON CONFLICT (endpoint_id, message_id) DO NOTHING",
                    )
                    .bind(&d.id)
                    .bind(&d.message_id)
                    .bind(&d.event_type)
                    .bind(&d.body)
                    .bind(d.due_at)
                    .bind(d.created_at)
                    .bind(&d.endpoint_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
            });
            Ok::<_, Error>(())
        };
        run.await?;
        Ok(added)
    }

    async fn claim_due(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>> {
        let claim = uuid::Uuid::now_v7().to_string();
        // One statement claims: its own conditions are checked again on each row it updates
        // (PostgreSQL re-reads a row another claim changed meanwhile; SQLite's writes take
        // turns), so of two workers each row goes to one.
        let run = async {
            in_tx!(&self.db, |tx| {
                sqlx::query(
                    "UPDATE webhook_deliveries SET due_at = $1, claimed_by = $2 \
                     WHERE state = 'pending' AND due_at <= $3 AND id IN (\
                       SELECT id FROM webhook_deliveries WHERE state = 'pending' AND due_at <= $3 \
                       ORDER BY due_at, id LIMIT $4)",
                )
                .bind(lease_until)
                .bind(&claim)
                .bind(now)
                .bind(i64::from(limit))
                .execute(&mut *tx)
                .await?
            });
            Ok::<_, Error>(())
        };
        run.await?;
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
             WHERE claimed_by = $1 AND state = 'pending' AND due_at = $2 ORDER BY id"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(&claim)
                .bind(lease_until)
                .fetch_all(pool)
                .await?;
            rows.iter().map(|r| delivery_from_row!(r)).collect()
        })
    }

    async fn finish(&self, batch: &[(AttemptRecord, Next)], at: i64) -> Result<u64> {
        if batch.is_empty() {
            return Ok(0);
        }
        let mut recorded = 0u64;
        let run = async {
            in_tx!(&self.db, |tx| {
                for (a, next) in batch {
                    let row = sqlx::query(
                    "SELECT endpoint_id FROM webhook_deliveries WHERE id = $1 AND state = 'pending'",
                )
                .bind(&a.delivery_id)
                .fetch_optional(&mut *tx)
                .await?;
                    let Some(row) = row else {
                        continue;
                    };
                    let endpoint: String = row.try_get("endpoint_id")?;
                    sqlx::query(
                    "INSERT INTO webhook_attempts (id, delivery_id, attempt, at, status, latency_ms, error, excerpt) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&a.id)
                .bind(&a.delivery_id)
                .bind(i64::from(a.attempt))
                .bind(a.at)
                .bind(a.status.map(i64::from))
                .bind(a.latency_ms.min(i64::MAX as u64) as i64)
                .bind(&a.error)
                .bind(&a.excerpt)
                .execute(&mut *tx)
                .await?;
                    let (state, due, error) = match next {
                        Next::Delivered => ("delivered", at, a.error.clone()),
                        Next::Retry(due) => ("pending", *due, a.error.clone()),
                        Next::Dead(why) | Next::Gone(why) => ("dead", at, Some(why.clone())),
                    };
                    sqlx::query(
                    "UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, due_at = $2, \
                     last_status = $3, last_error = $4, updated_at = $5 WHERE id = $6",
                )
                .bind(state)
                .bind(due)
                .bind(a.status.map(i64::from))
                .bind(&error)
                .bind(at)
                .bind(&a.delivery_id)
                .execute(&mut *tx)
                .await?;
                    if let Next::Gone(why) = next {
                        sqlx::query(
                        "UPDATE webhook_endpoints SET enabled = $1, disabled_reason = $2, updated_at = $3 \
                         WHERE id = $4",
                    )
                    .bind(false)
                    .bind(why)
                    .bind(at)
                    .bind(&endpoint)
                    .execute(&mut *tx)
                    .await?;
                        bury_pending!(tx, &endpoint, why.as_str(), at);
                    }
                    recorded += 1;
                }
            });
            Ok::<_, Error>(())
        };
        run.await?;
        Ok(recorded)
    }

    async fn delivery(&self, id: &str) -> Result<Option<DeliveryRecord>> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1");
        on_db!(&self.db, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await? {
                Some(r) => Ok(Some(delivery_from_row!(&r)?)),
                None => Ok(None),
            }
        })
    }

    async fn deliveries(
        &self,
        endpoint: &str,
        state: Option<DeliveryState>,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 \
             AND ($2 IS NULL OR state = $2) AND ($3 IS NULL OR id < $3) \
             ORDER BY id DESC LIMIT $4"
        );
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(endpoint)
                .bind(state.map(DeliveryState::as_str))
                .bind(before)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.iter().map(|r| delivery_from_row!(r)).collect()
        })
    }

    async fn attempts(&self, delivery: &str) -> Result<Vec<AttemptRecord>> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query(
                "SELECT id, delivery_id, attempt, at, status, latency_ms, error, excerpt \
                 FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt, id",
            )
            .bind(delivery)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(AttemptRecord {
                        id: r.try_get("id")?,
                        delivery_id: r.try_get("delivery_id")?,
                        attempt: r.try_get::<i64, _>("attempt")?.clamp(0, u32::MAX as i64) as u32,
                        at: r.try_get("at")?,
                        status: r
                            .try_get::<Option<i64>, _>("status")?
                            .map(|s| s.clamp(0, u16::MAX as i64) as u16),
                        latency_ms: r.try_get::<i64, _>("latency_ms")?.max(0) as u64,
                        error: r.try_get("error")?,
                        excerpt: r.try_get("excerpt")?,
                    })
                })
                .collect()
        })
    }

    async fn redeliver(&self, id: &str, at: i64, event: &AuditEvent) -> Result<()> {
        let run = async {
            in_tx_with_event!(&self.db, event, |tx| {
                let row = sqlx::query(
                    "SELECT d.state, e.enabled FROM webhook_deliveries d \
                     JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    return Err(Error::NotFound);
                };
                let (state, enabled): (String, bool) =
                    (row.try_get("state")?, row.try_get("enabled")?);
                if state == "pending" {
                    return Err(Error::Conflict(STILL_PENDING.into()));
                }
                if !enabled {
                    return Err(Error::Conflict(ENDPOINT_DISABLED.into()));
                }
                sqlx::query(
                    "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, due_at = $1, \
                     last_error = NULL, updated_at = $1 WHERE id = $2",
                )
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?
            });
            Ok::<_, Error>(())
        };
        run.await
    }

    async fn prune(&self, before: i64) -> Result<u64> {
        on_db!(&self.db, pool => {
            Ok(sqlx::query(
                "DELETE FROM webhook_deliveries WHERE state IN ('delivered', 'dead') AND updated_at < $1",
            )
            .bind(before)
            .execute(pool)
            .await?
            .rows_affected())
        })
    }
}
