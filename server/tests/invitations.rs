//! Invitations over HTTP, on SQLite and on PostgreSQL: mailed through a real SMTP server
//! (aiosmtpd) and followed from the message; used once; refused when expired, revoked,
//! replaced, tampered with or accepted by another account; bad input changing nothing.

use http::{Method, StatusCode};
use serde_json::{Value, json};

#[macro_use]
mod common;
use common::router::{Backend, Harness, Reply, harness, harness_with};
use common::smtp::MailCatcher;

on_both_databases!(
    a_mailed_invitation_is_followed_into_the_team,
    tokens_resist_reuse_expiry_tampering_and_the_wrong_account,
    bad_invitations_change_nothing,
);

async fn call(
    h: &Harness,
    m: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    h.call(m, uri, token, body).await
}

async fn new_team(h: &Harness, token: &str, name: &str) -> (String, String) {
    let r = call(
        h,
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

async fn invite(h: &Harness, token: &str, body: Value) -> Reply {
    call(h, Method::POST, "/invitations", Some(token), Some(body)).await
}

/// The token in an invitation link or message (quoted-printable or not).
fn token_in(text: &str) -> String {
    let text = text
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let at = text.find("token=").expect("a link with a token") + "token=".len();
    text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect()
}

async fn accept(h: &Harness, bearer: Option<&str>, body: Value) -> Reply {
    call(h, Method::POST, "/invitations/accept", bearer, Some(body)).await
}

async fn a_mailed_invitation_is_followed_into_the_team(backend: Backend) {
    let Some(mut smtp) = MailCatcher::start(0) else {
        return;
    };
    let port = smtp.port;
    let Some(h) = harness_with(backend, 1 << 20, |c| {
        c.smtp.host = "127.0.0.1".into();
        c.smtp.port = port;
        c.smtp.security = "none".into();
        c.smtp.from = "Strongroom <no-reply@strongroom.test>".into();
        c.smtp.timeout_secs = 5;
    })
    .await
    else {
        return;
    };
    let (ann, _) = h.user("ann@example.com").await;
    let (team, space) = new_team(&h, &ann, "Research").await;
    let sent = invite(
        &h,
        &ann,
        json!({ "email": "Carl@Example.com", "team_id": team, "role": "editor" }),
    )
    .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
    assert_eq!(sent.body["delivery"], "email");
    assert!(
        sent.body["link"].is_null(),
        "a mailed link is not shown to the inviter"
    );
    assert_eq!(sent.body["email"], "carl@example.com");

    // The message went to the real SMTP server; follow its link.
    let message = smtp.wait_for(1);
    assert!(message.contains("To: carl@example.com"), "{message}");
    assert!(message.contains("Research"), "{message}");
    let token = token_in(&message);
    let r = call(
        &h,
        Method::GET,
        &format!("/invitations/accept?token={token}"),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (
            r.body["team_name"].as_str(),
            r.body["role"].as_str(),
            r.body["status"].as_str()
        ),
        (Some("Research"), Some("editor"), Some("open"))
    );
    let r = accept(
        &h,
        None,
        json!({ "token": token, "name": "Carl", "password": "correct horse battery" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["new_account"], true);
    // The new account signs in and works in the team's space as an editor.
    let (carl, _) = h.login("carl@example.com").await;
    let mine = call(&h, Method::GET, "/teams", Some(&carl), None).await;
    assert_eq!(mine.body[0]["id"], team.as_str());
    assert_eq!(mine.body[0]["role"], "editor");
    let up = h
        .send(
            http::Request::post(format!("/files?name=a.txt&folder_id={space}"))
                .header(http::header::AUTHORIZATION, format!("Bearer {carl}"))
                .body(axum::body::Body::from("from carl"))
                .unwrap(),
        )
        .await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
    // Used once.
    let again = accept(
        &h,
        None,
        json!({ "token": token, "name": "Carl", "password": "correct horse battery" }),
    )
    .await;
    assert_eq!(again.status, StatusCode::GONE, "{}", again.body);

    // The mail server goes down: the invitation is kept, the inviter told, nothing leaks.
    smtp.stop();
    let failed = invite(
        &h,
        &ann,
        json!({ "email": "dora@example.com", "team_id": team, "role": "guest" }),
    )
    .await;
    assert_eq!(failed.status, StatusCode::CREATED, "{}", failed.body);
    assert_eq!(failed.body["delivery"], "failed");
    assert!(failed.body["delivery_error"].is_string());
    assert!(failed.body["link"].is_null());
    // Back up (on the same port): a resend delivers a fresh link that works.
    let smtp = MailCatcher::start(port).unwrap();
    let id = failed.body["id"].as_str().unwrap();
    let r = call(
        &h,
        Method::POST,
        &format!("/invitations/{id}/resend"),
        Some(&ann),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["delivery"], "email");
    let token = token_in(&smtp.wait_for(1));
    let r = accept(
        &h,
        None,
        json!({ "token": token, "name": "Dora", "password": "correct horse battery" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["role"], "guest");
}

async fn tokens_resist_reuse_expiry_tampering_and_the_wrong_account(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = h.user("ann@example.com").await;
    let (bob, _) = h.user("bob@example.com").await;
    let (dave, _) = h.user("dave@example.com").await;
    let (team, _) = new_team(&h, &ann, "Ops").await;
    let to = |email: &str, role: &str| json!({ "email": email, "team_id": team, "role": role });

    // No mail configured: the link comes back to the inviter.
    let sent = invite(&h, &ann, to("bob@example.com", "guest")).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
    assert_eq!(sent.body["delivery"], "link");
    let link = sent.body["link"].as_str().unwrap().to_owned();
    assert!(link.contains("/invitations/accept?token=sri1."), "{link}");
    let token = token_in(&link);

    // Tampered tokens are unknown, however they were changed.
    let mut flipped = token.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let other = invite(&h, &ann, to("erin@example.com", "editor")).await;
    let other_id = other.body["id"].as_str().unwrap();
    let swapped_id = format!("{}.{}.{}.{}", parts[0], other_id, parts[2], parts[3]);
    for bad in [
        flipped.as_str(),
        swapped_id.as_str(),
        "sri1.x.y.z",
        "garbage",
        "",
    ] {
        let r = call(
            &h,
            Method::GET,
            &format!("/invitations/accept?token={bad}"),
            None,
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bad}: {}", r.body);
        let r = accept(&h, Some(&bob), json!({ "token": bad })).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bad}: {}", r.body);
        assert_eq!(r.content_type, "application/problem+json");
    }

    // Another signed-in account may not take it; signed out, the address's account exists.
    let r = accept(&h, Some(&dave), json!({ "token": token })).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = accept(
        &h,
        None,
        json!({ "token": token, "name": "B", "password": "correct horse battery" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let still = call(
        &h,
        Method::GET,
        &format!("/invitations/accept?token={token}"),
        None,
        None,
    )
    .await;
    assert_eq!(still.body["status"], "open", "refusals changed nothing");
    assert_eq!(
        call(&h, Method::GET, "/teams", Some(&dave), None)
            .await
            .body,
        json!([])
    );

    // bob, signed in, accepts; the token is then used up.
    let r = accept(&h, Some(&bob), json!({ "token": token })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["new_account"], false);
    let mine = call(&h, Method::GET, "/teams", Some(&bob), None).await;
    assert_eq!(mine.body[0]["role"], "guest");
    let r = accept(&h, Some(&bob), json!({ "token": token })).await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.body);

    // Expiry, by the server's clock; a resend replaces the token (the old one is unknown).
    let sent = invite(&h, &ann, to("fay@example.com", "editor")).await;
    let (id, old) = (
        sent.body["id"].as_str().unwrap().to_owned(),
        token_in(sent.body["link"].as_str().unwrap()),
    );
    h.clock.advance_secs(8 * 86_400);
    let (ann, _) = h.login("ann@example.com").await;
    let (bob, _) = h.login("bob@example.com").await;
    let new_account = json!({ "token": old, "name": "Fay", "password": "correct horse battery" });
    let r = accept(&h, None, new_account.clone()).await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.body);
    assert!(
        r.body["detail"].as_str().unwrap().contains("expired"),
        "{}",
        r.body
    );
    let r = call(
        &h,
        Method::POST,
        &format!("/invitations/{id}/resend"),
        Some(&ann),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "open");
    let fresh = token_in(r.body["link"].as_str().unwrap());
    assert_ne!(fresh, old);
    assert_eq!(
        accept(&h, None, new_account).await.status,
        StatusCode::NOT_FOUND
    );
    let r = accept(
        &h,
        None,
        json!({ "token": fresh, "name": "Fay", "password": "correct horse battery" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Revoked: unusable, and revoking again says so.
    let sent = invite(&h, &ann, to("gus@example.com", "editor")).await;
    let (id, token) = (
        sent.body["id"].as_str().unwrap().to_owned(),
        token_in(sent.body["link"].as_str().unwrap()),
    );
    let r = call(
        &h,
        Method::DELETE,
        &format!("/invitations/{id}"),
        Some(&ann),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = accept(
        &h,
        None,
        json!({ "token": token, "name": "Gus", "password": "correct horse battery" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.body);
    let r = call(
        &h,
        Method::DELETE,
        &format!("/invitations/{id}"),
        Some(&ann),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.body);
    let r = call(
        &h,
        Method::POST,
        &format!("/invitations/{id}/resend"),
        Some(&ann),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.body);

    // The team's admins see its invitations, with their state; the inviter sees what they sent.
    let list = call(
        &h,
        Method::GET,
        &format!("/teams/{team}/invitations"),
        Some(&ann),
        None,
    )
    .await;
    let states: Vec<(String, String)> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["email"].as_str().unwrap().to_owned(),
                i["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("bob@example.com", "accepted"),
        ("fay@example.com", "accepted"),
        ("gus@example.com", "revoked"),
        ("erin@example.com", "expired"),
    ] {
        assert!(
            states.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {states:?}"
        );
    }
    let r = call(
        &h,
        Method::GET,
        &format!("/teams/{team}/invitations"),
        Some(&bob),
        None,
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a guest does not see them: {}",
        r.body
    );
    let r = call(&h, Method::GET, "/invitations", Some(&ann), None).await;
    assert_eq!(r.body.as_array().unwrap().len(), 4);
}

async fn bad_invitations_change_nothing(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let password = h.app.accounts.bootstrap_admin().await.unwrap().unwrap().1;
    let root = h
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({ "email": "admin@strongroom.local", "password": password })),
        )
        .await
        .body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ann, _) = h.user("ann@example.com").await;
    let (bob, _) = h.user("bob@example.com").await;
    let (team, _) = new_team(&h, &ann, "Legal").await;
    let r = call(
        &h,
        Method::PUT,
        &format!("/teams/{team}/members"),
        Some(&ann),
        Some(json!({ "email": "bob@example.com", "role": "editor" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    for (who, body, status) in [
        (
            &ann,
            json!({ "email": "not an address", "team_id": team, "role": "editor" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &ann,
            json!({ "email": "x@example.com", "team_id": team, "role": "owner" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &ann,
            json!({ "email": "ann@example.com", "team_id": team, "role": "editor" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &ann,
            json!({ "email": "x@example.com", "team_id": team, "role": "editor", "expires_at": "2000-01-01T00:00:00Z" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &ann,
            json!({ "email": "x@example.com", "team_id": team, "role": "editor", "expires_at": "soon" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &ann,
            json!({ "email": "x@example.com", "team_id": team, "role": "editor", "extra": 1 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &bob,
            json!({ "email": "x@example.com", "team_id": team, "role": "editor" }),
            StatusCode::FORBIDDEN,
        ),
        (
            &ann,
            json!({ "email": "x@example.com", "team_id": "no-such-team", "role": "editor" }),
            StatusCode::NOT_FOUND,
        ),
        (
            &ann,
            json!({ "email": "x@example.com", "role": "member" }),
            StatusCode::FORBIDDEN,
        ),
        (
            &root,
            json!({ "email": "x@example.com", "role": "editor" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let r = invite(&h, who, body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
        assert_eq!(r.content_type, "application/problem+json");
    }
    let r = h
        .call(
            Method::POST,
            "/invitations",
            None,
            Some(json!({ "email": "x@example.com", "role": "member" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        call(
            &h,
            Method::GET,
            &format!("/teams/{team}/invitations"),
            Some(&ann),
            None
        )
        .await
        .body,
        json!([]),
        "nothing was stored"
    );

    // A platform invitation as administrator makes an administrator; one without a name and a
    // password creates nothing and stays open.
    let sent = invite(
        &h,
        &root,
        json!({ "email": "ops@example.com", "role": "admin" }),
    )
    .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
    let token = token_in(sent.body["link"].as_str().unwrap());
    let r = accept(&h, None, json!({ "token": token })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = accept(
        &h,
        None,
        json!({ "token": token, "name": "Ops", "password": "short" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = accept(
        &h,
        None,
        json!({ "token": token, "name": "Ops", "password": "correct horse battery" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (ops, _) = h.login("ops@example.com").await;
    let me = call(&h, Method::GET, "/me", Some(&ops), None).await;
    assert_eq!(me.body["is_admin"], true, "{}", me.body);

    // Each step is audited, with the inviter and the accepting account as actors.
    h.app.relay.clone().unwrap().run_once().await.unwrap();
    let id = sent.body["id"].as_str().unwrap();
    let trail = call(
        &h,
        Method::GET,
        &format!("/audit?resource_type=invitation&resource_id={id}&limit=50"),
        Some(&root),
        None,
    )
    .await;
    let actions: Vec<&str> = trail.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"]["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"invitation.created") && actions.contains(&"invitation.accepted"),
        "{actions:?}"
    );
}
