//! The contract every metadata backend keeps, as plain async functions (like object_store's
//! integration module): each takes a store, does its own fixtures, and asserts error *variants*.
//! Memory, SQLite and PostgreSQL run all of them (the tests at the bottom). Not a stable API:
//! the functions write to the store they are given.

use std::sync::Arc;

mod chunks;
mod groups;
mod invitations;
mod organize;
mod stats;
mod teams;
mod throttle;
mod trash;
mod tree;
mod usage;
mod versions;
mod webhooks;
pub use chunks::chunks_contract;
pub use groups::{groups_contract, team_groups_contract};
pub use invitations::invitations_contract;
pub use organize::{fields_contract, search_contract, tags_contract};
pub use stats::stats_contract;
pub use teams::{team_hand_over_contract, teams_contract};
pub use throttle::throttle_contract;
pub use trash::trash_contract;
pub use tree::{
    file, files_contract, files_quota_under_concurrency, folder, folders_contract, folders_depth,
    folders_racing_moves,
};
pub use usage::usage_contract;
pub use versions::{versions_contract, versions_retention};
pub use webhooks::webhooks_contract;

use strongroom_audit::{Actor, AuditEvent, Resource};

use super::Error;
use super::grants::{Access, DynGrantStore, Holder, NewGrant, Shares};
use super::links::{DynLinkStore, LinkKey, LinkRecord, Listed, Reservation};
use super::users::{DynUserStore, UserChange, UserKey, UserQuery, UserRecord};

pub(crate) fn event(action: &str) -> AuditEvent {
    AuditEvent::builder(
        Actor::User("conformance".into()),
        action,
        Resource::new("file", "f").unwrap(),
    )
    .build()
    .unwrap()
}

fn link(id: &str, file: &str, user: &str, max: Option<i64>, created_at: i64) -> LinkRecord {
    LinkRecord {
        id: id.into(),
        token_hash: format!("hash-{id}"),
        file_id: file.into(),
        created_by: user.into(),
        expires_at: i64::MAX,
        password_hash: None,
        max_downloads: max,
        downloads: 0,
        failed_attempts: 0,
        locked_until: 0,
        revoked_at: None,
        created_at,
    }
}

fn fresh(tag: &str) -> String {
    format!("{tag}-{}", uuid::Uuid::now_v7())
}

/// Insert, look up by id and token, list both ways (newest first), revoke once; each write
/// leaves exactly one event (`events` counts them).
pub async fn links_crud(
    store: &DynLinkStore,
    file: &str,
    user: &str,
    events: impl AsyncFn() -> u64,
) {
    let before = events().await;
    let (a, b) = (fresh("a"), fresh("b"));
    store
        .insert(&link(&a, file, user, None, 10), &event("link.created"))
        .await
        .unwrap();
    store
        .insert(&link(&b, file, user, Some(2), 20), &event("link.created"))
        .await
        .unwrap();
    assert_eq!(events().await - before, 2);
    let dup = store
        .insert(
            &link(&fresh("c"), file, user, None, 30).with_hash(&format!("hash-{a}")),
            &event("link.created"),
        )
        .await;
    assert!(matches!(dup, Err(Error::Conflict(_))), "{dup:?}");
    assert_eq!(
        events().await - before,
        2,
        "a refused insert leaves no event"
    );

    let got = store.get(LinkKey::Id(&a)).await.unwrap().unwrap();
    assert_eq!(got, link(&a, file, user, None, 10));
    let by_token = store
        .get(LinkKey::TokenHash(&format!("hash-{b}")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_token.id, b);
    assert!(store.get(LinkKey::Id("missing")).await.unwrap().is_none());

    let of_file: Vec<String> = store
        .list(Listed::OfFile(file))
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    let pos = |id: &str| of_file.iter().position(|x| x == id).unwrap();
    assert!(pos(&b) < pos(&a), "newest first: {of_file:?}");
    assert!(
        store
            .list(Listed::MadeBy(user))
            .await
            .unwrap()
            .iter()
            .any(|l| l.id == a)
    );
    assert!(
        store
            .list(Listed::MadeBy("nobody"))
            .await
            .unwrap()
            .is_empty()
    );

    assert!(store.revoke(&a, 99, &event("link.revoked")).await.unwrap());
    assert!(
        !store.revoke(&a, 100, &event("link.revoked")).await.unwrap(),
        "once"
    );
    assert!(
        !store
            .revoke("missing", 100, &event("link.revoked"))
            .await
            .unwrap()
    );
    assert_eq!(
        events().await - before,
        3,
        "only the revoke that changed something is recorded"
    );
    assert_eq!(
        store
            .get(LinkKey::Id(&a))
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(99)
    );
    assert!(
        !store.count_download(&a).await.unwrap(),
        "revoked links count nothing"
    );
}

/// Attempts are reserved atomically: of many concurrent ones, exactly `max` pass; wrong ones
/// lock the link; a right one gives its attempt back; an expired lock starts a new window.
pub async fn links_attempts(store: Arc<DynLinkStore>, file: &str, user: &str) {
    let id = fresh("p");
    store
        .insert(&link(&id, file, user, None, 1), &event("link.created"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (store, id) = (store.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            store.reserve_attempt(&id, 1_000, 5).await.unwrap()
        }));
    }
    let mut reserved = 0;
    for t in tasks {
        if t.await.unwrap() == Reservation::Reserved {
            reserved += 1;
        }
    }
    assert_eq!(reserved, 5);
    // A right password gives one back: one more attempt is possible, not five.
    store.release_attempt(&id).await.unwrap();
    assert_eq!(
        store.reserve_attempt(&id, 1_000, 5).await.unwrap(),
        Reservation::Reserved
    );
    assert!(matches!(
        store.reserve_attempt(&id, 1_000, 5).await.unwrap(),
        Reservation::Locked { .. }
    ));
    // A wrong one with all attempts used locks the link until the given time.
    store
        .fail_attempt(&id, 5, 5_000, &event("link.password.failed"))
        .await
        .unwrap();
    assert_eq!(
        store.reserve_attempt(&id, 4_999, 5).await.unwrap(),
        Reservation::Locked { until: 5_000 }
    );
    // Past the lock: a fresh window.
    assert_eq!(
        store.reserve_attempt(&id, 5_000, 5).await.unwrap(),
        Reservation::Reserved
    );
    let l = store.get(LinkKey::Id(&id)).await.unwrap().unwrap();
    assert_eq!((l.failed_attempts, l.locked_until), (1, 0));
    // Releasing never goes below zero.
    for _ in 0..3 {
        store.release_attempt(&id).await.unwrap();
    }
    assert_eq!(
        store
            .get(LinkKey::Id(&id))
            .await
            .unwrap()
            .unwrap()
            .failed_attempts,
        0
    );
    let missing = store.reserve_attempt("missing", 0, 5).await;
    assert!(matches!(missing, Err(Error::NotFound)), "{missing:?}");
}

/// Concurrent downloads never count past the limit.
pub async fn links_download_limit(store: Arc<DynLinkStore>, file: &str, user: &str) {
    let id = fresh("d");
    store
        .insert(&link(&id, file, user, Some(3), 1), &event("link.created"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let (store, id) = (store.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            store.count_download(&id).await.unwrap()
        }));
    }
    let mut counted = 0;
    for t in tasks {
        counted += usize::from(t.await.unwrap());
    }
    assert_eq!(counted, 3);
    assert_eq!(
        store
            .get(LinkKey::Id(&id))
            .await
            .unwrap()
            .unwrap()
            .downloads,
        3
    );
    let unlimited = fresh("u");
    store
        .insert(
            &link(&unlimited, file, user, None, 1),
            &event("link.created"),
        )
        .await
        .unwrap();
    for _ in 0..10 {
        assert!(store.count_download(&unlimited).await.unwrap());
    }
}

/// An account record for tests.
pub fn user(id: &str, email: &str, admin: bool) -> UserRecord {
    UserRecord {
        id: id.into(),
        email: email.into(),
        name: "Test".into(),
        password_hash: "$argon2id$test".into(),
        is_admin: admin,
        disabled_at: None,
        created_at: 5,
        updated_at: 5,
        quota: crate::store::Quota::NONE,
        attributes: Default::default(),
    }
}

/// Unique e-mails on create and change, look-ups both ways, updates field by field (attributes
/// too), disable and enable, delete; one event per change and none for a refused one.
pub async fn users_contract(store: &DynUserStore, events: impl AsyncFn() -> u64) {
    let before = events().await;
    let (a, b) = (fresh("ua"), fresh("ub"));
    let (ea, eb) = (format!("{a}@example.com"), format!("{b}@example.com"));
    store
        .create(&user(&a, &ea, false), &event("account.registered"))
        .await
        .unwrap();
    store
        .create(&user(&b, &eb, true), &event("account.registered"))
        .await
        .unwrap();
    let dup = store
        .create(
            &user(&fresh("uc"), &ea, false),
            &event("account.registered"),
        )
        .await;
    assert!(
        matches!(&dup, Err(Error::Conflict(m)) if m.contains("email")),
        "{dup:?}"
    );
    assert_eq!(events().await - before, 2);
    assert_eq!(
        store.get(UserKey::Id(&a)).await.unwrap().unwrap(),
        user(&a, &ea, false)
    );
    assert_eq!(store.get(UserKey::Email(&eb)).await.unwrap().unwrap().id, b);
    assert!(
        store
            .get(UserKey::Email("nobody@example.com"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.count().await.unwrap() >= 2);
    let listed: Vec<String> = store
        .list(&UserQuery {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted);
    assert!(listed.contains(&ea) && listed.contains(&eb));
    // Search by part of the e-mail, case-insensitive and literal; paging by e-mail.
    let search = async |text: Option<&str>, after: Option<&str>, limit: usize| -> Vec<String> {
        store
            .list(&UserQuery { text, after, limit })
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.id)
            .collect()
    };
    assert_eq!(
        search(Some(&a.to_uppercase()), None, 10).await,
        std::slice::from_ref(&a)
    );
    assert!(
        search(Some("%"), None, 10).await.is_empty(),
        "wildcards match literally"
    );
    assert!(
        search(Some("_"), None, 10)
            .await
            .iter()
            .all(|id| id.contains('_'))
    );
    let first = search(None, None, 1).await;
    let next = search(None, Some(&listed[0]), 1).await;
    assert_eq!(first.len(), 1);
    assert_ne!(first, next, "the next page starts after the cursor");
    let promote = UserChange {
        is_admin: Some(true),
        ..Default::default()
    };
    store
        .update(&a, &promote, 6, &event("account.admin_granted"))
        .await
        .unwrap();
    assert!(store.get(UserKey::Id(&a)).await.unwrap().unwrap().is_admin);
    let demote = UserChange {
        is_admin: Some(false),
        ..Default::default()
    };
    store
        .update(&a, &demote, 6, &event("account.admin_revoked"))
        .await
        .unwrap();
    // Attributes round-trip whole, and other changes leave them alone.
    let attrs = crate::attributes::UserAttributes {
        tags: ["contractor".to_owned(), "berlin".to_owned()].into(),
        fields: [
            ("clearance".to_owned(), serde_json::json!(3)),
            (
                "contract_end".to_owned(),
                serde_json::json!("2027-01-01T00:00:00Z"),
            ),
        ]
        .into(),
    };
    let set = UserChange {
        attributes: Some(attrs.clone()),
        ..Default::default()
    };
    store
        .update(&a, &set, 6, &event("account.attributes_set"))
        .await
        .unwrap();
    store
        .update(&a, &promote, 6, &event("account.admin_granted"))
        .await
        .unwrap();
    store
        .update(&a, &demote, 6, &event("account.admin_revoked"))
        .await
        .unwrap();
    assert_eq!(
        store
            .get(UserKey::Id(&a))
            .await
            .unwrap()
            .unwrap()
            .attributes,
        attrs
    );

    let rename = UserChange {
        name: Some("Renamed".into()),
        ..Default::default()
    };
    store
        .update(&a, &rename, 7, &event("account.updated"))
        .await
        .unwrap();
    let got = store.get(UserKey::Id(&a)).await.unwrap().unwrap();
    assert_eq!(
        (got.name.as_str(), got.email.as_str(), got.updated_at),
        ("Renamed", ea.as_str(), 7)
    );
    let steal = UserChange {
        email: Some(eb.clone()),
        ..Default::default()
    };
    let r = store.update(&a, &steal, 8, &event("account.updated")).await;
    assert!(
        matches!(&r, Err(Error::Conflict(m)) if m.contains("email")),
        "{r:?}"
    );
    let r = store
        .update("missing", &rename, 8, &event("account.updated"))
        .await;
    assert!(matches!(r, Err(Error::NotFound)), "{r:?}");
    assert_eq!(events().await - before, 8, "refused changes record nothing");
    let disable = UserChange {
        disabled_at: Some(Some(9)),
        ..Default::default()
    };
    store
        .update(&a, &disable, 9, &event("account.disabled"))
        .await
        .unwrap();
    assert_eq!(
        store
            .get(UserKey::Id(&a))
            .await
            .unwrap()
            .unwrap()
            .disabled_at,
        Some(9)
    );
    let enable = UserChange {
        disabled_at: Some(None),
        password_hash: Some("new".into()),
        ..Default::default()
    };
    store
        .update(&a, &enable, 10, &event("account.enabled"))
        .await
        .unwrap();
    let got = store.get(UserKey::Id(&a)).await.unwrap().unwrap();
    assert_eq!((got.disabled_at, got.password_hash.as_str()), (None, "new"));

    assert!(
        store
            .delete(&b, &event("account.deleted"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.get(UserKey::Id(&b)).await.unwrap().is_none());
    let r = store.delete(&b, &event("account.deleted")).await;
    assert!(matches!(r, Err(Error::NotFound)), "{r:?}");
    assert_eq!(events().await - before, 11);
}

/// Users the grants refer to: `(id, email)`; the first is an administrator, the others not.
#[derive(Debug, Clone, Copy)]
pub struct People<'a> {
    /// An administrator.
    pub admin: (&'a str, &'a str),
    /// A user.
    pub ann: (&'a str, &'a str),
    /// Another user.
    pub bob: (&'a str, &'a str),
}

/// Put replaces (keeping the first time), list joins e-mails in the documented orders,
/// `access` reports the sharer's standing (gone once disabled), remove says whether it did
/// anything; each change records one event.
pub async fn grants_contract(
    store: &DynGrantStore,
    p: People<'_>,
    disable: impl AsyncFn(&str),
    events: impl AsyncFn() -> u64,
) {
    let before = events().await;
    let (file, folder) = (fresh("file"), fresh("folder"));
    let put = |kind: &'static str, id: &str, user: &str, role: &'static str, by: &str, at: i64| {
        (
            kind,
            id.to_owned(),
            user.to_owned(),
            role,
            by.to_owned(),
            at,
        )
    };
    for (kind, id, user, role, by, at) in [
        put("file", &file, p.ann.0, "viewer", p.admin.0, 10),
        put("file", &file, p.ann.0, "editor", p.bob.0, 20),
        put("folder", &folder, p.ann.0, "viewer", p.admin.0, 30),
        put("file", &file, p.bob.0, "viewer", p.admin.0, 40),
    ] {
        let g = NewGrant {
            resource_kind: kind,
            resource_id: &id,
            holder: Holder::User(&user),
            role,
            granted_by: &by,
            at,
            expires_at: None,
        };
        store.put(&g, &event("share.granted")).await.unwrap();
    }
    assert_eq!(events().await - before, 4);
    let nobody = NewGrant {
        resource_kind: "file",
        resource_id: &file,
        holder: Holder::User("no-such-user"),
        role: "viewer",
        granted_by: p.admin.0,
        at: 50,
        expires_at: None,
    };
    assert!(matches!(
        store.put(&nobody, &event("share.granted")).await,
        Err(Error::NotFound)
    ));
    assert_eq!(events().await - before, 4, "a refused put records nothing");
    let on_file = store.list(Shares::On("file", &file)).await.unwrap();
    let emails: Vec<&str> = on_file.iter().map(|g| g.holder_name.as_str()).collect();
    let mut sorted = emails.clone();
    sorted.sort();
    assert_eq!(emails, sorted, "by e-mail");
    let ann = on_file.iter().find(|g| g.holder_id == p.ann.0).unwrap();
    assert_eq!(
        (ann.role.as_str(), ann.granted_by.as_str(), ann.created_at),
        ("editor", p.bob.0, 10)
    );
    assert_eq!(
        (ann.holder_kind.as_str(), ann.holder_name.as_str()),
        ("user", p.ann.1)
    );
    assert!(
        store
            .list(Shares::On("folder", &file))
            .await
            .unwrap()
            .is_empty(),
        "kinds apart"
    );
    let held = store.list(Shares::HeldBy(p.ann.0)).await.unwrap();
    let held: Vec<&str> = held.iter().map(|g| g.resource_id.as_str()).collect();
    assert_eq!(held, [folder.as_str(), file.as_str()], "newest first");
    let given = store.list(Shares::GivenBy(p.bob.0)).await.unwrap();
    assert_eq!(given.len(), 1);
    assert_eq!(given[0].holder_id, p.ann.0);

    let mut roles = store
        .access(&[], &[&file, &folder, "nothing"])
        .await
        .unwrap()
        .roles;
    roles.sort_by(|a, b| (&a.node_id, &a.holder_id).cmp(&(&b.node_id, &b.holder_id)));
    assert_eq!(roles.len(), 3, "{roles:?}");
    let by_bob = roles.iter().find(|r| r.granted_by == p.bob.0).unwrap();
    assert_eq!(by_bob.granter_admin, Some(false));
    assert_eq!(by_bob.holder_kind, "user");
    let by_admin = roles.iter().find(|r| r.node_id == folder).unwrap();
    assert_eq!(by_admin.granter_admin, Some(true));
    assert_eq!(store.access(&[], &[]).await.unwrap(), Access::default());
    disable(p.bob.0).await;
    let roles = store.access(&[], &[&file]).await.unwrap().roles;
    let by_bob = roles.iter().find(|r| r.granted_by == p.bob.0).unwrap();
    assert_eq!(
        by_bob.granter_admin, None,
        "a disabled sharer stands for nothing"
    );

    // (Disabling may itself be recorded, by a backend's account store.)
    let before = events().await;
    assert!(
        store
            .remove(
                "file",
                &file,
                Holder::User(p.ann.0),
                &event("share.revoked")
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove(
                "file",
                &file,
                Holder::User(p.ann.0),
                &event("share.revoked")
            )
            .await
            .unwrap()
    );
    assert_eq!(
        events().await - before,
        1,
        "only the remove that removed something"
    );
}

impl LinkRecord {
    fn with_hash(mut self, hash: &str) -> LinkRecord {
        self.token_hash = hash.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;
    use crate::store::{MemoryStore, SqlStore};

    async fn run_all(
        store: Arc<DynLinkStore>,
        file: &str,
        user: &str,
        events: impl AsyncFn() -> u64,
    ) {
        links_crud(store.as_ref(), file, user, events).await;
        links_attempts(store.clone(), file, user).await;
        links_download_limit(store, file, user).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory() {
        let mem = Arc::new(MemoryStore::new());
        let events = {
            let mem = mem.clone();
            async move || mem.events().len() as u64
        };
        run_all(mem.clone(), "f1", "u1", &events).await;
        users_contract(mem.as_ref(), &events).await;
        for (id, admin) in [("admin", true), ("ann", false), ("bob", false)] {
            let u = user(id, &format!("{id}@example.com"), admin);
            crate::store::UserStore::create(mem.as_ref(), &u, &event("account.registered"))
                .await
                .unwrap();
        }
        let people = People {
            admin: ("admin", "admin@example.com"),
            ann: ("ann", "ann@example.com"),
            bob: ("bob", "bob@example.com"),
        };
        let m = mem.clone();
        grants_contract(
            mem.as_ref(),
            people,
            async move |u: &str| {
                let off = UserChange {
                    disabled_at: Some(Some(1)),
                    ..Default::default()
                };
                crate::store::UserStore::update(m.as_ref(), u, &off, 1, &event("account.disabled"))
                    .await
                    .unwrap();
            },
            &events,
        )
        .await;
        groups_contract(mem.as_ref(), people, &events).await;
        teams_contract(mem.as_ref(), people, &events).await;
        team_groups_contract(mem.as_ref(), people, &events).await;
        team_hand_over_contract(mem.as_ref(), people, &events).await;
        webhooks_contract(mem.as_ref(), people, &events).await;
        invitations_contract(mem.as_ref(), people, &events).await;
        folders_contract(mem.as_ref(), &events).await;
        folders_depth(mem.as_ref()).await;
        folders_racing_moves(mem.clone()).await;
        files_contract(mem.as_ref(), &events).await;
        trash_contract(mem.as_ref(), &events).await;
        chunks_contract(mem.as_ref()).await;
        files_quota_under_concurrency(mem.clone()).await;
        versions_contract(mem.as_ref(), &events).await;
        versions_retention(mem.clone()).await;
        usage_contract(mem.clone(), &events).await;
        tags_contract(mem.as_ref(), &events).await;
        fields_contract(mem.as_ref(), &events).await;
        search_contract(mem.as_ref()).await;
        stats_contract(mem.as_ref()).await;
        throttle_contract(mem.clone(), &events).await;
        // Through `Arc<dyn>` too.
        let dynamic: Arc<DynLinkStore> = Arc::new(mem.clone() as Arc<DynLinkStore>);
        links_download_limit(dynamic, "f1", "u1").await;
    }

    /// A user and a file for the foreign keys of `links`.
    async fn fixtures(db: &Db) -> (String, String) {
        let (user, file) = (fresh("user"), fresh("file"));
        crate::store::db::on_db!(db, pool => {
            sqlx::query("INSERT INTO users (id, email, name, password_hash, is_admin, created_at, updated_at) VALUES ($1, $2, 'C', 'x', FALSE, 0, 0)")
                .bind(&user).bind(format!("{user}@example.com")).execute(pool).await.unwrap();
            sqlx::query("INSERT INTO files (id, owner_id, folder_id, name, size, content_type, sha256, signature, blob_key, is_public, created_at, updated_at) VALUES ($1, $2, '', $1, 0, 'text/plain', '', '', $1, FALSE, 0, 0)")
                .bind(&file).bind(&user).execute(pool).await.unwrap();
        });
        (user, file)
    }

    async fn sql(db: Db) {
        let (user, file) = fixtures(&db).await;
        let store = Arc::new(SqlStore::new(db.clone()));
        let d = db.clone();
        let events = async move || d.outbox_pending().await;
        run_all(store.clone(), &file, &user, &events).await;
        users_contract(store.as_ref(), &events).await;
        let ids: Vec<String> = (0..3).map(|i| fresh(&format!("p{i}"))).collect();
        let emails: Vec<String> = ids.iter().map(|i| format!("{i}@example.com")).collect();
        for (i, id) in ids.iter().enumerate() {
            crate::store::db::on_db!(&db, pool => {
                sqlx::query("INSERT INTO users (id, email, name, password_hash, is_admin, created_at, updated_at) VALUES ($1, $2, 'P', 'x', $3, 0, 0)")
                    .bind(id).bind(&emails[i]).bind(i == 0).execute(pool).await.unwrap();
            });
        }
        let people = People {
            admin: (&ids[0], &emails[0]),
            ann: (&ids[1], &emails[1]),
            bob: (&ids[2], &emails[2]),
        };
        let d = db.clone();
        let disable = async move |u: &str| {
            crate::store::db::on_db!(&d, pool => {
                sqlx::query("UPDATE users SET disabled_at = 1 WHERE id = $1").bind(u).execute(pool).await.unwrap();
            });
        };
        grants_contract(store.as_ref(), people, disable, &events).await;
        groups_contract(store.as_ref(), people, &events).await;
        teams_contract(store.as_ref(), people, &events).await;
        team_groups_contract(store.as_ref(), people, &events).await;
        team_hand_over_contract(store.as_ref(), people, &events).await;
        webhooks_contract(store.as_ref(), people, &events).await;
        invitations_contract(store.as_ref(), people, &events).await;
        folders_contract(store.as_ref(), &events).await;
        folders_depth(store.as_ref()).await;
        folders_racing_moves(store.clone()).await;
        files_contract(store.as_ref(), &events).await;
        trash_contract(store.as_ref(), &events).await;
        chunks_contract(store.as_ref()).await;
        files_quota_under_concurrency(store.clone()).await;
        versions_contract(store.as_ref(), &events).await;
        versions_retention(store.clone()).await;
        usage_contract(store.clone(), &events).await;
        tags_contract(store.as_ref(), &events).await;
        fields_contract(store.as_ref(), &events).await;
        search_contract(store.as_ref()).await;
        stats_contract(store.as_ref()).await;
        throttle_contract(store.clone(), &events).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display());
        sql(Db::connect(&url, 4).await.unwrap()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Ok(url) = std::env::var("STRONGROOM_TEST_POSTGRES_URL") else {
            assert_ne!(
                std::env::var("STRONGROOM_TEST_REQUIRE_SERVICES").as_deref(),
                Ok("1"),
                "STRONGROOM_TEST_POSTGRES_URL is not set but scripts/test.sh requires PostgreSQL"
            );
            eprintln!(
                "note: skipped: STRONGROOM_TEST_POSTGRES_URL is unset (run scripts/services.sh up)"
            );
            return;
        };
        // A schema of its own: the tables of other runs stay out of the way.
        let schema = format!("conf_{}", uuid::Uuid::now_v7().simple());
        let admin = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let sep = if url.contains('?') { '&' } else { '?' };
        let url = format!("{url}{sep}options=-csearch_path%3D{schema}");
        sql(Db::connect(&url, 4).await.unwrap()).await;
    }
}
