//! Quotas and usage over HTTP, on SQLite and on PostgreSQL: `GET /me/usage` reports logical
//! bytes, bytes stored after dedup, versions and the trash; an administrator sets an account's
//! quota; uploads, new versions and restores past it answer 507 and leave nothing behind; 20
//! concurrent uploads cannot pass it together.

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
