//! Who is calling: the bearer token (if any) checked against the session store, and the
//! request's IP, user agent and id (set by the `observe` middleware).

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use http::header;
use http::request::Parts;

use crate::app::AppState;
use crate::authz::Principal;
use crate::domain::Ctx;
use crate::error::Error;

/// What the middleware learned about the request.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    /// Request id.
    pub id: String,
    /// Client IP.
    pub ip: IpAddr,
}

/// The caller's context, signed in or anonymous. A present but bad token is a 401, never a
/// silent downgrade to anonymous.
#[derive(Debug, Clone)]
pub struct Caller(pub Ctx);

impl Caller {
    /// The same request, as nobody in particular (registration, login, token refresh).
    pub fn anonymous(&self) -> Ctx {
        let mut c = self.0.clone();
        c.principal = Principal::Anonymous;
        c.session_id = None;
        c
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let meta = parts
            .extensions
            .get::<RequestMeta>()
            .cloned()
            .unwrap_or(RequestMeta {
                id: uuid::Uuid::now_v7().to_string(),
                ip: IpAddr::from([127, 0, 0, 1]),
            });
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut ctx = Ctx {
            principal: Principal::Anonymous,
            session_id: None,
            ip: meta.ip,
            user_agent,
            request_id: meta.id,
            clock: app.clock.clone(),
        };
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let token = auth.to_str().ok().and_then(bearer_token).ok_or_else(|| {
                Error::Unauthorized("use Authorization: Bearer <access token>".into())
            })?;
            let claims = match app.sessions.verify_access(token.trim(), true).await {
                Ok(c) => c,
                Err(e) => {
                    app.metrics.auth_failures.inc();
                    return Err(e.into());
                }
            };
            if let Err(wait) = app.limiter.check_user(&claims.sub).await {
                return Err(Error::TooManyRequests(
                    "too many requests for this user".into(),
                    wait,
                ));
            }
            ctx.principal = Principal::User {
                admin: claims.roles.iter().any(|r| r == "admin"),
                id: claims.sub,
            };
            ctx.session_id = Some(claims.sid);
        }
        Ok(Caller(ctx))
    }
}

/// The token of a `Bearer` credential. The scheme name is case-insensitive (RFC 9110 §11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for v in ["Bearer abc", "bearer abc", "BEARER  abc ", "BeArEr abc"] {
            assert_eq!(super::bearer_token(v), Some("abc"), "{v}");
        }
        for v in ["Basic abc", "Bearer", "Bearer ", "Bearerabc", ""] {
            assert_eq!(super::bearer_token(v), None, "{v}");
        }
    }
}
