//! The holes found in review, each reproduced over HTTP the way an attacker tried it, on SQLite
//! and PostgreSQL: every test here failed on the code before the fix.

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

#[macro_use]
mod common;
use common::router::{Backend, Harness, harness, harness_with};

on_both_databases!(
    link_download_limit_holds_on_every_path,
    link_password_lockout_holds_under_concurrency,
    opposite_folder_moves_leave_a_tree,
    over_deep_moves_are_refused_and_fsck_repairs_old_damage,
    anonymous_denials_are_summarized_per_source,
    links_and_shares_end_with_their_creators_right,
    answers_do_not_reveal_accounts,
    passwords_change_and_administrators_manage_accounts,
    rate_limits_and_security_headers_reach_the_client,
    forged_forwarded_for_does_not_dodge_limits,
    failed_logins_name_the_targeted_account,
    audit_tampering_is_found_by_verify,
);

/// Runs a statement on the server's database behind its back (to stage damage or tampering).
async fn sql(h: &Harness, statement: &str, args: &[&str]) {
    let url = h.app.config.database_url();
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let mut q = sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()));
        for a in args {
            q = q.bind(*a);
        }
        q.execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let mut q = sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()));
        for a in args {
            q = q.bind(*a);
        }
        q.execute(&pool).await.unwrap();
        pool.close().await;
    }
}

/// Events written and not yet relayed.
async fn pending(h: &Harness) -> u64 {
    use strongroom::store::EventLog;
    h.app.events.backlog().await.unwrap().pending
}

async fn link(h: &Harness, token: &str, file: &str, body: Value) -> Value {
    let r = h
        .call(
            Method::POST,
            &format!("/files/{file}/links"),
            Some(token),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

async fn get_link(h: &Harness, tok: &str, headers: &[(&str, &str)], head: bool) -> StatusCode {
    let mut b = Request::builder()
        .method(if head { Method::HEAD } else { Method::GET })
        .uri(format!("/s/{tok}/content"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    h.send(b.body(Body::empty()).unwrap()).await.status
}

/// Hole 1: after the one download of a `max_downloads: 1` link, `Range: bytes=0-` and an
/// `If-None-Match` holding the (public) digest without quotes still got the whole file.
async fn link_download_limit_holds_on_every_path(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = h.user("ann@example.com").await;
    let file = h.upload(&ann, "f.txt", b"the secret payload").await.body;
    let id = file["id"].as_str().unwrap();
    let sha = file["sha256"].as_str().unwrap().to_owned();
    let quoted = format!("\"{sha}\"");

    let l = link(&h, &ann, id, json!({ "max_downloads": 2 })).await;
    let tok = l["token"].as_str().unwrap();
    // The unquoted digest is no ETag match: a full, counted download.
    assert_eq!(
        get_link(&h, tok, &[("if-none-match", &sha)], false).await,
        StatusCode::OK
    );
    // A 304 sends nothing and counts nothing; HEAD likewise.
    assert_eq!(
        get_link(&h, tok, &[("if-none-match", &quoted)], false).await,
        StatusCode::NOT_MODIFIED
    );
    assert_eq!(get_link(&h, tok, &[], true).await, StatusCode::OK);
    // A range carries content: it counts.
    assert_eq!(
        get_link(&h, tok, &[("range", "bytes=0-")], false).await,
        StatusCode::PARTIAL_CONTENT
    );
    let info = h.call(Method::GET, &format!("/s/{tok}"), None, None).await;
    assert_eq!(info.body["downloads_left"], json!(0), "{}", info.body);
    // Used up: every path says so, 50 times over.
    for _ in 0..50 {
        assert_eq!(
            get_link(&h, tok, &[("range", "bytes=0-")], false).await,
            StatusCode::GONE
        );
    }
    for (headers, head) in [
        (vec![], false),
        (vec![("range", "bytes=5-9")], false),
        (vec![("if-none-match", sha.as_str())], false),
        (vec![("if-none-match", quoted.as_str())], false),
        (vec![("if-none-match", "*")], false),
        (vec![], true),
    ] {
        assert_eq!(
            get_link(&h, tok, &headers, head).await,
            StatusCode::GONE,
            "{headers:?} head={head}"
        );
    }

    // Concurrent downloads: exactly the limit succeeds.
    let l = link(&h, &ann, id, json!({ "max_downloads": 5 })).await;
    let tok = l["token"].as_str().unwrap().to_owned();
    let h = Arc::new(h);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let h = h.clone();
        let tok = tok.clone();
        tasks.push(tokio::spawn(async move {
            let range = if i % 2 == 0 { "bytes=0-" } else { "bytes=0-3" };
            get_link(&h, &tok, &[("range", range)], false).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::PARTIAL_CONTENT => ok += 1,
            StatusCode::GONE => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, 5);
}

async fn guess(h: &Harness, tok: &str, password: &str) -> StatusCode {
    get_link(h, tok, &[("x-link-password", password)], false).await
}

/// Hole 2: 100 parallel guesses all got their 401 before the lock engaged; a counted download
/// reset the failures; an expired link still told wrong passwords from right ones.
async fn link_password_lockout_holds_under_concurrency(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = h.user("ann@example.com").await;
    let id = h.upload(&ann, "f.txt", b"payload").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let l = link(&h, &ann, &id, json!({ "password": "right one" })).await;
    let tok = l["token"].as_str().unwrap().to_owned();
    let h = Arc::new(h);
    let mut tasks = Vec::new();
    for i in 0..60 {
        let h = h.clone();
        let tok = tok.clone();
        tasks.push(tokio::spawn(async move {
            guess(&h, &tok, &format!("wrong {i}")).await
        }));
    }
    let (mut wrong, mut locked) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::UNAUTHORIZED => wrong += 1,
            StatusCode::TOO_MANY_REQUESTS => locked += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        wrong <= 5,
        "{wrong} guesses were checked (at most 5 allowed)"
    );
    assert_eq!(wrong + locked, 60);
    assert_eq!(
        guess(&h, &tok, "right one").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the right password after the lock is still refused"
    );

    // A right password does not forgive earlier failures.
    let l = link(&h, &ann, &id, json!({ "password": "right one" })).await;
    let tok = l["token"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        assert_eq!(guess(&h, &tok, "wrong").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(guess(&h, &tok, "right one").await, StatusCode::OK);
    for _ in 0..2 {
        assert_eq!(guess(&h, &tok, "wrong").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        guess(&h, &tok, "right one").await,
        StatusCode::TOO_MANY_REQUESTS
    );

    // Expired: 410 whatever the password, so no password oracle.
    let l = link(&h, &ann, &id, json!({ "password": "right one" })).await;
    let tok = l["token"].as_str().unwrap().to_owned();
    h.clock.advance_secs(8 * 86_400);
    assert_eq!(guess(&h, &tok, "wrong").await, StatusCode::GONE);
    assert_eq!(guess(&h, &tok, "right one").await, StatusCode::GONE);
    assert_eq!(get_link(&h, &tok, &[], false).await, StatusCode::GONE);
}

async fn folder(h: &Harness, token: &str, name: &str, parent: Option<&str>) -> String {
    let body = match parent {
        Some(p) => json!({ "name": name, "parent_id": p }),
        None => json!({ "name": name }),
    };
    let r = h
        .call(Method::POST, "/folders", Some(token), Some(body))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn move_folder(h: &Harness, token: &str, id: &str, parent: &str) -> StatusCode {
    h.call(
        Method::PATCH,
        &format!("/folders/{id}"),
        Some(token),
        Some(json!({ "parent_id": parent })),
    )
    .await
    .status
}

/// Hole 3: parallel `X under Y` and `Y under X` both succeeded about one time in four; both
/// folders and everything in them then answered 500 for good.
async fn opposite_folder_moves_leave_a_tree(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = h.user("ann@example.com").await;
    let x = folder(&h, &ann, "x", None).await;
    let y = folder(&h, &ann, "y", None).await;
    let h = Arc::new(h);
    for round in 0..20 {
        let a = {
            let (h, ann, x, y) = (h.clone(), ann.clone(), x.clone(), y.clone());
            tokio::spawn(async move { move_folder(&h, &ann, &x, &y).await })
        };
        let b = {
            let (h, ann, x, y) = (h.clone(), ann.clone(), x.clone(), y.clone());
            tokio::spawn(async move { move_folder(&h, &ann, &y, &x).await })
        };
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        assert!(
            !(a.is_success() && b.is_success()),
            "round {round}: both opposite moves succeeded"
        );
        for id in [&x, &y] {
            let r = h
                .call(Method::GET, &format!("/folders/{id}"), Some(&ann), None)
                .await;
            assert_eq!(r.status, StatusCode::OK, "round {round}: {}", r.body);
        }
        // Back to the root for the next round.
        for id in [&x, &y] {
            let st = move_folder(&h, &ann, id, "").await;
            assert!(st.is_success(), "{st}");
        }
    }
    let report = h.app.folders.fsck(false).await.unwrap();
    assert!(report.damage.is_empty(), "{:?}", report.damage);
}

/// Hole 3, second half: a 40-deep subtree moved under a 40-deep chain (limit 64) left its files
/// answering 500. Now the move is refused; damage an older version left is found and repaired
/// by `fsck`.
async fn over_deep_moves_are_refused_and_fsck_repairs_old_damage(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = h.user("ann@example.com").await;
    let mut chain = vec![folder(&h, &ann, "a0", None).await];
    for i in 1..40 {
        let parent = chain.last().cloned();
        chain.push(folder(&h, &ann, &format!("a{i}"), parent.as_deref()).await);
    }
    let mut sub = vec![folder(&h, &ann, "b0", None).await];
    for i in 1..40 {
        let parent = sub.last().cloned();
        sub.push(folder(&h, &ann, &format!("b{i}"), parent.as_deref()).await);
    }
    let req = Request::post(format!("/files?name=deep.txt&folder_id={}", sub[39]))
        .header(header::AUTHORIZATION, format!("Bearer {ann}"))
        .body(Body::from("deep"))
        .unwrap();
    let deep_file = h.send(req).await.body["id"].as_str().unwrap().to_owned();
    let r = h
        .call(
            Method::PATCH,
            &format!("/folders/{}", sub[0]),
            Some(&ann),
            Some(json!({ "parent_id": chain[39] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = h
        .call(
            Method::GET,
            &format!("/files/{deep_file}/content"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(r.raw, b"deep");

    // What older versions left behind: a cycle, an over-deep chain and a dangling parent.
    let x = folder(&h, &ann, "x", None).await;
    let y = folder(&h, &ann, "y", Some(&x)).await;
    sql(
        &h,
        "UPDATE folders SET parent_id = $1 WHERE id = $2",
        &[&y, &x],
    )
    .await;
    sql(
        &h,
        "UPDATE folders SET parent_id = $1 WHERE id = $2",
        &[&chain[39], &sub[0]],
    )
    .await;
    let lost = folder(&h, &ann, "lost", None).await;
    sql(
        &h,
        "UPDATE folders SET parent_id = 'gone' WHERE id = $1",
        &[&lost],
    )
    .await;
    let report = h.app.folders.fsck(false).await.unwrap();
    let mut kinds: Vec<&str> = report.damage.iter().map(|d| d.kind).collect();
    kinds.sort();
    assert_eq!(kinds, ["cycle", "missing-parent", "too-deep"], "{report:?}");
    let repaired = h.app.folders.fsck(true).await.unwrap();
    assert!(repaired.repaired);
    assert!(h.app.folders.fsck(false).await.unwrap().damage.is_empty());
    for id in [&x, &y, &lost, &sub[39]] {
        let r = h
            .call(Method::GET, &format!("/folders/{id}"), Some(&ann), None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = h
        .call(
            Method::GET,
            &format!("/files/{deep_file}/content"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(r.raw, b"deep");
}

/// Hole 6: each anonymous denial wrote its own audit row (50 requests, 50 rows).
async fn anonymous_denials_are_summarized_per_source(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let before = pending(&h).await;
    for _ in 0..50 {
        let r = h.call(Method::GET, "/files", None, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(pending(&h).await - before, 1, "only the first");
    // The window is still open: nothing to summarize yet; once it closed, one summary.
    assert_eq!(h.app.guard.flush_denials(false).await.unwrap(), 0);
    h.clock.advance_secs(61);
    assert_eq!(h.app.guard.flush_denials(false).await.unwrap(), 1);
    assert_eq!(pending(&h).await - before, 2, "and one summary");
    // A new window records its first denial again.
    let r = h.call(Method::GET, "/files", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(pending(&h).await - before, 3);
    // Signed-in callers' denials stay one event each.
    let (ann, _) = h.user("ann@example.com").await;
    let before = pending(&h).await;
    for _ in 0..3 {
        let r = h.call(Method::GET, "/audit", Some(&ann), None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(pending(&h).await - before, 3);
}

async fn carl_reads(h: &Harness, carl: &str, f: &str) -> StatusCode {
    h.call(
        Method::GET,
        &format!("/files/{f}/content"),
        Some(carl),
        None,
    )
    .await
    .status
}

async fn grant(h: &Harness, token: &str, kind: &str, id: &str, email: &str, role: &str) {
    let r = h
        .call(
            Method::POST,
            &format!("/{kind}s/{id}/grants"),
            Some(token),
            Some(json!({ "email": email, "role": role })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
}

/// Hole 7: after the owner took an editor's role away, and after that editor deleted the
/// account, the editor's year-long public link still served the file and the share the editor
/// had given a third user still worked.
async fn links_and_shares_end_with_their_creators_right(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = h.user("ann@example.com").await;
    let (bob, bob_login) = h.user("bob@example.com").await;
    let bob_id = bob_login["user"]["id"].as_str().unwrap().to_owned();
    let (carl, _) = h.user("carl@example.com").await;
    let d = folder(&h, &ann, "team", None).await;
    let req = Request::post(format!("/files?name=plan.txt&folder_id={d}"))
        .header(header::AUTHORIZATION, format!("Bearer {ann}"))
        .body(Body::from("the plan"))
        .unwrap();
    let f = h.send(req).await.body["id"].as_str().unwrap().to_owned();

    // Round 1: the owner takes bob's role away.
    grant(&h, &ann, "folder", &d, "bob@example.com", "editor").await;
    let l = link(&h, &bob, &f, json!({ "ttl_secs": 365 * 86400 })).await;
    let tok = l["token"].as_str().unwrap().to_owned();
    grant(&h, &bob, "file", &f, "carl@example.com", "viewer").await;
    assert_eq!(get_link(&h, &tok, &[], false).await, StatusCode::OK);
    assert_eq!(carl_reads(&h, &carl, &f).await, StatusCode::OK);
    let r = h
        .call(
            Method::DELETE,
            &format!("/folders/{d}/grants/{bob_id}"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(get_link(&h, &tok, &[], false).await, StatusCode::GONE);
    assert_eq!(carl_reads(&h, &carl, &f).await, StatusCode::NOT_FOUND);

    // Round 2: bob only a viewer now: what bob handed out does not come back.
    grant(&h, &ann, "folder", &d, "bob@example.com", "viewer").await;
    assert_eq!(get_link(&h, &tok, &[], false).await, StatusCode::GONE);
    assert_eq!(carl_reads(&h, &carl, &f).await, StatusCode::NOT_FOUND);

    // Round 3: editor again (everything works again), then bob deletes the account.
    grant(&h, &ann, "folder", &d, "bob@example.com", "editor").await;
    assert_eq!(get_link(&h, &tok, &[], false).await, StatusCode::OK);
    assert_eq!(carl_reads(&h, &carl, &f).await, StatusCode::OK);
    let r = h
        .call(
            Method::DELETE,
            "/me",
            Some(&bob),
            Some(json!({ "password": "correct horse battery" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(get_link(&h, &tok, &[], false).await, StatusCode::NOT_FOUND);
    assert_eq!(carl_reads(&h, &carl, &f).await, StatusCode::NOT_FOUND);
    // The owner's own shares are untouched.
    grant(&h, &ann, "file", &f, "carl@example.com", "viewer").await;
    assert_eq!(carl_reads(&h, &carl, &f).await, StatusCode::OK);
}

/// Hole 9: `/auth/register` answered 409 "already registered", and sharing with an address
/// told whether it had an account.
async fn answers_do_not_reveal_accounts(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = h.user("ann@example.com").await;
    let register = |email: &'static str| {
        h.call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({ "email": email, "name": "X", "password": "another long password" })),
        )
    };
    let known = register("ann@example.com").await;
    let unknown = register("zed@example.com").await;
    assert_eq!(known.status, StatusCode::ACCEPTED);
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    // The existing account keeps its password.
    let r = h
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({ "email": "ann@example.com", "password": "another long password" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let f = h.upload(&ann, "f.txt", b"x").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = format!("/files/{f}/grants");
    let share = |email: &'static str| {
        h.call(
            Method::POST,
            &uri,
            Some(&ann),
            Some(json!({ "email": email, "role": "viewer" })),
        )
    };
    let mut known = share("zed@example.com").await;
    let mut unknown = share("nobody@example.com").await;
    assert_eq!(known.status, StatusCode::ACCEPTED);
    assert_eq!(known.status, unknown.status);
    known.body["email"] = Value::Null;
    unknown.body["email"] = Value::Null;
    assert_eq!(known.body, unknown.body);
}

async fn login(h: &Harness, email: &str, password: &str) -> (StatusCode, Value) {
    let r = h.sign_in(email, password).await;
    (r.status, r.body)
}

/// Hole 10 (part): the first administrator was told to change a password no route could
/// change, and lower-case `bearer` was refused. Also: administrators disable, enable and reset
/// accounts.
async fn passwords_change_and_administrators_manage_accounts(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (admin_email, admin_password) = h.app.accounts.bootstrap_admin().await.unwrap().unwrap();
    let (st, admin) = login(&h, &admin_email, &admin_password).await;
    assert_eq!(st, StatusCode::OK);
    let admin = admin["access_token"].as_str().unwrap().to_owned();
    let (ann, first) = h.user("ann@example.com").await;
    let ann_id = first["user"]["id"].as_str().unwrap().to_owned();
    let (_, second) = login(&h, "ann@example.com", "correct horse battery").await;

    let req = Request::get("/me")
        .header(header::AUTHORIZATION, format!("bearer {ann}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        h.send(req).await.status,
        StatusCode::OK,
        "lower-case scheme"
    );

    let change = |current: &'static str, new: &'static str| {
        h.call(
            Method::POST,
            "/me/password",
            Some(&ann),
            Some(json!({ "current_password": current, "new_password": new })),
        )
    };
    assert_eq!(
        change("wrong password", "a brand new password")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        change("correct horse battery", "short").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        change("correct horse battery", "a brand new password")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        login(&h, "ann@example.com", "correct horse battery")
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&h, "ann@example.com", "a brand new password").await.0,
        StatusCode::OK
    );
    // The other session is gone; this one still works.
    let r = h
        .call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({ "refresh_token": second["refresh_token"] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(
        h.call(Method::GET, "/me", Some(&ann), None).await.status,
        StatusCode::OK
    );

    // Administration is for administrators.
    for path in ["/admin/users".to_owned()] {
        assert_eq!(
            h.call(Method::GET, &path, Some(&ann), None).await.status,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        h.call(
            Method::POST,
            &format!("/admin/users/{ann_id}/disable"),
            Some(&ann),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let users = h
        .call(Method::GET, "/admin/users", Some(&admin), None)
        .await;
    assert_eq!(users.body.as_array().unwrap().len(), 2, "{}", users.body);

    let f = h.upload(&ann, "f.txt", b"x").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let l = link(&h, &ann, &f, json!({})).await;
    let tok = l["token"].as_str().unwrap().to_owned();
    let r = h
        .call(
            Method::POST,
            &format!("/admin/users/{ann_id}/disable"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["disabled_at"].is_string());
    assert_eq!(
        login(&h, "ann@example.com", "a brand new password").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get_link(&h, &tok, &[], false).await, StatusCode::GONE);
    let r = h
        .call(
            Method::POST,
            &format!("/admin/users/{ann_id}/enable"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(get_link(&h, &tok, &[], false).await, StatusCode::OK);
    let r = h
        .call(
            Method::POST,
            &format!("/admin/users/{ann_id}/password-reset"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let reset = r.body["password"].as_str().unwrap().to_owned();
    assert_eq!(
        login(&h, "ann@example.com", "a brand new password").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login(&h, "ann@example.com", &reset).await.0, StatusCode::OK);
    let r = h
        .call(
            Method::POST,
            "/admin/users/nobody/disable",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// Issue 15 (tests that cannot catch what they claim): no HTTP test saw a 429 or a security
/// header.
async fn rate_limits_and_security_headers_reach_the_client(backend: Backend) {
    let Some(h) = harness_with(backend, 1 << 20, |c| c.http.rate_limit_per_ip = 5).await else {
        return;
    };
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = h.call(Method::GET, "/healthz", None, None).await;
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "no-referrer"),
            ("cache-control", "no-store"),
        ] {
            assert_eq!(r.headers[name], value, "{name}");
        }
        assert!(
            r.headers["strict-transport-security"]
                .to_str()
                .unwrap()
                .starts_with("max-age=")
        );
        assert!(
            r.headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'none'")
        );
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            let wait: u64 = r.headers[header::RETRY_AFTER]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&wait), "{wait}");
        }
        statuses.push(r.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(statuses[7], StatusCode::TOO_MANY_REQUESTS);
}

/// `X-Forwarded-For` names the client only through trusted proxies, and then by the entry the
/// nearest untrusted hop cannot write: random left-most values do not dodge the per-IP limit.
async fn forged_forwarded_for_does_not_dodge_limits(backend: Backend) {
    // The harness's requests come from 127.0.0.1 (no socket).
    for (proxies, limited_client) in [
        (vec!["127.0.0.1".to_owned()], "198.51.100.7"),
        (vec!["10.0.0.0/8".to_owned()], "127.0.0.1"),
        (Vec::new(), "198.51.100.7"),
    ] {
        let Some(h) = harness_with(backend, 1 << 20, |c| {
            c.http.rate_limit_per_ip = 5;
            c.http.trust_forwarded_for = true;
            c.http.trusted_proxies = proxies.clone();
        })
        .await
        else {
            return;
        };
        let mut statuses = Vec::new();
        for i in 0..8 {
            let r = h
                .send(
                    Request::get("/healthz")
                        .header("x-forwarded-for", format!("203.0.113.{i}, 198.51.100.7"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            statuses.push(r.status);
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == StatusCode::OK).count(),
            5,
            "{proxies:?}: {statuses:?}"
        );
        // Another client behind the proxy has a budget of its own, unless the header was not
        // believed at all.
        let r = h
            .send(
                Request::get("/healthz")
                    .header("x-forwarded-for", "198.51.100.8")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        let own_budget = limited_client != "127.0.0.1";
        assert_eq!(r.status == StatusCode::OK, own_budget, "{proxies:?}");
    }
}

/// A failed login's audit event names the account it was aimed at (its id, and the address
/// tried), so an attack on one account shows in its trail; the answer stays the same.
async fn failed_logins_name_the_targeted_account(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let admin = h.admin_token().await;
    let (ann, _) = h.user("ann@example.com").await;
    let ann_id = h.call(Method::GET, "/me", Some(&ann), None).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (known, _) = login(&h, "Ann@Example.com", "wrong password here").await;
    let (unknown, _) = login(&h, "ghost@example.com", "wrong password here").await;
    assert_eq!(
        (known, unknown),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    drain(&h).await;
    let r = h
        .call(
            Method::GET,
            "/audit?action=auth.login.failed",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let events: Vec<&Value> = r.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rec| &rec["event"])
        .collect();
    let seen: Vec<(&str, &str, bool)> = events
        .iter()
        .map(|e| {
            (
                e["resource"]["id"].as_str().unwrap(),
                e["attributes"]["email"].as_str().unwrap(),
                e["attributes"]["known"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        // Newest first.
        [
            ("-", "ghost@example.com", false),
            (ann_id.as_str(), "ann@example.com", true)
        ],
        "{events:?}"
    );
    assert!(!r.body.to_string().contains("wrong password here"));
}

/// Publishes everything in the outbox to the audit log (the harness runs no background relay).
async fn drain(h: &Harness) {
    let relay = h.app.relay.as_ref().unwrap();
    for _ in 0..100 {
        if pending(h).await == 0 {
            return;
        }
        relay.run_once().await.unwrap();
    }
    panic!("the outbox did not drain");
}

/// Hole 4: with the server stopped and rows edited, `GET /audit/verify` said `ok: true` after
/// the last records were deleted and the head rewritten, after the chain was emptied, and
/// after `actor_id` was changed (which also hid the victim's records from `GET /audit`).
async fn audit_tampering_is_found_by_verify(backend: Backend) {
    let attacks: [&[&str]; 3] = [
        &["UPDATE audit_records SET actor_id = 'x' WHERE seq = 2"],
        &[
            "DELETE FROM audit_records WHERE seq > 3",
            "UPDATE audit_chains SET seq = 3, hash = (SELECT hash FROM audit_records WHERE seq = 3)",
        ],
        &["DELETE FROM audit_records", "DELETE FROM audit_chains"],
    ];
    for attack in attacks {
        let Some(h) = harness(backend, 1 << 20).await else {
            return;
        };
        let (email, password) = h.app.accounts.bootstrap_admin().await.unwrap().unwrap();
        let (_, admin) = login(&h, &email, &password).await;
        let admin = admin["access_token"].as_str().unwrap().to_owned();
        let (ann, _) = h.user("ann@example.com").await;
        for i in 0..3 {
            h.upload(&ann, &format!("f{i}.txt"), b"x").await;
        }
        drain(&h).await;
        let report = h
            .call(Method::GET, "/audit/verify", Some(&admin), None)
            .await;
        assert_eq!(report.body["ok"], json!(true), "{}", report.body);
        assert!(
            report.body["records"].as_u64().unwrap() >= 6,
            "{}",
            report.body
        );
        assert!(
            report.body["latest_checkpoint"]["seq"].is_u64(),
            "{}",
            report.body
        );
        assert!(
            report.body["anchored_checkpoint"]["seq"].is_u64(),
            "{}",
            report.body
        );
        for statement in attack {
            sql(&h, statement, &[]).await;
        }
        let report = h
            .call(Method::GET, "/audit/verify", Some(&admin), None)
            .await;
        assert_eq!(
            report.body["ok"],
            json!(false),
            "{attack:?} went unnoticed: {}",
            report.body
        );
        assert!(report.body["problem"].is_string());
    }
}
