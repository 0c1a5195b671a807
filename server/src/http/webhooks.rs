//! Webhooks: `/webhooks` (the caller's own; `team_id` for a team's, its admins; `platform` for
//! the platform's, administrators), their secrets, deliveries and redelivery.

use axum::Json;
use axum::extract::{Path, Query, State};
use http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::Caller;
use crate::app::AppState;
use crate::domain::webhooks::{Change, Delivery, Owner, Webhook, WebhookWithSecret};
use crate::error::{Error, Result};
use crate::http::problem::Problem;

/// Whose endpoints: yours (neither given), a team's, or the platform's.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WebhookOwner {
    /// A team you administer.
    #[serde(default)]
    pub team_id: Option<String>,
    /// The platform's (administrators).
    #[serde(default)]
    pub platform: Option<bool>,
}

impl WebhookOwner {
    fn owner(&self) -> Result<Owner<'_>> {
        match (&self.team_id, self.platform.unwrap_or(false)) {
            (Some(_), true) => Err(Error::BadRequest(
                "give team_id or platform, not both".into(),
            )),
            (Some(t), false) => Ok(Owner::Team(t)),
            (None, true) => Ok(Owner::Platform),
            (None, false) => Ok(Owner::Me),
        }
    }
}

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `https://…` (plain http and private or loopback addresses only where the operator
    /// allows them).
    pub url: String,
    /// Event types or prefixes (`share`, `file.uploaded`); omitted or empty: every event.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// A note, up to 200 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// For a team you administer.
    #[serde(default)]
    pub team_id: Option<String>,
    /// For the platform (administrators).
    #[serde(default)]
    pub platform: Option<bool>,
}

/// A change to an endpoint; omitted fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookChange {
    /// New URL.
    #[serde(default)]
    pub url: Option<String>,
    /// New event types.
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// New note.
    #[serde(default)]
    pub description: Option<String>,
    /// Enable or disable (disabling gives up what is pending).
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A secret rotation.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// Seconds the old secret keeps signing beside the new one (default 86400, at most 604800;
    /// 0: it stops now).
    #[serde(default)]
    pub overlap_secs: Option<u64>,
}

/// Which deliveries.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryFilter {
    /// `pending`, `delivered` or `dead`.
    pub state: Option<String>,
    /// Deliveries older than this one (the last id of the previous page).
    pub before: Option<String>,
    /// At most this many (1 to 500, default 50).
    pub limit: Option<u32>,
}

/// Registers an endpoint: the answer shows its signing secret, once.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", security(("bearer" = [])),
    request_body = NewWebhook,
    responses((status = 201, body = WebhookWithSecret), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    Json(w): Json<NewWebhook>,
) -> Result<(StatusCode, Json<WebhookWithSecret>)> {
    caller.0.user_id()?;
    let owner = WebhookOwner {
        team_id: w.team_id,
        platform: w.platform,
    };
    let created = app
        .webhooks
        .create(
            &caller.0,
            owner.owner()?,
            &w.url,
            w.event_types,
            w.description,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Lists endpoints: yours, a team's (`team_id`) or the platform's (`platform=true`).
#[utoipa::path(get, path = "/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(WebhookOwner),
    responses((status = 200, body = [Webhook]), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<WebhookOwner>,
) -> Result<Json<Vec<Webhook>>> {
    caller.0.user_id()?;
    Ok(Json(app.webhooks.list(&caller.0, q.owner()?).await?))
}

/// One endpoint.
#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, body = Webhook), (status = 404, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Webhook>> {
    caller.0.user_id()?;
    Ok(Json(app.webhooks.get(&caller.0, &id).await?))
}

/// Changes an endpoint.
#[utoipa::path(patch, path = "/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Endpoint id")), request_body = WebhookChange,
    responses((status = 200, body = Webhook), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(c): Json<WebhookChange>,
) -> Result<Json<Webhook>> {
    caller.0.user_id()?;
    let change = Change {
        url: c.url,
        event_types: c.event_types,
        description: c.description,
        enabled: c.enabled,
    };
    Ok(Json(app.webhooks.update(&caller.0, &id, change).await?))
}

/// Deletes an endpoint with its deliveries.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    caller.0.user_id()?;
    app.webhooks.delete(&caller.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives an endpoint a new signing secret (shown once); the old one signs beside it for the
/// overlap.
#[utoipa::path(post, path = "/webhooks/{id}/rotate", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Endpoint id")), request_body = Rotation,
    responses((status = 200, body = WebhookWithSecret), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn rotate(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Option<Json<Rotation>>,
) -> Result<Json<WebhookWithSecret>> {
    caller.0.user_id()?;
    let r = body.map(|Json(r)| r).unwrap_or_default();
    Ok(Json(
        app.webhooks.rotate(&caller.0, &id, r.overlap_secs).await?,
    ))
}

/// An endpoint's deliveries, newest first.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Endpoint id"), DeliveryFilter),
    responses((status = 200, body = [Delivery]), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn deliveries(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(f): Query<DeliveryFilter>,
) -> Result<Json<Vec<Delivery>>> {
    caller.0.user_id()?;
    Ok(Json(
        app.webhooks
            .deliveries(
                &caller.0,
                &id,
                f.state.as_deref(),
                f.before.as_deref(),
                f.limit,
            )
            .await?,
    ))
}

/// One delivery with its attempts.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries/{delivery_id}", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Endpoint id"),
        ("delivery_id" = String, Path, description = "Delivery id")),
    responses((status = 200, body = Delivery), (status = 404, body = Problem)))]
pub async fn delivery(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<Json<Delivery>> {
    caller.0.user_id()?;
    Ok(Json(
        app.webhooks.delivery(&caller.0, &id, &delivery).await?,
    ))
}

/// Sends a delivered or dead delivery again (same event id), with a fresh attempt budget.
#[utoipa::path(post, path = "/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Endpoint id"),
        ("delivery_id" = String, Path, description = "Delivery id")),
    responses((status = 202, body = Delivery), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn redeliver(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Delivery>)> {
    caller.0.user_id()?;
    let d = app.webhooks.redeliver(&caller.0, &id, &delivery).await?;
    Ok((StatusCode::ACCEPTED, Json(d)))
}
