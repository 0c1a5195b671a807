//! The trash over HTTP, on SQLite and on PostgreSQL: a delete hides a file or a whole folder
//! from every route (metadata, download, HEAD, Range, versions, links, listings, uploads into
//! it); the owner lists, restores (to the old place or the root, renaming on a clash), purges
//! and empties it; the sweeper purges after `files.trash_keep_days` on the server's clock;
//! nobody else sees or touches the owner's trash.

use std::time::Duration;

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

#[macro_use]
mod common;
use common::router::{Backend, Harness, Reply, harness};

on_both_databases!(
    a_trashed_file_is_gone_from_every_route,
    restore_puts_it_back_and_renames_on_a_clash,
    a_folder_goes_to_the_trash_with_its_subtree,
    restore_falls_back_to_the_root,
    purge_and_empty_delete_for_good,
    the_sweeper_purges_after_the_keep_period,
    only_the_owner_restores_or_purges,
    shares_of_trashed_items_leave_the_shared_listing,
);

async fn get(h: &Harness, token: &str, uri: &str) -> Reply {
    h.call(Method::GET, uri, Some(token), None).await
}

async fn id_of(r: Reply) -> String {
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn folder(h: &Harness, token: &str, name: &str, parent: Option<&str>) -> String {
    let mut body = json!({ "name": name });
    if let Some(p) = parent {
        body["parent_id"] = json!(p);
    }
    id_of(
        h.call(Method::POST, "/folders", Some(token), Some(body))
            .await,
    )
    .await
}

async fn upload_into(h: &Harness, token: &str, folder: &str, name: &str, bytes: &[u8]) -> Reply {
    let req = Request::post(format!("/files?name={name}&folder_id={folder}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(bytes.to_vec()))
        .unwrap();
    h.send(req).await
}

async fn delete(h: &Harness, token: &str, uri: &str) -> StatusCode {
    h.call(Method::DELETE, uri, Some(token), None).await.status
}

/// How many audit records have actions starting with `prefix` (after relaying the outbox).
async fn audited(h: &Harness, prefix: &str) -> usize {
    h.app.relay.clone().unwrap().run_once().await.unwrap();
    h.app
        .audit
        .query(&strongroom_audit::AuditQuery::new().action_prefix(prefix))
        .await
        .unwrap()
        .records
        .len()
}

async fn trash(h: &Harness, token: &str) -> Vec<Value> {
    let r = get(h, token, "/trash").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body.as_array().unwrap().clone()
}

async fn a_trashed_file_is_gone_from_every_route(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (t, _) = h.user("ann@example.com").await;
    let id = id_of(h.upload(&t, "notes.txt", b"hello trash").await).await;
    let link = h
        .call(
            Method::POST,
            &format!("/files/{id}/links"),
            Some(&t),
            Some(json!({})),
        )
        .await
        .body;
    let token = link["token"].as_str().unwrap().to_owned();
    assert_eq!(
        delete(&h, &t, &format!("/files/{id}")).await,
        StatusCode::NO_CONTENT
    );

    for uri in [
        format!("/files/{id}"),
        format!("/files/{id}/content"),
        format!("/files/{id}/versions"),
        format!("/files/{id}/versions/1/content"),
        format!("/files/{id}/links"),
        format!("/files/{id}/grants"),
    ] {
        assert_eq!(
            get(&h, &t, &uri).await.status,
            StatusCode::NOT_FOUND,
            "GET {uri}"
        );
    }
    let ranged = Request::get(format!("/files/{id}/content"))
        .header(header::AUTHORIZATION, format!("Bearer {t}"))
        .header(header::RANGE, "bytes=0-3")
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(ranged).await.status, StatusCode::NOT_FOUND, "Range");
    let head = Request::head(format!("/files/{id}/content"))
        .header(header::AUTHORIZATION, format!("Bearer {t}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(head).await.status, StatusCode::NOT_FOUND, "HEAD");
    // The share link stops working; renaming or deleting again finds nothing.
    let visit = h
        .call(Method::GET, &format!("/s/{token}/content"), None, None)
        .await;
    assert_eq!(visit.status, StatusCode::NOT_FOUND, "{}", visit.body);
    let rename = h
        .call(
            Method::PATCH,
            &format!("/files/{id}"),
            Some(&t),
            Some(json!({ "name": "x.txt" })),
        )
        .await;
    assert_eq!(rename.status, StatusCode::NOT_FOUND);
    assert_eq!(
        delete(&h, &t, &format!("/files/{id}")).await,
        StatusCode::NOT_FOUND
    );
    // Not in the listing; the name is free at once (a new file, not a version of the old one).
    let listing = get(&h, &t, "/files").await;
    assert_eq!(listing.body["files"], json!([]), "{}", listing.body);
    let again = h.upload(&t, "notes.txt", b"a new file").await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_ne!(again.body["id"], json!(id));

    let items = trash(&h, &t).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["id"], json!(id));
    assert_eq!(items[0]["kind"], json!("file"));
    assert_eq!(items[0]["name"], json!("notes.txt"));
    assert_eq!(items[0]["size"], json!(11));
    let trashed_at: jiff::Timestamp = items[0]["trashed_at"].as_str().unwrap().parse().unwrap();
    let purge_at: jiff::Timestamp = items[0]["purge_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(purge_at.as_second() - trashed_at.as_second(), 30 * 86_400);
    // The move is audited.
    assert_eq!(audited(&h, "file.trashed").await, 1);
    // Restored (beside the new file of the same name), its share link works again.
    let back = h
        .call(
            Method::POST,
            &format!("/trash/files/{id}/restore"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(back.body["name"], json!("notes (2).txt"));
    let visit = h
        .call(Method::GET, &format!("/s/{token}/content"), None, None)
        .await;
    assert_eq!(visit.status, StatusCode::OK, "{}", visit.body);
    assert_eq!(visit.raw, b"hello trash");
}

async fn restore_puts_it_back_and_renames_on_a_clash(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (t, _) = h.user("ann@example.com").await;
    let d = folder(&h, &t, "docs", None).await;
    let id = id_of(upload_into(&h, &t, &d, "report.txt", b"first report").await).await;
    assert_eq!(
        delete(&h, &t, &format!("/files/{id}")).await,
        StatusCode::NO_CONTENT
    );
    // Meanwhile two other files take the name and its first variant.
    id_of(upload_into(&h, &t, &d, "report.txt", b"second").await).await;
    id_of(upload_into(&h, &t, &d, "report%20(2).txt", b"third").await).await;

    let r = h
        .call(
            Method::POST,
            &format!("/trash/files/{id}/restore"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["name"], json!("report (3).txt"));
    assert_eq!(r.body["folder_id"], json!(d));
    let content = get(&h, &t, &format!("/files/{id}/content")).await;
    assert_eq!(content.status, StatusCode::OK);
    assert_eq!(content.raw, b"first report");
    assert!(trash(&h, &t).await.is_empty());
    // Restoring something not in the trash, or of an unknown kind, is a clear 404.
    let twice = h
        .call(
            Method::POST,
            &format!("/trash/files/{id}/restore"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
    assert!(
        twice.body["detail"]
            .as_str()
            .unwrap()
            .contains("in the trash")
    );
    let bad = h
        .call(
            Method::POST,
            &format!("/trash/links/{id}/restore"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND, "{}", bad.body);
    assert_eq!(bad.content_type, "application/problem+json");
}

async fn a_folder_goes_to_the_trash_with_its_subtree(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (t, _) = h.user("ann@example.com").await;
    let top = folder(&h, &t, "projects", None).await;
    let sub = folder(&h, &t, "2026", Some(&top)).await;
    let deep = id_of(upload_into(&h, &t, &sub, "plan.md", b"# plan").await).await;
    assert_eq!(
        delete(&h, &t, &format!("/folders/{top}")).await,
        StatusCode::NO_CONTENT
    );

    // Everything below is hidden, and nothing new lands there.
    for uri in [
        format!("/folders/{top}"),
        format!("/folders/{sub}"),
        format!("/files?folder_id={sub}"),
        format!("/files/{deep}"),
        format!("/files/{deep}/content"),
    ] {
        assert_eq!(
            get(&h, &t, &uri).await.status,
            StatusCode::NOT_FOUND,
            "GET {uri}"
        );
    }
    let into = upload_into(&h, &t, &sub, "late.txt", b"x").await;
    assert_eq!(into.status, StatusCode::NOT_FOUND, "{}", into.body);
    let mkdir = h
        .call(
            Method::POST,
            "/folders",
            Some(&t),
            Some(json!({ "name": "late", "parent_id": sub })),
        )
        .await;
    assert_eq!(mkdir.status, StatusCode::NOT_FOUND, "{}", mkdir.body);
    let other = id_of(h.upload(&t, "loose.txt", b"y").await).await;
    let moved = h
        .call(
            Method::PATCH,
            &format!("/files/{other}"),
            Some(&t),
            Some(json!({ "folder_id": sub })),
        )
        .await;
    assert_eq!(moved.status, StatusCode::NOT_FOUND, "{}", moved.body);
    // Only the top is listed; a folder of the same name can be made at once.
    let items = trash(&h, &t).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["kind"], json!("folder"));
    assert_eq!(items[0]["id"], json!(top));
    let same = h
        .call(
            Method::POST,
            "/folders",
            Some(&t),
            Some(json!({ "name": "projects" })),
        )
        .await;
    assert_eq!(same.status, StatusCode::CREATED, "{}", same.body);

    let r = h
        .call(
            Method::POST,
            &format!("/trash/folders/{top}/restore"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["name"], json!("projects (2)"));
    let back = get(&h, &t, &format!("/files/{deep}/content")).await;
    assert_eq!(back.status, StatusCode::OK);
    assert_eq!(back.raw, b"# plan");
    assert_eq!(
        get(&h, &t, &format!("/folders/{sub}")).await.status,
        StatusCode::OK
    );
}

async fn restore_falls_back_to_the_root(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (t, _) = h.user("ann@example.com").await;
    let parent = folder(&h, &t, "old", None).await;
    let child = folder(&h, &t, "keep", Some(&parent)).await;
    let file = id_of(upload_into(&h, &t, &parent, "a.txt", b"a").await).await;
    assert_eq!(
        delete(&h, &t, &format!("/folders/{child}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(&h, &t, &format!("/files/{file}")).await,
        StatusCode::NO_CONTENT
    );
    // The parent itself goes to the trash: the others come back to the root.
    assert_eq!(
        delete(&h, &t, &format!("/folders/{parent}")).await,
        StatusCode::NO_CONTENT
    );
    let r = h
        .call(
            Method::POST,
            &format!("/trash/folders/{child}/restore"),
            Some(&t),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["folder_id"], json!(null));
    // And when the parent is purged for good, likewise.
    assert_eq!(
        delete(&h, &t, &format!("/trash/folders/{parent}")).await,
        StatusCode::NO_CONTENT
    );
    let r = h
        .call(
            Method::POST,
            &format!("/trash/files/{file}/restore"),
            Some(&t),
            None,
        )
        .await;
    // Purging the parent purged the file inside it too.
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let listed = get(&h, &t, &format!("/folders/{child}")).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["parent_id"], json!(null), "{}", listed.body);
}

async fn purge_and_empty_delete_for_good(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (t, _) = h.user("ann@example.com").await;
    let before = h.app.blobs.older_than(Duration::ZERO).await.unwrap().len();
    let top = folder(&h, &t, "big", None).await;
    let sub = folder(&h, &t, "inner", Some(&top)).await;
    let f1 = id_of(upload_into(&h, &t, &sub, "one.bin", b"1111").await).await;
    let f2 = id_of(h.upload(&t, "two.bin", b"2222").await).await;
    // A second version: purging removes every version's blob.
    let v2 = Request::put(format!("/files/{f2}/content"))
        .header(header::AUTHORIZATION, format!("Bearer {t}"))
        .body(Body::from("22222"))
        .unwrap();
    assert_eq!(h.send(v2).await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let stored = || async { h.app.blobs.older_than(Duration::ZERO).await.unwrap().len() };
    assert_eq!(stored().await, before + 3);

    assert_eq!(
        delete(&h, &t, &format!("/folders/{top}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(&h, &t, &format!("/files/{f2}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(stored().await, before + 3, "the trash keeps content");
    assert_eq!(
        delete(&h, &t, &format!("/trash/folders/{top}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(stored().await, before + 2);
    assert_eq!(
        h.app.files.load(&f1).await.unwrap_err().to_string(),
        "no such file"
    );
    let items = trash(&h, &t).await;
    assert_eq!(items.len(), 1);
    // Purging what is not in the trash is a 404, and so is a live item.
    assert_eq!(
        delete(&h, &t, &format!("/trash/folders/{top}")).await,
        StatusCode::NOT_FOUND
    );
    let live = id_of(h.upload(&t, "live.txt", b"live").await).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        delete(&h, &t, &format!("/trash/files/{live}")).await,
        StatusCode::NOT_FOUND
    );

    let emptied = h.call(Method::DELETE, "/trash", Some(&t), None).await;
    assert_eq!(emptied.status, StatusCode::OK, "{}", emptied.body);
    assert_eq!(emptied.body["purged"], json!(1));
    assert!(trash(&h, &t).await.is_empty());
    assert_eq!(
        stored().await,
        before + 1,
        "only the live file's blob is left"
    );
    assert_eq!(audited(&h, "file.purged").await, 2);
    assert_eq!(audited(&h, "folder.purged").await, 2);
}

async fn the_sweeper_purges_after_the_keep_period(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (t, _) = h.user("ann@example.com").await;
    let old = id_of(h.upload(&t, "old.txt", b"old").await).await;
    let d = folder(&h, &t, "old-folder", None).await;
    let inside = id_of(upload_into(&h, &t, &d, "in.txt", b"in").await).await;
    assert_eq!(
        delete(&h, &t, &format!("/files/{old}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(&h, &t, &format!("/folders/{d}")).await,
        StatusCode::NO_CONTENT
    );
    h.clock.advance_secs(20 * 86_400);
    let (t, _) = h.login("ann@example.com").await;
    let young = id_of(h.upload(&t, "young.txt", b"young").await).await;
    assert_eq!(
        delete(&h, &t, &format!("/files/{young}")).await,
        StatusCode::NO_CONTENT
    );

    h.clock.advance_secs(10 * 86_400 - 60);
    assert_eq!(
        h.app.files.purge_expired_trash().await.unwrap(),
        0,
        "not yet"
    );
    h.clock.advance_secs(120);
    assert_eq!(h.app.files.purge_expired_trash().await.unwrap(), 2);
    let (t, _) = h.login("ann@example.com").await;
    let items = trash(&h, &t).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], json!(young));
    for id in [&old, &inside] {
        assert!(h.app.files.load(id).await.is_err(), "{id} purged");
    }
}

async fn only_the_owner_restores_or_purges(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = h.user("ann@example.com").await;
    let (bob, _) = h.user("bob@example.com").await;
    let (eve, _) = h.user("eve@example.com").await;
    let shared = folder(&h, &ann, "shared", None).await;
    let grant = h
        .call(
            Method::POST,
            &format!("/folders/{shared}/grants"),
            Some(&ann),
            Some(json!({ "email": "bob@example.com", "role": "editor" })),
        )
        .await;
    assert!(grant.status.is_success(), "{}", grant.body);
    let id = id_of(upload_into(&h, &ann, &shared, "doc.txt", b"doc").await).await;
    // An editor may delete: it goes to the owner's trash, not the editor's.
    assert_eq!(
        delete(&h, &bob, &format!("/files/{id}")).await,
        StatusCode::NO_CONTENT
    );
    assert!(trash(&h, &bob).await.is_empty());
    assert_eq!(trash(&h, &ann).await.len(), 1);
    // Neither the editor nor a stranger can restore or purge it; nothing changes.
    for who in [&bob, &eve] {
        let r = h
            .call(
                Method::POST,
                &format!("/trash/files/{id}/restore"),
                Some(who),
                None,
            )
            .await;
        assert!(
            matches!(r.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
            "{} {}",
            r.status,
            r.body
        );
        let p = delete(&h, who, &format!("/trash/files/{id}")).await;
        assert!(
            matches!(p, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
            "{p}"
        );
        let emptied = h.call(Method::DELETE, "/trash", Some(who), None).await;
        assert_eq!(emptied.body["purged"], json!(0));
    }
    assert_eq!(trash(&h, &ann).await.len(), 1);
    // Signed out: 401.
    assert_eq!(
        h.call(Method::GET, "/trash", None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = h
        .call(
            Method::POST,
            &format!("/trash/files/{id}/restore"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn shares_of_trashed_items_leave_the_shared_listing(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = h.user("ann@example.com").await;
    let (bob, _) = h.user("bob@example.com").await;
    let top = folder(&h, &ann, "top", None).await;
    let inner = folder(&h, &ann, "inner", Some(&top)).await;
    let file = id_of(h.upload(&ann, "loose.txt", b"loose").await).await;
    for uri in [
        format!("/folders/{inner}/grants"),
        format!("/files/{file}/grants"),
    ] {
        let r = h
            .call(
                Method::POST,
                &uri,
                Some(&ann),
                Some(json!({ "email": "bob@example.com", "role": "viewer" })),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.body);
    }
    let listed = |r: Reply| -> Vec<String> {
        let mut ids: Vec<String> = r
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["resource_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let mut both = vec![inner.clone(), file.clone()];
    both.sort();
    assert_eq!(listed(get(&h, &bob, "/shared").await), both);

    // The file trashed, and the folder above the shared one: neither is listed.
    assert_eq!(
        delete(&h, &ann, &format!("/files/{file}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(&h, &ann, &format!("/folders/{top}")).await,
        StatusCode::NO_CONTENT
    );
    assert!(listed(get(&h, &bob, "/shared").await).is_empty());

    // Restored, both are back.
    for uri in [
        format!("/trash/files/{file}/restore"),
        format!("/trash/folders/{top}/restore"),
    ] {
        let r = h.call(Method::POST, &uri, Some(&ann), None).await;
        assert!(r.status.is_success(), "{uri}: {}", r.body);
    }
    assert_eq!(listed(get(&h, &bob, "/shared").await), both);
}
