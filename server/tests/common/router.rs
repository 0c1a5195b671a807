//! The router driven without a socket (`tower::ServiceExt::oneshot`), on SQLite or PostgreSQL:
//! a harness that checks every error is a problem document and never a 500.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use strongroom::app::{App, AppState};
use strongroom::config::Config;
use tower::ServiceExt;

pub struct Harness {
    /// The state.
    pub app: AppState,
    /// The router.
    pub router: Router,
    /// The data directory.
    pub dir: tempfile::TempDir,
    /// The server's clock: tests move it instead of sleeping.
    pub clock: Arc<strongroom::clock::ManualClock>,
}

/// Which metadata database a test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Each test runs on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Postgres).await })*
        }
    };
}

/// A server on `backend` with a memory blob store.
pub async fn harness(backend: Backend, max_upload: u64) -> Option<Harness> {
    harness_with(backend, max_upload, |_| {}).await
}

/// A server on `backend` with a memory blob store and `tune` applied to its configuration.
pub async fn harness_with(
    backend: Backend,
    max_upload: u64,
    tune: impl FnOnce(&mut Config),
) -> Option<Harness> {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::load(None, Vec::<(String, String)>::new()).unwrap();
    if let Backend::Postgres = backend {
        config.database.url = super::fresh_postgres("api").await?;
        config.database.max_connections = 4;
    }
    config.data_dir = dir.path().to_owned();
    config.storage.url = "memory://".into();
    config.files.max_upload_bytes = max_upload;
    config.http.max_json_bytes = 4096;
    tune(&mut config);
    let clock = Arc::new(strongroom::clock::ManualClock::starting_now());
    let app = Arc::new(App::build_with_clock(config, clock.clone()).await.unwrap());
    let router = strongroom::http::app(app.clone());
    Some(Harness {
        app,
        router,
        dir,
        clock,
    })
}

impl Harness {
    /// The same server started again on the same configuration, data directory, database and
    /// clock (what a restart after changing `auth.policy_dir` is).
    pub async fn restarted(self) -> Harness {
        let Harness {
            app, dir, clock, ..
        } = self;
        let config = app.config.clone();
        drop(app);
        let app = Arc::new(App::build_with_clock(config, clock.clone()).await.unwrap());
        let router = strongroom::http::app(app.clone());
        Harness {
            app,
            router,
            dir,
            clock,
        }
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
    pub raw: Vec<u8>,
    pub headers: http::HeaderMap,
}

impl Harness {
    pub async fn send(&self, req: Request<Body>) -> Reply {
        // A HEAD answer has a problem document's headers but no body.
        let head = req.method() == Method::HEAD;
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let content_type = res
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let raw = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "500: {body}");
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(
                content_type, "application/problem+json",
                "{status} without a problem document"
            );
            if !head {
                assert_eq!(body["status"], status.as_u16(), "{body}");
                assert!(
                    body["detail"].is_string() && body["type"].is_string(),
                    "{body}"
                );
            }
        }
        Reply {
            status,
            headers,
            content_type,
            body,
            raw,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(v) => b
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        self.send(req).await
    }

    pub async fn user(&self, email: &str) -> (String, Value) {
        let r = self
            .call(
                Method::POST,
                "/auth/register",
                None,
                Some(json!({ "email": email, "name": "U", "password": "correct horse battery" })),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        self.login(email).await
    }

    /// Bootstraps the platform administrator (call it before anyone registers) and signs in as
    /// them; the access token.
    pub async fn admin_token(&self) -> String {
        let password = self
            .app
            .accounts
            .bootstrap_admin()
            .await
            .unwrap()
            .unwrap()
            .1;
        let login = json!({ "email": "admin@strongroom.local", "password": password });
        let r = self
            .call(Method::POST, "/auth/login", None, Some(login))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["access_token"].as_str().unwrap().to_owned()
    }

    /// `POST /auth/login` with `email` and `password`, whatever the answer.
    pub async fn sign_in(&self, email: &str, password: &str) -> Reply {
        self.call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({ "email": email, "password": password })),
        )
        .await
    }

    /// Signs in a user made by [`Harness::user`] again (a fresh access token).
    pub async fn login(&self, email: &str) -> (String, Value) {
        let r = self
            .call(
                Method::POST,
                "/auth/login",
                None,
                Some(json!({ "email": email, "password": "correct horse battery" })),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        (r.body["access_token"].as_str().unwrap().to_owned(), r.body)
    }

    /// Uploads `body` as a text file named `name` (into `folder`, or the root); its id.
    pub async fn put_text(
        &self,
        token: &str,
        folder: Option<&str>,
        name: &str,
        body: &str,
    ) -> String {
        let name: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
        let uri = match folder {
            Some(f) => format!("/files?name={name}&folder_id={f}"),
            None => format!("/files?name={name}"),
        };
        let r = self
            .send(
                Request::post(uri)
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
                    .body(Body::from(body.to_owned()))
                    .unwrap(),
            )
            .await;
        assert!(r.status.is_success(), "{} {}", r.status, r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// Creates a team with `token`'s account as its admin: its id and its space's.
    pub async fn team(&self, token: &str, name: &str) -> (String, String) {
        let r = self
            .call(
                Method::POST,
                "/teams",
                Some(token),
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        (
            r.body["id"].as_str().unwrap().to_owned(),
            r.body["space_id"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn upload(&self, token: &str, name: &str, bytes: &[u8]) -> Reply {
        let req = Request::post(format!("/files?name={name}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from(bytes.to_vec()))
            .unwrap();
        self.send(req).await
    }
}
