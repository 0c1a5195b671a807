//! Teams over HTTP, on SQLite and on PostgreSQL: a team owns its space, so what members put
//! there stays when they leave; the roles (admin, editor, guest) decide every read and write
//! path; the last admin cannot go; a team is deleted only once its space is empty; bad input
//! and outsiders change nothing; a team's groups are managed by its admins, hold only its
//! members, and go with a member who leaves and with the team; deleting a team with a transfer
//! hands its whole space, versions and trash to a member, re-encrypted, or changes nothing.

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

#[macro_use]
mod common;
use common::router::{Backend, Harness, Reply, harness};

on_both_databases!(
    a_team_owns_its_space_and_roles_decide_every_path,
    the_last_admin_stays_and_a_team_goes_only_empty,
    bad_team_requests_change_nothing,
    team_groups_belong_to_the_team_and_follow_its_membership,
    a_team_deleted_with_a_transfer_hands_everything_to_a_member,
);

async fn call(h: &Harness, m: Method, uri: &str, token: &str, body: Option<Value>) -> Reply {
    h.call(m, uri, Some(token), body).await
}

async fn user_id(h: &Harness, email: &str) -> (String, String) {
    let (token, body) = h.user(email).await;
    (token, body["user"]["id"].as_str().unwrap().to_owned())
}

/// Creates a team as `token`; (team id, space id).
async fn new_team(h: &Harness, token: &str, name: &str) -> (String, String) {
    let r = call(
        h,
        Method::POST,
        "/teams",
        token,
        Some(json!({ "name": name })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["role"], "admin");
    (
        r.body["id"].as_str().unwrap().to_owned(),
        r.body["space_id"].as_str().unwrap().to_owned(),
    )
}

async fn set_role(h: &Harness, team: &str, token: &str, email: &str, role: &str) -> Reply {
    let uri = format!("/teams/{team}/members");
    call(
        h,
        Method::PUT,
        &uri,
        token,
        Some(json!({ "email": email, "role": role })),
    )
    .await
}

/// Uploads `bytes` as `name` into folder `folder`.
async fn upload_into(h: &Harness, token: &str, folder: &str, name: &str, bytes: &[u8]) -> Reply {
    let req = Request::post(format!("/files?name={name}&folder_id={folder}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(bytes.to_vec()))
        .unwrap();
    h.send(req).await
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

async fn a_team_owns_its_space_and_roles_decide_every_path(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = user_id(&h, "ann@example.com").await;
    let (bob, _) = user_id(&h, "bob@example.com").await;
    let (carl, _) = user_id(&h, "carl@example.com").await;
    let (dave, _) = user_id(&h, "dave@example.com").await;
    let (team, space) = new_team(&h, &ann, "Research").await;
    for (email, role) in [("bob@example.com", "editor"), ("carl@example.com", "guest")] {
        let r = set_role(&h, &team, &ann, email, role).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["role"], role);
    }
    let mine = call(&h, Method::GET, "/teams", &carl, None).await;
    assert_eq!(mine.body[0]["id"], team.as_str());
    assert_eq!(mine.body[0]["role"], "guest");
    assert_eq!(mine.body[0]["space_id"], space.as_str());

    // An editor uploads into the space: the team owns the file, not bob.
    let up = upload_into(&h, &bob, &space, "plan.txt", b"the plan").await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
    let file = up.body["id"].as_str().unwrap().to_owned();
    assert_eq!(up.body["owner_id"], team.as_str());
    // A subfolder made by the admin is the team's too, and roles carry down into it.
    let sub = call(
        &h,
        Method::POST,
        "/folders",
        &ann,
        Some(json!({ "name": "drafts", "parent_id": space })),
    )
    .await;
    assert_eq!(sub.status, StatusCode::CREATED, "{}", sub.body);
    let sub_id = sub.body["id"].as_str().unwrap().to_owned();
    let deep = upload_into(&h, &bob, &sub_id, "deep.txt", b"deeper").await;
    assert_eq!(deep.status, StatusCode::CREATED, "{}", deep.body);
    let deep = deep.body["id"].as_str().unwrap().to_owned();

    // Every member reads on every path; an outsider finds nothing.
    for token in [&ann, &bob, &carl] {
        for f in [&file, &deep] {
            let s = read_statuses(&h, token, f).await;
            assert!(all_ok(&s), "{s:?}");
        }
    }
    for f in [&file, &deep] {
        let s = read_statuses(&h, &dave, f).await;
        assert!(all_not_found(&s), "{s:?}");
    }
    let listed = call(
        &h,
        Method::GET,
        &format!("/files?folder_id={space}"),
        &carl,
        None,
    )
    .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let r = call(&h, Method::GET, &format!("/teams/{team}"), &dave, None).await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "an outsider does not learn the team exists"
    );

    // A guest reads and no more.
    let r = upload_into(&h, &carl, &space, "guest.txt", b"nope").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = call(&h, Method::DELETE, &format!("/files/{file}"), &carl, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = call(
        &h,
        Method::PATCH,
        &format!("/teams/{team}"),
        &carl,
        Some(json!({ "name": "x" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // An editor edits but does not manage the team.
    let r = call(
        &h,
        Method::PATCH,
        &format!("/teams/{team}"),
        &bob,
        Some(json!({ "name": "x" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = set_role(&h, &team, &bob, "dave@example.com", "editor").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // The admin renames the team and its space.
    let r = call(
        &h,
        Method::PATCH,
        &format!("/teams/{team}"),
        &ann,
        Some(json!({ "name": "Lab" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let s = call(&h, Method::GET, &format!("/folders/{space}"), &carl, None).await;
    assert_eq!(s.body["name"], "Lab", "{}", s.body);

    // bob leaves: his upload stays the team's, and he reads it no more on any path.
    let r = call(
        &h,
        Method::POST,
        &format!("/teams/{team}/leave"),
        &bob,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(all_not_found(&read_statuses(&h, &bob, &file).await));
    assert!(all_ok(&read_statuses(&h, &ann, &file).await));
    // carl, made editor, writes; taken out, reads nothing.
    assert_eq!(
        set_role(&h, &team, &ann, "carl@example.com", "editor")
            .await
            .status,
        StatusCode::OK
    );
    let r = upload_into(&h, &carl, &space, "carl.txt", b"now I can").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let detail = call(&h, Method::GET, &format!("/teams/{team}"), &ann, None).await;
    let carl_id = detail.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "carl@example.com")
        .unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = call(
        &h,
        Method::DELETE,
        &format!("/teams/{team}/members/{carl_id}"),
        &ann,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(all_not_found(&read_statuses(&h, &carl, &deep).await));
}

async fn the_last_admin_stays_and_a_team_goes_only_empty(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let (ann, _) = user_id(&h, "ann@example.com").await;
    let (bob, _) = user_id(&h, "bob@example.com").await;
    let (team, space) = new_team(&h, &ann, "Ops").await;
    let me = call(&h, Method::GET, &format!("/teams/{team}"), &ann, None).await;
    let ann_id = me.body["members"][0]["user_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The only admin cannot leave, step down or be removed.
    for r in [
        call(
            &h,
            Method::POST,
            &format!("/teams/{team}/leave"),
            &ann,
            None,
        )
        .await,
        set_role(&h, &team, &ann, "ann@example.com", "editor").await,
        call(
            &h,
            Method::DELETE,
            &format!("/teams/{team}/members/{ann_id}"),
            &ann,
            None,
        )
        .await,
    ] {
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert_eq!(r.content_type, "application/problem+json");
    }
    // Handing over needs a member; then ann is an editor and bob the admin.
    let r = call(
        &h,
        Method::POST,
        &format!("/teams/{team}/transfer"),
        &ann,
        Some(json!({ "email": "bob@example.com" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        set_role(&h, &team, &ann, "bob@example.com", "guest")
            .await
            .status,
        StatusCode::OK
    );
    let r = call(
        &h,
        Method::POST,
        &format!("/teams/{team}/transfer"),
        &ann,
        Some(json!({ "email": "bob@example.com" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let roles: Vec<(String, String)> = r.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        vec![
            ("ann@example.com".to_owned(), "editor".to_owned()),
            ("bob@example.com".to_owned(), "admin".to_owned())
        ]
    );
    let r = call(
        &h,
        Method::PATCH,
        &format!("/teams/{team}"),
        &ann,
        Some(json!({ "name": "x" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "ann is no admin any more");

    // The space cannot be deleted or moved by itself.
    let r = call(&h, Method::DELETE, &format!("/folders/{space}"), &bob, None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    // A team whose space holds a file, even in the trash, stays.
    let up = upload_into(&h, &ann, &space, "notes.txt", b"notes").await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
    let file = up.body["id"].as_str().unwrap().to_owned();
    let r = call(&h, Method::DELETE, &format!("/teams/{team}"), &bob, None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(
        call(&h, Method::DELETE, &format!("/files/{file}"), &ann, None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let r = call(&h, Method::DELETE, &format!("/teams/{team}"), &bob, None).await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "the trash counts: {}",
        r.body
    );
    // The team's trash is its admins'; ann (an editor) does not see it.
    let trash = call(&h, Method::GET, &format!("/teams/{team}/trash"), &bob, None).await;
    assert_eq!(trash.status, StatusCode::OK, "{}", trash.body);
    assert_eq!(trash.body[0]["id"], file.as_str());
    let r = call(&h, Method::GET, &format!("/teams/{team}/trash"), &ann, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Restored, it goes back into the space; purged, it is gone and the team can go.
    let r = call(
        &h,
        Method::POST,
        &format!("/trash/files/{file}/restore"),
        &bob,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["folder_id"], space.as_str());
    assert_eq!(
        call(&h, Method::DELETE, &format!("/files/{file}"), &bob, None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let r = call(
        &h,
        Method::DELETE,
        &format!("/trash/files/{file}"),
        &bob,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = call(&h, Method::DELETE, &format!("/teams/{team}"), &bob, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    for token in [&ann, &bob] {
        let r = call(&h, Method::GET, &format!("/teams/{team}"), token, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = call(&h, Method::GET, &format!("/folders/{space}"), token, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let mine = call(&h, Method::GET, "/teams", token, None).await;
        assert_eq!(mine.body, json!([]));
    }
}

async fn bad_team_requests_change_nothing(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let root = h.admin_token().await;
    let (ann, _) = user_id(&h, "ann@example.com").await;
    let (bob, _) = user_id(&h, "bob@example.com").await;
    let (team, space) = new_team(&h, &ann, "Legal").await;
    let up = upload_into(&h, &ann, &space, "contract.txt", b"terms").await;
    let file = up.body["id"].as_str().unwrap().to_owned();
    let before = call(&h, Method::GET, &format!("/teams/{team}"), &ann, None)
        .await
        .body;

    for (r, status) in [
        (
            call(
                &h,
                Method::POST,
                "/teams",
                &ann,
                Some(json!({ "name": "" })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            call(
                &h,
                Method::POST,
                "/teams",
                &ann,
                Some(json!({ "name": "x", "owner": "me" })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            set_role(&h, &team, &ann, "bob@example.com", "owner").await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            set_role(&h, &team, &ann, "not an address", "editor").await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            set_role(&h, &team, &ann, "nobody@example.com", "editor").await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            set_role(&h, &team, &bob, "bob@example.com", "admin").await,
            StatusCode::NOT_FOUND,
        ),
        (
            set_role(&h, "no-such-team", &ann, "bob@example.com", "editor").await,
            StatusCode::NOT_FOUND,
        ),
        (
            call(&h, Method::DELETE, &format!("/teams/{team}"), &bob, None).await,
            StatusCode::NOT_FOUND,
        ),
        (
            call(
                &h,
                Method::POST,
                &format!("/teams/{team}/leave"),
                &bob,
                None,
            )
            .await,
            StatusCode::NOT_FOUND,
        ),
        (
            call(
                &h,
                Method::DELETE,
                &format!("/teams/{team}/members/nobody"),
                &ann,
                None,
            )
            .await,
            StatusCode::NOT_FOUND,
        ),
        (
            h.call(Method::GET, &format!("/teams/{team}"), None, None)
                .await,
            StatusCode::UNAUTHORIZED,
        ),
        (
            h.call(
                Method::POST,
                "/teams",
                None,
                Some(json!({ "name": "anon" })),
            )
            .await,
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        assert_eq!(r.status, status, "{}", r.body);
        assert_eq!(r.content_type, "application/problem+json", "{}", r.body);
    }
    let after = call(&h, Method::GET, &format!("/teams/{team}"), &ann, None)
        .await
        .body;
    assert_eq!(before, after, "nothing changed");
    assert_eq!(
        call(&h, Method::GET, "/teams", &bob, None).await.body,
        json!([])
    );

    // A platform administrator sees and manages every team, but reads no file in a space
    // they are not in.
    let all = call(&h, Method::GET, "/admin/teams", &root, None).await;
    assert!(
        all.body
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == team.as_str()),
        "{}",
        all.body
    );
    assert_eq!(
        call(&h, Method::GET, "/admin/teams", &ann, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = call(&h, Method::GET, &format!("/teams/{team}"), &root, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["role"].is_null());
    let r = set_role(&h, &team, &root, "bob@example.com", "guest").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        call(&h, Method::GET, &format!("/files/{file}"), &root, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert!(all_ok(&read_statuses(&h, &bob, &file).await));

    // Each change is in the audit trail with whoever made it as actor.
    h.app.relay.clone().unwrap().run_once().await.unwrap();
    let trail = call(
        &h,
        Method::GET,
        &format!("/audit?resource_type=team&resource_id={team}&limit=500"),
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
    let ann_id = after["members"][0]["user_id"].as_str().unwrap();
    let me = call(&h, Method::GET, "/me", &root, None).await;
    let root_id = me.body["id"].as_str().unwrap().to_owned();
    assert!(
        actions.contains(&("team.created".to_owned(), ann_id.to_owned())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("team.member_role_set".to_owned(), root_id)),
        "{actions:?}"
    );
    // The outsider's attempts were denials, recorded as such.
    assert!(
        actions.iter().any(|(a, _)| a == "authz.denied.view_team"),
        "{actions:?}"
    );
}

async fn team_groups_belong_to_the_team_and_follow_its_membership(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let root = h.admin_token().await;
    let (ann, _) = user_id(&h, "ann@example.com").await;
    let (bob, bob_id) = user_id(&h, "bob@example.com").await;
    let (cat, _) = user_id(&h, "cat@example.com").await;
    let (dan, _) = user_id(&h, "dan@example.com").await;
    let (team, _) = new_team(&h, &ann, "Field").await;
    for (email, role) in [("bob@example.com", "guest"), ("cat@example.com", "editor")] {
        assert!(
            set_role(&h, &team, &ann, email, role)
                .await
                .status
                .is_success()
        );
    }
    let groups = format!("/teams/{team}/groups");

    // Only the team's admins make groups; its id is the team's id and the name given.
    let r = call(
        &h,
        Method::POST,
        &groups,
        &cat,
        Some(json!({ "id": "crew" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "an editor: {}", r.body);
    let r = call(
        &h,
        Method::POST,
        &groups,
        &dan,
        Some(json!({ "id": "crew" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "an outsider: {}", r.body);
    let r = call(
        &h,
        Method::POST,
        &groups,
        &ann,
        Some(json!({ "id": "crew", "name": "Crew" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let crew = format!("{team}.crew");
    assert_eq!(
        (r.body["id"].as_str(), r.body["team_id"].as_str()),
        (Some(crew.as_str()), Some(team.as_str()))
    );
    let r = call(
        &h,
        Method::POST,
        &groups,
        &ann,
        Some(json!({ "id": "crew" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = call(
        &h,
        Method::POST,
        &groups,
        &ann,
        Some(json!({ "id": "Bad Name" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // Members of the team only; a platform group's id shape is refused for platform groups.
    let members = format!("{groups}/crew/members");
    let r = call(
        &h,
        Method::POST,
        &members,
        &ann,
        Some(json!({ "email": "dan@example.com" })),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not in the team: {}",
        r.body
    );
    let r = call(
        &h,
        Method::POST,
        &members,
        &ann,
        Some(json!({ "email": "bob@example.com" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = call(
        &h,
        Method::POST,
        "/admin/groups",
        &root,
        Some(json!({ "id": crew })),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        call(
            &h,
            Method::POST,
            "/admin/groups",
            &root,
            Some(json!({ "id": "staff" }))
        )
        .await
        .status
        .is_success()
    );
    let r = call(
        &h,
        Method::POST,
        "/admin/groups/staff/members",
        &root,
        Some(json!({ "group": crew })),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no team group in a platform one: {}",
        r.body
    );
    let listed = call(&h, Method::GET, "/admin/groups", &root, None).await;
    assert!(
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["id"] != crew.as_str())
    );
    let r = call(
        &h,
        Method::GET,
        &format!("/admin/groups/{crew}"),
        &root,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // The team's members see its groups (a guest too); outsiders do not.
    let r = call(&h, Method::GET, &format!("{groups}/crew"), &bob, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["members"][0]["id"], bob_id.as_str());
    assert_eq!(
        call(&h, Method::GET, &groups, &dan, None).await.status,
        StatusCode::NOT_FOUND
    );
    let mine = call(&h, Method::GET, "/me/groups", &bob, None).await;
    assert_eq!(mine.body[0]["id"], crew.as_str());

    // Shared with by a member of the team (cat is not in the group), not by an outsider.
    let folder = call(
        &h,
        Method::POST,
        "/folders",
        &dan,
        Some(json!({ "name": "Survey" })),
    )
    .await;
    let folder = folder.body["id"].as_str().unwrap().to_owned();
    let file = upload_into(&h, &dan, &folder, "map.txt", b"north").await;
    let file = file.body["id"].as_str().unwrap().to_owned();
    let share = json!({ "group": crew, "role": "viewer" });
    let r = call(
        &h,
        Method::POST,
        &format!("/folders/{folder}/grants"),
        &dan,
        Some(share.clone()),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "dan is outside the team: {}",
        r.body
    );
    let cats = call(
        &h,
        Method::POST,
        "/folders",
        &cat,
        Some(json!({ "name": "Notes" })),
    )
    .await;
    let cats = cats.body["id"].as_str().unwrap().to_owned();
    let note = upload_into(&h, &cat, &cats, "note.txt", b"hello").await;
    let note = note.body["id"].as_str().unwrap().to_owned();
    let r = call(
        &h,
        Method::POST,
        &format!("/folders/{cats}/grants"),
        &cat,
        Some(share),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.body);
    let read = format!("/files/{note}/content");
    assert_eq!(
        call(&h, Method::GET, &read, &bob, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&h, Method::GET, &format!("/files/{file}"), &bob, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Leaving the team leaves its groups: the share reaches bob no more.
    let r = call(
        &h,
        Method::POST,
        &format!("/teams/{team}/leave"),
        &bob,
        None,
    )
    .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(
        call(&h, Method::GET, &read, &bob, None).await.status,
        StatusCode::NOT_FOUND
    );
    let detail = call(&h, Method::GET, &format!("{groups}/crew"), &ann, None).await;
    assert_eq!(detail.body["members"], json!([]));
    assert!(
        set_role(&h, &team, &ann, "bob@example.com", "guest")
            .await
            .status
            .is_success()
    );
    assert_eq!(
        call(&h, Method::GET, &read, &bob, None).await.status,
        StatusCode::NOT_FOUND,
        "rejoining the team is not rejoining the group"
    );

    // Deleting the (empty) team takes its groups and their shares.
    let r = call(&h, Method::DELETE, &format!("/teams/{team}"), &ann, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let grants = call(
        &h,
        Method::GET,
        &format!("/folders/{cats}/grants"),
        &cat,
        None,
    )
    .await;
    assert_eq!(
        grants.body.as_array().map(Vec::len),
        Some(0),
        "{}",
        grants.body
    );
    h.app.relay.clone().unwrap().run_once().await.unwrap();
    let audit = call(&h, Method::GET, "/audit?action=group.created", &root, None).await;
    assert!(audit.body.to_string().contains(&crew), "{}", audit.body);
}

async fn a_team_deleted_with_a_transfer_hands_everything_to_a_member(backend: Backend) {
    let Some(h) = harness(backend, 1 << 20).await else {
        return;
    };
    let root = h.admin_token().await;
    let (ann, _) = user_id(&h, "ann@example.com").await;
    let (bob, bob_id) = user_id(&h, "bob@example.com").await;
    let (carl, _) = user_id(&h, "carl@example.com").await;
    let (team, space) = new_team(&h, &ann, "Atlas").await;
    assert!(
        set_role(&h, &team, &ann, "bob@example.com", "editor")
            .await
            .status
            .is_success()
    );
    // bob has a folder named like the team already.
    let r = call(
        &h,
        Method::POST,
        "/folders",
        &bob,
        Some(json!({ "name": "Atlas" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // In the space: a file with two versions, a folder with a file, a trashed file; shared
    // with carl.
    let map = upload_into(&h, &ann, &space, "map.txt", b"first edition\n").await;
    let map = map.body["id"].as_str().unwrap().to_owned();
    let second = call(
        &h,
        Method::PUT,
        &format!("/files/{map}/content"),
        &ann,
        Some(json!("second edition")),
    )
    .await;
    assert!(second.status.is_success(), "{}", second.body);
    let sub = call(
        &h,
        Method::POST,
        "/folders",
        &bob,
        Some(json!({ "name": "Notes", "parent_id": space })),
    )
    .await;
    let sub = sub.body["id"].as_str().unwrap().to_owned();
    let note = upload_into(&h, &bob, &sub, "note.txt", b"a note").await;
    let note = note.body["id"].as_str().unwrap().to_owned();
    let old = upload_into(&h, &ann, &space, "old.txt", b"old").await;
    let old = old.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        call(&h, Method::DELETE, &format!("/files/{old}"), &ann, None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let share = json!({ "email": "carl@example.com", "role": "viewer" });
    assert!(
        call(
            &h,
            Method::POST,
            &format!("/folders/{sub}/grants"),
            &ann,
            Some(share)
        )
        .await
        .status
        .is_success()
    );
    let read = |token: &str, file: &str| {
        let uri = format!("/files/{file}/content");
        let token = token.to_owned();
        let h = &h;
        async move { h.call(Method::GET, &uri, Some(&token), None).await }
    };

    // Refusals change nothing.
    let delete = |to: &str| format!("/teams/{team}?transfer_to={to}");
    let r = call(&h, Method::DELETE, &delete("carl@example.com"), &ann, None).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not a member: {}",
        r.body
    );
    let r = call(
        &h,
        Method::DELETE,
        &delete("nobody@example.com"),
        &ann,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = call(&h, Method::DELETE, &delete("bob@example.com"), &bob, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "an editor: {}", r.body);
    let quota = format!("/admin/users/{bob_id}/quota");
    let tight = json!({ "bytes": 20, "files": null });
    assert!(
        call(&h, Method::PUT, &quota, &root, Some(tight))
            .await
            .status
            .is_success()
    );
    let r = call(&h, Method::DELETE, &delete("bob@example.com"), &ann, None).await;
    assert_eq!(r.status.as_u16(), 507, "over bob's quota: {}", r.body);
    let team_view = call(&h, Method::GET, &format!("/teams/{team}"), &ann, None).await;
    assert_eq!(team_view.status, StatusCode::OK, "the team is still there");
    assert_eq!(read(&ann, &map).await.raw, b"\"second edition\"");
    let free = json!({ "bytes": null, "files": null });
    assert!(
        call(&h, Method::PUT, &quota, &root, Some(free))
            .await
            .status
            .is_success()
    );

    // Handed to bob.
    let r = call(&h, Method::DELETE, &delete("bob@example.com"), &ann, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["folder_id"], space.as_str());
    assert_eq!(r.body["name"], "Atlas (2)");
    assert_eq!(r.body["owner_id"], bob_id.as_str());
    assert_eq!(
        call(&h, Method::GET, &format!("/teams/{team}"), &ann, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let got = read(&bob, &map).await;
    assert_eq!(
        (got.status, got.raw.as_slice()),
        (StatusCode::OK, b"\"second edition\"".as_slice())
    );
    let v1 = call(
        &h,
        Method::GET,
        &format!("/files/{map}/versions/1/content"),
        &bob,
        None,
    )
    .await;
    assert_eq!(v1.raw, b"first edition\n");
    let verified = call(&h, Method::GET, &format!("/files/{map}/verify"), &bob, None).await;
    assert_eq!(verified.body["ok"], true, "{}", verified.body);
    assert_eq!(read(&bob, &note).await.raw, b"a note");
    let meta = call(&h, Method::GET, &format!("/files/{note}"), &bob, None).await;
    assert_eq!(meta.body["owner_id"], bob_id.as_str());
    let trash = call(&h, Method::GET, "/trash", &bob, None).await;
    assert!(
        trash.body.to_string().contains(&old),
        "the trash came along: {}",
        trash.body
    );
    // ann was an admin of the team, not an owner of its files: she reads nothing now.
    assert_eq!(read(&ann, &map).await.status, StatusCode::NOT_FOUND);
    // ann's share on the folder held while she could share it; she cannot any more.
    assert_eq!(read(&carl, &note).await.status, StatusCode::NOT_FOUND);
    let usage = call(&h, Method::GET, "/me/usage", &bob, None).await;
    assert!(usage.body["files"].as_u64().unwrap() >= 3, "{}", usage.body);
}
