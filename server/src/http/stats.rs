//! `GET /stats` (mine or a team's) and `GET /admin/stats` (the platform's).

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use utoipa::IntoParams;

use super::Caller;
use crate::app::AppState;
use crate::domain::stats::{Period, Report};
use crate::error::Result;
use crate::http::problem::Problem;

/// Whose figures, over which days.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// A team the caller belongs to (its figures instead of the caller's).
    pub team: Option<String>,
    /// First day (`YYYY-MM-DD`, UTC).
    pub from: Option<String>,
    /// Last day (default today).
    pub to: Option<String>,
    /// Days up to `to` when `from` is not given (1 to 366, default 30).
    pub days: Option<i64>,
}

/// Platform figures over which days.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PlatformStatsQuery {
    /// First day (`YYYY-MM-DD`, UTC).
    pub from: Option<String>,
    /// Last day (default today).
    pub to: Option<String>,
    /// Days up to `to` when `from` is not given (1 to 366, default 30).
    pub days: Option<i64>,
}

/// What I (or a team of mine) store, by media type and extension, how much is older versions
/// and trash, and uploads and downloads per day.
#[utoipa::path(get, path = "/stats", tag = "stats", security(("bearer" = [])), params(StatsQuery),
    responses((status = 200, body = Report), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn mine(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<StatsQuery>,
) -> Result<Json<Report>> {
    let period = Period {
        from: q.from,
        to: q.to,
        days: q.days,
    };
    Ok(Json(
        app.stats
            .owned(&caller.0, q.team.as_deref(), &period)
            .await?,
    ))
}

/// The platform's figures, with its largest owners (administrators).
#[utoipa::path(get, path = "/admin/stats", tag = "admin", security(("bearer" = [])), params(PlatformStatsQuery),
    responses((status = 200, body = Report), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn platform(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<PlatformStatsQuery>,
) -> Result<Json<Report>> {
    let period = Period {
        from: q.from,
        to: q.to,
        days: q.days,
    };
    Ok(Json(app.stats.platform(&caller.0, &period).await?))
}
