//! The router driven without a socket (`tower::ServiceExt::oneshot`), on SQLite and on PostgreSQL
//! (the same suite): every route authorizes through the policy engine, and bad input gets a clear
//! 4xx problem document, never a 500.

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

#[macro_use]
mod common;
use common::router::{Backend, harness, harness_with};

on_both_databases!(
    every_route_asks_the_policy_engine,
    other_users_resources_do_not_exist_for_them,
    bad_input_gets_clear_problems,
    links_expire_lock_and_revoke,
    sharing_a_folder_with_a_user,
    concurrent_renames_to_one_name_one_wins,
);

/// Walks every route of the OpenAPI document (which is generated from the router itself) and
/// fails if a request reaches a handler without a policy decision being made.
async fn every_route_asks_the_policy_engine(backend: Backend) {
    // Webhooks to a closed loopback port, given up at the first failure: a dead delivery to
    // redeliver.
    let Some(h) = harness_with(backend, 1 << 20, |c| {
        c.webhooks.allow_loopback = true;
        c.webhooks.allow_http = true;
        c.webhooks.retry_schedule_secs = vec![];
    })
    .await
    else {
        return;
    };
    let (token, tokens) = h.user("owner@example.com").await;
    let owner_id = tokens["user"]["id"].as_str().unwrap().to_owned();
    let file = h.upload(&token, "a.txt", b"hello").await.body;
    let file_id = file["id"].as_str().unwrap().to_owned();
    let folder = h
        .call(
            Method::POST,
            "/folders",
            Some(&token),
            Some(json!({ "name": "d" })),
        )
        .await
        .body;
    let folder_id = folder["id"].as_str().unwrap().to_owned();
    // Two files in the trash: one to restore, one to purge.
    let mut trashed = Vec::new();
    for name in ["restore-me.txt", "purge-me.txt"] {
        let id = h.upload(&token, name, b"bye").await.body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let gone = h
            .call(Method::DELETE, &format!("/files/{id}"), Some(&token), None)
            .await;
        assert_eq!(gone.status, StatusCode::NO_CONTENT);
        trashed.push(id);
    }
    let link = h
        .call(
            Method::POST,
            &format!("/files/{file_id}/links"),
            Some(&token),
            Some(json!({})),
        )
        .await
        .body;
    let link_id = link["id"].as_str().unwrap().to_owned();
    let link_token = link["token"].as_str().unwrap().to_owned();
    // Someone to share with.
    let (friend_token, friend) = h.user("friend@example.com").await;
    let friend_id = friend["user"]["id"].as_str().unwrap().to_owned();
    // Teams: `team` for the routes in general; the owner leaves `theirs` (friend's, where the
    // owner edits) and hands `handed` over to friend.
    let new_team = async |token: &str, name: &str| {
        let r = h
            .call(
                Method::POST,
                "/teams",
                Some(token),
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    };
    let team = new_team(&token, "Walk").await;
    let theirs = new_team(&friend_token, "Theirs").await;
    let handed = new_team(&token, "Handed").await;
    for (t, by, role) in [
        (&theirs, &friend_token, "editor"),
        (&handed, &token, "editor"),
    ] {
        let who = if by == &friend_token {
            "owner"
        } else {
            "friend"
        };
        let r = h
            .call(
                Method::PUT,
                &format!("/teams/{t}/members"),
                Some(by),
                Some(json!({ "email": format!("{who}@example.com"), "role": role })),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    // A group the owner is in, holding a share of the file and of the folder (to unshare).
    let mut root = strongroom::domain::Ctx::system();
    root.principal = strongroom::authz::Principal::User {
        id: "setup".into(),
        admin: true,
    };
    h.app
        .groups
        .create(
            &root,
            strongroom::domain::groups::Scope::Platform,
            "walkers",
            None,
            None,
        )
        .await
        .unwrap();
    let owner = strongroom::domain::groups::NewMember::Email("owner@example.com");
    h.app
        .groups
        .add_member(
            &root,
            strongroom::domain::groups::Scope::Platform,
            "walkers",
            Some(owner),
        )
        .await
        .unwrap();
    for on in [format!("/files/{file_id}"), format!("/folders/{folder_id}")] {
        let r = h
            .call(
                Method::POST,
                &format!("{on}/grants"),
                Some(&token),
                Some(json!({ "group": "walkers", "role": "viewer" })),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    }
    // A group in the owner's team, with the owner in it.
    for (uri, body) in [
        (format!("/teams/{team}/groups"), json!({ "id": "walkers" })),
        (
            format!("/teams/{team}/groups/walkers/members"),
            json!({ "email": "owner@example.com" }),
        ),
    ] {
        let r = h.call(Method::POST, &uri, Some(&token), Some(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    // An invitation of the owner's to resend and revoke; one to the owner (from friend, to
    // the team the owner is in already) to look at and accept.
    let r = h
        .call(
            Method::POST,
            "/invitations",
            Some(&token),
            Some(json!({ "email": "invitee@example.com", "team_id": team, "role": "guest" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let invitation_id = r.body["id"].as_str().unwrap().to_owned();
    let r = h
        .call(
            Method::POST,
            "/invitations",
            Some(&friend_token),
            Some(json!({ "email": "owner@example.com", "team_id": theirs, "role": "guest" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let link = r.body["link"].as_str().unwrap();
    let invitation_token = link[link.find("token=").unwrap() + 6..].to_owned();
    // A webhook of the owner's with a dead delivery (of the invitation above).
    let r = h
        .call(
            Method::POST,
            "/webhooks",
            Some(&token),
            Some(json!({ "url": "http://127.0.0.1:9/walk", "event_types": ["invitation"] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let hook = r.body["id"].as_str().unwrap().to_owned();
    let relay = h.app.relay.as_ref().unwrap();
    while relay.run_once().await.unwrap().published > 0 {}
    let worker = h.app.webhook_worker.as_ref().unwrap();
    while worker.deliver_due().await.unwrap().attempted > 0 {}
    let dead = h
        .call(
            Method::GET,
            &format!("/webhooks/{hook}/deliveries?state=dead"),
            Some(&token),
            None,
        )
        .await;
    let delivery = dead.body[0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", dead.body))
        .to_owned();
    // A tag of the owner's.
    let r = h
        .call(
            Method::POST,
            "/tags",
            Some(&token),
            Some(json!({ "name": "walked" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let tag = r.body["id"].as_str().unwrap().to_owned();
    // A second session to revoke.
    let other_session = h
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({ "email": "owner@example.com", "password": "correct horse battery" })),
        )
        .await
        .body["session_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let doc = serde_json::to_value(strongroom::http::openapi()).unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "patch", "delete"] {
            if let Some(op) = item.get(method) {
                routes.push((
                    method.to_uppercase(),
                    path.clone(),
                    op.get("requestBody").is_some(),
                ));
            }
        }
    }
    assert!(routes.len() >= 30, "{routes:?}");
    // Destructive routes last, and the session-ending ones at the very end.
    let rank = |m: &str, p: &str| match (m, p) {
        ("POST", "/me/password") => 5,
        ("POST", "/auth/logout") => 6,
        ("DELETE", "/me") => 7,
        ("DELETE", "/files/{id}") | ("DELETE", "/trash") | ("DELETE", "/teams/{id}") => 4,
        ("DELETE", p) if p.contains("/grants/") || p.contains("/members/") => 2,
        ("DELETE", _) => 3,
        _ => 1,
    };
    routes.sort_by_key(|(m, p, _)| rank(m, p));

    let bodies = |m: &str, p: &str| -> Option<Value> {
        Some(match (m, p) {
            ("POST", "/auth/register") => {
                json!({ "email": "new@example.com", "name": "N", "password": "correct horse battery" })
            }
            ("POST", "/auth/login") => {
                json!({ "email": "owner@example.com", "password": "correct horse battery" })
            }
            ("POST", "/auth/refresh") => json!({ "refresh_token": tokens["refresh_token"] }),
            ("PATCH", "/me") => json!({ "name": "Renamed" }),
            ("POST", "/me/password") => {
                json!({ "current_password": "correct horse battery", "new_password": "correct horse battery" })
            }
            ("DELETE", "/me") => json!({ "password": "correct horse battery" }),
            ("POST", "/folders") => json!({ "name": "e" }),
            ("PATCH", "/folders/{id}") => json!({ "name": "d2" }),
            ("PATCH", "/files/{id}") => json!({ "name": "b.txt" }),
            ("PUT", "/admin/users/{id}/quota") => json!({ "bytes": 1000, "files": null }),
            ("PUT", "/admin/users/{id}/attributes") => json!({ "tags": ["walker"] }),
            ("POST", "/admin/groups") => json!({ "id": "g" }),
            ("PATCH", "/admin/groups/{id}") => json!({ "name": "G" }),
            ("POST", "/admin/groups/{id}/members") => json!({ "email": "friend@example.com" }),
            ("POST", "/teams/{id}/groups") => json!({ "id": "walked" }),
            ("PATCH", "/teams/{id}/groups/{group_id}") => json!({ "name": "Walkers" }),
            ("POST", "/teams/{id}/groups/{group_id}/members") => {
                json!({ "email": "owner@example.com" })
            }
            ("PUT", "/files/{id}/content") => json!("the second version"),
            ("POST", "/teams") => json!({ "name": "Another" }),
            ("PATCH", "/teams/{id}") => json!({ "name": "Walked" }),
            ("PUT", "/teams/{id}/members") => {
                json!({ "email": "friend@example.com", "role": "guest" })
            }
            ("POST", "/teams/{id}/transfer") => json!({ "email": "friend@example.com" }),
            ("POST", "/invitations") => {
                json!({ "email": "another@example.com", "team_id": team, "role": "editor" })
            }
            ("POST", "/invitations/accept") => json!({ "token": invitation_token }),
            ("POST", "/files/{id}/links") => json!({}),
            ("POST", "/webhooks") => json!({ "url": "http://127.0.0.1:9/another" }),
            ("PATCH", "/webhooks/{id}") => json!({ "description": "walked" }),
            ("POST", "/webhooks/{id}/rotate") => json!({ "overlap_secs": 60 }),
            ("POST", "/files/{id}/grants") | ("POST", "/folders/{id}/grants") => {
                json!({ "email": "friend@example.com", "role": "viewer" })
            }
            ("POST", "/tags") => json!({ "name": "walked too" }),
            ("PATCH", "/tags/{id}") => json!({ "colour": "#112233" }),
            ("POST", "/tags/{id}/add") | ("POST", "/tags/{id}/remove") => {
                json!({ "files": [file_id], "folders": [folder_id] })
            }
            ("PATCH", "/files/{id}/fields") => json!({ "pages": 3 }),
            ("PUT", "/teams/{id}/fields") => json!([{ "key": "pages", "type": "number" }]),
            _ => return None,
        })
    };
    let mut access = token.clone();
    for (method, path, has_body) in routes {
        // Version 1 exists from the start; restoring it (a POST, before the DELETEs) makes
        // another current, so deleting version 1 succeeds too.
        let path_with_user = path
            .replace("{user_id}", &friend_id)
            .replace("{group_id}", "walkers")
            .replace("{kind}/{member_id}", &format!("user/{owner_id}"))
            .replace("{version}", "1");
        let uri = match path_with_user.as_str() {
            "/files/{id}/diff" => format!("/files/{file_id}/diff?from=1&to=1"),
            p if p.starts_with("/files/{id}") => p.replace("{id}", &file_id),
            p if p.starts_with("/folders/{id}") => p.replace("{id}", &folder_id),
            p if p.starts_with("/links/{id}") => p.replace("{id}", &link_id),
            "/teams/{id}/leave" => format!("/teams/{theirs}/leave"),
            "/invitations/accept" => format!("/invitations/accept?token={invitation_token}"),
            p if p.starts_with("/invitations/{id}") => p.replace("{id}", &invitation_id),
            "/teams/{id}/transfer" => format!("/teams/{handed}/transfer"),
            p if p.starts_with("/teams/{id}") => p.replace("{id}", &team),
            p if p.starts_with("/me/sessions/{id}") => p.replace("{id}", &other_session),
            p if p.starts_with("/webhooks/{id}") => {
                p.replace("{id}", &hook).replace("{delivery_id}", &delivery)
            }
            p if p.starts_with("/tags/{id}") => p.replace("{id}", &tag),
            p if p.starts_with("/trash/{kind}/{id}") => p
                .replace("{kind}", "files")
                .replace("{id}", &trashed[usize::from(method == "DELETE")]),
            p if p.starts_with("/s/{token}") => p.replace("{token}", &link_token),
            p => p.to_owned(),
        };
        if method == "DELETE" && path == "/me" {
            // The walk logged out just before: sign in again to delete the account.
            let again = h
                .call(Method::POST, "/auth/login", None, Some(json!({ "email": "owner@example.com", "password": "correct horse battery" })))
                .await;
            access = again.body["access_token"].as_str().unwrap().to_owned();
        }
        let before = h.app.authz.counter.total();
        let reply = if method == "POST" && path == "/files" {
            h.upload(&access, "walk.txt", b"x").await
        } else {
            let body = bodies(&method, &path);
            assert_eq!(
                body.is_some(),
                has_body,
                "{method} {path}: give the walk a request body for this route"
            );
            h.call(
                Method::from_bytes(method.as_bytes()).unwrap(),
                &uri,
                Some(&access),
                body,
            )
            .await
        };
        let after = h.app.authz.counter.total();
        assert!(
            after > before,
            "{method} {path} answered {} without asking the policy engine: {}",
            reply.status,
            reply.body
        );
        // A plain user reaches everything but the administrators' routes.
        let expected_ok = !path.starts_with("/audit") && !path.starts_with("/admin");
        assert_eq!(
            reply.status.is_success(),
            expected_ok,
            "{method} {path}: {} {}",
            reply.status,
            reply.body
        );
        if method == "POST" && path == "/auth/refresh" {
            access = reply.body["access_token"].as_str().unwrap().to_owned();
        }
    }
    // The Swagger UI is behind the same check.
    let before = h.app.authz.counter.total();
    let r = h.call(Method::GET, "/docs/", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(h.app.authz.counter.total() > before);
}

async fn other_users_resources_do_not_exist_for_them(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let admin_password = h.app.accounts.bootstrap_admin().await.unwrap().unwrap().1;
    let (ann, _) = h.user("ann@example.com").await;
    let (bob, _) = h.user("bob@example.com").await;
    let id = h.upload(&ann, "secret.txt", b"s3cr3t").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let folder = h
        .call(
            Method::POST,
            "/folders",
            Some(&ann),
            Some(json!({ "name": "private" })),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (m, uri, body) in [
        (Method::GET, format!("/files/{id}"), None),
        (Method::GET, format!("/files/{id}/content"), None),
        (Method::GET, format!("/files/{id}/verify"), None),
        (
            Method::PATCH,
            format!("/files/{id}"),
            Some(json!({ "name": "mine.txt" })),
        ),
        (Method::DELETE, format!("/files/{id}"), None),
        (Method::POST, format!("/files/{id}/links"), Some(json!({}))),
        (Method::GET, format!("/folders/{folder}"), None),
        (Method::GET, format!("/files?folder_id={folder}"), None),
        (Method::DELETE, format!("/folders/{folder}"), None),
    ] {
        let r = h.call(m.clone(), &uri, Some(&bob), body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{m} {uri}: {}", r.body);
    }
    // Published, it becomes readable, but still not writable: now a 403 with no explanation.
    let r = h
        .call(
            Method::PATCH,
            &format!("/files/{id}"),
            Some(&ann),
            Some(json!({ "public": true })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        h.call(Method::GET, &format!("/files/{id}"), Some(&bob), None)
            .await
            .status,
        StatusCode::OK
    );
    let r = h
        .call(Method::DELETE, &format!("/files/{id}"), Some(&bob), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.get("explanation").is_none());
    // An administrator is refused with the policy's explanation rather than told "not found".
    let admin = h
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({ "email": "admin@strongroom.local", "password": admin_password })),
        )
        .await
        .body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = h
        .call(
            Method::GET,
            &format!("/folders/{folder}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body["explanation"]["candidates"].is_array(), "{}", r.body);
    // The anonymous public may read it too.
    assert_eq!(
        h.call(Method::GET, &format!("/files/{id}/content"), None, None)
            .await
            .status,
        StatusCode::OK
    );
    // The denial is in the audit trail (through the outbox).
    let relay = h.app.relay.clone().unwrap();
    relay.run_once().await.unwrap();
    let page = h
        .app
        .audit
        .query(&strongroom_audit::AuditQuery::new().action_prefix("authz.denied"))
        .await
        .unwrap();
    assert!(!page.records.is_empty());
}

async fn bad_input_gets_clear_problems(backend: Backend) {
    let Some(h) = harness(backend, 1000).await else {
        return;
    };
    let (token, tokens) = h.user("ann@example.com").await;
    let t = Some(token.as_str());

    // Malformed JSON, wrong content type, oversized body, unknown fields.
    let req = Request::post("/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    assert_eq!(h.send(req).await.status, StatusCode::BAD_REQUEST);
    let req = Request::post("/auth/login")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(h.send(req).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let big = json!({ "name": "x".repeat(10_000) });
    assert_eq!(
        h.call(Method::PATCH, "/me", t, Some(big)).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        h.call(Method::PATCH, "/me", t, Some(json!({ "nme": "x" })))
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Names: traversal, control characters, absurd lengths.
    for name in ["..", "a%2Fb", "a%00b", "x%0Ay", &"n".repeat(300)] {
        let r = h.upload(&token, name, b"data").await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            r.body
        );
    }
    // Too large an upload: refused and nothing left behind.
    let r = h.upload(&token, "big.bin", &[7u8; 5000]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let list = h.call(Method::GET, "/files", t, None).await;
    assert_eq!(list.body["files"].as_array().unwrap().len(), 0);

    // Ranges.
    let id = h.upload(&token, "f.txt", b"0123456789").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let range = |r: &'static str| {
        Request::get(format!("/files/{id}/content"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::RANGE, r)
            .body(Body::empty())
            .unwrap()
    };
    let r = h.send(range("bytes=2-4")).await;
    assert_eq!(
        (r.status, r.raw.as_slice()),
        (StatusCode::PARTIAL_CONTENT, &b"234"[..])
    );
    assert_eq!(
        h.send(range("bytes=20-30")).await.status,
        StatusCode::RANGE_NOT_SATISFIABLE
    );
    assert_eq!(
        h.send(range("bytes=5-1")).await.status,
        StatusCode::RANGE_NOT_SATISFIABLE
    );
    assert_eq!(
        h.send(range("lines=1-2")).await.status,
        StatusCode::BAD_REQUEST
    );

    // Ids that are not ids, unknown routes, wrong methods.
    assert_eq!(
        h.call(Method::GET, "/files/..%2F..%2Fetc%2Fpasswd", t, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.call(Method::GET, "/nope", t, None).await.status,
        StatusCode::NOT_FOUND
    );
    let r = h.call(Method::PUT, "/files", t, None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        h.call(Method::GET, "/files?limit=0", t, None).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        h.call(Method::GET, "/files?sort=evil", t, None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    // Nobody signed in: user-only actions answer 401, not 403 or 500.
    let r = h
        .call(Method::POST, "/folders", None, Some(json!({ "name": "x" })))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(
        h.call(Method::GET, "/files", None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.call(Method::GET, "/me/sessions", None, None).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Tokens: garbage, revoked.
    assert_eq!(
        h.call(Method::GET, "/me", Some("garbage"), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let req = Request::get("/me")
        .header(header::AUTHORIZATION, "Basic Zm9vOmJhcg==")
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(req).await.status, StatusCode::UNAUTHORIZED);
    let r = h
        .call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({ "refresh_token": tokens["refresh_token"] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Reuse of the rotated refresh token revokes the session.
    let r = h
        .call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({ "refresh_token": tokens["refresh_token"] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        h.call(Method::GET, "/me", t, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = h
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({ "email": "ann@example.com", "password": "wrong password!!" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.content_type.starts_with("application/problem+json"));
}

async fn links_expire_lock_and_revoke(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (token, _) = h.user("ann@example.com").await;
    let t = Some(token.as_str());
    let id = h.upload(&token, "f.txt", b"payload").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for bad in [
        json!({ "ttl_secs": 0 }),
        json!({ "ttl_secs": 400 * 86400 }),
        json!({ "max_downloads": 0 }),
        json!({ "password": "" }),
    ] {
        let r = h
            .call(
                Method::POST,
                &format!("/files/{id}/links"),
                t,
                Some(bad.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    // Expired: the policy's expired-link rule refuses; the API says 410.
    let link = h
        .call(
            Method::POST,
            &format!("/files/{id}/links"),
            t,
            Some(json!({})),
        )
        .await
        .body;
    let tok = link["token"].as_str().unwrap();
    h.clock.advance_secs(8 * 86_400);
    assert_eq!(
        h.call(Method::GET, &format!("/s/{tok}/content"), None, None)
            .await
            .status,
        StatusCode::GONE
    );
    // Sessions run on the same clock: the access token from 8 days ago is refused.
    assert_eq!(
        h.call(Method::GET, "/me", t, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let (token, _) = h.login("ann@example.com").await;
    let t = Some(token.as_str());

    // Password attempts lock the link.
    let link = h
        .call(
            Method::POST,
            &format!("/files/{id}/links"),
            t,
            Some(json!({ "password": "right one" })),
        )
        .await
        .body;
    let tok = link["token"].as_str().unwrap().to_owned();
    let attempt = |pw: &'static str| {
        Request::get(format!("/s/{tok}"))
            .header("x-link-password", pw)
            .body(Body::empty())
            .unwrap()
    };
    for _ in 0..5 {
        assert_eq!(
            h.send(attempt("wrong")).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        h.send(attempt("right one")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    // Revoked.
    let link = h
        .call(
            Method::POST,
            &format!("/files/{id}/links"),
            t,
            Some(json!({})),
        )
        .await
        .body;
    let r = h
        .call(
            Method::DELETE,
            &format!("/links/{}", link["id"].as_str().unwrap()),
            t,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = h
        .call(
            Method::GET,
            &format!("/s/{}", link["token"].as_str().unwrap()),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::GONE);
}

async fn sharing_a_folder_with_a_user(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = h.user("ann@example.com").await;
    let (bob, bob_tokens) = h.user("bob@example.com").await;
    let bob_id = bob_tokens["user"]["id"].as_str().unwrap().to_owned();
    let folder = h
        .call(
            Method::POST,
            "/folders",
            Some(&ann),
            Some(json!({ "name": "team" })),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let req = Request::post(format!("/files?name=plan.txt&folder_id={folder}"))
        .header(header::AUTHORIZATION, format!("Bearer {ann}"))
        .body(Body::from("the plan"))
        .unwrap();
    let file = h.send(req).await.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        h.call(Method::GET, &format!("/files/{file}"), Some(&bob), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    for bad in [
        json!({ "email": "bob@example.com", "role": "owner" }),
        json!({ "email": "ann@example.com", "role": "viewer" }),
    ] {
        let r = h
            .call(
                Method::POST,
                &format!("/folders/{folder}/grants"),
                Some(&ann),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let r = h
        .call(
            Method::POST,
            &format!("/folders/{folder}/grants"),
            Some(&ann),
            Some(json!({ "email": "bob@example.com", "role": "viewer" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    // Viewer on the folder: reads and lists what is inside, cannot change it or upload.
    assert_eq!(
        h.call(
            Method::GET,
            &format!("/files/{file}/content"),
            Some(&bob),
            None
        )
        .await
        .raw,
        b"the plan"
    );
    let listing = h
        .call(
            Method::GET,
            &format!("/files?folder_id={folder}"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(listing.body["files"][0]["id"], json!(file));
    let r = h
        .call(Method::DELETE, &format!("/files/{file}"), Some(&bob), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let req = Request::post(format!("/files?name=mine.txt&folder_id={folder}"))
        .header(header::AUTHORIZATION, format!("Bearer {bob}"))
        .body(Body::from("x"))
        .unwrap();
    assert_eq!(h.send(req).await.status, StatusCode::FORBIDDEN);
    let shared = h.call(Method::GET, "/shared", Some(&bob), None).await;
    assert_eq!(shared.body[0]["resource_id"], json!(folder));

    // Editor: may upload into it; the file belongs to the folder's owner.
    let r = h
        .call(
            Method::POST,
            &format!("/folders/{folder}/grants"),
            Some(&ann),
            Some(json!({ "email": "bob@example.com", "role": "editor" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let req = Request::post(format!("/files?name=mine.txt&folder_id={folder}"))
        .header(header::AUTHORIZATION, format!("Bearer {bob}"))
        .body(Body::from("x"))
        .unwrap();
    let r = h.send(req).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_ne!(r.body["owner_id"], json!(bob_id));

    // Revoked: gone again.
    let r = h
        .call(
            Method::DELETE,
            &format!("/folders/{folder}/grants/{bob_id}"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        h.call(Method::GET, &format!("/files/{file}"), Some(&bob), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = h
        .call(
            Method::DELETE,
            &format!("/folders/{folder}/grants/{bob_id}"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn concurrent_renames_to_one_name_one_wins(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (token, _) = h.user("ann@example.com").await;
    let a = h.upload(&token, "a.txt", b"a").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = h.upload(&token, "b.txt", b"b").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ua, ub) = (format!("/files/{a}"), format!("/files/{b}"));
    let (ra, rb) = tokio::join!(
        h.call(
            Method::PATCH,
            &ua,
            Some(&token),
            Some(json!({ "name": "same.txt" }))
        ),
        h.call(
            Method::PATCH,
            &ub,
            Some(&token),
            Some(json!({ "name": "same.txt" }))
        ),
    );
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    // Transactions that read before they write, many at once on SQLite: no "database is locked"
    // (the harness fails on any 500).
    let calls = (0..16).map(|i| {
        let (h, token) = (&h, &token);
        async move {
            let f = h
                .call(
                    Method::POST,
                    "/folders",
                    Some(token),
                    Some(json!({ "name": format!("c{i}") })),
                )
                .await;
            assert_eq!(f.status, StatusCode::CREATED);
            let id = f.body["id"].as_str().unwrap().to_owned();
            h.call(Method::DELETE, &format!("/folders/{id}"), Some(token), None)
                .await
                .status
        }
    });
    for status in futures::future::join_all(calls).await {
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    // An upload into a folder racing its deletion: never both (no file left in a deleted folder).
    for i in 0..8 {
        let f = h
            .call(
                Method::POST,
                "/folders",
                Some(&token),
                Some(json!({ "name": format!("race{i}") })),
            )
            .await;
        let fid = f.body["id"].as_str().unwrap().to_owned();
        let upload = Request::post(format!("/files?name=x.txt&folder_id={fid}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from("x"))
            .unwrap();
        let del = format!("/folders/{fid}");
        let (up, gone) = tokio::join!(
            h.send(upload),
            h.call(Method::DELETE, &del, Some(&token), None)
        );
        // The delete moves the folder to the trash: an upload that won lands inside it and is
        // hidden with it; one that lost finds no folder. Never a live file in a trashed folder.
        match (up.status, gone.status) {
            (StatusCode::CREATED, StatusCode::NO_CONTENT) => {
                let file = up.body["id"].as_str().unwrap();
                let seen = h
                    .call(Method::GET, &format!("/files/{file}"), Some(&token), None)
                    .await;
                assert_eq!(seen.status, StatusCode::NOT_FOUND, "{}", seen.body);
            }
            (StatusCode::NOT_FOUND, StatusCode::NO_CONTENT) => {}
            other => panic!(
                "upload/delete race ended as {other:?}: {} / {}",
                up.body, gone.body
            ),
        }
    }
    // Folders move but not into themselves.
    let d1 = h
        .call(
            Method::POST,
            "/folders",
            Some(&token),
            Some(json!({ "name": "d1" })),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let d2 = h
        .call(
            Method::POST,
            "/folders",
            Some(&token),
            Some(json!({ "name": "d2", "parent_id": d1 })),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = h
        .call(
            Method::PATCH,
            &format!("/folders/{d1}"),
            Some(&token),
            Some(json!({ "parent_id": d2 })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = h
        .call(
            Method::PATCH,
            &format!("/files/{a}"),
            Some(&token),
            Some(json!({ "folder_id": d2 })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = h
        .call(
            Method::DELETE,
            &format!("/folders/{d2}"),
            Some(&token),
            None,
        )
        .await;
    // A folder with a file in it goes to the trash whole: the file is hidden with it.
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let listing = h
        .call(
            Method::GET,
            &format!("/files?folder_id={d2}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(listing.status, StatusCode::NOT_FOUND, "{}", listing.body);
    let file = h
        .call(Method::GET, &format!("/files/{a}"), Some(&token), None)
        .await;
    assert_eq!(file.status, StatusCode::NOT_FOUND);
}
