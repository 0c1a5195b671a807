//! Knowing what you have and what happened, over HTTP on SQLite and PostgreSQL: statistics of
//! a person, a team and the platform (by type and extension, versions and trash, uploads and
//! downloads per day, bad periods refused); activity histories of a file and of a folder
//! subtree (filters, cursors, only for readers, no request origins shown); reads of metadata
//! and listings recorded, and not when the operator turns read events off.

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

#[macro_use]
mod common;
use common::router::{Backend, Harness, harness, harness_with};

on_both_databases!(
    statistics_of_a_person_a_team_and_the_platform,
    histories_of_a_file_and_a_folder,
    read_events_follow_the_switch,
);

async fn new_version(h: &Harness, token: &str, id: &str, body: &str) {
    let r = h
        .send(
            Request::put(format!("/files/{id}/content"))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from(body.to_owned()))
                .unwrap(),
        )
        .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
}

async fn download(h: &Harness, token: &str, id: &str, range: Option<&str>) -> StatusCode {
    let mut req = Request::get(format!("/files/{id}/content"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(r) = range {
        req = req.header(header::RANGE, r);
    }
    h.send(req.body(Body::empty()).unwrap()).await.status
}

async fn get(h: &Harness, token: &str, uri: &str) -> (StatusCode, Value) {
    let r = h.call(Method::GET, uri, Some(token), None).await;
    (r.status, r.body)
}

async fn my_id(h: &Harness, token: &str) -> String {
    get(h, token, "/me").await.1["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Publishes what waits in the outbox to the audit log.
async fn relay(h: &Harness) {
    let relay = h.app.relay.as_ref().expect("a relay");
    while relay.run_once().await.unwrap().published > 0 {}
}

fn bucket<'a>(report: &'a Value, breakdown: &str, key: &str) -> &'a Value {
    report[breakdown]["top"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["key"] == key)
        .unwrap_or_else(|| panic!("no {key:?} in {breakdown}: {report}"))
}

async fn statistics_of_a_person_a_team_and_the_platform(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let admin = h.admin_token().await;
    let (ann, _) = h.user("ann@example.com").await;
    let (bob, _) = h.user("bob@example.com").await;
    let ann_id = my_id(&h, &ann).await;

    let a = h.put_text(&ann, None, "a.txt", "0123456789").await;
    let b = h.put_text(&ann, None, "B.MD", "hello").await;
    new_version(&h, &ann, &b, "hello v2").await;
    let c = h.put_text(&ann, None, "c.txt", "gone").await;
    let r = h
        .call(Method::DELETE, &format!("/files/{c}"), Some(&ann), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(download(&h, &ann, &a, None).await, StatusCode::OK);
    assert_eq!(
        download(&h, &ann, &a, Some("bytes=0-2")).await,
        StatusCode::PARTIAL_CONTENT
    );

    let (st, mine) = get(&h, &ann, "/stats").await;
    assert_eq!(st, StatusCode::OK, "{mine}");
    assert_eq!(
        (mine["scope"].as_str(), mine["id"].as_str()),
        (Some("user"), Some(ann_id.as_str()))
    );
    assert_eq!(mine["current"], json!({ "files": 2, "bytes": 18 }));
    assert_eq!(mine["versions"], json!({ "files": 1, "bytes": 5 }));
    assert_eq!(mine["trash"], json!({ "files": 1, "bytes": 4 }));
    let split = mine["split"]["current"].as_f64().unwrap();
    assert!((split - 18.0 / 27.0).abs() < 1e-9, "{mine}");
    assert_eq!(bucket(&mine, "by_extension", "txt")["bytes"], 10);
    assert_eq!(bucket(&mine, "by_extension", "md")["bytes"], 8);
    assert_eq!(bucket(&mine, "by_type", "text/plain")["files"], 2);
    let days = mine["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    let today = days.last().unwrap();
    assert_eq!(
        (
            &today["uploads"],
            &today["upload_bytes"],
            &today["downloads"],
            &today["download_bytes"]
        ),
        (&json!(4), &json!(27), &json!(2), &json!(13)),
        "{today}"
    );

    // Bob stores nothing and sees none of it; the platform's figures are for administrators.
    let (_, his) = get(&h, &bob, "/stats?days=7").await;
    assert_eq!(his["current"], json!({ "files": 0, "bytes": 0 }));
    assert_eq!(his["days"].as_array().unwrap().len(), 7);
    assert!(
        his["days"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["uploads"] == 0)
    );
    assert_eq!(get(&h, &bob, "/admin/stats").await.0, StatusCode::FORBIDDEN);
    let (st, all) = get(&h, &admin, "/admin/stats?days=1").await;
    assert_eq!(st, StatusCode::OK, "{all}");
    assert_eq!(all["scope"], "platform");
    let owners = all["by_owner"].as_array().unwrap();
    let row = owners.iter().find(|o| o["id"] == ann_id.as_str()).unwrap();
    assert_eq!(
        (
            row["kind"].as_str(),
            row["email"].as_str(),
            &row["current"]["bytes"]
        ),
        (Some("user"), Some("ann@example.com"), &json!(18))
    );
    assert_eq!(all["days"][0]["downloads"], 2);

    // A team's figures, for its members only.
    let (team, space) = h.team(&ann, "Atlas").await;
    h.put_text(&ann, Some(&space), "plan.pdf", "%PDF-ish").await;
    let (st, theirs) = get(&h, &ann, &format!("/stats?team={team}")).await;
    assert_eq!(st, StatusCode::OK, "{theirs}");
    assert_eq!(
        (theirs["scope"].as_str(), &theirs["current"]["files"]),
        (Some("team"), &json!(1))
    );
    assert_eq!(bucket(&theirs, "by_extension", "pdf")["files"], 1);
    assert_eq!(
        get(&h, &bob, &format!("/stats?team={team}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, mine_again) = get(&h, &ann, "/stats").await;
    assert_eq!(
        mine_again["current"]["files"], 2,
        "the team's file is not ann's"
    );

    // Bad periods are problem documents.
    for bad in [
        "/stats?days=0",
        "/stats?days=367",
        "/stats?from=yesterday",
        "/stats?from=2026-02-01&to=2026-01-01",
        "/stats?from=2020-01-01&to=2021-06-01",
        "/stats?from=2026-01-01&days=3",
        "/stats?colour=red",
    ] {
        let r = h.call(Method::GET, bad, Some(&ann), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        assert_eq!(r.content_type, "application/problem+json", "{bad}");
    }
    let (st, ranged) = get(&h, &ann, "/stats?from=2026-01-30&to=2026-02-02").await;
    assert_eq!(st, StatusCode::OK);
    let listed: Vec<&str> = ranged["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["day"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        ["2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02"]
    );
}

fn actions(history: &Value) -> Vec<String> {
    history["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("{history}"))
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn histories_of_a_file_and_a_folder(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = h.user("ann@example.com").await;
    let (bob, _) = h.user("bob@example.com").await;
    let (eve, _) = h.user("eve@example.com").await;
    let ann_id = my_id(&h, &ann).await;
    let bob_id = my_id(&h, &bob).await;
    let r = h
        .call(
            Method::POST,
            "/folders",
            Some(&ann),
            Some(json!({ "name": "projects" })),
        )
        .await;
    let projects = r.body["id"].as_str().unwrap().to_owned();
    let r = h
        .call(
            Method::POST,
            "/folders",
            Some(&ann),
            Some(json!({ "name": "deep", "parent_id": projects })),
        )
        .await;
    let deep = r.body["id"].as_str().unwrap().to_owned();
    let plan = h.put_text(&ann, Some(&deep), "plan.txt", "v1").await;
    let elsewhere = h.put_text(&ann, None, "elsewhere.txt", "x").await;
    new_version(&h, &ann, &plan, "v2").await;
    // Bob may read the plan through a share of the projects folder, and downloads it.
    let r = h
        .call(
            Method::POST,
            &format!("/folders/{projects}/grants"),
            Some(&ann),
            Some(json!({ "email": "bob@example.com", "role": "viewer" })),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(download(&h, &bob, &plan, None).await, StatusCode::OK);
    relay(&h).await;

    let (st, file) = get(&h, &ann, &format!("/files/{plan}/activity")).await;
    assert_eq!(st, StatusCode::OK, "{file}");
    assert_eq!(
        actions(&file),
        ["file.downloaded", "file.versioned", "file.uploaded"]
    );
    let newest = &file["entries"][0];
    assert_eq!(
        (
            &newest["actor"]["kind"],
            &newest["actor"]["id"],
            &newest["resource"]["id"]
        ),
        (&json!("user"), &json!(bob_id), &json!(plan))
    );
    assert_eq!(newest["actor"]["name"], "U");
    assert!(newest.get("ip").is_none() && newest["details"].get("ip").is_none());
    assert!(file.get("next").is_none());

    // Bob reads it too (he may read the file); Eve may not even learn it exists.
    let (st, his) = get(
        &h,
        &bob,
        &format!("/files/{plan}/activity?action=file.downloaded"),
    )
    .await;
    assert_eq!((st, actions(&his).len()), (StatusCode::OK, 1), "{his}");
    let r = h
        .call(
            Method::GET,
            &format!("/files/{plan}/activity"),
            Some(&eve),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(r.content_type, "application/problem+json");
    let r = h
        .call(
            Method::GET,
            &format!("/folders/{projects}/activity"),
            Some(&eve),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // The folder's history: the folders, the file below, the share; not the file elsewhere.
    let (st, folder) = get(&h, &ann, &format!("/folders/{projects}/activity")).await;
    assert_eq!(st, StatusCode::OK, "{folder}");
    let seen = actions(&folder);
    for want in [
        "folder.created",
        "file.uploaded",
        "file.versioned",
        "file.downloaded",
        "share.granted",
    ] {
        assert!(
            seen.iter().any(|a| a == want),
            "{want} missing from {seen:?}"
        );
    }
    assert!(
        folder["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["resource"]["id"] != elsewhere.as_str()),
        "{folder}"
    );
    let deep_only = actions(&get(&h, &ann, &format!("/folders/{deep}/activity")).await.1);
    assert_eq!(
        deep_only,
        [
            "file.downloaded",
            "file.versioned",
            "file.uploaded",
            "folder.created"
        ]
    );

    // Filters and cursors: pages of one walk the whole history once, newest first.
    let mut walked = Vec::new();
    let mut uri = format!("/folders/{projects}/activity?limit=1");
    loop {
        let (st, page) = get(&h, &ann, &uri).await;
        assert_eq!(st, StatusCode::OK, "{page}");
        walked.extend(actions(&page));
        match page["next"].as_str() {
            Some(next) => uri = format!("/folders/{projects}/activity?limit=1&after={next}"),
            None => break,
        }
    }
    assert_eq!(walked, seen);
    let (_, by_bob) = get(
        &h,
        &ann,
        &format!("/folders/{projects}/activity?actor={bob_id}"),
    )
    .await;
    assert_eq!(actions(&by_bob), ["file.downloaded"]);
    let (_, by_ann) = get(
        &h,
        &ann,
        &format!("/files/{plan}/activity?actor={ann_id}&action=file"),
    )
    .await;
    assert_eq!(actions(&by_ann), ["file.versioned", "file.uploaded"]);
    let (_, future) = get(
        &h,
        &ann,
        &format!("/files/{plan}/activity?since=2999-01-01T00:00:00Z"),
    )
    .await;
    assert_eq!(actions(&future).len(), 0);
    for bad in [
        format!("/files/{plan}/activity?limit=0"),
        format!("/files/{plan}/activity?limit=201"),
        format!("/files/{plan}/activity?after=nope"),
        format!("/files/{plan}/activity?since=yesterday"),
        format!("/files/{plan}/activity?action=File!"),
        format!("/files/{plan}/activity?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z"),
        format!("/folders/{projects}/activity?extra=1"),
    ] {
        let r = h.call(Method::GET, &bad, Some(&ann), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        assert_eq!(r.content_type, "application/problem+json", "{bad}");
    }
}

/// The actions recorded for `resource` so far.
async fn recorded(h: &Harness, token: &str, uri: &str) -> Vec<String> {
    relay(h).await;
    let (st, page) = get(h, token, uri).await;
    assert_eq!(st, StatusCode::OK, "{page}");
    actions(&page)
}

async fn read_events_follow_the_switch(backend: Backend) {
    for reads in [true, false] {
        let Some(h) = harness_with(backend, 1 << 20, |c| c.events.read_events = reads).await else {
            return;
        };
        let (ann, _) = h.user("ann@example.com").await;
        let r = h
            .call(
                Method::POST,
                "/folders",
                Some(&ann),
                Some(json!({ "name": "box" })),
            )
            .await;
        let dir = r.body["id"].as_str().unwrap().to_owned();
        let f = h.put_text(&ann, Some(&dir), "note.txt", "hi").await;
        assert_eq!(
            get(&h, &ann, &format!("/files/{f}")).await.0,
            StatusCode::OK
        );
        assert_eq!(
            get(&h, &ann, &format!("/folders/{dir}")).await.0,
            StatusCode::OK
        );
        assert_eq!(
            get(&h, &ann, &format!("/files?folder_id={dir}")).await.0,
            StatusCode::OK
        );
        assert_eq!(get(&h, &ann, "/search?q=note").await.0, StatusCode::OK);
        assert_eq!(get(&h, &ann, "/stats").await.0, StatusCode::OK);
        let seen = recorded(&h, &ann, &format!("/folders/{dir}/activity")).await;
        let expected: &[&str] = if reads {
            &[
                "folder.listed",
                "folder.viewed",
                "file.viewed",
                "file.uploaded",
                "folder.created",
            ]
        } else {
            &["file.uploaded", "folder.created"]
        };
        assert_eq!(seen, expected, "read_events = {reads}");
        let (_, mine) = get(&h, &ann, "/me/activity?action=search").await;
        assert_eq!(
            mine["records"].as_array().unwrap().len(),
            usize::from(reads),
            "{mine}"
        );
        let (_, mine) = get(&h, &ann, "/me/activity?action=stats").await;
        assert_eq!(
            mine["records"].as_array().unwrap().len(),
            usize::from(reads),
            "{mine}"
        );
        // Reading the history was recorded, on a resource of its own.
        relay(&h).await;
        let (_, mine) = get(&h, &ann, "/me/activity?action=activity.viewed").await;
        let viewed = mine["records"].as_array().unwrap();
        assert_eq!(viewed.len(), usize::from(reads), "{mine}");
        if reads {
            assert_eq!(
                viewed[0]["event"]["resource"],
                json!({ "type": "folder_activity", "id": dir })
            );
        }
    }
}
