//! The HTTP layer: thin handlers over `domain`, one module per resource, plus middleware.

mod accounts;
mod activity;
mod admin;
mod caller;
mod fields;
mod files;
mod folders;
pub mod forwarded;
mod grants;
mod groups;
mod invitations;
mod links;
mod lockout;
mod middleware;
mod ops;
pub mod problem;
mod search;
mod stats;
mod tags;
mod teams;
mod trash;
mod usage;
mod versions;
mod webhooks;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
pub use caller::Caller;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Strongroom",
        description = "The Strongroom file platform API. Every error is an RFC 9457 problem document (application/problem+json).",
        license(name = "Apache-2.0 OR MIT")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Registration, login, tokens"),
        (name = "me", description = "The caller's account, sessions and activity"),
        (name = "files", description = "Upload, download, metadata, verification"),
        (name = "folders", description = "Folders"),
        (name = "versions", description = "Versions of a file: list, download, restore, diff"),
        (name = "trash", description = "Deleted files and folders: list, restore, purge"),
        (name = "links", description = "Public share links"),
        (name = "sharing", description = "Shares with users and groups (viewer, commenter, editor)"),
        (name = "teams", description = "Teams, their members and roles, and the spaces they own"),
        (name = "webhooks", description = "Webhook endpoints of users, teams and the platform, their deliveries and redelivery"),
        (name = "admin", description = "Administration"),
        (name = "ops", description = "Health, readiness, metrics, API description")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    Http::builder()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
        }
    }
}

/// The API routes with their OpenAPI description (one source for both).
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(accounts::register))
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::refresh))
        .routes(routes!(accounts::logout))
        .routes(routes!(
            accounts::profile,
            accounts::update_profile,
            accounts::delete_account
        ))
        .routes(routes!(accounts::change_password))
        .routes(routes!(accounts::sessions))
        .routes(routes!(accounts::revoke_session))
        .routes(routes!(accounts::activity))
        .routes(routes!(accounts::usage))
        .routes(routes!(links::mine))
        .routes(routes!(files::list))
        .routes(routes!(files::get, files::update, files::delete))
        .routes(routes!(files::verify))
        .routes(routes!(versions::list))
        .routes(routes!(versions::diff))
        .routes(routes!(versions::download))
        .routes(routes!(versions::restore))
        .routes(routes!(versions::delete))
        .routes(routes!(trash::list, trash::empty))
        .routes(routes!(trash::restore))
        .routes(routes!(trash::purge))
        .routes(routes!(links::create, links::for_file))
        .routes(routes!(folders::create))
        .routes(routes!(folders::get, folders::update, folders::delete))
        .routes(routes!(links::revoke))
        .routes(routes!(grants::grant_file, grants::file_grants))
        .routes(routes!(grants::revoke_file))
        .routes(routes!(grants::revoke_file_group))
        .routes(routes!(grants::grant_folder, grants::folder_grants))
        .routes(routes!(grants::revoke_folder))
        .routes(routes!(grants::revoke_folder_group))
        .routes(routes!(grants::shared_with_me))
        .routes(routes!(grants::shared_by_me))
        .routes(routes!(links::info))
        .routes(routes!(admin::audit))
        .routes(routes!(admin::verify_chain))
        .routes(routes!(admin::users))
        .routes(routes!(admin::disable_user))
        .routes(routes!(admin::enable_user))
        .routes(routes!(admin::set_quota))
        .routes(routes!(usage::export))
        .routes(routes!(admin::reset_password))
        .routes(routes!(admin::grant_admin, admin::revoke_admin))
        .routes(routes!(admin::set_attributes))
        .routes(routes!(lockout::list))
        .routes(routes!(lockout::unlock))
        .routes(routes!(admin::user_sessions, admin::revoke_user_sessions))
        .routes(routes!(admin::revoke_user_session))
        .routes(routes!(groups::create, groups::list))
        .routes(routes!(groups::get, groups::update, groups::delete))
        .routes(routes!(groups::add_member))
        .routes(routes!(groups::remove_member))
        .routes(routes!(groups::mine))
        .routes(routes!(groups::team_create, groups::team_list))
        .routes(routes!(
            groups::team_get,
            groups::team_update,
            groups::team_delete
        ))
        .routes(routes!(groups::team_add_member))
        .routes(routes!(groups::team_remove_member))
        .routes(routes!(teams::create, teams::mine))
        .routes(routes!(teams::list_all))
        .routes(routes!(teams::get, teams::rename, teams::delete))
        .routes(routes!(teams::set_role))
        .routes(routes!(teams::remove_member))
        .routes(routes!(teams::leave))
        .routes(routes!(teams::transfer))
        .routes(routes!(teams::trash))
        .routes(routes!(invitations::create, invitations::sent))
        .routes(routes!(invitations::of_team))
        .routes(routes!(invitations::resend))
        .routes(routes!(invitations::revoke))
        .routes(routes!(invitations::describe, invitations::accept))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::get, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::rotate))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::delivery))
        .routes(routes!(webhooks::redeliver))
        .routes(routes!(tags::list, tags::create))
        .routes(routes!(tags::get, tags::update, tags::delete))
        .routes(routes!(tags::add))
        .routes(routes!(tags::remove))
        .routes(routes!(tags::items))
        .routes(routes!(fields::change))
        .routes(routes!(fields::schema, fields::set_schema))
        .routes(routes!(search::search))
        .routes(routes!(stats::mine))
        .routes(routes!(stats::platform))
        .routes(routes!(activity::file))
        .routes(routes!(activity::folder))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(ops::jwks))
}

/// Transfer routes: no request timeout (a large file takes as long as it takes).
fn transfers() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(files::upload))
        .routes(routes!(files::download, versions::put_content))
        .routes(routes!(links::download))
}

/// The OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, doc) = api().merge(transfers()).split_for_parts();
    doc
}

/// The whole application router.
pub fn app(state: AppState) -> Router {
    let cfg = &state.config.http;
    let timeout = Duration::from_secs(cfg.request_timeout_secs);
    let (api_router, mut doc) = api()
        .layer(TimeoutLayer::with_status_code(
            http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(DefaultBodyLimit::max(cfg.max_json_bytes))
        .merge(transfers().layer(DefaultBodyLimit::disable()))
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let cors = cors(&cfg.cors_origins);
    api_router
        .merge(ops::docs(doc, state.clone()))
        .fallback(middleware::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::observe,
        ))
        .layer(cors)
        .with_state(state)
}

fn cors(origins: &[String]) -> CorsLayer {
    let list: Vec<http::HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(list))
        .allow_methods([
            http::Method::GET,
            http::Method::POST,
            http::Method::PATCH,
            http::Method::PUT,
            http::Method::DELETE,
            http::Method::HEAD,
        ])
        .allow_headers([
            http::header::AUTHORIZATION,
            http::header::CONTENT_TYPE,
            http::header::RANGE,
            http::header::IF_NONE_MATCH,
            http::HeaderName::from_static("x-request-id"),
            http::HeaderName::from_static("x-link-password"),
        ])
        .expose_headers([
            http::header::CONTENT_RANGE,
            http::header::ETAG,
            http::HeaderName::from_static("x-request-id"),
        ])
}
