//! User attributes over HTTP, on SQLite and on PostgreSQL: administrators tag accounts and set
//! typed custom fields, and operator policies read them as principal attributes. The shipped
//! example (`server/policies/examples/contractors.cedar`) is loaded as an operator would load
//! it and held to what it promises, at the server's clock, on every download path. Decisions on
//! the platform and on one's own account see the same groups and tags.

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

#[macro_use]
mod common;
use common::router::{Backend, Harness, Reply, harness_with};

on_both_databases!(
    contractors_download_confidential_files_only_in_office_hours,
    platform_decisions_see_groups_and_tags,
);

const EXAMPLE: &str = include_str!("../policies/examples/contractors.cedar");

async fn call(h: &Harness, m: Method, uri: &str, token: &str, body: Option<Value>) -> Reply {
    h.call(m, uri, Some(token), body).await
}

/// The download paths: whole, ranged, HEAD; and the metadata read, which the example leaves
/// alone.
async fn statuses(h: &Harness, token: &str, file: &str) -> (Vec<StatusCode>, StatusCode) {
    let mut out = Vec::new();
    out.push(
        call(
            h,
            Method::GET,
            &format!("/files/{file}/content"),
            token,
            None,
        )
        .await
        .status,
    );
    for req in [
        Request::get(format!("/files/{file}/content"))
            .header(header::RANGE, "bytes=0-3")
            .header(header::AUTHORIZATION, format!("Bearer {token}")),
        Request::head(format!("/files/{file}/content"))
            .header(header::AUTHORIZATION, format!("Bearer {token}")),
    ] {
        out.push(h.send(req.body(Body::empty()).unwrap()).await.status);
    }
    let meta = call(h, Method::GET, &format!("/files/{file}"), token, None)
        .await
        .status;
    (out, meta)
}

async fn login_root(h: &Harness, password: &str) -> String {
    h.call(
        Method::POST,
        "/auth/login",
        None,
        Some(json!({ "email": "admin@strongroom.local", "password": password })),
    )
    .await
    .body["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Moves the server clock forward to the next `hour`:00 UTC.
fn advance_to_hour(h: &Harness, hour: i64) {
    let now = h.clock_now_secs();
    let day = now.rem_euclid(86_400);
    let target = hour * 3600;
    let wait = (target - day).rem_euclid(86_400);
    h.clock.advance_secs(wait);
}

trait ClockNow {
    fn clock_now_secs(&self) -> i64;
}

impl ClockNow for Harness {
    fn clock_now_secs(&self) -> i64 {
        use strongroom::clock::Clock;
        self.clock.now_micros() / 1_000_000
    }
}

async fn contractors_download_confidential_files_only_in_office_hours(backend: Backend) {
    // The server reads `auth.policy_dir` at start: the example goes in once the folder it
    // names exists, and the server is started again.
    let policies = tempfile::tempdir().unwrap();
    let policy_dir = policies.path().to_owned();
    let Some(h) = harness_with(backend, 1 << 20, |c| {
        c.auth.policy_dir = policy_dir.to_string_lossy().into_owned();
        c.attributes
            .fields
            .insert("contract_end".into(), "date".into());
        c.attributes
            .fields
            .insert("clearance".into(), "number".into());
    })
    .await
    else {
        return;
    };
    let password = h.app.accounts.bootstrap_admin().await.unwrap().unwrap().1;
    let (ann, _) = h.user("ann@example.com").await;
    let (_, bob) = h.user("bob@example.com").await;
    let bob_id = bob["user"]["id"].as_str().unwrap().to_owned();
    h.user("carl@example.com").await;

    // ann's confidential folder, shared with bob and carl; a file in it.
    let made = call(
        &h,
        Method::POST,
        "/folders",
        &ann,
        Some(json!({ "name": "board" })),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let real_id = made.body["id"].as_str().unwrap().to_owned();
    std::fs::write(
        policy_dir.join("contractors.cedar"),
        EXAMPLE.replace("CONFIDENTIAL_FOLDER", &real_id),
    )
    .unwrap();
    let h = h.restarted().await;
    let (ann, _) = h.login("ann@example.com").await;
    for who in ["bob@example.com", "carl@example.com"] {
        let r = call(
            &h,
            Method::POST,
            &format!("/folders/{real_id}/grants"),
            &ann,
            Some(json!({ "email": who, "role": "viewer" })),
        )
        .await;
        assert!(r.status.is_success(), "{}", r.body);
    }
    let up = h
        .send(
            Request::post(format!("/files?name=minutes.txt&folder_id={real_id}"))
                .header(header::AUTHORIZATION, format!("Bearer {ann}"))
                .body(Body::from("the board minutes"))
                .unwrap(),
        )
        .await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
    let file = up.body["id"].as_str().unwrap().to_owned();
    let elsewhere = h
        .upload(&ann, "public-notes.txt", b"not confidential")
        .await;
    let elsewhere = elsewhere.body["id"].as_str().unwrap().to_owned();
    let r = call(
        &h,
        Method::POST,
        &format!("/files/{elsewhere}/grants"),
        &ann,
        Some(json!({ "email": "bob@example.com", "role": "viewer" })),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.body);

    // The administrator tags bob a contractor (and checks types).
    let root = login_root(&h, &password).await;
    let uri = format!("/admin/users/{bob_id}/attributes");
    for bad in [
        json!({ "tags": ["Contractor"] }),
        json!({ "fields": { "contract_end": "next spring" } }),
        json!({ "fields": { "clearance": "high" } }),
        json!({ "fields": { "shoe_size": 44 } }),
        json!({ "tags": [], "colour": "red" }),
    ] {
        let r = call(&h, Method::PUT, &uri, &root, Some(bad.clone())).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
    }
    let r = call(
        &h,
        Method::PUT,
        &uri,
        &ann,
        Some(json!({ "tags": ["contractor"] })),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "only administrators: {}",
        r.body
    );
    let r = call(
        &h,
        Method::PUT,
        &uri,
        &root,
        Some(json!({ "tags": ["contractor"], "fields": { "clearance": 2 } })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["attributes"]["tags"], json!(["contractor"]));

    // In office hours, bob downloads; after them, not on any download path (the metadata
    // stays readable, and outside the confidential tree nothing changes); carl, untagged,
    // downloads at any hour.
    advance_to_hour(&h, 12);
    let (bob_t, _) = h.login("bob@example.com").await;
    let (paths, meta) = statuses(&h, &bob_t, &file).await;
    assert!(paths.iter().all(|s| s.is_success()), "{paths:?}");
    assert_eq!(meta, StatusCode::OK);
    advance_to_hour(&h, 20);
    let (bob_t, _) = h.login("bob@example.com").await;
    let (carl_t, _) = h.login("carl@example.com").await;
    let (paths, meta) = statuses(&h, &bob_t, &file).await;
    assert!(
        paths.iter().all(|s| *s == StatusCode::FORBIDDEN),
        "{paths:?}"
    );
    assert_eq!(meta, StatusCode::OK);
    let (paths, _) = statuses(&h, &bob_t, &elsewhere).await;
    assert!(paths.iter().all(|s| s.is_success()), "{paths:?}");
    let (paths, _) = statuses(&h, &carl_t, &file).await;
    assert!(paths.iter().all(|s| s.is_success()), "{paths:?}");
    // The tag removed: bob downloads after hours too, from the next request on.
    let root = login_root(&h, &password).await;
    let r = call(&h, Method::PUT, &uri, &root, Some(json!({ "tags": [] }))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (paths, _) = statuses(&h, &bob_t, &file).await;
    assert!(paths.iter().all(|s| s.is_success()), "{paths:?}");

    // A contract's end (a date field) takes everything away at the clock, shares included.
    let end = jiff::Timestamp::from_second(h.clock_now_secs() + 3600)
        .unwrap()
        .to_string();
    let r = call(
        &h,
        Method::PUT,
        &uri,
        &root,
        Some(json!({ "fields": { "contract_end": end } })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (paths, meta) = statuses(&h, &bob_t, &elsewhere).await;
    assert!(
        paths.iter().all(|s| s.is_success()) && meta == StatusCode::OK,
        "{paths:?}"
    );
    h.clock.advance_secs(2 * 3600);
    let (bob_t, _) = h.login("bob@example.com").await;
    let (paths, meta) = statuses(&h, &bob_t, &elsewhere).await;
    assert!(
        paths
            .iter()
            .chain([&meta])
            .all(|s| *s == StatusCode::FORBIDDEN || *s == StatusCode::NOT_FOUND),
        "{paths:?} {meta}"
    );

    // Audited, with the administrator as actor.
    h.app.relay.clone().unwrap().run_once().await.unwrap();
    let root = login_root(&h, &password).await;
    let trail = call(
        &h,
        Method::GET,
        &format!("/audit?resource_type=user&resource_id={bob_id}&limit=100"),
        &root,
        None,
    )
    .await;
    let n = trail.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["event"]["action"] == "account.attributes_set")
        .count();
    assert_eq!(n, 3, "{}", trail.body);
}

/// Operator policies on platform actions (creating a team) and on one's own account read the
/// caller's groups and tags, from the next request after they change.
async fn platform_decisions_see_groups_and_tags(backend: Backend) {
    let policies = tempfile::tempdir().unwrap();
    std::fs::write(
        policies.path().join("platform.cedar"),
        r#"
forbid (principal, action == Action::"create_team", resource)
unless { principal in Group::"staff" };

forbid (principal, action == Action::"manage_account", resource)
when { principal is User && principal.tags.contains("frozen") };
"#,
    )
    .unwrap();
    let policy_dir = policies.path().to_string_lossy().into_owned();
    let Some(h) = harness_with(backend, 1 << 20, |c| c.auth.policy_dir = policy_dir).await else {
        return;
    };
    let password = h.app.accounts.bootstrap_admin().await.unwrap().unwrap().1;
    let root = login_root(&h, &password).await;
    let (ann, _) = h.user("ann@example.com").await;
    let (bob, body) = h.user("bob@example.com").await;
    let bob_id = body["user"]["id"].as_str().unwrap().to_owned();
    let team = |name: &'static str| json!({ "name": name });

    let r = call(&h, Method::POST, "/teams", &ann, Some(team("A"))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "outside staff: {}", r.body);
    let r = call(
        &h,
        Method::POST,
        "/admin/groups",
        &root,
        Some(json!({ "id": "staff" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let add = json!({ "email": "ann@example.com" });
    let r = call(
        &h,
        Method::POST,
        "/admin/groups/staff/members",
        &root,
        Some(add),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = call(&h, Method::POST, "/teams", &ann, Some(team("A"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "in staff: {}", r.body);
    let r = call(&h, Method::POST, "/teams", &bob, Some(team("B"))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let ann_id = call(&h, Method::GET, "/me", &ann, None).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = format!("/admin/groups/staff/members/user/{ann_id}");
    assert_eq!(
        call(&h, Method::DELETE, &out, &root, None).await.status,
        StatusCode::NO_CONTENT
    );
    let r = call(&h, Method::POST, "/teams", &ann, Some(team("C"))).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "out of staff again: {}",
        r.body
    );

    // A tag on the account decides the account's own routes.
    assert_eq!(
        call(&h, Method::GET, "/me", &bob, None).await.status,
        StatusCode::OK
    );
    let tags = format!("/admin/users/{bob_id}/attributes");
    let frozen = json!({ "tags": ["frozen"] });
    assert!(
        call(&h, Method::PUT, &tags, &root, Some(frozen))
            .await
            .status
            .is_success()
    );
    for uri in ["/me", "/me/sessions", "/me/groups"] {
        let r = call(&h, Method::GET, uri, &bob, None).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{uri} when frozen: {}",
            r.body
        );
    }
    let thawed = json!({ "tags": [] });
    assert!(
        call(&h, Method::PUT, &tags, &root, Some(thawed))
            .await
            .status
            .is_success()
    );
    assert_eq!(
        call(&h, Method::GET, "/me", &bob, None).await.status,
        StatusCode::OK
    );
}
