//! `GET /search`: files you may read, by a query and filters.

use axum::Json;
use axum::extract::{RawQuery, State};
use utoipa::IntoParams;

use super::Caller;
use crate::app::AppState;
use crate::domain::search::{SearchPage, SearchRequest};
use crate::error::{Error, Result};
use crate::http::problem::Problem;

/// The search parameters; `type`, `ext`, `tag` and `field` may be repeated.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SearchParams {
    /// Words (matching names as substrings, content words as prefixes, tags and text fields),
    /// `"phrases"`, `-excluded`, `a OR b`, parentheses; at most 500 characters.
    q: Option<String>,
    /// A media type (`image/png`) or family (`image`).
    #[param(rename = "type")]
    kind: Option<String>,
    /// A name extension (`pdf`).
    ext: Option<String>,
    /// At least this many bytes.
    min_size: Option<u64>,
    /// At most this many bytes.
    max_size: Option<u64>,
    /// Only this account's files (an id, or `me`).
    owner: Option<String>,
    /// Only this team's files.
    team: Option<String>,
    /// Changed at or after (RFC 3339 or a day).
    modified_after: Option<String>,
    /// Changed before.
    modified_before: Option<String>,
    /// Carrying this tag (an id).
    tag: Option<String>,
    /// Only within this folder, at any depth.
    folder: Option<String>,
    /// A field condition: `pages>=10`, `client=Acme`, `signed=true`, `due<2026-12-31`.
    field: Option<String>,
    /// `updated` (default), `created`, `name` or `size`.
    sort: Option<String>,
    /// `true` or `false` (default: newest first for times, ascending otherwise).
    desc: Option<bool>,
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
    /// Files per page, 1 to 200 (default 50).
    limit: Option<u32>,
}

fn parse(raw: &str) -> Result<SearchRequest> {
    let mut r = SearchRequest::default();
    let number = |k: &str, v: &str| -> Result<u64> {
        v.parse()
            .map_err(|_| Error::BadRequest(format!("{k} is a whole number of bytes, not {v:?}")))
    };
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        let v = v.into_owned();
        let once = |slot: &mut Option<String>| -> Result<()> {
            if slot.replace(v.clone()).is_some() {
                return Err(Error::BadRequest(format!("{k} is given twice")));
            }
            Ok(())
        };
        match k.as_ref() {
            "q" => once(&mut r.q)?,
            "type" => r.types.push(v),
            "ext" => r.extensions.push(v),
            "tag" => r.tags.push(v),
            "field" => r.fields.push(v),
            "min_size" => r.min_size = Some(number("min_size", &v)?),
            "max_size" => r.max_size = Some(number("max_size", &v)?),
            "owner" => once(&mut r.owner)?,
            "team" => once(&mut r.team)?,
            "modified_after" => once(&mut r.modified_after)?,
            "modified_before" => once(&mut r.modified_before)?,
            "folder" => once(&mut r.folder)?,
            "sort" => once(&mut r.sort)?,
            "cursor" => once(&mut r.cursor)?,
            "desc" => {
                r.desc = Some(match v.as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(Error::BadRequest(format!(
                            "desc is true or false, not {v:?}"
                        )));
                    }
                })
            }
            "limit" => {
                r.limit = Some(v.parse().map_err(|_| {
                    Error::BadRequest(format!("limit is a number from 1 to 200, not {v:?}"))
                })?)
            }
            other => {
                return Err(Error::BadRequest(format!(
                    "unknown search parameter {other:?}"
                )));
            }
        }
    }
    Ok(r)
}

/// Files you may read that match a query and filters, a page at a time. Only files within
/// your reach are looked at (yours, your teams', shared with you or your groups), and each is
/// authorized before it is shown.
#[utoipa::path(get, path = "/search", tag = "files", security(("bearer" = [])), params(SearchParams),
    responses((status = 200, body = SearchPage), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem)))]
pub async fn search(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<SearchPage>> {
    caller.0.user_id()?;
    let r = parse(raw.as_deref().unwrap_or(""))?;
    Ok(Json(app.search.search(&caller.0, &r).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_filters_collect() {
        let r = parse("q=a%20b&type=image&type=text%2Fplain&field=pages%3E%3D3&limit=5").unwrap();
        assert_eq!(r.q.as_deref(), Some("a b"));
        assert_eq!(r.types, ["image", "text/plain"]);
        assert_eq!(r.fields, ["pages>=3"]);
        assert_eq!(r.limit, Some(5));
        assert!(parse("q=a&q=b").is_err());
        assert!(parse("nope=1").is_err());
        assert!(parse("min_size=-1").is_err());
    }
}
