//! Webhooks through the API, on SQLite and PostgreSQL: endpoints are checked (https, no
//! private or loopback address unless allowed, sane filters) and private to whoever manages
//! their scope; committed events reach a real receiver that verifies every request with the
//! Standard Webhooks reference library; each scope hears only what concerns it; failures are
//! retried on the schedule, given up, redelivered by hand; a rotation signs with both secrets
//! for its overlap; a 410 disables the endpoint.

use http::{Method, StatusCode};
use serde_json::{Value, json};

mod common;
use common::receiver::Receiver;
use common::router::{Backend, Harness, harness_with};

on_both_databases!(
    endpoints_are_checked_and_private_to_their_scope,
    deliveries_reach_a_standard_webhooks_receiver,
);

async fn create(h: &Harness, token: &str, body: Value) -> common::router::Reply {
    h.call(Method::POST, "/webhooks", Some(token), Some(body))
        .await
}

async fn endpoints_are_checked_and_private_to_their_scope(backend: Backend) {
    let Some(h) = harness_with(backend, 1 << 20, |c| c.webhooks.max_endpoints = 3).await else {
        return;
    };
    let root = h.admin_token().await;
    let (ann, _) = h.user("ann@example.com").await;
    let (bob, _) = h.user("bob@example.com").await;

    // Bad URLs and filters: 422, nothing stored.
    for url in [
        "http://hooks.example.com/in",
        "https://127.0.0.1/in",
        "https://[::1]/in",
        "https://10.1.2.3/in",
        "https://192.168.0.9/in",
        "https://169.254.169.254/latest/meta-data",
        "https://user:pw@hooks.example.com/in",
        "ftp://hooks.example.com/in",
        "not a url",
    ] {
        let r = create(&h, &ann, json!({ "url": url })).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {}",
            r.body
        );
        assert_eq!(r.body["status"], 422, "a problem document: {}", r.body);
    }
    let long = format!("https://hooks.example.com/{}", "a".repeat(2100));
    let r = create(&h, &ann, json!({ "url": long })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = create(
        &h,
        &ann,
        json!({ "url": "https://hooks.example.com/in", "event_types": ["Share!"] }),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = create(
        &h,
        &ann,
        json!({ "url": "https://hooks.example.com/in", "description": "x".repeat(201) }),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = create(
        &h,
        &ann,
        json!({ "url": "https://hooks.example.com/in", "platform": true }),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "only administrators: {}",
        r.body
    );
    let r = create(
        &h,
        &ann,
        json!({ "url": "https://hooks.example.com/in", "team_id": "no-such-team" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = h
        .call(
            Method::GET,
            "/webhooks?team_id=x&platform=true",
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h
        .call(
            Method::POST,
            "/webhooks",
            None,
            Some(json!({ "url": "https://hooks.example.com/in" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let mine = h.call(Method::GET, "/webhooks", Some(&ann), None).await;
    assert_eq!(mine.body, json!([]), "refusals store nothing");

    // A good one: the secret once, the filters normalized; the audit trail names the host only
    // (a receiver's token may sit in the path or query).
    let r = create(
        &h,
        &ann,
        json!({ "url": "https://hooks.example.com/in?token=s3cret", "event_types": ["share", "file.uploaded", "share"], "description": "chat" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert!(r.body["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(r.body["event_types"], json!(["file.uploaded", "share"]));
    assert_eq!(
        (r.body["scope"].as_str(), r.body["enabled"].as_bool()),
        (Some("user"), Some(true))
    );
    let shown = h
        .call(Method::GET, &format!("/webhooks/{id}"), Some(&ann), None)
        .await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(
        shown.body.get("secret").is_none(),
        "never shown again: {}",
        shown.body
    );
    let listed = h.call(Method::GET, "/webhooks", Some(&ann), None).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert!(!listed.body.to_string().contains("whsec_"));
    relay(&h).await;
    let audit = h
        .call(Method::GET, "/audit?action=webhook", Some(&root), None)
        .await;
    let trail = audit.body.to_string();
    assert!(
        trail.contains("webhook.created") && trail.contains("hooks.example.com"),
        "{trail}"
    );
    assert!(
        !trail.contains("s3cret"),
        "no token in the audit trail: {trail}"
    );

    // Somebody else's endpoint does not exist for bob, nor for an administrator.
    for (token, who) in [(&bob, "bob"), (&root, "an administrator")] {
        for (m, uri, body) in [
            (Method::GET, format!("/webhooks/{id}"), None),
            (
                Method::PATCH,
                format!("/webhooks/{id}"),
                Some(json!({ "enabled": false })),
            ),
            (Method::DELETE, format!("/webhooks/{id}"), None),
            (
                Method::POST,
                format!("/webhooks/{id}/rotate"),
                Some(json!({})),
            ),
            (Method::GET, format!("/webhooks/{id}/deliveries"), None),
        ] {
            let r = h.call(m.clone(), &uri, Some(token), body).await;
            assert_eq!(
                r.status,
                StatusCode::NOT_FOUND,
                "{who} {m} {uri}: {}",
                r.body
            );
        }
    }
    let bobs = h.call(Method::GET, "/webhooks", Some(&bob), None).await;
    assert_eq!(bobs.body, json!([]));
    let still = h
        .call(Method::GET, &format!("/webhooks/{id}"), Some(&ann), None)
        .await;
    assert_eq!(still.body["enabled"], true, "nothing changed");

    // Bad changes: 422 and nothing changes; a good one changes what it names.
    let r = h
        .call(
            Method::PATCH,
            &format!("/webhooks/{id}"),
            Some(&ann),
            Some(json!({ "url": "https://127.0.0.1/x" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = h
        .call(
            Method::POST,
            &format!("/webhooks/{id}/rotate"),
            Some(&ann),
            Some(json!({ "overlap_secs": 700_000 })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = h
        .call(
            Method::GET,
            &format!("/webhooks/{id}/deliveries?state=lost"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h
        .call(
            Method::PATCH,
            &format!("/webhooks/{id}"),
            Some(&ann),
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(
        (r.status, r.body["enabled"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    assert_eq!(r.body["disabled_reason"], "disabled by its owner");
    assert_eq!(
        r.body["url"], "https://hooks.example.com/in?token=s3cret",
        "the rest stays"
    );

    // A team's endpoints: its admins only; a member who is no admin is refused.
    let team = h
        .call(
            Method::POST,
            "/teams",
            Some(&ann),
            Some(json!({ "name": "Ops" })),
        )
        .await;
    let team = team.body["id"].as_str().unwrap().to_owned();
    let add = json!({ "email": "bob@example.com", "role": "editor" });
    assert!(
        h.call(
            Method::PUT,
            &format!("/teams/{team}/members"),
            Some(&ann),
            Some(add)
        )
        .await
        .status
        .is_success()
    );
    let r = create(
        &h,
        &bob,
        json!({ "url": "https://hooks.example.com/team", "team_id": team }),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "an editor: {}", r.body);
    let r = create(
        &h,
        &ann,
        json!({ "url": "https://hooks.example.com/team", "team_id": team }),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        (r.body["scope"].as_str(), r.body["team_id"].as_str()),
        (Some("team"), Some(team.as_str()))
    );
    let team_hook = r.body["id"].as_str().unwrap().to_owned();
    let r = h
        .call(
            Method::GET,
            &format!("/webhooks/{team_hook}"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = h
        .call(
            Method::GET,
            &format!("/webhooks?team_id={team}"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(
        h.call(Method::GET, "/webhooks", Some(&ann), None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1,
        "apart from ann's own"
    );

    // The platform's: administrators; at most max_endpoints per scope.
    for n in 0..3 {
        let r = create(
            &h,
            &root,
            json!({ "url": format!("https://hooks.example.com/p{n}"), "platform": true }),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = create(
        &h,
        &root,
        json!({ "url": "https://hooks.example.com/p3", "platform": true }),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = h
        .call(Method::GET, "/webhooks?platform=true", Some(&ann), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let platform = h
        .call(Method::GET, "/webhooks?platform=true", Some(&root), None)
        .await;
    let p0 = platform.body[0]["id"].as_str().unwrap().to_owned();
    let r = h
        .call(Method::GET, &format!("/webhooks/{p0}"), Some(&ann), None)
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "a platform endpoint does not exist for users"
    );

    // Deleting: 204, then gone.
    let r = h
        .call(Method::DELETE, &format!("/webhooks/{id}"), Some(&ann), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = h
        .call(Method::GET, &format!("/webhooks/{id}"), Some(&ann), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// Publishes what committed (to the audit log and the webhook fan-out).
async fn relay(h: &Harness) {
    let relay = h.app.relay.as_ref().expect("a relay");
    while relay.run_once().await.unwrap().published > 0 {}
}

/// Relays what committed and sends what is due.
async fn pump(h: &Harness) {
    relay(h).await;
    let worker = h.app.webhook_worker.as_ref().expect("a worker");
    while worker.deliver_due().await.unwrap().attempted > 0 {}
}

/// What `path` of the receiver got, in order.
fn got(r: &Receiver, path: &str) -> Vec<Value> {
    r.received()
        .into_iter()
        .filter(|m| m["path"] == format!("/{path}"))
        .collect()
}

fn types(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["body"]["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn deliveries_reach_a_standard_webhooks_receiver(backend: Backend) {
    let Some(receiver) = Receiver::start() else {
        return;
    };
    let Some(h) = harness_with(backend, 1 << 20, |c| {
        c.webhooks.allow_loopback = true;
        c.webhooks.allow_http = true;
        c.webhooks.retry_schedule_secs = vec![10, 10];
        c.webhooks.timeout_secs = 5;
    })
    .await
    else {
        return;
    };
    let root = h.admin_token().await;
    let (ann, ann_body) = h.user("ann@example.com").await;
    let ann_id = ann_body["user"]["id"].as_str().unwrap().to_owned();
    let (bob, _) = h.user("bob@example.com").await;
    let (carl, _) = h.user("carl@example.com").await;
    let mut secrets = Vec::new();
    let hook = |token: &str, path: &str, body: Value| {
        let mut body = body;
        body["url"] = json!(receiver.url(path));
        let (h, token) = (&h, token.to_owned());
        async move {
            let r = create(h, &token, body).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            (
                r.body["id"].as_str().unwrap().to_owned(),
                r.body["secret"].as_str().unwrap().to_owned(),
            )
        }
    };
    let (ann_hook, ann_secret) = hook(&ann, "ann", json!({ "event_types": ["share"] })).await;
    let (_, bob_secret) = hook(&bob, "bob", json!({})).await;
    let (_, carl_secret) = hook(&carl, "carl", json!({})).await;
    let (_, platform_secret) = hook(
        &root,
        "platform",
        json!({ "platform": true, "event_types": ["share"] }),
    )
    .await;
    secrets.extend([ann_secret.clone(), bob_secret, carl_secret, platform_secret]);
    let trusted: Vec<&str> = secrets.iter().map(String::as_str).collect();
    receiver.trust(&trusted);

    // ann shares a file with bob: ann (the owner), bob (the holder) and the platform hear of it,
    // carl does not; only the platform's copy says where the call came from.
    let up = h.upload(&ann, "plan.txt", b"the plan").await;
    let file = up.body["id"].as_str().unwrap().to_owned();
    let share = json!({ "email": "bob@example.com", "role": "viewer" });
    let r = h
        .call(
            Method::POST,
            &format!("/files/{file}/grants"),
            Some(&ann),
            Some(share),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    pump(&h).await;
    assert!(
        receiver.rejected().is_empty(),
        "every signature verifies: {:?}",
        receiver.rejected()
    );
    let (to_ann, to_bob, to_platform) = (
        got(&receiver, "ann"),
        got(&receiver, "bob"),
        got(&receiver, "platform"),
    );
    assert_eq!(
        types(&to_ann),
        ["share.granted"],
        "ann's filter: {to_ann:?}"
    );
    assert!(
        types(&to_bob).contains(&"share.granted".to_owned()),
        "{to_bob:?}"
    );
    assert!(
        !types(&to_bob).contains(&"file.uploaded".to_owned()),
        "ann's upload is not bob's business"
    );
    assert_eq!(types(&to_platform), ["share.granted"]);
    assert!(
        got(&receiver, "carl")
            .iter()
            .all(|m| m["body"]["data"]["actor"].to_string().contains("carl")
                || m["body"]["type"] != "share.granted"),
        "carl hears nothing of ann's share"
    );
    assert!(!types(&got(&receiver, "carl")).contains(&"share.granted".to_owned()));
    let event_id = to_ann[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        to_ann[0]["body"]["data"]["id"],
        event_id.as_str(),
        "webhook-id is the event id"
    );
    assert_eq!(to_platform[0]["id"], event_id.as_str());
    assert_eq!(to_ann[0]["body"]["data"]["resource"]["id"], file.as_str());
    for private in [
        &to_ann[0],
        to_bob
            .iter()
            .find(|m| m["body"]["type"] == "share.granted")
            .unwrap(),
    ] {
        let data = private["body"]["data"].as_object().unwrap();
        assert!(
            !data.contains_key("session_id") && !data.contains_key("ip"),
            "{data:?}"
        );
    }
    assert!(
        to_platform[0]["body"]["data"].get("session_id").is_some(),
        "{}",
        to_platform[0]
    );

    // The delivery log.
    let log = h
        .call(
            Method::GET,
            &format!("/webhooks/{ann_hook}/deliveries"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(log.body.as_array().unwrap().len(), 1, "{}", log.body);
    let delivered = &log.body[0];
    assert_eq!(
        (delivered["state"].as_str(), delivered["attempts"].as_u64()),
        (Some("delivered"), Some(1))
    );
    assert_eq!(delivered["event_id"], event_id.as_str());
    let first = delivered["id"].as_str().unwrap().to_owned();
    let one = h
        .call(
            Method::GET,
            &format!("/webhooks/{ann_hook}/deliveries/{first}"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(one.body["attempt_log"][0]["status"], 204, "{}", one.body);

    // The receiver fails: retried on the schedule (not before), then given up; redelivered by
    // hand with the same webhook-id once it is back.
    receiver.answer(Some(500));
    let r = h
        .call(
            Method::DELETE,
            &format!("/files/{file}/grants/{}", bob_id(&h, &bob).await),
            Some(&ann),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    pump(&h).await;
    let ours = |body: &Value| {
        body.as_array()
            .unwrap()
            .iter()
            .find(|d| d["event_type"] == "share.revoked")
            .cloned()
            .unwrap()
    };
    let log = h
        .call(
            Method::GET,
            &format!("/webhooks/{ann_hook}/deliveries"),
            Some(&ann),
            None,
        )
        .await;
    let revoked = ours(&log.body);
    assert_eq!(
        (
            revoked["state"].as_str(),
            revoked["attempts"].as_u64(),
            revoked["last_status"].as_u64()
        ),
        (Some("pending"), Some(1), Some(500))
    );
    let revoked_id = revoked["id"].as_str().unwrap().to_owned();
    h.clock.advance_secs(5);
    pump(&h).await;
    let log = h
        .call(
            Method::GET,
            &format!("/webhooks/{ann_hook}/deliveries"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(ours(&log.body)["attempts"], 1, "not due yet");
    for attempts in [2, 3] {
        h.clock.advance_secs(12);
        pump(&h).await;
        let log = h
            .call(
                Method::GET,
                &format!("/webhooks/{ann_hook}/deliveries"),
                Some(&ann),
                None,
            )
            .await;
        assert_eq!(ours(&log.body)["attempts"], attempts, "{}", log.body);
    }
    let dead = h
        .call(
            Method::GET,
            &format!("/webhooks/{ann_hook}/deliveries?state=dead"),
            Some(&ann),
            None,
        )
        .await;
    let dead = ours(&dead.body);
    assert_eq!(dead["last_error"], "attempts used up", "{dead}");
    receiver.answer(None);
    let r = h
        .call(
            Method::POST,
            &format!("/webhooks/{ann_hook}/deliveries/{revoked_id}/redeliver"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let again = h
        .call(
            Method::POST,
            &format!("/webhooks/{ann_hook}/deliveries/{revoked_id}/redeliver"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "still pending: {}",
        again.body
    );
    pump(&h).await;
    let to_ann = got(&receiver, "ann");
    assert_eq!(types(&to_ann), ["share.granted", "share.revoked"]);
    let forced_ids: Vec<Value> = receiver
        .forced()
        .iter()
        .filter(|f| f["path"] == "/ann")
        .map(|f| f["id"].clone())
        .collect();
    assert_eq!(forced_ids.len(), 3);
    assert!(
        forced_ids.iter().all(|i| *i == to_ann[1]["id"]),
        "the same webhook-id on every attempt"
    );
    let redelivered = h
        .call(
            Method::GET,
            "/audit?action=webhook.redelivered",
            Some(&root),
            None,
        )
        .await;
    assert!(redelivered.body.to_string().contains(&revoked_id));

    // A rotation: both secrets sign during the overlap, so a receiver holding either verifies.
    let r = h
        .call(
            Method::POST,
            &format!("/webhooks/{ann_hook}/rotate"),
            Some(&ann),
            Some(json!({ "overlap_secs": 3600 })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let new_secret = r.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, ann_secret);
    assert!(r.body["previous_secret_until"].is_string());
    let share = |role: &str| json!({ "email": "bob@example.com", "role": role });
    receiver.trust(&[&new_secret]);
    h.call(
        Method::POST,
        &format!("/files/{file}/grants"),
        Some(&ann),
        Some(share("viewer")),
    )
    .await;
    pump(&h).await;
    receiver.trust(&[&ann_secret]);
    h.call(
        Method::POST,
        &format!("/files/{file}/grants"),
        Some(&ann),
        Some(share("editor")),
    )
    .await;
    pump(&h).await;
    let to_ann = got(&receiver, "ann");
    assert_eq!(to_ann.len(), 4, "{to_ann:?}");
    assert_eq!(to_ann[2]["signatures"].as_array().unwrap().len(), 2);
    let rejected_for_ann = || {
        receiver
            .rejected()
            .into_iter()
            .filter(|r| r["path"] == "/ann")
            .count()
    };
    assert_eq!(rejected_for_ann(), 0);
    // Without an overlap, the old secret stops at once.
    let r = h
        .call(
            Method::POST,
            &format!("/webhooks/{ann_hook}/rotate"),
            Some(&ann),
            Some(json!({ "overlap_secs": 0 })),
        )
        .await;
    let newest = r.body["secret"].as_str().unwrap().to_owned();
    receiver.trust(&[&new_secret]);
    h.call(
        Method::POST,
        &format!("/files/{file}/grants"),
        Some(&ann),
        Some(share("viewer")),
    )
    .await;
    pump(&h).await;
    assert_eq!(rejected_for_ann(), 1, "the old secret no longer signs");
    receiver.trust(&[&newest]);
    h.clock.advance_secs(12);
    pump(&h).await;
    assert_eq!(
        got(&receiver, "ann").len(),
        5,
        "the retry verifies with the current secret"
    );

    // A team's endpoint hears of uploads into its space; bob, outside the team, does not.
    let team = h
        .call(
            Method::POST,
            "/teams",
            Some(&ann),
            Some(json!({ "name": "Ops" })),
        )
        .await;
    let (team, space) = (
        team.body["id"].as_str().unwrap().to_owned(),
        team.body["space_id"].as_str().unwrap().to_owned(),
    );
    let (_, team_secret) = hook(
        &ann,
        "team",
        json!({ "team_id": team, "event_types": ["file"] }),
    )
    .await;
    let mut all: Vec<&str> = trusted.clone();
    all.extend([newest.as_str(), team_secret.as_str()]);
    receiver.trust(&all);
    let uri = format!("/files?name=ops.txt&folder_id={space}");
    let r = h
        .send(
            http::Request::post(uri)
                .header(http::header::AUTHORIZATION, format!("Bearer {ann}"))
                .body(axum::body::Body::from("ops"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    pump(&h).await;
    assert_eq!(types(&got(&receiver, "team")), ["file.uploaded"]);
    assert!(
        got(&receiver, "bob")
            .iter()
            .all(|m| m["body"]["data"]["resource"]["id"] != r.body["id"])
    );

    // A share's expiry is an event too (noted from the clock, not by anyone's call): the
    // owner's and the holder's endpoints hear of it.
    let (dora, _) = h.user("dora@example.com").await;
    let (_, dora_secret) = hook(&dora, "dora", json!({ "event_types": ["share.expired"] })).await;
    all.push(dora_secret.as_str());
    receiver.trust(&all);
    let now = strongroom::clock::Clock::now_micros(h.clock.as_ref());
    let expires = jiff::Timestamp::from_microsecond(now + 60_000_000)
        .unwrap()
        .to_string();
    let share = json!({ "email": "dora@example.com", "role": "viewer", "expires_at": expires });
    let r = h
        .call(
            Method::POST,
            &format!("/files/{file}/grants"),
            Some(&ann),
            Some(share),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    h.clock.advance_secs(61);
    assert_eq!(h.app.shares.note_expiries().await.unwrap(), 1);
    pump(&h).await;
    assert_eq!(types(&got(&receiver, "dora")), ["share.expired"]);
    assert!(types(&got(&receiver, "ann")).contains(&"share.expired".to_owned()));

    // A 410 Gone disables the endpoint and says why.
    receiver.answer(Some(410));
    h.call(
        Method::DELETE,
        &format!("/files/{file}/grants/{}", bob_id(&h, &bob).await),
        Some(&ann),
        None,
    )
    .await;
    pump(&h).await;
    let e = h
        .call(
            Method::GET,
            &format!("/webhooks/{ann_hook}"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(e.body["enabled"], false, "{}", e.body);
    assert!(e.body["disabled_reason"].as_str().unwrap().contains("410"));

    // Deleting the account takes its endpoints.
    let r = h
        .call(
            Method::DELETE,
            "/me",
            Some(&carl),
            Some(json!({ "password": "correct horse battery" })),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let _ = ann_id;
}

async fn bob_id(h: &Harness, bob: &str) -> String {
    let me = h.call(Method::GET, "/me", Some(bob), None).await;
    me.body["id"].as_str().unwrap().to_owned()
}
