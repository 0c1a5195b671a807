//! Organize and find over HTTP, on SQLite and on PostgreSQL: search returns only what the
//! caller may read (three users, a share, a team, an expired share, a revoked one); bad queries
//! are 400 problem documents; names and content in any script are found; content follows new
//! versions and restores; tags and fields are set in bulk, shown with metadata, filtered on,
//! and checked against a team's schema; pages follow their cursor.

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

#[macro_use]
mod common;
use common::router::{Backend, Harness, Reply, harness};

on_both_databases!(
    search_finds_only_what_the_caller_may_read,
    bad_queries_are_problem_documents,
    names_and_content_in_any_script_are_found,
    content_follows_versions_and_restores,
    tags_and_fields_organize_and_filter,
);

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn search(h: &Harness, token: &str, query: &str) -> Reply {
    h.call(Method::GET, &format!("/search?{query}"), Some(token), None)
        .await
}

/// The names found by `query`, in order.
async fn names(h: &Harness, token: &str, query: &str) -> Vec<String> {
    let r = search(h, token, query).await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
    r.body["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect()
}

fn q(text: &str) -> String {
    format!("q={}&sort=name", urlencode(text))
}

async fn folder(h: &Harness, token: &str, parent: Option<&str>, name: &str) -> String {
    let mut body = json!({ "name": name });
    if let Some(p) = parent {
        body["parent_id"] = json!(p);
    }
    let r = h
        .call(Method::POST, "/folders", Some(token), Some(body))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn search_finds_only_what_the_caller_may_read(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = h.user("ann@example.com").await;
    let (bob, _) = h.user("bob@example.com").await;
    let (carl, _) = h.user("carl@example.com").await;
    h.put_text(&ann, None, "budget 2026.txt", "the quarterly forecast")
        .await;
    h.put_text(&ann, None, "private.txt", "a secret forecast")
        .await;
    let shared = folder(&h, &ann, None, "shared").await;
    let deep = folder(&h, &ann, Some(&shared), "deep").await;
    h.put_text(&ann, Some(&deep), "plan.txt", "the forecast plan")
        .await;
    let expiring = h
        .put_text(&ann, None, "soon gone.txt", "forecast until tomorrow")
        .await;
    let (team, space) = h.team(&ann, "Atlas").await;
    let r = h
        .call(
            Method::PUT,
            &format!("/teams/{team}/members"),
            Some(&ann),
            Some(json!({ "email": "carl@example.com", "role": "guest" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    h.put_text(
        &ann,
        Some(&space),
        "team forecast.txt",
        "forecast for the team",
    )
    .await;
    h.put_text(&bob, None, "bob's forecast.txt", "bob forecasts too")
        .await;
    for (on, body) in [
        (
            format!("/folders/{shared}/grants"),
            json!({ "email": "bob@example.com", "role": "viewer" }),
        ),
        (
            format!("/files/{expiring}/grants"),
            json!({ "email": "bob@example.com", "role": "viewer",
                "expires_at": jiff::Timestamp::from_microsecond(now(&h) + 60_000_000).unwrap().to_string() }),
        ),
    ] {
        let r = h.call(Method::POST, &on, Some(&ann), Some(body)).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    }

    assert_eq!(
        names(&h, &ann, &q("forecast")).await,
        [
            "budget 2026.txt",
            "plan.txt",
            "private.txt",
            "soon gone.txt",
            "team forecast.txt"
        ]
    );
    assert_eq!(
        names(&h, &bob, &q("forecast")).await,
        ["bob's forecast.txt", "plan.txt", "soon gone.txt"]
    );
    assert_eq!(
        names(&h, &carl, &q("forecast")).await,
        ["team forecast.txt"]
    );
    // Every file in reach, no query.
    assert_eq!(names(&h, &carl, "sort=name").await, ["team forecast.txt"]);
    // An expired share finds nothing more, at once.
    h.clock.advance_secs(61);
    assert_eq!(
        names(&h, &bob, &q("forecast")).await,
        ["bob's forecast.txt", "plan.txt"]
    );
    // Within a folder bob may list; one he may not is "not found".
    assert_eq!(
        names(&h, &bob, &format!("{}&folder={shared}", q("plan"))).await,
        ["plan.txt"]
    );
    let r = search(&h, &carl, &format!("folder={shared}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    // Revoked: gone from bob's results.
    let bob_id = h.login("bob@example.com").await.1["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = h
        .call(
            Method::DELETE,
            &format!("/folders/{shared}/grants/{bob_id}"),
            Some(&ann),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(
        names(&h, &bob, &q("forecast")).await,
        ["bob's forecast.txt"]
    );
    // The trash hides a whole folder's files.
    let r = h
        .call(
            Method::DELETE,
            &format!("/folders/{deep}"),
            Some(&ann),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert!(
        !names(&h, &ann, &q("plan"))
            .await
            .contains(&"plan.txt".to_owned())
    );
    // Signed out: sign in first.
    let r = h.call(Method::GET, "/search?q=forecast", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

fn now(h: &Harness) -> i64 {
    use strongroom::clock::Clock;
    h.clock.now_micros()
}

async fn bad_queries_are_problem_documents(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = h.user("ann@example.com").await;
    h.put_text(&ann, None, "a.txt", "words").await;
    let long = format!("q={}", "x".repeat(501));
    for query in [
        "q=%22unbalanced",
        "q=a%20OR",
        "q=OR%20a",
        "q=(a",
        "q=a)",
        "q=()",
        "q=-",
        "q=%22%22",
        long.as_str(),
        "q=a&q=b",
        "nonsense=1",
        "limit=0",
        "limit=201",
        "sort=colour",
        "cursor=not-a-cursor",
        "field=pages",
        "field=bad%20key%3D1",
        "type=a%20b",
        "ext=p%25",
        "min_size=-1",
        "min_size=10&max_size=1",
        "modified_after=yesterday",
        "tag=not-an-id",
        "owner=x&team=y",
    ] {
        let r = search(&h, &ann, query).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.body);
        assert_eq!(r.body["status"], 400, "{query}: {}", r.body);
        assert!(
            r.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{query}"
        );
    }
    // FTS operators in a query are plain text, not syntax.
    for text in [
        "NEAR(a b)",
        "a AND b",
        "col:x",
        "x*",
        "^x",
        "a & b | !c",
        "'quoted'",
    ] {
        let r = search(&h, &ann, &q(text)).await;
        assert_eq!(r.status, StatusCode::OK, "{text}: {}", r.body);
    }
}

async fn names_and_content_in_any_script_are_found(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = h.user("ann@example.com").await;
    h.put_text(&ann, None, "Café crème.txt", "un menu pour l'été")
        .await;
    h.put_text(&ann, None, "東京レポート.md", "東京 の 報告書")
        .await;
    h.put_text(&ann, None, "تقرير سنوي.txt", "مرحبا بالعالم")
        .await;
    h.put_text(&ann, None, "ÜBER.txt", "Straße").await;
    assert_eq!(names(&h, &ann, &q("café")).await, ["Café crème.txt"]);
    assert_eq!(names(&h, &ann, &q("CRÈME")).await, ["Café crème.txt"]);
    assert_eq!(names(&h, &ann, &q("été")).await, ["Café crème.txt"]);
    assert_eq!(names(&h, &ann, &q("レポ")).await, ["東京レポート.md"]);
    assert_eq!(names(&h, &ann, &q("報告書")).await, ["東京レポート.md"]);
    assert_eq!(names(&h, &ann, &q("سنوي")).await, ["تقرير سنوي.txt"]);
    assert_eq!(names(&h, &ann, &q("بالعالم")).await, ["تقرير سنوي.txt"]);
    assert_eq!(names(&h, &ann, &q("über")).await, ["ÜBER.txt"]);
    assert_eq!(names(&h, &ann, &q("straße")).await, ["ÜBER.txt"]);
    assert_eq!(
        names(&h, &ann, &q("\"café crème\" OR über")).await,
        ["Café crème.txt", "ÜBER.txt"]
    );
    assert_eq!(
        names(&h, &ann, &q("txt -café -über")).await,
        ["تقرير سنوي.txt"]
    );
}

async fn content_follows_versions_and_restores(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = h.user("ann@example.com").await;
    let id = h
        .put_text(&ann, None, "doc.txt", "alpha release notes")
        .await;
    let binary = h
        .send(
            Request::post("/files?name=blob.bin")
                .header(header::AUTHORIZATION, format!("Bearer {ann}"))
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(Body::from(b"alpha\0beta".to_vec()))
                .unwrap(),
        )
        .await;
    assert!(binary.status.is_success());
    assert_eq!(
        names(&h, &ann, &q("alpha")).await,
        ["doc.txt"],
        "binary content is not indexed"
    );
    let r = h
        .call(
            Method::PUT,
            &format!("/files/{id}/content"),
            Some(&ann),
            Some(json!("beta draft")),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert!(names(&h, &ann, &q("alpha")).await.is_empty());
    assert_eq!(names(&h, &ann, &q("draft")).await, ["doc.txt"]);
    let r = h
        .call(
            Method::POST,
            &format!("/files/{id}/versions/1/restore"),
            Some(&ann),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(names(&h, &ann, &q("alpha")).await, ["doc.txt"]);
    assert!(names(&h, &ann, &q("draft")).await.is_empty());
    // A rename is found by its new name at once.
    let r = h
        .call(
            Method::PATCH,
            &format!("/files/{id}"),
            Some(&ann),
            Some(json!({ "name": "renamed.txt" })),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(names(&h, &ann, &q("renamed")).await, ["renamed.txt"]);
}

async fn tags_and_fields_organize_and_filter(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = h.user("ann@example.com").await;
    let (bob, _) = h.user("bob@example.com").await;
    let dir = folder(&h, &ann, None, "contracts").await;
    let mut ids = Vec::new();
    for (i, name) in ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"]
        .iter()
        .enumerate()
    {
        ids.push(
            h.put_text(&ann, Some(&dir), name, &format!("contract number {i}"))
                .await,
        );
    }
    // A tag, applied in bulk to files and the folder.
    let r = h
        .call(
            Method::POST,
            "/tags",
            Some(&ann),
            Some(json!({ "name": "Signed", "colour": "#22AA55" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let tag = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["colour"], "#22aa55");
    let r = h
        .call(
            Method::POST,
            "/tags",
            Some(&ann),
            Some(json!({ "name": "signed" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = h
        .call(
            Method::POST,
            &format!("/tags/{tag}/add"),
            Some(&ann),
            Some(json!({ "files": [ids[0], ids[1]], "folders": [dir] })),
        )
        .await;
    assert_eq!(r.body["changed"], 3, "{}", r.body);
    let r = h
        .call(Method::GET, &format!("/files/{}", ids[0]), Some(&ann), None)
        .await;
    assert_eq!(r.body["tags"][0]["name"], "Signed", "{}", r.body);
    let r = h.call(Method::GET, "/tags", Some(&ann), None).await;
    assert_eq!(
        (r.body[0]["files"].clone(), r.body[0]["folders"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(
        names(&h, &ann, &format!("tag={tag}&sort=name")).await,
        ["a.txt", "b.txt"]
    );
    assert_eq!(names(&h, &ann, &q("signed")).await, ["a.txt", "b.txt"]);
    let r = h
        .call(Method::GET, &format!("/tags/{tag}/items"), Some(&ann), None)
        .await;
    assert_eq!(
        (
            r.body["files"].as_array().unwrap().len(),
            r.body["folders"].as_array().unwrap().len()
        ),
        (2, 1)
    );
    // Bob may neither see the tag nor put it on what he cannot write.
    let r = h
        .call(Method::GET, &format!("/tags/{tag}"), Some(&bob), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = h
        .call(
            Method::POST,
            &format!("/tags/{tag}/add"),
            Some(&bob),
            Some(json!({ "files": [ids[2]] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(
        names(&h, &ann, &format!("tag={tag}")).await.len(),
        2,
        "a refusal tags nothing"
    );

    // Fields, typed, shown and filtered.
    for (i, (pages, client)) in [(3, "Acme"), (12, "Globex"), (30, "Acme")]
        .iter()
        .enumerate()
    {
        let r = h
            .call(
                Method::PATCH,
                &format!("/files/{}/fields", ids[i]),
                Some(&ann),
                Some(json!({ "pages": pages, "client": client, "signed": i == 0,
                    "due": { "type": "date", "value": "2026-12-31" } })),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = h
        .call(Method::GET, &format!("/files/{}", ids[1]), Some(&ann), None)
        .await;
    assert_eq!(
        r.body["fields"]["pages"],
        json!({ "type": "number", "value": 12.0 })
    );
    assert_eq!(r.body["fields"]["due"]["value"], "2026-12-31T00:00:00Z");
    let f = |c: &str| format!("field={}&sort=name", urlencode(c));
    assert_eq!(names(&h, &ann, &f("pages>=10")).await, ["b.txt", "c.txt"]);
    assert_eq!(names(&h, &ann, &f("client=Acme")).await, ["a.txt", "c.txt"]);
    assert_eq!(names(&h, &ann, &f("signed=true")).await, ["a.txt"]);
    assert_eq!(
        names(&h, &ann, &f("due<2027-01-01")).await,
        ["a.txt", "b.txt", "c.txt"]
    );
    assert_eq!(names(&h, &ann, &q("globex")).await, ["b.txt"]);
    let r = h
        .call(
            Method::PATCH,
            &format!("/files/{}/fields", ids[0]),
            Some(&ann),
            Some(json!({ "pages": null, "bad key": 1 })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = h
        .call(
            Method::PATCH,
            &format!("/files/{}/fields", ids[0]),
            Some(&bob),
            Some(json!({ "x": 1 })),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A team's schema decides what its files may carry.
    let (team, space) = h.team(&ann, "Legal").await;
    let r = h
        .call(
            Method::PUT,
            &format!("/teams/{team}/fields"),
            Some(&ann),
            Some(
                json!([{ "key": "stage", "type": "string", "choices": ["draft", "final"] },
                        { "key": "due", "type": "date" }]),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let doc = h.put_text(&ann, Some(&space), "nda.txt", "terms").await;
    for bad in [
        json!({ "stage": "maybe" }),
        json!({ "other": 1 }),
        json!({ "due": 5 }),
    ] {
        let r = h
            .call(
                Method::PATCH,
                &format!("/files/{doc}/fields"),
                Some(&ann),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
    }
    let r = h
        .call(
            Method::PATCH,
            &format!("/files/{doc}/fields"),
            Some(&ann),
            Some(json!({ "stage": "final", "due": "2027-03-01" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["fields"]["due"]["type"], "date",
        "a schema's date takes a plain string"
    );
    // A team tag goes only on the team's files.
    let r = h
        .call(
            Method::POST,
            "/tags",
            Some(&ann),
            Some(json!({ "name": "Urgent", "team_id": team })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let team_tag = r.body["id"].as_str().unwrap().to_owned();
    let r = h
        .call(
            Method::POST,
            &format!("/tags/{team_tag}/add"),
            Some(&ann),
            Some(json!({ "files": [ids[0]] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = h
        .call(
            Method::POST,
            &format!("/tags/{team_tag}/add"),
            Some(&ann),
            Some(json!({ "files": [doc] })),
        )
        .await;
    assert_eq!(r.body["changed"], 1, "{}", r.body);
    assert_eq!(
        names(&h, &ann, &format!("team={team}&sort=name")).await,
        ["nda.txt"]
    );

    // Pages: two at a time, by name, until the cursor runs out.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = format!("folder={dir}&sort=name&limit=2");
        if let Some(c) = &cursor {
            query.push_str(&format!("&cursor={c}"));
        }
        let r = search(&h, &ann, &query).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        for f in r.body["files"].as_array().unwrap() {
            seen.push(f["name"].as_str().unwrap().to_owned());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(seen.len() <= 10, "{seen:?}");
    }
    assert_eq!(seen, ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"]);
    // A cursor of another sort is refused.
    let r = search(&h, &ann, "sort=name&limit=1").await;
    let c = r.body["next_cursor"].as_str().unwrap().to_owned();
    let r = search(&h, &ann, &format!("sort=size&cursor={c}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Removing, renaming, deleting a tag.
    let r = h
        .call(
            Method::POST,
            &format!("/tags/{tag}/remove"),
            Some(&ann),
            Some(json!({ "files": [ids[0]] })),
        )
        .await;
    assert_eq!(r.body["changed"], 1, "{}", r.body);
    let r = h
        .call(
            Method::PATCH,
            &format!("/tags/{tag}"),
            Some(&ann),
            Some(json!({ "name": "Done", "colour": null })),
        )
        .await;
    assert_eq!(
        (r.body["name"].clone(), r.body.get("colour").cloned()),
        (json!("Done"), None),
        "{}",
        r.body
    );
    let r = h
        .call(Method::DELETE, &format!("/tags/{tag}"), Some(&ann), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = h
        .call(Method::GET, &format!("/files/{}", ids[1]), Some(&ann), None)
        .await;
    assert!(r.body.get("tags").is_none(), "{}", r.body);
    let _: Value = r.body;
}
