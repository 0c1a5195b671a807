//! The usage export an operator bills from: `GET /admin/usage`, JSON or CSV, a page of
//! accounts at a time.

use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::Caller;
use crate::app::AppState;
use crate::domain::metering::{CSV_HEADER, UsageExport};
use crate::error::{Error, Result};
use crate::http::problem::Problem;

/// Which period, in which format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// A calendar month in UTC, `YYYY-MM` (instead of `from` and `to`).
    pub month: Option<String>,
    /// The period's start (RFC 3339).
    pub from: Option<String>,
    /// The period's end, exclusive (RFC 3339); capped at now.
    pub to: Option<String>,
    /// `json` (the default) or `csv`.
    pub format: Option<String>,
    /// Accounts per page (default 500, at most 1000).
    pub limit: Option<usize>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

fn micros(s: &str, which: &str) -> Result<i64> {
    let t: jiff::Timestamp = s
        .parse()
        .map_err(|_| Error::BadRequest(format!("invalid {which} {s:?}: use RFC 3339")))?;
    Ok(t.as_microsecond())
}

/// `YYYY-MM` as the microseconds of its first instant and of the next month's.
fn month(s: &str) -> Result<(i64, i64)> {
    let bad = || Error::BadRequest(format!("invalid month {s:?}: use YYYY-MM"));
    let (y, m) = s.split_once('-').ok_or_else(bad)?;
    let (y, m): (i16, i8) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(1000..=9998).contains(&y) || !(1..=12).contains(&m) {
        return Err(bad());
    }
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let utc = |y: i16, m: i8| micros(&format!("{y:04}-{m:02}-01T00:00:00Z"), "month");
    Ok((utc(y, m)?, utc(ny, nm)?))
}

/// Each account's usage over a period: at its end, at its peak and on average (byte-hours),
/// logical and after dedup. Administrators only; one page of accounts per call (follow `next`,
/// or the `Link: rel="next"` header).
#[utoipa::path(get, path = "/admin/usage", tag = "admin", security(("bearer" = [])), params(UsageQuery),
    responses(
        (status = 200, description = "A page of the export", content(
            (UsageExport = "application/json"),
            (String = "text/csv"))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn export(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<UsageQuery>,
) -> Result<Response> {
    caller.0.user_id()?;
    // Refused before the query is looked at: a non-administrator learns nothing from it.
    app.guard
        .authorize_platform(&caller.0, "administer")
        .await?;
    let (from, to) = match (&q.month, &q.from, &q.to) {
        (Some(m), None, None) => month(m)?,
        (None, Some(f), Some(t)) => (micros(f, "from")?, micros(t, "to")?),
        _ => {
            return Err(Error::BadRequest(
                "give either month, or both from and to".into(),
            ));
        }
    };
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "unknown format {other:?}: json or csv"
            )));
        }
    };
    let page = app
        .metering
        .export(
            &caller.0,
            from,
            to,
            q.after.as_deref(),
            q.limit.unwrap_or(500),
        )
        .await?;
    let link = page.next.as_ref().map(|next| next_link(&q, next));
    let mut response = if csv {
        let body = format!("{CSV_HEADER}\n{}", page.csv_rows());
        (
            [(
                header::CONTENT_TYPE,
                "text/csv; charset=utf-8; header=present",
            )],
            body,
        )
            .into_response()
    } else {
        axum::Json::<UsageExport>(page).into_response()
    };
    if let Some(link) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

/// The `Link` header of the next page: the same query with `after` moved on.
fn next_link(q: &UsageQuery, next: &str) -> String {
    // reqwest's `Url` (the client already depends on it) encodes the query.
    let mut url = reqwest::Url::parse("http://localhost/admin/usage").expect("static url");
    let mut params = url.query_pairs_mut();
    for (k, v) in [
        ("month", &q.month),
        ("from", &q.from),
        ("to", &q.to),
        ("format", &q.format),
    ] {
        if let Some(v) = v {
            params.append_pair(k, v);
        }
    }
    if let Some(l) = q.limit {
        params.append_pair("limit", &l.to_string());
    }
    params.append_pair("after", next);
    drop(params);
    format!(
        "</admin/usage?{}>; rel=\"next\"",
        url.query().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_run_from_their_first_instant_to_the_next_months() {
        let (a, b) = month("2026-12").unwrap();
        assert_eq!(a, micros("2026-12-01T00:00:00Z", "from").unwrap());
        assert_eq!(b, micros("2027-01-01T00:00:00Z", "to").unwrap());
        for bad in ["2026", "2026-13", "2026-00", "26-01", "x-y"] {
            assert!(month(bad).is_err(), "{bad}");
        }
    }
}
