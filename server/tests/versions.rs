//! File versions over HTTP, on SQLite and on PostgreSQL: uploads to a taken name and
//! `PUT /files/{id}/content` make versions; `If-Match` protects against lost updates (also under
//! concurrency); any version downloads with Range, HEAD and If-None-Match; restore, delete and
//! retention keep the current version; purging the file from the trash removes every version's
//! blob.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use serde_json::json;

#[macro_use]
mod common;
use common::router::{Backend, Harness, Reply, harness, harness_with};

on_both_databases!(
    versions_are_made_listed_and_downloaded,
    if_match_protects_against_lost_updates,
    restore_delete_and_permissions,
    retention_keeps_the_newest_and_the_current,
    purging_a_file_removes_every_versions_blob,
    diffs_between_versions,
);

async fn put(h: &Harness, token: &str, id: &str, body: &[u8], if_match: Option<&str>) -> Reply {
    let mut b = Request::put(format!("/files/{id}/content"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/plain");
    if let Some(m) = if_match {
        b = b.header(header::IF_MATCH, m);
    }
    h.send(b.body(Body::from(body.to_vec())).unwrap()).await
}

async fn get(h: &Harness, token: &str, uri: &str, headers: &[(&str, &str)]) -> Reply {
    let mut b = Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {token}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    h.send(b.body(Body::empty()).unwrap()).await
}

fn versions(r: &Reply) -> Vec<i64> {
    r.body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect()
}

async fn versions_are_made_listed_and_downloaded(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (t, _) = h.user("ann@example.com").await;
    let first = h.upload(&t, "notes.txt", b"first draft").await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(first.body["version"], 1);
    let id = first.body["id"].as_str().unwrap().to_owned();

    // The same name again: the same file, version 2 (200, not 201 or 409).
    let second = h.upload(&t, "notes.txt", b"second draft!").await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(second.body["id"], id.as_str());
    assert_eq!(second.body["version"], 2);
    assert_eq!(second.body["size"], 13);
    let third = put(&h, &t, &id, b"third", None).await;
    assert_eq!(third.status, StatusCode::OK, "{}", third.body);
    assert_eq!(third.body["version"], 3);

    let list = get(&h, &t, &format!("/files/{id}/versions"), &[]).await;
    assert_eq!(versions(&list), [3, 2, 1]);
    assert_eq!(list.body[0]["current"], true);
    assert_eq!(list.body[1]["current"], false);
    assert_eq!(list.body[2]["size"], 11);

    // Current content, and any version: whole, ranged, HEAD, conditional.
    assert_eq!(
        get(&h, &t, &format!("/files/{id}/content"), &[]).await.raw,
        b"third"
    );
    let v1 = get(&h, &t, &format!("/files/{id}/versions/1/content"), &[]).await;
    assert_eq!(v1.status, StatusCode::OK);
    assert_eq!(v1.raw, b"first draft");
    let etag = v1.headers[header::ETAG].to_str().unwrap().to_owned();
    assert_eq!(
        etag,
        format!("\"{}\"", list.body[2]["sha256"].as_str().unwrap())
    );
    let part = get(
        &h,
        &t,
        &format!("/files/{id}/versions/1/content"),
        &[("range", "bytes=6-")],
    )
    .await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.raw, b"draft");
    let same = get(
        &h,
        &t,
        &format!("/files/{id}/versions/1/content"),
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    let head = h
        .send(
            Request::head(format!("/files/{id}/versions/2/content"))
                .header(header::AUTHORIZATION, format!("Bearer {t}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.headers[header::CONTENT_LENGTH], "13");
    assert!(head.raw.is_empty());

    // Bad version numbers get clear answers.
    for (uri, status) in [
        (
            format!("/files/{id}/versions/9/content"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/files/{id}/versions/0/content"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/files/{id}/versions/abc/content"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/files/no-such-file/versions".to_owned(),
            StatusCode::NOT_FOUND,
        ),
    ] {
        assert_eq!(get(&h, &t, &uri, &[]).await.status, status, "{uri}");
    }
}

async fn if_match_protects_against_lost_updates(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (t, _) = h.user("ann@example.com").await;
    let up = h.upload(&t, "doc.txt", b"v1").await;
    let id = up.body["id"].as_str().unwrap().to_owned();
    let etag = format!("\"{}\"", up.body["sha256"].as_str().unwrap());

    let ok = put(&h, &t, &id, b"v2", Some(&etag)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    // Someone else wrote in between: the old ETag is stale now.
    let stale = put(&h, &t, &id, b"v3 from an old copy", Some(&etag)).await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.body
    );
    assert!(
        stale.body["detail"]
            .as_str()
            .unwrap()
            .contains("version is 2"),
        "{}",
        stale.body
    );
    // A weak tag never matches; `*` matches any current content; garbage is a 400.
    let weak_tag = format!("W/\"{}\"", ok.body["sha256"].as_str().unwrap());
    let weak = put(&h, &t, &id, b"x", Some(&weak_tag)).await;
    assert_eq!(weak.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        put(&h, &t, &id, b"any", Some("*")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        put(&h, &t, &id, b"x", Some("not-quoted")).await.status,
        StatusCode::BAD_REQUEST
    );
    let list = get(&h, &t, &format!("/files/{id}/versions"), &[]).await;
    assert_eq!(
        versions(&list),
        [3, 2, 1],
        "the refused writes left nothing"
    );

    // 20 writers holding the same ETag: exactly one wins, the others get 412.
    let current = format!("\"{}\"", list.body[0]["sha256"].as_str().unwrap());
    let h = Arc::new(h);
    let mut writers = Vec::new();
    for i in 0..20 {
        let (h, t, id, current) = (h.clone(), t.clone(), id.clone(), current.clone());
        writers.push(tokio::spawn(async move {
            put(
                &h,
                &t,
                &id,
                format!("writer {i}").as_bytes(),
                Some(&current),
            )
            .await
            .status
        }));
    }
    let mut won = 0;
    for w in writers {
        match w.await.unwrap() {
            StatusCode::OK => won += 1,
            StatusCode::PRECONDITION_FAILED => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(
        won, 1,
        "lost-update protection must let exactly one writer through"
    );
    let list = get(&h, &t, &format!("/files/{id}/versions"), &[]).await;
    assert_eq!(versions(&list), [4, 3, 2, 1]);
}

async fn restore_delete_and_permissions(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (t, _) = h.user("ann@example.com").await;
    let (bob, _) = h.user("bob@example.com").await;
    let (eve, _) = h.user("eve@example.com").await;
    let id = h.upload(&t, "plan.txt", b"plan A").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    put(&h, &t, &id, b"plan B", None).await;
    let restored = h
        .call(
            Method::POST,
            &format!("/files/{id}/versions/1/restore"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    assert_eq!(restored.body["version"], 3);
    assert_eq!(
        get(&h, &t, &format!("/files/{id}/content"), &[]).await.raw,
        b"plan A"
    );
    let list = get(&h, &t, &format!("/files/{id}/versions"), &[]).await;
    assert_eq!(list.body[0]["restored_from"], 1);

    // The current version cannot go; another can, once.
    let current = h
        .call(
            Method::DELETE,
            &format!("/files/{id}/versions/3"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(current.status, StatusCode::CONFLICT);
    let gone = h
        .call(
            Method::DELETE,
            &format!("/files/{id}/versions/2"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(
        get(&h, &t, &format!("/files/{id}/versions/2/content"), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Version 1 shares its blob with version 3: deleting it leaves the current content whole.
    let shared = h
        .call(
            Method::DELETE,
            &format!("/files/{id}/versions/1"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(shared.status, StatusCode::NO_CONTENT);
    assert_eq!(
        get(&h, &t, &format!("/files/{id}/content"), &[]).await.raw,
        b"plan A"
    );

    // Strangers see nothing; a viewer reads every version but writes none.
    assert_eq!(
        get(&h, &eve, &format!("/files/{id}/versions"), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let share = h
        .call(
            Method::POST,
            &format!("/files/{id}/grants"),
            Some(&t),
            Some(json!({ "email": "bob@example.com", "role": "viewer" })),
        )
        .await;
    assert!(share.status.is_success(), "{}", share.body);
    assert_eq!(
        get(&h, &bob, &format!("/files/{id}/versions/3/content"), &[])
            .await
            .raw,
        b"plan A"
    );
    assert_eq!(
        put(&h, &bob, &id, b"vandal", None).await.status,
        StatusCode::FORBIDDEN
    );
    let restore = h
        .call(
            Method::POST,
            &format!("/files/{id}/versions/3/restore"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(restore.status, StatusCode::FORBIDDEN);
    // An upload by name into someone else's folder is not a way around it either: bob's upload
    // of "plan.txt" lands in bob's own root as a new file.
    let own = h.upload(&bob, "plan.txt", b"bob's plan").await;
    assert_eq!(own.status, StatusCode::CREATED);
    assert_ne!(own.body["id"], id.as_str());
}

async fn retention_keeps_the_newest_and_the_current(backend: Backend) {
    let Some(h) = harness_with(backend, 1 << 20, |c| {
        c.files.versions_keep_last = 2;
        c.files.versions_keep_days = 1;
    })
    .await
    else {
        return;
    };
    let (t, _) = h.user("ann@example.com").await;
    let id = h.upload(&t, "log.txt", b"1").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for body in [b"2", b"3", b"4", b"5"] {
        put(&h, &t, &id, body, None).await;
    }
    // All are younger than a day: the age rule keeps them.
    assert_eq!(h.app.files.prune_versions().await.unwrap(), 0);
    // Two days later only the count rule keeps anything: the two newest.
    h.clock.advance_secs(2 * 86_400);
    let (t, _) = h.login("ann@example.com").await;
    assert_eq!(h.app.files.prune_versions().await.unwrap(), 3);
    let list = get(&h, &t, &format!("/files/{id}/versions"), &[]).await;
    assert_eq!(versions(&list), [5, 4]);
    assert_eq!(
        get(&h, &t, &format!("/files/{id}/content"), &[]).await.raw,
        b"5"
    );
}

async fn purging_a_file_removes_every_versions_blob(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (t, _) = h.user("ann@example.com").await;
    let before = h.app.blobs.older_than(Duration::ZERO).await.unwrap().len();
    let id = h.upload(&t, "big.txt", b"one").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    put(&h, &t, &id, b"two", None).await;
    put(&h, &t, &id, b"three", None).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        h.app.blobs.older_than(Duration::ZERO).await.unwrap().len(),
        before + 3
    );
    let del = h
        .call(Method::DELETE, &format!("/files/{id}"), Some(&t), None)
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    // In the trash, every version is kept; purged, none is.
    assert_eq!(
        h.app.blobs.older_than(Duration::ZERO).await.unwrap().len(),
        before + 3
    );
    let purge = h
        .call(
            Method::DELETE,
            &format!("/trash/files/{id}"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(purge.status, StatusCode::NO_CONTENT, "{}", purge.body);
    assert_eq!(
        h.app.blobs.older_than(Duration::ZERO).await.unwrap().len(),
        before
    );
}

async fn diffs_between_versions(backend: Backend) {
    let Some(h) = harness_with(backend, 8 << 20, |c| c.files.diff_max_bytes = 64 * 1024).await
    else {
        return;
    };
    let (t, _) = h.user("ann@example.com").await;
    let (eve, _) = h.user("eve@example.com").await;
    let id = h
        .upload(
            &t,
            "poem.txt",
            b"roses are red\nviolets are blue\nsugar is sweet\n",
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    put(
        &h,
        &t,
        &id,
        b"roses are red\nviolets are violet\nsugar is sweet\nand so are you\n",
        None,
    )
    .await;
    let d = get(&h, &t, &format!("/files/{id}/diff?from=1&to=2"), &[]).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    assert_eq!(d.body["kind"], "text");
    assert_eq!(d.body["identical"], false);
    let unified = d.body["unified"].as_str().unwrap();
    assert!(
        unified.contains("-violets are blue\n+violets are violet\n"),
        "{unified}"
    );
    assert!(unified.contains("+and so are you"), "{unified}");
    let hunks = d.body["hunks"].as_array().unwrap();
    assert_eq!(hunks.len(), 1);
    assert_eq!(hunks[0]["old_start"], 1);
    let same = get(&h, &t, &format!("/files/{id}/diff?from=2&to=2"), &[]).await;
    assert_eq!(same.body["identical"], true);
    assert!(same.body["hunks"].as_array().unwrap().is_empty());

    // Binary content: a summary by block, and `format=text` is refused with a reason.
    let mut blob = vec![0u8; 3 * 1024 * 1024];
    blob[10] = 0xff;
    put(&h, &t, &id, &blob, None).await;
    blob[2 * 1024 * 1024 + 5] = 1;
    put(&h, &t, &id, &blob, None).await;
    let d = get(&h, &t, &format!("/files/{id}/diff?from=3&to=4"), &[]).await;
    assert_eq!(d.body["kind"], "summary", "{}", d.body);
    assert_eq!(d.body["summary"]["changed_blocks"], 1);
    assert_eq!(d.body["summary"]["changed"], json!([2]));
    assert_eq!(d.body["summary"]["from_size"], 3 * 1024 * 1024);
    let text = get(
        &h,
        &t,
        &format!("/files/{id}/diff?from=3&to=4&format=text"),
        &[],
    )
    .await;
    assert_eq!(text.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Text over the limit: a summary in auto, a 422 for format=text.
    let big_text = "line\n".repeat(20_000);
    put(&h, &t, &id, big_text.as_bytes(), None).await;
    let d = get(&h, &t, &format!("/files/{id}/diff?from=2&to=5"), &[]).await;
    assert_eq!(d.body["kind"], "summary");
    let text = get(
        &h,
        &t,
        &format!("/files/{id}/diff?from=2&to=5&format=text"),
        &[],
    )
    .await;
    assert_eq!(text.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        text.body["detail"]
            .as_str()
            .unwrap()
            .contains("diff_max_bytes")
    );
    // A text diff against a summary-sized side still works for format=summary.
    let s = get(
        &h,
        &t,
        &format!("/files/{id}/diff?from=1&to=2&format=summary"),
        &[],
    )
    .await;
    assert_eq!(s.body["kind"], "summary");

    // Bad input.
    for (uri, status) in [
        (
            format!("/files/{id}/diff?from=1&to=99"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/files/{id}/diff?from=0&to=1"),
            StatusCode::BAD_REQUEST,
        ),
        (format!("/files/{id}/diff?from=1"), StatusCode::BAD_REQUEST),
        (
            format!("/files/{id}/diff?from=1&to=2&format=pdf"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/files/{id}/diff?from=1&to=2&context=5000"),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        assert_eq!(get(&h, &t, &uri, &[]).await.status, status, "{uri}");
    }
    assert_eq!(
        get(&h, &eve, &format!("/files/{id}/diff?from=1&to=2"), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
