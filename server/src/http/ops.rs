//! Health, readiness, metrics, JWKS, the OpenAPI document and the Swagger UI (bundled, offline).

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_swagger_ui::SwaggerUi;

use super::Caller;
use crate::app::AppState;
use crate::error::Result;
use crate::http::problem::Problem;

async fn observe(app: &AppState, caller: &Caller) -> Result<()> {
    app.guard.authorize_platform(&caller.0, "observe").await
}

/// Liveness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
pub async fn healthz(State(app): State<AppState>, caller: Caller) -> Result<Json<Health>> {
    observe(&app, &caller).await?;
    Ok(Json(Health { status: "ok" }))
}

/// Readiness of each dependency.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// All ready.
    pub ready: bool,
    /// The database answers.
    pub database: bool,
    /// The object store answers.
    pub object_store: bool,
    /// The event path works (with Kafka: the brokers answer).
    pub bus: bool,
}

/// Ready to serve: database, object store and event bus.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(State(app): State<AppState>, caller: Caller) -> Result<Response> {
    observe(&app, &caller).await?;
    let database = app.events.ping().await;
    let object_store = app.blobs.ping().await;
    // With Kafka configured, the brokers must answer; in process, the bus is always there.
    let bus = app.bus_ready().await;
    let ready = database && object_store && bus;
    let body = Json(Readiness {
        ready,
        database,
        object_store,
        bus,
    });
    Ok(if ready {
        body.into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    })
}

/// Prometheus metrics: the text format 0.0.4, or OpenMetrics 1.0 when the scraper asks for it
/// (`Accept: application/openmetrics-text`).
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(
    State(app): State<AppState>,
    caller: Caller,
    headers: http::HeaderMap,
) -> Result<Response> {
    observe(&app, &caller).await?;
    app.refresh_gauges().await;
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"));
    let (body, content_type) = if openmetrics {
        (
            app.metrics.render(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )
    } else {
        (
            app.metrics.render_text(),
            "text/plain; version=0.0.4; charset=utf-8",
        )
    };
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(r)
}

/// Public keys verifying access tokens (for other services).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "ops", responses((status = 200, body = Object), (status = 403, body = Problem)))]
pub async fn jwks(State(app): State<AppState>, caller: Caller) -> Result<Response> {
    observe(&app, &caller).await?;
    let mut r = app.sessions.jwks().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

/// `/openapi.json` and the Swagger UI at `/docs`, both behind the `observe` permission.
pub fn docs(doc: utoipa::openapi::OpenApi, state: AppState) -> Router<AppState> {
    let ui: Router<AppState> = SwaggerUi::new("/docs").url("/openapi.json", doc).into();
    ui.layer(axum::middleware::from_fn_with_state(state, guard_docs))
}

async fn guard_docs(
    State(app): State<AppState>,
    caller: Caller,
    req: Request,
    next: Next,
) -> Response {
    match observe(&app, &caller).await {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}
