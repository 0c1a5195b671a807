//! Quotas and usage over HTTP, on SQLite and on PostgreSQL: `GET /me/usage` reports logical
//! bytes, bytes stored after dedup, versions and the trash; an administrator sets an account's
//! quota; uploads, new versions and restores past it answer 507 and leave nothing behind; 20
//! concurrent uploads cannot pass it together. The meter turns each change of usage into a
//! `usage.changed` event on the bus, and `GET /admin/usage` exports it per period (JSON, CSV).

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

#[macro_use]
mod common;
use common::router::{Backend, Harness, harness, harness_with};

on_both_databases!(
    usage_counts_versions_dedup_and_the_trash,
    quotas_refuse_with_507_and_leave_nothing,
    concurrent_uploads_cannot_pass_the_quota,
    only_administrators_set_quotas_and_bad_ones_are_refused,
    the_operator_default_applies_until_overridden,
    usage_is_metered_onto_the_bus_and_exported_for_billing,
    the_usage_export_pages_and_refuses_bad_periods,
);

async fn admin(h: &Harness) -> String {
    let password = h.app.accounts.bootstrap_admin().await.unwrap().unwrap().1;
    admin_login(h, &password).await
}

async fn admin_login(h: &Harness, password: &str) -> String {
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

async fn usage(h: &Harness, token: &str) -> Value {
    let r = h.call(Method::GET, "/me/usage", Some(token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

async fn set_quota(h: &Harness, admin: &str, user: &str, quota: Value) -> StatusCode {
    let r = h
        .call(
            Method::PUT,
            &format!("/admin/users/{user}/quota"),
            Some(admin),
            Some(quota),
        )
        .await;
    r.status
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn usage_counts_versions_dedup_and_the_trash(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (t, _) = h.user("ann@example.com").await;
    let empty = usage(&h, &t).await;
    assert_eq!(empty["files"], json!(0));
    assert_eq!(empty["quota_bytes"], json!(null));
    let content = bytes(5000, 1);
    let id = h.upload(&t, "a.bin", &content).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The same content again: a second version, stored once.
    assert_eq!(h.upload(&t, "a.bin", &content).await.status, StatusCode::OK);
    h.upload(&t, "b.bin", &bytes(3000, 2)).await;
    let u = usage(&h, &t).await;
    assert_eq!(u["files"], json!(2));
    assert_eq!(u["versions"], json!(3));
    assert_eq!(u["logical_bytes"], json!(13_000));
    assert_eq!(u["stored_bytes"], json!(8000), "dedup: {u}");
    assert_eq!(u["trash_files"], json!(0));
    // The trash still counts; a purge frees it.
    let del = h
        .call(Method::DELETE, &format!("/files/{id}"), Some(&t), None)
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    let u = usage(&h, &t).await;
    assert_eq!(
        (u["trash_files"].clone(), u["trash_bytes"].clone()),
        (json!(1), json!(10_000))
    );
    assert_eq!(u["logical_bytes"], json!(13_000));
    h.call(
        Method::DELETE,
        &format!("/trash/files/{id}"),
        Some(&t),
        None,
    )
    .await;
    let u = usage(&h, &t).await;
    assert_eq!(u["logical_bytes"], json!(3000));
    assert_eq!(u["stored_bytes"], json!(3000));
    assert_eq!(
        h.call(Method::GET, "/me/usage", None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn quotas_refuse_with_507_and_leave_nothing(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let admin = admin(&h).await;
    let (t, me) = h.user("ann@example.com").await;
    let ann = me["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        set_quota(&h, &admin, &ann, json!({ "bytes": 10_000, "files": 2 })).await,
        StatusCode::OK
    );
    let first = h.upload(&t, "one.bin", &bytes(6000, 1)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let id = first.body["id"].as_str().unwrap().to_owned();
    let before = usage(&h, &t).await;

    // A new file past the bytes: 507 with a problem document, and nothing stored.
    let over = h.upload(&t, "two.bin", &bytes(6000, 2)).await;
    assert_eq!(
        over.status,
        StatusCode::INSUFFICIENT_STORAGE,
        "{}",
        over.body
    );
    assert_eq!(over.content_type, "application/problem+json");
    assert!(
        over.body["detail"].as_str().unwrap().contains("quota"),
        "{}",
        over.body
    );
    // A new version past it, by upload and by PUT.
    let again = h.upload(&t, "one.bin", &bytes(6000, 3)).await;
    assert_eq!(
        again.status,
        StatusCode::INSUFFICIENT_STORAGE,
        "{}",
        again.body
    );
    let put = Request::put(format!("/files/{id}/content"))
        .header(header::AUTHORIZATION, format!("Bearer {t}"))
        .body(Body::from(bytes(6000, 4)))
        .unwrap();
    assert_eq!(h.send(put).await.status, StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(
        usage(&h, &t).await,
        before,
        "a refused upload leaves nothing"
    );
    // Within the bytes: fine; then the file count is the limit (a version still fits).
    assert_eq!(
        h.upload(&t, "two.bin", &bytes(1000, 5)).await.status,
        StatusCode::CREATED
    );
    let third = h.upload(&t, "three.bin", &bytes(10, 6)).await;
    assert_eq!(
        third.status,
        StatusCode::INSUFFICIENT_STORAGE,
        "{}",
        third.body
    );
    assert!(
        third.body["detail"].as_str().unwrap().contains("file"),
        "{}",
        third.body
    );
    assert_eq!(
        h.upload(&t, "two.bin", &bytes(1000, 7)).await.status,
        StatusCode::OK
    );
    // Restoring a version counts too: 6000 + 1000 + 1000 + 6000 > 10 000.
    let restore = h
        .call(
            Method::POST,
            &format!("/files/{id}/versions/1/restore"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(
        restore.status,
        StatusCode::INSUFFICIENT_STORAGE,
        "{}",
        restore.body
    );
    let u = usage(&h, &t).await;
    assert_eq!(
        (u["files"].clone(), u["logical_bytes"].clone()),
        (json!(2), json!(8000))
    );
    assert_eq!(
        u["stored_bytes"],
        json!(8000),
        "refused chunks were dropped: {u}"
    );
}

async fn concurrent_uploads_cannot_pass_the_quota(backend: Backend) {
    let Some(h) = harness_with(backend, 1 << 20, |c| c.database.max_connections = 8).await else {
        return;
    };
    let admin = admin(&h).await;
    let (t, me) = h.user("ann@example.com").await;
    let ann = me["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        set_quota(&h, &admin, &ann, json!({ "bytes": 10_000, "files": null })).await,
        StatusCode::OK
    );
    let uploads = (0..20).map(|i| {
        let (h, t) = (&h, &t);
        async move {
            h.upload(t, &format!("f{i}.bin"), &bytes(1000, i as u8))
                .await
                .status
        }
    });
    let statuses = futures::future::join_all(uploads).await;
    let ok = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let full = statuses
        .iter()
        .filter(|s| **s == StatusCode::INSUFFICIENT_STORAGE)
        .count();
    assert_eq!((ok, full), (10, 10), "{statuses:?}");
    let u = usage(&h, &t).await;
    assert_eq!(
        (u["files"].clone(), u["logical_bytes"].clone()),
        (json!(10), json!(10_000))
    );
}

async fn only_administrators_set_quotas_and_bad_ones_are_refused(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let admin = admin(&h).await;
    let (t, me) = h.user("ann@example.com").await;
    let ann = me["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        set_quota(&h, &t, &ann, json!({ "bytes": 1, "files": 1 })).await,
        StatusCode::FORBIDDEN
    );
    for bad in [
        json!({ "bytes": -1, "files": null }),
        json!({ "bytes": "lots", "files": null }),
        json!({ "bytes": 1, "files": 1, "extra": true }),
    ] {
        let r = h
            .call(
                Method::PUT,
                &format!("/admin/users/{ann}/quota"),
                Some(&admin),
                Some(bad.clone()),
            )
            .await;
        assert!(
            r.status == StatusCode::UNPROCESSABLE_ENTITY || r.status == StatusCode::BAD_REQUEST,
            "{bad}: {} {}",
            r.status,
            r.body
        );
        assert_eq!(r.content_type, "application/problem+json");
    }
    assert_eq!(
        set_quota(
            &h,
            &admin,
            "no-such-user",
            json!({ "bytes": 1, "files": 1 })
        )
        .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        usage(&h, &t).await["quota_bytes"],
        json!(null),
        "nothing was set"
    );
}

async fn the_operator_default_applies_until_overridden(backend: Backend) {
    let Some(h) = harness_with(backend, 1 << 20, |c| {
        c.files.default_quota_bytes = 2000;
    })
    .await
    else {
        return;
    };
    let admin = admin(&h).await;
    let (t, me) = h.user("ann@example.com").await;
    let ann = me["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(usage(&h, &t).await["quota_bytes"], json!(2000));
    assert_eq!(
        h.upload(&t, "big.bin", &bytes(3000, 1)).await.status,
        StatusCode::INSUFFICIENT_STORAGE
    );
    assert_eq!(
        set_quota(&h, &admin, &ann, json!({ "bytes": 5000, "files": null })).await,
        StatusCode::OK
    );
    assert_eq!(
        h.upload(&t, "big.bin", &bytes(3000, 1)).await.status,
        StatusCode::CREATED
    );
    // Back to the default: nothing is deleted, but nothing more fits.
    assert_eq!(
        set_quota(&h, &admin, &ann, json!({ "bytes": null, "files": null })).await,
        StatusCode::OK
    );
    assert_eq!(usage(&h, &t).await["quota_bytes"], json!(2000));
    assert_eq!(
        h.upload(&t, "more.bin", &bytes(10, 2)).await.status,
        StatusCode::INSUFFICIENT_STORAGE
    );
}

const HOUR: i64 = 3600 * 1_000_000;

fn stamp(micros: i64) -> String {
    jiff::Timestamp::from_microsecond(micros)
        .unwrap()
        .to_string()
}

/// The `usage.changed` events relayed so far, for `user`.
async fn usage_events(
    h: &Harness,
    bus: &mut strongroom_audit::Subscription,
    user: &str,
) -> Vec<Value> {
    h.app.relay.clone().unwrap().run_once().await.unwrap();
    let mut out = Vec::new();
    while let Some(e) = bus.try_recv().unwrap() {
        let v: Value = serde_json::from_str(&e.to_json()).unwrap();
        if e.action() == "usage.changed" && e.resource().id == user {
            out.push(v);
        }
    }
    out
}

async fn usage_is_metered_onto_the_bus_and_exported_for_billing(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    // The first account is the administrator (bootstrap), signed in again when needed.
    let password = h.app.accounts.bootstrap_admin().await.unwrap().unwrap().1;
    let (ann, body) = h.user("ann@example.com").await;
    let ann_id = body["user"]["id"].as_str().unwrap().to_owned();
    let mut bus = h.app.bus.subscribe();
    let t0 = h.app.now();

    // Hour 0: 1000 bytes. A pass records it once; a second pass without a change records nothing.
    let a = h.upload(&ann, "a.bin", &bytes(1000, 1)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(h.app.metering.meter().await.unwrap() >= 1);
    assert_eq!(
        h.app.metering.meter().await.unwrap(),
        0,
        "no change, no sample"
    );
    let events = usage_events(&h, &mut bus, &ann_id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let data = &events[0]["attributes"];
    assert_eq!(data["usage"]["logical_bytes"], 1000, "{data}");
    assert_eq!(data["usage"]["files"], 1, "{data}");
    assert_eq!(data["previous"]["logical_bytes"], 0, "{data}");

    // Hour 1: 4000 bytes. Hour 2: everything deleted and purged (a closing zero sample).
    h.clock.advance_secs(3600);
    let ann = h.login("ann@example.com").await.0;
    let b = h.upload(&ann, "b.bin", &bytes(3000, 2)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(h.app.metering.meter().await.unwrap(), 1);
    h.clock.advance_secs(3600);
    let ann = h.login("ann@example.com").await.0;
    for id in [&a, &b] {
        let r = h
            .call(Method::DELETE, &format!("/files/{id}"), Some(&ann), None)
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    }
    // In the trash the bytes still count.
    assert_eq!(h.app.metering.meter().await.unwrap(), 1);
    let r = h.call(Method::DELETE, "/trash", Some(&ann), None).await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(h.app.metering.meter().await.unwrap(), 1);
    let events = usage_events(&h, &mut bus, &ann_id).await;
    let bytes_seen: Vec<_> = events
        .iter()
        .map(|e| e["attributes"]["usage"]["logical_bytes"].clone())
        .collect();
    assert_eq!(bytes_seen, vec![json!(4000), json!(4000), json!(0)]);
    assert_eq!(events[1]["attributes"]["usage"]["trash_bytes"], 4000);
    h.clock.advance_secs(3600);
    let ann = h.login("ann@example.com").await.0;
    let admin = admin_login(&h, &password).await;

    // The export of hours 0..3: 1000 B for an hour, 4000 B for an hour, then nothing.
    let uri = format!(
        "/admin/usage?from={}&to={}",
        stamp(t0),
        stamp(t0 + 3 * HOUR)
    );
    let r = h.call(Method::GET, &uri, Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let rows = r.body["accounts"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|x| x["user_id"] == ann_id.as_str())
        .unwrap();
    assert_eq!(row["email"], "ann@example.com");
    assert_eq!(row["logical_byte_hours"], 5000, "{row}");
    assert_eq!(row["avg_logical_bytes"], 5000 / 3, "{row}");
    assert_eq!(row["peak_logical_bytes"], 4000, "{row}");
    assert_eq!(row["logical_bytes"], 0, "the end of the period: {row}");
    assert!(row["stored_byte_hours"].as_u64().unwrap() > 0, "{row}");
    assert!(r.body["next"].is_null());

    // The same as CSV, and through the CLI's format: a header and one line per account.
    let r = h
        .call(
            Method::GET,
            &format!("{uri}&format=csv"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type.starts_with("text/csv"), "{}", r.content_type);
    let text = String::from_utf8(r.raw).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        strongroom::domain::metering::CSV_HEADER
    );
    let line = lines.find(|l| l.contains(&ann_id)).unwrap();
    let cols: Vec<&str> = line.split(',').collect();
    assert_eq!(cols[3], "ann@example.com");
    assert_eq!(cols[12], "5000", "{line}");

    // Exporting is an administrator's act, and audited.
    let r = h.call(Method::GET, &uri, Some(&ann), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    h.app.relay.clone().unwrap().run_once().await.unwrap();
    let page = h
        .app
        .audit
        .query(&strongroom_audit::AuditQuery::new().action_prefix("usage.exported"))
        .await
        .unwrap();
    assert!(!page.records.is_empty());

    // A deleted account's past stays billable; its usage closes at zero.
    let (bob, body) = h.user("bob@example.com").await;
    let bob_id = body["user"]["id"].as_str().unwrap().to_owned();
    h.upload(&bob, "b.bin", &bytes(500, 3)).await;
    assert_eq!(h.app.metering.meter().await.unwrap(), 1);
    h.clock.advance_secs(3600);
    let bob = h.login("bob@example.com").await.0;
    let r = h
        .call(
            Method::DELETE,
            "/me",
            Some(&bob),
            Some(json!({ "password": "correct horse battery" })),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(
        h.app.metering.meter().await.unwrap(),
        1,
        "the closing sample"
    );
    h.clock.advance_secs(3600);
    let admin = admin_login(&h, &password).await;
    let now = h.app.now();
    let uri = format!(
        "/admin/usage?from={}&to={}",
        stamp(now - 2 * HOUR),
        stamp(now)
    );
    let r = h.call(Method::GET, &uri, Some(&admin), None).await;
    let row = r.body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["user_id"] == bob_id.as_str())
        .cloned()
        .unwrap();
    assert!(row["email"].is_null(), "{row}");
    assert_eq!(row["logical_byte_hours"], 500, "{row}");
    assert_eq!(row["logical_bytes"], 0, "{row}");
}

async fn the_usage_export_pages_and_refuses_bad_periods(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let admin = admin(&h).await;
    let mut ids = Vec::new();
    for (i, who) in ["ann", "bob", "cy"].iter().enumerate() {
        let (t, body) = h.user(&format!("{who}@example.com")).await;
        ids.push(body["user"]["id"].as_str().unwrap().to_owned());
        h.upload(&t, "x.bin", &bytes(100 * (i + 1), i as u8)).await;
    }
    h.app.metering.meter().await.unwrap();
    h.clock.advance_secs(60);
    let now = h.app.now();
    let base = format!(
        "/admin/usage?from={}&to={}",
        stamp(now - HOUR),
        stamp(now + HOUR)
    );

    // One account a page, following `next`; the Link header says the same.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let uri = match &after {
            Some(a) => format!("{base}&limit=1&after={a}"),
            None => format!("{base}&limit=1"),
        };
        let r = h.call(Method::GET, &uri, Some(&admin), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let rows = r.body["accounts"].as_array().unwrap();
        assert!(rows.len() <= 1);
        seen.extend(
            rows.iter()
                .map(|x| x["user_id"].as_str().unwrap().to_owned()),
        );
        after = r.body["next"].as_str().map(str::to_owned);
        let link = r
            .headers
            .get(header::LINK)
            .map(|l| l.to_str().unwrap().to_owned());
        assert_eq!(link.is_some(), after.is_some(), "{link:?}");
        if let Some(l) = link {
            assert!(l.contains("rel=\"next\"") && l.contains("limit=1"), "{l}");
        }
        if after.is_none() {
            break;
        }
    }
    let mut want = ids.clone();
    want.sort();
    assert_eq!(seen, want, "every account once, in id order");
    // `to` later than now is capped at now.
    let r = h.call(Method::GET, &base, Some(&admin), None).await;
    assert_eq!(r.body["to"], stamp(now), "{}", r.body);
    // A month, in UTC.
    let r = h
        .call(
            Method::GET,
            "/admin/usage?month=2026-02",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["from"], "2026-02-01T00:00:00Z", "{}", r.body);
    assert_eq!(r.body["to"], "2026-03-01T00:00:00Z", "{}", r.body);

    for bad in [
        "/admin/usage".to_owned(),
        "/admin/usage?month=2026-13".to_owned(),
        "/admin/usage?month=26-1".to_owned(),
        format!(
            "/admin/usage?month=2026-01&from={}&to={}",
            stamp(now - HOUR),
            stamp(now)
        ),
        format!("/admin/usage?from={}&to={}", stamp(now), stamp(now - HOUR)),
        format!("/admin/usage?from=yesterday&to={}", stamp(now)),
        format!(
            "/admin/usage?from={}&to={}",
            stamp(now - 400 * 24 * HOUR),
            stamp(now)
        ),
        format!(
            "/admin/usage?from={}&to={}",
            stamp(now + HOUR),
            stamp(now + 2 * HOUR)
        ),
        format!("{base}&format=xml"),
        format!("{base}&limit=0"),
        format!("{base}&limit=5000"),
    ] {
        let r = h.call(Method::GET, &bad, Some(&admin), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
    }
}
