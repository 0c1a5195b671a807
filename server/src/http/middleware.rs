//! The one middleware every request passes: request id, client IP, per-IP rate limit, metrics,
//! JSON access log, security headers, and problem documents for errors produced outside the
//! handlers (unknown route, wrong method, body limits, extractor rejections, timeouts).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use http_body_util::BodyExt;
use tracing::Instrument;

use super::caller::RequestMeta;
use crate::app::AppState;
use crate::error;
use crate::http::problem::InternalDetail;

/// Unknown routes.
pub async fn not_found() -> error::Error {
    error::Error::NotFound("no such route".into())
}

fn request_id(req: &Request) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

fn client_ip(req: &Request, proxies: &super::forwarded::Proxies) -> IpAddr {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    // Several header lines are one list, in order.
    let lines: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let joined = lines.join(",");
    proxies.client(peer, (!lines.is_empty()).then_some(joined.as_str()))
}

/// See the module docs.
pub async fn observe(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&req);
    let ip = client_ip(&req, &app.proxies);
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    req.extensions_mut()
        .insert(RequestMeta { id: id.clone(), ip });

    let mut res = match app.limiter.check_ip(&ip.to_string()).await {
        Err(wait) => {
            error::Error::TooManyRequests("too many requests from this address".into(), wait)
                .into_response()
        }
        Ok(()) => {
            // Everything logged while handling the request carries its id.
            let span =
                tracing::info_span!("request", request_id = %id, method = %method, route = %route);
            next.run(req).instrument(span).await
        }
    };
    res = into_problem(res).await;

    let status = res.status();
    let internal = res
        .extensions()
        .get::<InternalDetail>()
        .map(|d| d.0.clone());
    let h = res.headers_mut();
    h.insert(
        "x-request-id",
        HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("-")),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    if !route.starts_with("/docs") {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; sandbox"),
        );
    }
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));

    let elapsed = started.elapsed();
    app.metrics
        .observe(&route, &method, status.as_u16(), elapsed.as_secs_f64());
    if let Some(detail) = internal {
        tracing::error!(request_id = %id, method = %method, route = %route, status = status.as_u16(), error = %detail, "request failed");
    } else {
        tracing::info!(request_id = %id, method = %method, route = %route, status = status.as_u16(), micros = elapsed.as_micros() as u64, ip = %ip, "request");
    }
    res
}

/// Error responses not built by [`error::Error`] (axum's rejections, 404/405, limits, timeouts)
/// become problem documents with the same status.
async fn into_problem(res: Response) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    // Problem documents, and JSON answers a handler chose deliberately (the readiness report
    // with its 503), pass as they are.
    let is_ours = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"application/problem+json")
            || v.as_bytes().starts_with(b"application/json")
    });
    if is_ours {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = match body.collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes())
            .chars()
            .take(500)
            .collect::<String>(),
        Err(_) => String::new(),
    };
    let detail = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    let err = match status.as_u16() {
        400 => error::Error::BadRequest(detail),
        401 => error::Error::Unauthorized(detail),
        404 => error::Error::NotFound(detail),
        405 => error::Error::BadRequest(format!("method not allowed: {detail}")),
        408 => error::Error::Unavailable(format!("request timed out: {detail}")),
        413 => error::Error::TooLarge(detail),
        415 => error::Error::UnsupportedMediaType(detail),
        422 => error::Error::Invalid(detail),
        s if s < 500 => error::Error::BadRequest(detail),
        _ => error::Error::Internal(detail),
    };
    // Keep the original status (405, 408 ...) and its Allow header.
    let mut problem = super::problem::problem(&err);
    problem.status = status.as_u16();
    problem.title = status.canonical_reason().unwrap_or("Error").to_owned();
    let mut out = (status, axum::Json(problem)).into_response();
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    if let error::Error::Internal(d) = &err {
        out.extensions_mut().insert(InternalDetail(d.clone()));
    }
    out
}
