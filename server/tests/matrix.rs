//! The authorization matrix, on SQLite and on PostgreSQL: every route of the API, for every
//! kind of caller, on every kind of resource, against the status one table says it must get.
//!
//! Callers: the owner, a team's admin, editor and guest, share holders (viewer, commenter,
//! editor), a holder of an expired share, a member of a group holding a share, another user, a
//! disabled user, nobody (anonymous) and a platform administrator. Resources: the caller's own,
//! a team's, one shared by somebody else, and somebody else's unshared. Each route names the
//! role it needs; the expected status follows from the caller's role on the resource: enough,
//! success; some but not enough, 403; none, 404 (403 for an administrator, who may be told
//! why); disabled, 401; anonymous, 404 on reads (a policy may make a folder public) and 401 on
//! anything more. Routes that change things run, when allowed, on a fresh
//! resource each, and a refused one must leave the resource as it was. Webhook endpoints get a
//! table of their own (the caller's, a team's, another user's, the platform's). The test fails on any
//! unexpected answer, allow or deny, and on any route of the OpenAPI description missing from
//! the tables.

use std::collections::BTreeSet;

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

#[macro_use]
mod common;
use common::router::{Backend, Harness, Reply, harness_with};

on_both_databases!(every_route_every_caller_every_resource);

/// Roles by strength.
const NONE: u8 = 0;
const VIEWER: u8 = 1;
const COMMENTER: u8 = 2;
const EDITOR: u8 = 3;
const OWNER: u8 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Caller {
    Owner,
    TeamAdmin,
    TeamEditor,
    TeamGuest,
    ShareViewer,
    ShareCommenter,
    ShareEditor,
    ExpiredShare,
    GroupMember,
    Other,
    Disabled,
    Anonymous,
    PlatformAdmin,
}

const CALLERS: [Caller; 13] = [
    Caller::Owner,
    Caller::TeamAdmin,
    Caller::TeamEditor,
    Caller::TeamGuest,
    Caller::ShareViewer,
    Caller::ShareCommenter,
    Caller::ShareEditor,
    Caller::ExpiredShare,
    Caller::GroupMember,
    Caller::Other,
    Caller::Disabled,
    Caller::Anonymous,
    Caller::PlatformAdmin,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Own,
    Team,
    Shared,
    Others,
}

const KINDS: [Kind; 4] = [Kind::Own, Kind::Team, Kind::Shared, Kind::Others];

/// The caller's role on a resource of `kind`.
fn role(c: Caller, kind: Kind) -> u8 {
    match (kind, c) {
        (Kind::Own, Caller::Owner) => OWNER,
        (Kind::Team, Caller::TeamAdmin) => OWNER,
        (Kind::Team, Caller::TeamEditor) => EDITOR,
        (Kind::Team, Caller::TeamGuest) => VIEWER,
        (Kind::Shared, Caller::ShareViewer | Caller::GroupMember) => VIEWER,
        (Kind::Shared, Caller::ShareCommenter) => COMMENTER,
        (Kind::Shared, Caller::ShareEditor) => EDITOR,
        _ => NONE,
    }
}

/// What a caller with `role` must get from a route that needs `need`.
fn expected(c: Caller, role: u8, need: u8) -> Expect {
    match c {
        Caller::Disabled => Expect::Status(StatusCode::UNAUTHORIZED),
        // Nobody may read what a policy makes public (a public folder), so reads are decided
        // for the anonymous principal too: no role, not found. Anything more needs an account.
        Caller::Anonymous if need == VIEWER => Expect::Status(StatusCode::NOT_FOUND),
        Caller::Anonymous => Expect::Status(StatusCode::UNAUTHORIZED),
        _ if role >= need => Expect::Success,
        Caller::PlatformAdmin => Expect::Status(StatusCode::FORBIDDEN),
        _ if role == NONE => Expect::Status(StatusCode::NOT_FOUND),
        _ => Expect::Status(StatusCode::FORBIDDEN),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Success,
    Status(StatusCode),
}

impl Expect {
    fn holds(self, got: StatusCode) -> bool {
        match self {
            Expect::Success => got.is_success(),
            Expect::Status(s) => got == s,
        }
    }
}

/// A resource route: method, OpenAPI path, the role it needs, and whether it changes things.
struct Route {
    method: &'static str,
    path: &'static str,
    need: u8,
    changes: bool,
}

const fn r(method: &'static str, path: &'static str, need: u8, changes: bool) -> Route {
    Route {
        method,
        path,
        need,
        changes,
    }
}

/// Every route that acts on a file, a folder, a trashed item or a link, with the role it needs.
const RESOURCE_ROUTES: &[Route] = &[
    r("GET", "/files/{id}", VIEWER, false),
    r("PATCH", "/files/{id}", EDITOR, true),
    r("DELETE", "/files/{id}", EDITOR, true),
    r("GET", "/files/{id}/content", VIEWER, false),
    r("PUT", "/files/{id}/content", EDITOR, true),
    r("GET", "/files/{id}/diff", VIEWER, false),
    r("GET", "/files/{id}/grants", EDITOR, false),
    r("POST", "/files/{id}/grants", EDITOR, true),
    r("DELETE", "/files/{id}/grants/{user_id}", EDITOR, true),
    r(
        "DELETE",
        "/files/{id}/grants/groups/{group_id}",
        EDITOR,
        true,
    ),
    r("GET", "/files/{id}/links", EDITOR, false),
    r("POST", "/files/{id}/links", EDITOR, true),
    r("GET", "/files/{id}/verify", VIEWER, false),
    r("GET", "/files/{id}/activity", VIEWER, false),
    r("PATCH", "/files/{id}/fields", EDITOR, true),
    // Tagging the file and its folder with a tag of their owner's.
    r("POST", "/tags/{id}/add", EDITOR, true),
    r("POST", "/tags/{id}/remove", EDITOR, true),
    r("GET", "/files/{id}/versions", VIEWER, false),
    r("DELETE", "/files/{id}/versions/{version}", EDITOR, true),
    r(
        "GET",
        "/files/{id}/versions/{version}/content",
        VIEWER,
        false,
    ),
    r(
        "POST",
        "/files/{id}/versions/{version}/restore",
        EDITOR,
        true,
    ),
    r("GET", "/folders/{id}", VIEWER, false),
    r("GET", "/folders/{id}/activity", VIEWER, false),
    r("PATCH", "/folders/{id}", EDITOR, true),
    r("DELETE", "/folders/{id}", EDITOR, true),
    r("GET", "/folders/{id}/grants", EDITOR, false),
    r("POST", "/folders/{id}/grants", EDITOR, true),
    r("DELETE", "/folders/{id}/grants/{user_id}", EDITOR, true),
    r(
        "DELETE",
        "/folders/{id}/grants/groups/{group_id}",
        EDITOR,
        true,
    ),
    // Into a folder: `folder_id` / `parent_id` name it.
    r("GET", "/files", VIEWER, false),
    r("POST", "/files", EDITOR, true),
    r("POST", "/folders", EDITOR, true),
    r("DELETE", "/links/{id}", EDITOR, true),
    r("POST", "/trash/{kind}/{id}/restore", OWNER, true),
    r("DELETE", "/trash/{kind}/{id}", OWNER, true),
];

/// Who a route that acts on no file needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// Anyone, signed in or not.
    Anyone,
    /// Signed out only (registering, signing in): signed-in callers are not refused either.
    Public,
    /// Any signed-in, enabled account.
    SignedIn,
    /// Platform administrators.
    Admin,
}

/// Every other route: (method, path, who).
const OTHER_ROUTES: &[(&str, &str, Who)] = &[
    ("GET", "/.well-known/jwks.json", Who::Anyone),
    ("GET", "/healthz", Who::Anyone),
    ("GET", "/readyz", Who::Anyone),
    ("GET", "/metrics", Who::Anyone),
    ("POST", "/auth/register", Who::Public),
    ("POST", "/auth/login", Who::Public),
    ("POST", "/auth/refresh", Who::Public),
    ("POST", "/auth/logout", Who::SignedIn),
    ("GET", "/s/{token}", Who::Anyone),
    ("GET", "/s/{token}/content", Who::Anyone),
    ("GET", "/invitations/accept", Who::Anyone),
    ("POST", "/invitations/accept", Who::Anyone),
    ("GET", "/me", Who::SignedIn),
    ("PATCH", "/me", Who::SignedIn),
    ("DELETE", "/me", Who::SignedIn),
    ("GET", "/me/activity", Who::SignedIn),
    ("GET", "/me/groups", Who::SignedIn),
    ("POST", "/me/password", Who::SignedIn),
    ("GET", "/me/sessions", Who::SignedIn),
    ("DELETE", "/me/sessions/{id}", Who::SignedIn),
    ("GET", "/me/usage", Who::SignedIn),
    ("GET", "/links", Who::SignedIn),
    ("GET", "/shared", Who::SignedIn),
    ("GET", "/shared/by-me", Who::SignedIn),
    ("GET", "/trash", Who::SignedIn),
    ("DELETE", "/trash", Who::SignedIn),
    ("GET", "/teams", Who::SignedIn),
    ("GET", "/tags", Who::SignedIn),
    ("POST", "/tags", Who::SignedIn),
    ("GET", "/search", Who::SignedIn),
    ("GET", "/stats", Who::SignedIn),
    ("POST", "/teams", Who::SignedIn),
    ("GET", "/webhooks", Who::SignedIn),
    ("POST", "/webhooks", Who::SignedIn),
    ("GET", "/invitations", Who::SignedIn),
    ("POST", "/invitations", Who::Admin),
    ("DELETE", "/invitations/{id}", Who::Admin),
    ("POST", "/invitations/{id}/resend", Who::Admin),
    ("GET", "/audit", Who::Admin),
    ("GET", "/audit/verify", Who::Admin),
    ("GET", "/admin/groups", Who::Admin),
    ("POST", "/admin/groups", Who::Admin),
    ("GET", "/admin/groups/{id}", Who::Admin),
    ("PATCH", "/admin/groups/{id}", Who::Admin),
    ("DELETE", "/admin/groups/{id}", Who::Admin),
    ("POST", "/admin/groups/{id}/members", Who::Admin),
    (
        "DELETE",
        "/admin/groups/{id}/members/{kind}/{member_id}",
        Who::Admin,
    ),
    ("GET", "/admin/teams", Who::Admin),
    ("GET", "/admin/usage", Who::Admin),
    ("GET", "/admin/stats", Who::Admin),
    ("GET", "/admin/lockouts", Who::Admin),
    ("GET", "/admin/users", Who::Admin),
    ("DELETE", "/admin/users/{id}/lockout", Who::Admin),
    ("POST", "/admin/users/{id}/admin", Who::Admin),
    ("DELETE", "/admin/users/{id}/admin", Who::Admin),
    ("PUT", "/admin/users/{id}/attributes", Who::Admin),
    ("POST", "/admin/users/{id}/disable", Who::Admin),
    ("POST", "/admin/users/{id}/enable", Who::Admin),
    ("POST", "/admin/users/{id}/password-reset", Who::Admin),
    ("PUT", "/admin/users/{id}/quota", Who::Admin),
    ("GET", "/admin/users/{id}/sessions", Who::Admin),
    ("DELETE", "/admin/users/{id}/sessions", Who::Admin),
    (
        "DELETE",
        "/admin/users/{id}/sessions/{session_id}",
        Who::Admin,
    ),
];

/// Team routes: (method, path, who in the team: "member", "admin").
const TEAM_ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/teams/{id}", "member"),
    ("PATCH", "/teams/{id}", "admin"),
    ("DELETE", "/teams/{id}", "admin"),
    ("GET", "/teams/{id}/invitations", "admin"),
    ("POST", "/teams/{id}/leave", "member"),
    ("PUT", "/teams/{id}/members", "admin"),
    ("DELETE", "/teams/{id}/members/{user_id}", "admin"),
    ("POST", "/teams/{id}/transfer", "admin"),
    ("GET", "/teams/{id}/trash", "admin"),
    ("GET", "/teams/{id}/fields", "member"),
    ("PUT", "/teams/{id}/fields", "admin"),
    ("GET", "/teams/{id}/groups", "member"),
    ("POST", "/teams/{id}/groups", "admin"),
    ("GET", "/teams/{id}/groups/{group_id}", "member"),
    ("PATCH", "/teams/{id}/groups/{group_id}", "admin"),
    ("DELETE", "/teams/{id}/groups/{group_id}", "admin"),
    ("POST", "/teams/{id}/groups/{group_id}/members", "admin"),
    (
        "DELETE",
        "/teams/{id}/groups/{group_id}/members/{kind}/{member_id}",
        "admin",
    ),
];

/// Routes on one webhook endpoint, and whether they change it.
const WEBHOOK_ROUTES: &[(&str, &str, bool)] = &[
    ("GET", "/webhooks/{id}", false),
    ("PATCH", "/webhooks/{id}", true),
    ("DELETE", "/webhooks/{id}", true),
    ("POST", "/webhooks/{id}/rotate", true),
    ("GET", "/webhooks/{id}/deliveries", false),
    ("GET", "/webhooks/{id}/deliveries/{delivery_id}", false),
    (
        "POST",
        "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
        true,
    ),
];

/// Routes on one tag, and whether they change its vocabulary.
const TAG_ROUTES: &[(&str, &str, bool)] = &[
    ("GET", "/tags/{id}", false),
    ("PATCH", "/tags/{id}", true),
    ("DELETE", "/tags/{id}", true),
    ("GET", "/tags/{id}/items", false),
];

/// Whose an endpoint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HookKind {
    /// The caller's own.
    Own,
    /// The world's team's.
    Team,
    /// Another user's.
    Others,
    /// The platform's.
    Platform,
}

/// Registers an endpoint with `body` (plus its URL) as `token` and relays and sends until its
/// creation event's delivery is dead; (endpoint id, delivery id).
async fn hook(h: &Harness, token: &str, mut body: Value) -> (String, String) {
    body["url"] = json!("http://127.0.0.1:9/hook");
    let r = ok(
        h.call(Method::POST, "/webhooks", Some(token), Some(body))
            .await,
        "webhook",
    )
    .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let relay = h.app.relay.as_ref().unwrap();
    while relay.run_once().await.unwrap().published > 0 {}
    let worker = h.app.webhook_worker.as_ref().unwrap();
    while worker.deliver_due().await.unwrap().attempted > 0 {}
    let dead = h
        .call(
            Method::GET,
            &format!("/webhooks/{id}/deliveries?state=dead"),
            Some(token),
            None,
        )
        .await;
    let delivery = dead.body[0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", dead.body))
        .to_owned();
    (id, delivery)
}

/// Gives a team the group `crew`, with its guest in it.
async fn crew(h: &Harness, tadmin: &str, team: &str) {
    let uri = format!("/teams/{team}/groups");
    let group = json!({ "id": "crew" });
    ok(
        h.call(Method::POST, &uri, Some(tadmin), Some(group)).await,
        "team group",
    )
    .await;
    let uri = format!("/teams/{team}/groups/crew/members");
    let guest = json!({ "email": "tguest@example.com" });
    ok(
        h.call(Method::POST, &uri, Some(tadmin), Some(guest)).await,
        "team group member",
    )
    .await;
}

struct World {
    tokens: Vec<(Caller, Option<String>)>,
    /// Accounts that own resources but call nothing: the sharer, an outsider.
    sharer: String,
    outsider: String,
    team: String,
    space: String,
    /// A user and a group holding file- and folder-level grants on every resource (no caller
    /// is either), so revoking them can succeed.
    bystander_id: String,
    /// Ids of the callers, for routes that name a user.
    ids: Vec<(Caller, String)>,
    n: std::cell::Cell<u32>,
}

impl World {
    fn token(&self, c: Caller) -> Option<&str> {
        self.tokens
            .iter()
            .find(|(x, _)| *x == c)
            .and_then(|(_, t)| t.as_deref())
    }
    fn id(&self, c: Caller) -> &str {
        &self.ids.iter().find(|(x, _)| *x == c).unwrap().1
    }
    fn next(&self) -> u32 {
        self.n.set(self.n.get() + 1);
        self.n.get()
    }
}

/// A resource: a folder with a file (two versions) in it, file- and folder-level grants to the
/// bystanders, a link on the file.
#[derive(Debug, Clone)]
struct Res {
    folder: String,
    file: String,
    /// The group holding the bystander grants: only the resource's maker is in it.
    group: &'static str,
    link: String,
    /// A tag of the resource owner's vocabulary, on neither.
    tag: String,
}

async fn ok(r: Reply, what: &str) -> Reply {
    assert!(r.status.is_success(), "{what}: {} {}", r.status, r.body);
    r
}

async fn upload_into(h: &Harness, token: &str, folder: &str, name: &str) -> Reply {
    h.send(
        Request::post(format!("/files?name={name}&folder_id={folder}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("version one\n"))
            .unwrap(),
    )
    .await
}

/// Makes a resource of `kind` as the account that owns it (or the team's admin).
async fn make(h: &Harness, w: &World, kind: Kind) -> Res {
    let n = w.next();
    let (maker, parent) = match kind {
        Kind::Own => (w.token(Caller::Owner).unwrap().to_owned(), None),
        Kind::Team => (
            w.token(Caller::TeamAdmin).unwrap().to_owned(),
            Some(w.space.clone()),
        ),
        Kind::Shared => (w.sharer.clone(), None),
        Kind::Others => (w.outsider.clone(), None),
    };
    let mut body = json!({ "name": format!("m{n}") });
    if let Some(p) = &parent {
        body["parent_id"] = json!(p);
    }
    let folder = ok(
        h.call(Method::POST, "/folders", Some(&maker), Some(body))
            .await,
        "folder",
    )
    .await;
    let folder = folder.body["id"].as_str().unwrap().to_owned();
    let file = ok(
        upload_into(h, &maker, &folder, &format!("f{n}.txt")).await,
        "upload",
    )
    .await;
    let file = file.body["id"].as_str().unwrap().to_owned();
    ok(
        h.call(
            Method::PUT,
            &format!("/files/{file}/content"),
            Some(&maker),
            Some(json!("version two")),
        )
        .await,
        "version 2",
    )
    .await;
    for on in [format!("/files/{file}"), format!("/folders/{folder}")] {
        for grant in [
            json!({ "email": "bystander@example.com", "role": "viewer" }),
            json!({ "group": bystanders(kind), "role": "viewer" }),
        ] {
            ok(
                h.call(
                    Method::POST,
                    &format!("{on}/grants"),
                    Some(&maker),
                    Some(grant),
                )
                .await,
                "grant",
            )
            .await;
        }
    }
    if kind == Kind::Shared {
        let grants = [
            json!({ "email": "viewer@example.com", "role": "viewer" }),
            json!({ "email": "commenter@example.com", "role": "commenter" }),
            json!({ "email": "editor@example.com", "role": "editor" }),
            json!({ "group": "matrix", "role": "viewer" }),
        ];
        for g in grants {
            ok(
                h.call(
                    Method::POST,
                    &format!("/folders/{folder}/grants"),
                    Some(&maker),
                    Some(g),
                )
                .await,
                "share",
            )
            .await;
        }
        let soon = jiff::Timestamp::from_microsecond(clock_now(h) + 1_000_000).unwrap();
        let expiring = json!({ "email": "expired@example.com", "role": "editor", "expires_at": soon.to_string() });
        ok(
            h.call(
                Method::POST,
                &format!("/folders/{folder}/grants"),
                Some(&maker),
                Some(expiring),
            )
            .await,
            "expiring share",
        )
        .await;
        h.clock.advance_secs(2);
    }
    let link = ok(
        h.call(
            Method::POST,
            &format!("/files/{file}/links"),
            Some(&maker),
            Some(json!({})),
        )
        .await,
        "link",
    )
    .await;
    let mut tag = json!({ "name": format!("t{n}") });
    if kind == Kind::Team {
        tag["team_id"] = json!(w.team);
    }
    let tag = ok(
        h.call(Method::POST, "/tags", Some(&maker), Some(tag)).await,
        "tag",
    )
    .await;
    Res {
        folder,
        file,
        group: bystanders(kind),
        link: link.body["id"].as_str().unwrap().to_owned(),
        tag: tag.body["id"].as_str().unwrap().to_owned(),
    }
}

/// The group holding grants on resources of `kind`: only their maker is in it, so it gives no
/// caller a role it would not have.
fn bystanders(kind: Kind) -> &'static str {
    match kind {
        Kind::Own => "by-own",
        Kind::Team => "by-team",
        Kind::Shared => "by-shared",
        Kind::Others => "by-others",
    }
}

fn clock_now(h: &Harness) -> i64 {
    use strongroom::clock::Clock;
    h.clock.now_micros()
}

/// The request a resource route makes on `res`.
fn request(w: &World, route: &Route, res: &Res, token: Option<&str>) -> Request<Body> {
    let n = w.next();
    let uri = match route.path {
        "/files" if route.method == "GET" => format!("/files?folder_id={}", res.folder),
        "/files" => format!("/files?name=new{n}.txt&folder_id={}", res.folder),
        "/files/{id}/diff" => format!("/files/{}/diff?from=1&to=2", res.file),
        "/links/{id}" => format!("/links/{}", res.link),
        p if p.starts_with("/tags/{id}") => p.replace("{id}", &res.tag),
        p if p.starts_with("/trash/") => p.replace("{kind}", "files").replace("{id}", &res.file),
        p if p.starts_with("/folders/{id}") => p
            .replace("{id}", &res.folder)
            .replace("{user_id}", &w.bystander_id)
            .replace("{group_id}", res.group),
        p => p
            .replace("{id}", &res.file)
            .replace("{user_id}", &w.bystander_id)
            .replace("{group_id}", res.group)
            .replace("{version}", "1"),
    };
    let body = match (route.method, route.path) {
        ("PATCH", "/files/{id}") => json!({ "name": format!("renamed{n}.txt") }),
        ("PATCH", "/folders/{id}") => json!({ "name": format!("renamed{n}") }),
        ("PUT", "/files/{id}/content") => json!("another version"),
        ("POST", "/files/{id}/grants") | ("POST", "/folders/{id}/grants") => {
            json!({ "email": "bystander2@example.com", "role": "viewer" })
        }
        ("POST", "/files/{id}/links") => json!({}),
        ("PATCH", "/files/{id}/fields") => json!({ "pages": n }),
        ("POST", "/tags/{id}/add") | ("POST", "/tags/{id}/remove") => {
            json!({ "files": [res.file], "folders": [res.folder] })
        }
        ("POST", "/folders") => json!({ "name": format!("sub{n}"), "parent_id": res.folder }),
        _ => Value::Null,
    };
    let mut b = Request::builder().method(route.method).uri(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if route.path == "/files" && route.method == "POST" {
        return b
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("new"))
            .unwrap();
    }
    if body.is_null() {
        b.body(Body::empty()).unwrap()
    } else {
        b.header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    }
}

/// What the owner side sees of a resource: to check a refusal changed nothing.
async fn snapshot(h: &Harness, w: &World, kind: Kind, res: &Res) -> Value {
    let owner = match kind {
        Kind::Own => w.token(Caller::Owner).unwrap().to_owned(),
        Kind::Team => w.token(Caller::TeamAdmin).unwrap().to_owned(),
        Kind::Shared => w.sharer.clone(),
        Kind::Others => w.outsider.clone(),
    };
    let mut out = Vec::new();
    for uri in [
        format!("/files/{}", res.file),
        format!("/files/{}/versions", res.file),
        format!("/files/{}/grants", res.file),
        format!("/files/{}/links", res.file),
        format!("/folders/{}", res.folder),
        format!("/folders/{}/grants", res.folder),
        format!("/files?folder_id={}", res.folder),
    ] {
        let r = h.call(Method::GET, &uri, Some(&owner), None).await;
        out.push(json!([r.status.as_u16(), strip_times(r.body)]));
    }
    Value::Array(out)
}

/// Drops what changes with every read (last use times), keeping what a change would touch.
fn strip_times(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("accessed_at");
    }
    v
}

async fn trash(h: &Harness, w: &World, kind: Kind, res: &Res) {
    let owner = match kind {
        Kind::Own => w.token(Caller::Owner).unwrap().to_owned(),
        Kind::Team => w.token(Caller::TeamAdmin).unwrap().to_owned(),
        Kind::Shared => w.sharer.clone(),
        Kind::Others => w.outsider.clone(),
    };
    ok(
        h.call(
            Method::DELETE,
            &format!("/files/{}", res.file),
            Some(&owner),
            None,
        )
        .await,
        "trash",
    )
    .await;
}

async fn world(h: &Harness) -> World {
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
    let mut tokens = vec![
        (Caller::PlatformAdmin, Some(root.clone())),
        (Caller::Anonymous, None),
    ];
    let mut ids = Vec::new();
    let me = h.call(Method::GET, "/me", Some(&root), None).await;
    ids.push((
        Caller::PlatformAdmin,
        me.body["id"].as_str().unwrap().to_owned(),
    ));
    let people = [
        (Caller::Owner, "owner"),
        (Caller::TeamAdmin, "tadmin"),
        (Caller::TeamEditor, "teditor"),
        (Caller::TeamGuest, "tguest"),
        (Caller::ShareViewer, "viewer"),
        (Caller::ShareCommenter, "commenter"),
        (Caller::ShareEditor, "editor"),
        (Caller::ExpiredShare, "expired"),
        (Caller::GroupMember, "member"),
        (Caller::Other, "other"),
        (Caller::Disabled, "disabled"),
    ];
    for (c, name) in people {
        let (t, body) = h.user(&format!("{name}@example.com")).await;
        tokens.push((c, Some(t)));
        ids.push((c, body["user"]["id"].as_str().unwrap().to_owned()));
    }
    let (sharer, _) = h.user("sharer@example.com").await;
    let (outsider, _) = h.user("outsider@example.com").await;
    let (_, bystander) = h.user("bystander@example.com").await;
    h.user("bystander2@example.com").await;
    let bystander_id = bystander["user"]["id"].as_str().unwrap().to_owned();
    // Groups: `matrix` holds shares (the group member is in it); `by-*` hold the grants the
    // routes revoke, one per kind with only its maker in it (who may share with it).
    for g in ["matrix", "by-own", "by-team", "by-shared", "by-others"] {
        ok(
            h.call(
                Method::POST,
                "/admin/groups",
                Some(&root),
                Some(json!({ "id": g })),
            )
            .await,
            "group",
        )
        .await;
    }
    let members = [
        ("matrix", "member"),
        ("matrix", "sharer"),
        ("by-own", "owner"),
        ("by-team", "tadmin"),
        ("by-shared", "sharer"),
        ("by-others", "outsider"),
    ];
    for (g, who) in members {
        let uri = format!("/admin/groups/{g}/members");
        let body = json!({ "email": format!("{who}@example.com") });
        ok(
            h.call(Method::POST, &uri, Some(&root), Some(body)).await,
            "member",
        )
        .await;
    }
    // The team.
    let tadmin = tokens
        .iter()
        .find(|(c, _)| *c == Caller::TeamAdmin)
        .unwrap()
        .1
        .clone()
        .unwrap();
    let team = ok(
        h.call(
            Method::POST,
            "/teams",
            Some(&tadmin),
            Some(json!({ "name": "Matrix" })),
        )
        .await,
        "team",
    )
    .await;
    let (team_id, space) = (
        team.body["id"].as_str().unwrap().to_owned(),
        team.body["space_id"].as_str().unwrap().to_owned(),
    );
    for (email, role) in [
        ("teditor@example.com", "editor"),
        ("tguest@example.com", "guest"),
    ] {
        ok(
            h.call(
                Method::PUT,
                &format!("/teams/{team_id}/members"),
                Some(&tadmin),
                Some(json!({ "email": email, "role": role })),
            )
            .await,
            "team member",
        )
        .await;
    }
    crew(h, &tadmin, &team_id).await;
    // The disabled account keeps its (now useless) token.
    let disabled = ids
        .iter()
        .find(|(c, _)| *c == Caller::Disabled)
        .unwrap()
        .1
        .clone();
    ok(
        h.call(
            Method::POST,
            &format!("/admin/users/{disabled}/disable"),
            Some(&root),
            None,
        )
        .await,
        "disable",
    )
    .await;
    World {
        tokens,
        sharer,
        outsider,
        team: team_id,
        space,
        bystander_id,
        ids,
        n: std::cell::Cell::new(0),
    }
}

async fn every_route_every_caller_every_resource(backend: Backend) {
    // Thousands of requests from one address in one (manual) minute: no rate limit here.
    let unlimited = |c: &mut strongroom::config::Config| {
        // Webhooks to a closed loopback port, given up at once: each has a dead delivery.
        c.webhooks.allow_loopback = true;
        c.webhooks.allow_http = true;
        c.webhooks.retry_schedule_secs = vec![];
        c.webhooks.max_endpoints = 1000;
        c.http.rate_limit_per_ip = u32::MAX;
        c.http.rate_limit_per_user = u32::MAX;
        // Locks without delays (the clock must not move past the callers' tokens).
        c.auth.backoff_base_secs = 0;
    };
    let Some(h) = harness_with(backend, 1 << 20, unlimited).await else {
        return;
    };
    let w = world(&h).await;
    let mut failures = Vec::new();
    let mut cells = 0;

    // 1. Resource routes × callers × kinds.
    for kind in KINDS {
        // One resource (and one trashed) per kind for the refusals, checked unchanged after.
        let base = make(&h, &w, kind).await;
        let trashed = make(&h, &w, kind).await;
        trash(&h, &w, kind, &trashed).await;
        let before = snapshot(&h, &w, kind, &base).await;
        for route in RESOURCE_ROUTES {
            for c in CALLERS {
                let want = expected(c, role(c, kind), route.need);
                let on_trash = route.path.starts_with("/trash/");
                let res = if route.changes && want == Expect::Success {
                    let fresh = make(&h, &w, kind).await;
                    if on_trash {
                        trash(&h, &w, kind, &fresh).await;
                    }
                    fresh
                } else if on_trash {
                    trashed.clone()
                } else {
                    base.clone()
                };
                let got = h.send(request(&w, route, &res, w.token(c))).await;
                cells += 1;
                if !want.holds(got.status) {
                    failures.push(format!(
                        "{kind:?} {} {} as {c:?}: want {want:?}, got {} {}",
                        route.method, route.path, got.status, got.body
                    ));
                }
            }
        }
        let after = snapshot(&h, &w, kind, &base).await;
        if before != after {
            failures.push(format!(
                "{kind:?}: a refused request changed the resource:\n{before}\n{after}"
            ));
        }
    }

    // 2. Team routes × callers (the team's admin, editor and guest; everyone else is outside).
    for (method, path, need) in TEAM_ROUTES {
        for c in CALLERS {
            let want = match (c, *need) {
                (Caller::Anonymous | Caller::Disabled, _) => {
                    Expect::Status(StatusCode::UNAUTHORIZED)
                }
                (Caller::TeamAdmin, _) => Expect::Success,
                (Caller::TeamEditor | Caller::TeamGuest, "member") => Expect::Success,
                (Caller::TeamEditor | Caller::TeamGuest, _) => {
                    Expect::Status(StatusCode::FORBIDDEN)
                }
                // Administrators manage teams but own no space: its trash and a hand-over
                // (which needs an admin of the team) are not theirs.
                (Caller::PlatformAdmin, _) if path.ends_with("/trash") => {
                    Expect::Status(StatusCode::FORBIDDEN)
                }
                (Caller::PlatformAdmin, _)
                    if path.ends_with("/transfer") || path.ends_with("/leave") =>
                {
                    Expect::Status(StatusCode::UNPROCESSABLE_ENTITY)
                }
                (Caller::PlatformAdmin, _) => Expect::Success,
                _ => Expect::Status(StatusCode::NOT_FOUND),
            };
            // Each allowed change on a team of its own, so the next caller finds the same.
            let team = if want == Expect::Success && *method != "GET" {
                fresh_team(&h, &w).await
            } else {
                w.team.clone()
            };
            let uri = path
                .replace("{id}", &team)
                .replace("{user_id}", w.id(Caller::TeamGuest))
                .replace("{group_id}", "crew")
                .replace("{kind}", "user")
                .replace("{member_id}", w.id(Caller::TeamGuest));
            let n = w.next();
            let body = match (*method, *path) {
                ("POST", "/teams/{id}/groups") => Some(json!({ "id": format!("g{n}") })),
                ("POST", "/teams/{id}/groups/{group_id}/members") => {
                    Some(json!({ "email": "teditor@example.com" }))
                }
                ("PATCH", _) => Some(json!({ "name": "Renamed" })),
                ("PUT", "/teams/{id}/fields") => {
                    Some(json!([{ "key": "pages", "type": "number" }]))
                }
                ("PUT", _) => Some(json!({ "email": "other@example.com", "role": "guest" })),
                ("POST", "/teams/{id}/transfer") => Some(json!({ "email": "teditor@example.com" })),
                _ => None,
            };
            let token = w.token(c);
            // Leaving as the last admin is refused, and deleting needs an empty space: the
            // fresh team has a second admin and nothing in it.
            let got = h
                .call(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    &uri,
                    token,
                    body,
                )
                .await;
            cells += 1;
            let want = if c == Caller::PlatformAdmin && *path == "/teams/{id}/leave" {
                Expect::Status(StatusCode::NOT_FOUND)
            } else {
                want
            };
            if !want.holds(got.status) {
                failures.push(format!(
                    "team {method} {path} as {c:?}: want {want:?}, got {} {}",
                    got.status, got.body
                ));
            }
        }
    }

    // 3. The routes on no file: anonymous, disabled, a plain user, an administrator.
    for (method, path, who) in OTHER_ROUTES {
        for c in [
            Caller::Anonymous,
            Caller::Disabled,
            Caller::Other,
            Caller::PlatformAdmin,
        ] {
            let want = match (who, c) {
                (Who::Anyone, _) => None,
                (Who::Public, _) => None,
                (_, Caller::Anonymous | Caller::Disabled) => {
                    Some(Expect::Status(StatusCode::UNAUTHORIZED))
                }
                (Who::SignedIn, _) => Some(Expect::Success),
                (Who::Admin, Caller::PlatformAdmin) => Some(Expect::Success),
                (Who::Admin, _) => Some(Expect::Status(StatusCode::FORBIDDEN)),
            };
            // Routes for anyone answer on their own terms (a bad token, a missing link):
            // what must hold is that none is refused for being signed out.
            let Some(want) = want else {
                let got = other_call(&h, &w, method, path, w.token(c)).await;
                cells += 1;
                if got.status == StatusCode::FORBIDDEN {
                    failures.push(format!("{method} {path} as {c:?}: refused {}", got.body));
                }
                continue;
            };
            // Destructive self-service and administration runs on throwaway accounts.
            let got = other_call(&h, &w, method, path, w.token(c)).await;
            cells += 1;
            if !want.holds(got.status) {
                failures.push(format!(
                    "{method} {path} as {c:?}: want {want:?}, got {} {}",
                    got.status, got.body
                ));
            }
        }
    }

    // 4. Webhook routes × callers × whose the endpoint is: its own user, the team's admins and
    // the platform's administrators (who manage teams too); nobody else learns it exists, a
    // team member who is no admin is told no.
    let tadmin = w.token(Caller::TeamAdmin).unwrap();
    let root = w.token(Caller::PlatformAdmin).unwrap();
    let outsider_token = w.outsider.clone();
    let team_body = json!({ "team_id": w.team });
    let platform_body = json!({ "platform": true });
    let shared_hooks = [
        (HookKind::Team, hook(&h, tadmin, team_body.clone()).await),
        (HookKind::Others, hook(&h, &outsider_token, json!({})).await),
        (
            HookKind::Platform,
            hook(&h, root, platform_body.clone()).await,
        ),
    ];
    for (method, path, changes) in WEBHOOK_ROUTES {
        for kind in [
            HookKind::Own,
            HookKind::Team,
            HookKind::Others,
            HookKind::Platform,
        ] {
            for c in CALLERS {
                let want = match (c, kind) {
                    (Caller::Anonymous | Caller::Disabled, _) => {
                        Expect::Status(StatusCode::UNAUTHORIZED)
                    }
                    (_, HookKind::Own) => Expect::Success,
                    (Caller::TeamAdmin | Caller::PlatformAdmin, HookKind::Team) => Expect::Success,
                    (Caller::TeamEditor | Caller::TeamGuest, HookKind::Team) => {
                        Expect::Status(StatusCode::FORBIDDEN)
                    }
                    (Caller::PlatformAdmin, HookKind::Platform) => Expect::Success,
                    _ => Expect::Status(StatusCode::NOT_FOUND),
                };
                let token = w.token(c);
                // A fresh endpoint for each allowed change, and one of its own for each caller.
                let (id, delivery) = match (kind, token) {
                    (HookKind::Own, Some(t)) if c != Caller::Disabled => {
                        hook(&h, t, json!({})).await
                    }
                    (HookKind::Team, _) if want == Expect::Success && *changes => {
                        hook(&h, tadmin, team_body.clone()).await
                    }
                    (HookKind::Platform, _) if want == Expect::Success && *changes => {
                        hook(&h, root, platform_body.clone()).await
                    }
                    _ => shared_hooks
                        .iter()
                        .find(|(k, _)| *k == kind)
                        .map(|(_, ids)| ids.clone())
                        .unwrap_or_else(|| shared_hooks[1].1.clone()),
                };
                let uri = path
                    .replace("{id}", &id)
                    .replace("{delivery_id}", &delivery);
                let body = match (*method, *path) {
                    ("PATCH", _) => Some(json!({ "description": "changed" })),
                    ("POST", "/webhooks/{id}/rotate") => Some(json!({ "overlap_secs": 0 })),
                    _ => None,
                };
                let got = h
                    .call(
                        Method::from_bytes(method.as_bytes()).unwrap(),
                        &uri,
                        token,
                        body,
                    )
                    .await;
                cells += 1;
                if !want.holds(got.status) {
                    failures.push(format!(
                        "webhook {kind:?} {method} {path} as {c:?}: want {want:?}, got {} {}",
                        got.status, got.body
                    ));
                }
            }
        }
    }
    // Refusals changed none of the shared endpoints.
    for (kind, (id, _)) in &shared_hooks {
        let owner = match kind {
            HookKind::Team => tadmin,
            HookKind::Platform => root,
            _ => outsider_token.as_str(),
        };
        let e = h
            .call(Method::GET, &format!("/webhooks/{id}"), Some(owner), None)
            .await;
        if e.status != StatusCode::OK
            || e.body["description"] != ""
            || e.body["previous_secret_until"] != Value::Null
        {
            failures.push(format!(
                "webhook {kind:?} changed by a refused call: {}",
                e.body
            ));
        }
    }

    // 5. Tag routes × callers × whose the tag is: its own user; a team's (its members read it,
    // those who may write the space change it, administrators see it); nobody else learns it
    // exists.
    for (method, path, changes) in TAG_ROUTES {
        for team_tag in [false, true] {
            for c in CALLERS {
                let want = match (c, team_tag) {
                    (Caller::Anonymous | Caller::Disabled, _) => {
                        Expect::Status(StatusCode::UNAUTHORIZED)
                    }
                    (_, false) => Expect::Success,
                    (Caller::TeamAdmin | Caller::TeamEditor, true) => Expect::Success,
                    (Caller::TeamGuest | Caller::PlatformAdmin, true) if !changes => {
                        Expect::Success
                    }
                    (Caller::TeamGuest | Caller::PlatformAdmin, true) => {
                        Expect::Status(StatusCode::FORBIDDEN)
                    }
                    _ => Expect::Status(StatusCode::NOT_FOUND),
                };
                let token = w.token(c);
                let n = w.next();
                // The caller's own tag, or a fresh team tag for each allowed change.
                let body = if team_tag {
                    json!({ "name": format!("tt{n}"), "team_id": w.team })
                } else {
                    json!({ "name": format!("ot{n}") })
                };
                let maker = match (team_tag, token) {
                    (true, _) => Some(tadmin),
                    (false, Some(t)) if c != Caller::Disabled => Some(t),
                    _ => None,
                };
                let id = match maker {
                    Some(m) => ok(
                        h.call(Method::POST, "/tags", Some(m), Some(body)).await,
                        "tag",
                    )
                    .await
                    .body["id"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    None => uuid::Uuid::now_v7().to_string(),
                };
                let uri = path.replace("{id}", &id);
                let body = (*method == "PATCH").then(|| json!({ "colour": "#123456" }));
                let got = h
                    .call(
                        Method::from_bytes(method.as_bytes()).unwrap(),
                        &uri,
                        token,
                        body,
                    )
                    .await;
                cells += 1;
                if !want.holds(got.status) {
                    failures.push(format!(
                        "tag (team: {team_tag}) {method} {path} as {c:?}: want {want:?}, got {} {}",
                        got.status, got.body
                    ));
                }
            }
        }
    }
    // Another user's tag: not found to everyone else, changed by nobody.
    let outsiders_tag = ok(
        h.call(
            Method::POST,
            "/tags",
            Some(&outsider_token),
            Some(json!({ "name": "private" })),
        )
        .await,
        "tag",
    )
    .await
    .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (method, path, _) in TAG_ROUTES {
        for c in CALLERS {
            let Some(token) = w.token(c) else { continue };
            if c == Caller::Disabled {
                continue;
            }
            let body = (*method == "PATCH").then(|| json!({ "colour": "#123456" }));
            let got = h
                .call(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    &path.replace("{id}", &outsiders_tag),
                    Some(token),
                    body,
                )
                .await;
            cells += 1;
            if got.status != StatusCode::NOT_FOUND {
                failures.push(format!(
                    "another's tag {method} {path} as {c:?}: want 404, got {} {}",
                    got.status, got.body
                ));
            }
        }
    }

    // 6. Nothing is missing from the tables.
    let doc = serde_json::to_value(strongroom::http::openapi()).unwrap();
    let mut listed: BTreeSet<(String, String)> = BTreeSet::new();
    for r in RESOURCE_ROUTES {
        listed.insert((r.method.into(), r.path.into()));
    }
    for (m, p, _) in OTHER_ROUTES {
        listed.insert(((*m).into(), (*p).into()));
    }
    for (m, p, _) in TEAM_ROUTES {
        listed.insert(((*m).into(), (*p).into()));
    }
    for (m, p, _) in WEBHOOK_ROUTES {
        listed.insert(((*m).into(), (*p).into()));
    }
    for (m, p, _) in TAG_ROUTES {
        listed.insert(((*m).into(), (*p).into()));
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in ["get", "put", "post", "patch", "delete"] {
            if item.get(m).is_some() && !listed.contains(&(m.to_uppercase(), path.clone())) {
                failures.push(format!(
                    "{} {path} is in no table of this test",
                    m.to_uppercase()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A team like the world's (tadmin admin, teditor editor, tguest guest), plus `owner` as a
/// second admin, so its admin may leave.
async fn fresh_team(h: &Harness, w: &World) -> String {
    let tadmin = w.token(Caller::TeamAdmin).unwrap();
    let n = w.next();
    let t = ok(
        h.call(
            Method::POST,
            "/teams",
            Some(tadmin),
            Some(json!({ "name": format!("T{n}") })),
        )
        .await,
        "team",
    )
    .await;
    let id = t.body["id"].as_str().unwrap().to_owned();
    for (email, role) in [
        ("teditor@example.com", "editor"),
        ("tguest@example.com", "guest"),
        ("owner@example.com", "admin"),
    ] {
        ok(
            h.call(
                Method::PUT,
                &format!("/teams/{id}/members"),
                Some(tadmin),
                Some(json!({ "email": email, "role": role })),
            )
            .await,
            "member",
        )
        .await;
    }
    crew(h, tadmin, &id).await;
    id
}

/// One call of a route on no file, with what it needs made up on the spot.
async fn other_call(
    h: &Harness,
    w: &World,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> Reply {
    let n = w.next();
    // Self-service that ends the account or its session runs as a throwaway account.
    let throwaway = matches!(
        (method, path),
        ("DELETE", "/me")
            | ("POST", "/me/password")
            | ("POST", "/auth/logout")
            | ("DELETE", "/me/sessions/{id}")
    );
    let (token, own_session) = if throwaway && token.is_some() && token != w.token(Caller::Disabled)
    {
        let email = format!("throwaway{n}@example.com");
        let (t, body) = h.user(&email).await;
        let second = h.login(&email).await.1;
        let _ = body;
        (Some(t), second["session_id"].as_str().map(str::to_owned))
    } else {
        (token.map(str::to_owned), None)
    };
    // What an administrator's call changes is made for it: an account, a group, an invitation.
    let admin = token
        .as_deref()
        .is_some_and(|t| Some(t) == w.token(Caller::PlatformAdmin));
    let (mut target, mut target_session) = (w.id(Caller::Other).to_owned(), "none".to_owned());
    let (mut group, mut invitation) = ("matrix".to_owned(), "none".to_owned());
    if admin && path.starts_with("/admin/users/{id}") {
        let email = format!("target{n}@example.com");
        let (_, body) = h.user(&email).await;
        target = body["user"]["id"].as_str().unwrap().to_owned();
        target_session = body["session_id"].as_str().unwrap_or("none").to_owned();
        if path == "/admin/users/{id}/lockout" {
            lock_out(h, &email).await;
        }
    }
    if admin && path.starts_with("/admin/groups/{id}") {
        group = format!("x{n}");
        let root = token.as_deref().unwrap();
        ok(
            h.call(
                Method::POST,
                "/admin/groups",
                Some(root),
                Some(json!({ "id": group })),
            )
            .await,
            "group",
        )
        .await;
        ok(
            h.call(
                Method::POST,
                &format!("/admin/groups/{group}/members"),
                Some(root),
                Some(json!({ "email": "member@example.com" })),
            )
            .await,
            "member",
        )
        .await;
    }
    // An invitation exists for every caller: who may not act on it learns why (403).
    if path.starts_with("/invitations/{id}") {
        let root = w.token(Caller::PlatformAdmin).unwrap();
        let r = ok(
            h.call(
                Method::POST,
                "/invitations",
                Some(root),
                Some(json!({ "email": format!("inv{n}@example.com"), "role": "member" })),
            )
            .await,
            "invitation",
        )
        .await;
        invitation = r.body["id"].as_str().unwrap().to_owned();
    }
    let id = match path {
        p if p.starts_with("/admin/users/") => target.clone(),
        p if p.starts_with("/admin/groups/") => group.clone(),
        p if p.starts_with("/invitations/{id}") => invitation.clone(),
        p if p.starts_with("/me/sessions/") => own_session.clone().unwrap_or_else(|| "none".into()),
        _ => "none".to_owned(),
    };
    let uri = path
        .replace("{id}", &id)
        .replace("{kind}", "user")
        .replace("{member_id}", w.id(Caller::GroupMember))
        .replace("{session_id}", &target_session)
        .replace("{token}", "not-a-token");
    let uri = match path {
        "/invitations/accept" if method == "GET" => {
            "/invitations/accept?token=sri1.x.y.z".to_owned()
        }
        "/admin/usage" => "/admin/usage?month=2026-11".to_owned(),
        _ => uri,
    };
    let body = match (method, path) {
        ("POST", "/auth/register") => Some(
            json!({ "email": format!("new{n}@example.com"), "name": "N", "password": "correct horse battery" }),
        ),
        ("POST", "/auth/login") => {
            Some(json!({ "email": "other@example.com", "password": "correct horse battery" }))
        }
        ("POST", "/auth/refresh") => Some(json!({ "refresh_token": "not-a-token" })),
        ("POST", "/invitations/accept") => Some(json!({ "token": "sri1.x.y.z" })),
        ("PATCH", "/me") => Some(json!({ "name": "Renamed" })),
        ("DELETE", "/me") => Some(json!({ "password": "correct horse battery" })),
        ("POST", "/me/password") => Some(
            json!({ "current_password": "correct horse battery", "new_password": "correct horse battery 2" }),
        ),
        ("POST", "/teams") => Some(json!({ "name": format!("Own{n}") })),
        ("POST", "/tags") => Some(json!({ "name": format!("Mine{n}") })),
        ("POST", "/webhooks") => Some(json!({ "url": format!("http://127.0.0.1:9/o{n}") })),
        ("POST", "/invitations") => {
            Some(json!({ "email": format!("invitee{n}@example.com"), "role": "member" }))
        }
        ("POST", "/admin/groups") => Some(json!({ "id": format!("g{n}") })),
        ("PATCH", "/admin/groups/{id}") => Some(json!({ "name": "M" })),
        ("POST", "/admin/groups/{id}/members") => Some(json!({ "email": "other@example.com" })),
        ("PUT", "/admin/users/{id}/attributes") => Some(json!({ "tags": ["x"] })),
        ("PUT", "/admin/users/{id}/quota") => Some(json!({ "bytes": null, "files": null })),
        _ => None,
    };
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = &token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    h.send(req).await
}

/// Wrong passwords for `email` until its account is locked (moving the clock past the delays).
async fn lock_out(h: &Harness, email: &str) {
    for _ in 0..100 {
        let r = h
            .call(
                Method::POST,
                "/auth/login",
                None,
                Some(json!({ "email": email, "password": "not the password" })),
            )
            .await;
        match r.status {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::TOO_MANY_REQUESTS => {
                let secs = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
                h.clock.advance_secs(secs);
            }
            StatusCode::FORBIDDEN => return,
            other => panic!("locking {email} out: {other} {}", r.body),
        }
    }
    panic!("{email} was never locked");
}
