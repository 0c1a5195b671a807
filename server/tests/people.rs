//! People and sharing over HTTP, on SQLite and on PostgreSQL: groups (admin-managed, nested)
//! that shares name; shares that expire at the server's clock on every read path; "shared with
//! me" and "shared by me"; the administration of accounts (search, the administrator role,
//! sessions), each action audited with the administrator as actor.

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

#[macro_use]
mod common;
use common::router::{Backend, Harness, Reply, harness};

on_both_databases!(
    groups_share_through_nesting_until_membership_ends,
    group_management_is_for_administrators_and_refuses_bad_input,
    a_share_expires_on_every_path_at_the_clock,
    bad_share_requests_change_nothing,
    administrators_search_re_role_and_sign_out_accounts,
);

async fn admin(h: &Harness) -> String {
    let password = h.app.accounts.bootstrap_admin().await.unwrap().unwrap().1;
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

async fn call(h: &Harness, m: Method, uri: &str, token: &str, body: Option<Value>) -> Reply {
    h.call(m, uri, Some(token), body).await
}

/// `POST /admin/groups/{group}/members` as the administrator `root`.
async fn add_member(h: &Harness, root: &str, group: &str, body: Value) -> Reply {
    let uri = format!("/admin/groups/{group}/members");
    call(h, Method::POST, &uri, root, Some(body)).await
}

fn id(r: &Reply) -> String {
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn user_id(h: &Harness, email: &str) -> (String, String) {
    let (token, body) = h.user(email).await;
    (token, body["user"]["id"].as_str().unwrap().to_owned())
}

/// Every way of reading a file: metadata, download, Range, HEAD, versions.
async fn read_statuses(h: &Harness, token: &str, file: &str) -> Vec<StatusCode> {
    let mut out = Vec::new();
    for uri in [
        format!("/files/{file}"),
        format!("/files/{file}/content"),
        format!("/files/{file}/versions"),
    ] {
        out.push(call(h, Method::GET, &uri, token, None).await.status);
    }
    let ranged = Request::get(format!("/files/{file}/content"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::RANGE, "bytes=0-3")
        .body(Body::empty())
        .unwrap();
    out.push(h.send(ranged).await.status);
    let head = Request::head(format!("/files/{file}/content"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    out.push(h.send(head).await.status);
    out
}

fn all_ok(statuses: &[StatusCode]) -> bool {
    statuses
        .iter()
        .all(|s| *s == StatusCode::OK || *s == StatusCode::PARTIAL_CONTENT)
}

fn all_not_found(statuses: &[StatusCode]) -> bool {
    statuses.iter().all(|s| *s == StatusCode::NOT_FOUND)
}

async fn groups_share_through_nesting_until_membership_ends(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let root = admin(&h).await;
    let (ann, _) = user_id(&h, "ann@example.com").await;
    let (bob, bob_id) = user_id(&h, "bob@example.com").await;
    let (carl, _) = user_id(&h, "carl@example.com").await;
    for g in ["eng", "eng-berlin"] {
        let r = call(
            &h,
            Method::POST,
            "/admin/groups",
            &root,
            Some(json!({ "id": g })),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    // eng-berlin inside eng; ann in eng, bob in eng-berlin.
    let add = async |g: &str, body: Value| add_member(&h, &root, g, body).await;
    assert_eq!(
        add("eng", json!({ "group": "eng-berlin" })).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        add("eng", json!({ "email": "ann@example.com" }))
            .await
            .status,
        StatusCode::CREATED
    );
    let r = add("eng-berlin", json!({ "email": "bob@example.com" })).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["members"][0]["id"], bob_id.as_str(), "{}", r.body);
    assert_eq!(
        add("eng-berlin", json!({ "email": "bob@example.com" }))
            .await
            .status,
        StatusCode::OK,
        "adding again changes nothing"
    );
    let mine = call(&h, Method::GET, "/me/groups", &bob, None).await;
    let ids: Vec<&str> = mine
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["eng", "eng-berlin"], "transitive");

    // ann shares a folder with eng: bob (through eng-berlin) reads the file inside, carl does not.
    let folder = id(&call(
        &h,
        Method::POST,
        "/folders",
        &ann,
        Some(json!({ "name": "plans" })),
    )
    .await);
    let up = Request::post(format!("/files?name=road.txt&folder_id={folder}"))
        .header(header::AUTHORIZATION, format!("Bearer {ann}"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("the road ahead"))
        .unwrap();
    let file = id(&h.send(up).await);
    assert!(all_not_found(&read_statuses(&h, &bob, &file).await));
    let r = call(
        &h,
        Method::POST,
        &format!("/folders/{folder}/grants"),
        &ann,
        Some(json!({ "group": "eng", "role": "viewer" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["group_id"], "eng");
    assert!(all_ok(&read_statuses(&h, &bob, &file).await));
    assert!(all_not_found(&read_statuses(&h, &carl, &file).await));
    // Viewer: no writing.
    let put = Request::put(format!("/files/{file}/content"))
        .header(header::AUTHORIZATION, format!("Bearer {bob}"))
        .body(Body::from("changed"))
        .unwrap();
    assert_eq!(h.send(put).await.status, StatusCode::FORBIDDEN);
    let shared = call(&h, Method::GET, "/shared", &bob, None).await;
    assert_eq!(shared.body.as_array().unwrap().len(), 1, "{}", shared.body);
    assert_eq!(shared.body[0]["holder_kind"], "group");
    let listed = call(
        &h,
        Method::GET,
        &format!("/folders/{folder}/grants"),
        &ann,
        None,
    )
    .await;
    assert_eq!(listed.body[0]["group_name"], "eng", "{}", listed.body);

    // Leaving eng-berlin ends it at once, on every path.
    let r = call(
        &h,
        Method::DELETE,
        &format!("/admin/groups/eng-berlin/members/user/{bob_id}"),
        &root,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(all_not_found(&read_statuses(&h, &bob, &file).await));
    assert!(
        call(&h, Method::GET, "/shared", &bob, None)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Back in, then the group is deleted: the share goes with it.
    add("eng-berlin", json!({ "email": "bob@example.com" })).await;
    assert!(all_ok(&read_statuses(&h, &bob, &file).await));
    let r = call(&h, Method::DELETE, "/admin/groups/eng", &root, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(all_not_found(&read_statuses(&h, &bob, &file).await));
    assert!(
        call(
            &h,
            Method::GET,
            &format!("/folders/{folder}/grants"),
            &ann,
            None
        )
        .await
        .body
        .as_array()
        .unwrap()
        .is_empty()
    );
    // Unsharing a group by id.
    call(
        &h,
        Method::POST,
        "/admin/groups",
        &root,
        Some(json!({ "id": "ops" })),
    )
    .await;
    add("ops", json!({ "email": "ann@example.com" })).await;
    add("ops", json!({ "email": "bob@example.com" })).await;
    let r = call(
        &h,
        Method::POST,
        &format!("/files/{file}/grants"),
        &ann,
        Some(json!({ "group": "ops", "role": "editor" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let put = Request::put(format!("/files/{file}/content"))
        .header(header::AUTHORIZATION, format!("Bearer {bob}"))
        .body(Body::from("edited by the group"))
        .unwrap();
    assert_eq!(
        h.send(put).await.status,
        StatusCode::OK,
        "an editor through a group writes"
    );
    let r = call(
        &h,
        Method::DELETE,
        &format!("/files/{file}/grants/groups/ops"),
        &ann,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(all_not_found(&read_statuses(&h, &bob, &file).await));
    let r = call(
        &h,
        Method::DELETE,
        &format!("/files/{file}/grants/groups/ops"),
        &ann,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let uri = format!("/files/{file}/grants/groups/Not%20A%20Group");
    let r = call(&h, Method::DELETE, &uri, &ann, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "a malformed group id");
}

async fn group_management_is_for_administrators_and_refuses_bad_input(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let root = admin(&h).await;
    let (ann, _) = user_id(&h, "ann@example.com").await;
    for (m, uri, body) in [
        (Method::POST, "/admin/groups", Some(json!({ "id": "x" }))),
        (Method::GET, "/admin/groups", None),
        (Method::GET, "/admin/groups/x", None),
        (
            Method::PATCH,
            "/admin/groups/x",
            Some(json!({ "name": "X" })),
        ),
        (Method::DELETE, "/admin/groups/x", None),
        (
            Method::POST,
            "/admin/groups/x/members",
            Some(json!({ "email": "ann@example.com" })),
        ),
    ] {
        let r = call(&h, m.clone(), uri, &ann, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{m} {uri}");
    }
    assert_eq!(
        h.call(Method::GET, "/admin/groups", None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let create =
        async |body: Value| call(&h, Method::POST, "/admin/groups", &root, Some(body)).await;
    for bad in [
        json!({ "id": "Has Caps" }),
        json!({ "id": "admins" }),
        json!({ "id": "" }),
    ] {
        assert_eq!(
            create(bad.clone()).await.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }
    assert_eq!(
        create(json!({ "id": "a", "name": "Team A", "description": "first" }))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        create(json!({ "id": "a" })).await.status,
        StatusCode::CONFLICT
    );
    create(json!({ "id": "b" })).await;
    let add = async |g: &str, body: Value| add_member(&h, &root, g, body).await;
    assert_eq!(
        add("a", json!({ "group": "b" })).await.status,
        StatusCode::CREATED
    );
    for (g, body) in [
        ("b", json!({ "group": "a" })),
        ("a", json!({ "group": "a" })),
        ("a", json!({ "email": "nobody@example.com" })),
        ("a", json!({ "group": "missing" })),
        ("a", json!({})),
        ("a", json!({ "email": "ann@example.com", "group": "b" })),
    ] {
        assert_eq!(
            add(g, body.clone()).await.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{g} {body}"
        );
    }
    assert_eq!(
        add("missing", json!({ "email": "ann@example.com" }))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = call(
        &h,
        Method::PATCH,
        "/admin/groups/a",
        &root,
        Some(json!({ "name": "Renamed" })),
    )
    .await;
    assert_eq!(
        (r.status, r.body["name"].clone()),
        (StatusCode::OK, json!("Renamed"))
    );
    let r = call(&h, Method::GET, "/admin/groups?limit=1", &root, None).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    let r = call(&h, Method::GET, "/admin/groups?after=a", &root, None).await;
    assert_eq!(r.body[0]["id"], "b");
    assert_eq!(
        call(&h, Method::GET, "/admin/groups?limit=0", &root, None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    // A member who is not in a group cannot share with it.
    let (file, _) = (id(&h.upload(&ann, "f.txt", b"x").await), ());
    let r = call(
        &h,
        Method::POST,
        &format!("/files/{file}/grants"),
        &ann,
        Some(json!({ "group": "a", "role": "viewer" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        call(
            &h,
            Method::GET,
            &format!("/files/{file}/grants"),
            &ann,
            None
        )
        .await
        .body
        .as_array()
        .unwrap()
        .is_empty()
    );
}

async fn a_share_expires_on_every_path_at_the_clock(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = user_id(&h, "ann@example.com").await;
    let (bob, bob_id) = user_id(&h, "bob@example.com").await;
    let file = id(&h.upload(&ann, "memo.txt", b"for your eyes").await);
    let mut bus = h.app.bus.subscribe();
    let in_an_hour = jiff::Timestamp::from_microsecond(h.app.now() + 3_600_000_000)
        .unwrap()
        .to_string();
    let r = call(
        &h,
        Method::POST,
        &format!("/files/{file}/grants"),
        &ann,
        Some(json!({ "email": "bob@example.com", "role": "viewer", "expires_at": in_an_hour })),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert!(r.body["expires_at"].is_string());
    assert!(all_ok(&read_statuses(&h, &bob, &file).await));
    assert_eq!(h.app.shares.note_expiries().await.unwrap(), 0, "not yet");

    h.clock.advance_secs(3_601);
    let ann = h.login("ann@example.com").await.0;
    let bob = h.login("bob@example.com").await.0;
    assert!(
        all_not_found(&read_statuses(&h, &bob, &file).await),
        "expired: gone everywhere"
    );
    assert!(
        call(&h, Method::GET, "/shared", &bob, None)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
    let by_me = call(&h, Method::GET, "/shared/by-me", &ann, None).await;
    assert_eq!(by_me.body[0]["expired"], true, "{}", by_me.body);
    assert_eq!(by_me.body[0]["user_id"], bob_id.as_str());

    // One share.expired event, however often the task runs.
    assert_eq!(h.app.shares.note_expiries().await.unwrap(), 1);
    assert_eq!(h.app.shares.note_expiries().await.unwrap(), 0);
    h.app.relay.clone().unwrap().run_once().await.unwrap();
    let mut kinds = Vec::new();
    while let Some(e) = bus.try_recv().unwrap() {
        if e.action().starts_with("share.") {
            let v: Value = serde_json::from_str(&e.to_json()).unwrap();
            kinds.push((e.action().to_owned(), v["attributes"]["user"].clone()));
        }
    }
    assert_eq!(
        kinds,
        [
            ("share.granted".to_owned(), json!(bob_id)),
            ("share.expired".to_owned(), json!(bob_id))
        ]
    );

    // Sharing again renews it.
    let r = call(
        &h,
        Method::POST,
        &format!("/files/{file}/grants"),
        &ann,
        Some(json!({ "email": "bob@example.com", "role": "viewer" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(all_ok(&read_statuses(&h, &bob, &file).await));
}

async fn bad_share_requests_change_nothing(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = user_id(&h, "ann@example.com").await;
    let (bob, _) = user_id(&h, "bob@example.com").await;
    let file = id(&h.upload(&ann, "f.txt", b"x").await);
    let uri = format!("/files/{file}/grants");
    let past = jiff::Timestamp::from_microsecond(h.app.now() - 1_000_000)
        .unwrap()
        .to_string();
    for body in [
        json!({ "email": "bob@example.com", "role": "viewer", "expires_at": past }),
        json!({ "email": "bob@example.com", "role": "viewer", "expires_at": "tomorrow" }),
        json!({ "email": "bob@example.com", "role": "owner" }),
        json!({ "email": "bob@example.com", "group": "eng", "role": "viewer" }),
        json!({ "role": "viewer" }),
        json!({ "email": "ann@example.com", "role": "viewer" }),
        json!({ "email": "not an address", "role": "viewer" }),
    ] {
        let r = call(&h, Method::POST, &uri, &ann, Some(body.clone())).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
    }
    assert!(
        call(&h, Method::GET, &uri, &ann, None)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Sharing what one cannot see is "not found", whatever the body.
    let r = call(
        &h,
        Method::POST,
        &uri,
        &bob,
        Some(json!({ "role": "viewer" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn administrators_search_re_role_and_sign_out_accounts(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let root = admin(&h).await;
    let root_id = call(&h, Method::GET, "/me", &root, None).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ann, ann_id) = user_id(&h, "ann@example.com").await;
    for e in ["bob@example.com", "b_o_b@example.org", "carl@example.com"] {
        h.user(e).await;
    }
    let emails = |r: &Reply| -> Vec<String> {
        r.body
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .collect()
    };
    let r = call(&h, Method::GET, "/admin/users?q=B_O", &root, None).await;
    assert_eq!(
        emails(&r),
        ["b_o_b@example.org"],
        "case-insensitive, '_' literal"
    );
    let r = call(
        &h,
        Method::GET,
        "/admin/users?q=example.com&limit=2",
        &root,
        None,
    )
    .await;
    assert_eq!(emails(&r), ["ann@example.com", "bob@example.com"]);
    let r = call(
        &h,
        Method::GET,
        "/admin/users?q=example.com&after=ann@example.com",
        &root,
        None,
    )
    .await;
    assert_eq!(emails(&r), ["bob@example.com", "carl@example.com"]);
    assert_eq!(
        call(&h, Method::GET, "/admin/users?limit=5000", &root, None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call(&h, Method::GET, "/admin/users", &ann, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Granting the administrator role signs ann out; her next sign-in carries it.
    let r = call(
        &h,
        Method::POST,
        &format!("/admin/users/{ann_id}/admin"),
        &root,
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.body["is_admin"].clone()),
        (StatusCode::OK, json!(true))
    );
    assert_eq!(
        call(&h, Method::GET, "/me", &ann, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let ann = h.login("ann@example.com").await.0;
    assert_eq!(
        call(&h, Method::GET, "/admin/users", &ann, None)
            .await
            .status,
        StatusCode::OK
    );
    // Revoking it ends every session at once: no token keeps the role.
    let r = call(
        &h,
        Method::DELETE,
        &format!("/admin/users/{ann_id}/admin"),
        &root,
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.body["is_admin"].clone()),
        (StatusCode::OK, json!(false))
    );
    assert_eq!(
        call(&h, Method::GET, "/admin/users", &ann, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let ann = h.login("ann@example.com").await.0;
    assert_eq!(
        call(&h, Method::GET, "/admin/users", &ann, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(
            &h,
            Method::DELETE,
            &format!("/admin/users/{root_id}/admin"),
            &root,
            None
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not one's own role"
    );
    assert_eq!(
        call(
            &h,
            Method::POST,
            "/admin/users/not-an-id/admin",
            &root,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    // Sessions: listed, one ended, then all.
    let second = h.login("ann@example.com").await.0;
    let r = call(
        &h,
        Method::GET,
        &format!("/admin/users/{ann_id}/sessions"),
        &root,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let sessions = r.body.as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2, "{}", r.body);
    let sid = sessions[0]["id"].as_str().unwrap();
    let r = call(
        &h,
        Method::DELETE,
        &format!("/admin/users/{ann_id}/sessions/{sid}"),
        &root,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let alive = [
        call(&h, Method::GET, "/me", &ann, None).await.status,
        call(&h, Method::GET, "/me", &second, None).await.status,
    ];
    assert_eq!(
        alive.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{alive:?}"
    );
    let r = call(
        &h,
        Method::DELETE,
        &format!("/admin/users/{ann_id}/sessions"),
        &root,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for t in [&ann, &second] {
        assert_eq!(
            call(&h, Method::GET, "/me", t, None).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let ann = h.login("ann@example.com").await.0;
    assert_eq!(
        call(
            &h,
            Method::GET,
            &format!("/admin/users/{root_id}/sessions"),
            &ann,
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    // Every one of those actions is in the audit trail with the administrator as actor.
    h.app.relay.clone().unwrap().run_once().await.unwrap();
    let trail = call(
        &h,
        Method::GET,
        &format!("/audit?resource_type=user&resource_id={ann_id}&limit=500"),
        &root,
        None,
    )
    .await;
    assert_eq!(trail.status, StatusCode::OK, "{}", trail.body);
    let actions: Vec<(String, String)> = trail.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["event"]["action"].as_str().unwrap().to_owned(),
                r["event"]["actor"]["id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    for action in [
        "account.admin_granted",
        "account.admin_revoked",
        "account.sessions_viewed",
        "account.sessions_revoked",
    ] {
        let found = actions.iter().find(|(a, _)| a == action);
        let (_, actor) = found.unwrap_or_else(|| panic!("{action} missing in {actions:?}"));
        assert_eq!(actor, &root_id, "{action}");
    }
}
