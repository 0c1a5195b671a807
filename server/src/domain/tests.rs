//! The domain services on the memory store: no database, no HTTP. What they check here is the
//! services' own logic (authorization over the tree, round trips per decision, integrity of
//! downloads, repair); the router suite runs the same paths over HTTP on SQLite and PostgreSQL.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use futures::StreamExt;
use strongroom_audit::AuditEvent;

use strongroom_file_verifier::{Algorithm, KeyRing as FileKeys, SecretKey};

use super::files::{Delivery, NewFile, Want};
use super::grants::ShareWith;
use super::{Ctx, Files, Folders, Guard, Shares};
use crate::authz::{Authorizer, Principal};
use crate::blobs::Blobs;
use crate::clock::ManualClock;
use crate::config::{FilesConfig, StorageConfig};
use crate::denials::DenialAggregator;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::store::{
    self, ChainNode, FileChange, FileQuery, FileRecord, FileStore, FolderChange, FolderEdge,
    FolderRecord, FolderStore, GrantRecord, GrantStore, Located, MemoryStore, NewGrant,
    Shares as Listed, TrashQuery, UserRecord, UserStore,
};

/// Counts the calls to the file, folder and share stores: each is one round trip on SQL.
#[derive(Debug)]
struct Counting {
    inner: Arc<MemoryStore>,
    calls: AtomicUsize,
}

impl Counting {
    fn tick(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl FileStore for Counting {
    async fn insert(
        &self,
        f: &FileRecord,
        w: &str,
        q: &store::Quota,
        e: &AuditEvent,
    ) -> store::Result<()> {
        self.tick();
        FileStore::insert(self.inner.as_ref(), f, w, q, e).await
    }
    async fn locate_many(&self, ids: &[&str]) -> store::Result<Vec<Located>> {
        self.tick();
        self.inner.locate_many(ids).await
    }
    async fn usage(&self, owner: &str) -> store::Result<store::FileUsage> {
        self.tick();
        FileStore::usage(self.inner.as_ref(), owner).await
    }
    async fn owners(&self, after: Option<&str>, limit: usize) -> store::Result<Vec<String>> {
        self.tick();
        self.inner.owners(after, limit).await
    }
    async fn get(&self, id: &str) -> store::Result<Option<FileRecord>> {
        self.tick();
        FileStore::get(self.inner.as_ref(), id).await
    }
    async fn locate(&self, id: &str) -> store::Result<Option<Located>> {
        self.tick();
        self.inner.locate(id).await
    }
    async fn list(&self, q: &FileQuery<'_>) -> store::Result<Vec<FileRecord>> {
        self.tick();
        FileStore::list(self.inner.as_ref(), q).await
    }
    async fn update(&self, id: &str, c: &FileChange, at: i64, e: &AuditEvent) -> store::Result<()> {
        self.tick();
        FileStore::update(self.inner.as_ref(), id, c, at, e).await
    }
    async fn delete(&self, id: &str, e: &AuditEvent) -> store::Result<Option<Vec<String>>> {
        self.tick();
        FileStore::delete(self.inner.as_ref(), id, e).await
    }
    async fn find_named(
        &self,
        owner: &str,
        folder: &str,
        name: &str,
    ) -> store::Result<Option<FileRecord>> {
        self.tick();
        self.inner.find_named(owner, folder, name).await
    }
    async fn trash(&self, id: &str, at: i64, e: &AuditEvent) -> store::Result<()> {
        self.tick();
        FileStore::trash(self.inner.as_ref(), id, at, e).await
    }
    async fn restore(
        &self,
        id: &str,
        folder: &str,
        name: &str,
        at: i64,
        e: &AuditEvent,
    ) -> store::Result<()> {
        self.tick();
        FileStore::restore(self.inner.as_ref(), id, folder, name, at, e).await
    }
    async fn trashed(&self, q: &TrashQuery<'_>) -> store::Result<Vec<FileRecord>> {
        self.tick();
        FileStore::trashed(self.inner.as_ref(), q).await
    }
    async fn in_folder(&self, folder: &str) -> store::Result<Vec<FileRecord>> {
        self.tick();
        self.inner.in_folder(folder).await
    }
}

#[async_trait]
impl FolderStore for Counting {
    async fn create(&self, f: &FolderRecord, e: &AuditEvent) -> store::Result<()> {
        self.tick();
        FolderStore::create(self.inner.as_ref(), f, e).await
    }
    async fn get(&self, id: &str) -> store::Result<Option<FolderRecord>> {
        self.tick();
        FolderStore::get(self.inner.as_ref(), id).await
    }
    async fn chain(&self, id: &str) -> store::Result<Vec<ChainNode>> {
        self.tick();
        self.inner.chain(id).await
    }
    async fn children(&self, owner: &str, parent: &str) -> store::Result<Vec<FolderRecord>> {
        self.tick();
        self.inner.children(owner, parent).await
    }
    async fn update(
        &self,
        id: &str,
        c: &FolderChange,
        at: i64,
        e: &AuditEvent,
    ) -> store::Result<()> {
        self.tick();
        FolderStore::update(self.inner.as_ref(), id, c, at, e).await
    }
    async fn delete(&self, id: &str, e: &AuditEvent) -> store::Result<()> {
        self.tick();
        FolderStore::delete(self.inner.as_ref(), id, e).await
    }
    async fn edges(&self) -> store::Result<Vec<FolderEdge>> {
        self.tick();
        self.inner.edges().await
    }
    async fn reattach(&self, id: &str, name: &str, at: i64, e: &AuditEvent) -> store::Result<()> {
        self.tick();
        self.inner.reattach(id, name, at, e).await
    }
    async fn trash(&self, id: &str, at: i64, e: &AuditEvent) -> store::Result<()> {
        self.tick();
        FolderStore::trash(self.inner.as_ref(), id, at, e).await
    }
    async fn restore(
        &self,
        id: &str,
        parent: &str,
        name: &str,
        at: i64,
        e: &AuditEvent,
    ) -> store::Result<()> {
        self.tick();
        FolderStore::restore(self.inner.as_ref(), id, parent, name, at, e).await
    }
    async fn trashed(&self, q: &TrashQuery<'_>) -> store::Result<Vec<FolderRecord>> {
        self.tick();
        FolderStore::trashed(self.inner.as_ref(), q).await
    }
    async fn subtree(&self, id: &str) -> store::Result<Vec<FolderRecord>> {
        self.tick();
        self.inner.subtree(id).await
    }
}

#[async_trait]
impl GrantStore for Counting {
    async fn put(&self, g: &NewGrant<'_>, e: &AuditEvent) -> store::Result<()> {
        self.tick();
        self.inner.put(g, e).await
    }
    async fn list(&self, which: Listed<'_>) -> store::Result<Vec<GrantRecord>> {
        self.tick();
        GrantStore::list(self.inner.as_ref(), which).await
    }
    async fn access(&self, who: &[&str], ids: &[&str]) -> store::Result<store::Access> {
        self.tick();
        self.inner.access(who, ids).await
    }
    async fn remove(
        &self,
        k: &str,
        id: &str,
        h: store::Holder<'_>,
        e: &AuditEvent,
    ) -> store::Result<bool> {
        self.tick();
        self.inner.remove(k, id, h, e).await
    }
    async fn due_expiries(&self, now: i64, limit: usize) -> store::Result<Vec<GrantRecord>> {
        self.tick();
        self.inner.due_expiries(now, limit).await
    }
    async fn note_expiry(&self, g: &GrantRecord, at: i64, e: &AuditEvent) -> store::Result<bool> {
        self.tick();
        self.inner.note_expiry(g, at, e).await
    }
}

/// The services over one memory store, built from their narrow handles (no `App`); the file,
/// folder and share stores are seen through [`Counting`].
struct World {
    files: Files,
    folders: Folders,
    shares: Shares,
    store: Arc<MemoryStore>,
    counting: Arc<Counting>,
    blobs: Blobs,
    verifier: FileKeys,
    guard: Guard,
    clock: Arc<ManualClock>,
}

fn world() -> World {
    let store = Arc::new(MemoryStore::new());
    let counting = Arc::new(Counting {
        inner: store.clone(),
        calls: AtomicUsize::new(0),
    });
    let clock = Arc::new(ManualClock::starting_now());
    let guard = Guard {
        authz: Arc::new(
            Authorizer::with_policies(false, &[])
                .unwrap()
                .with_clock(clock.clone()),
        ),
        events: store.clone(),
        clock: clock.clone(),
        metrics: Metrics::new(),
        denials: Arc::new(DenialAggregator::new(60, 100)),
        memberships: store.clone(),
        read_events: true,
    };
    let blobs = Blobs::open("memory://", &StorageConfig::default()).unwrap();
    let mut verifier = FileKeys::with_algorithm(Algorithm::Blake3Keyed);
    verifier
        .insert_signing_key("k1", SecretKey::from_bytes(&[7; 32]).unwrap())
        .unwrap();
    let folders = Folders::new(counting.clone(), counting.clone(), guard.clone());
    let files = Files::new(
        counting.clone(),
        store.clone(),
        folders.clone(),
        blobs.clone(),
        verifier.clone(),
        FilesConfig::default(),
        super::usage::Quotas::new(store.clone(), 0, 0),
        guard.clone(),
    );
    let shares = Shares::new(
        counting.clone(),
        store.clone(),
        store.clone(),
        files.clone(),
        folders.clone(),
        guard.clone(),
    );
    World {
        files,
        folders,
        shares,
        store,
        counting,
        blobs,
        verifier,
        guard,
        clock,
    }
}

async fn person(w: &World, id: &str) -> Ctx {
    let user = UserRecord {
        id: id.into(),
        email: format!("{id}@example.com"),
        name: id.into(),
        password_hash: "$argon2id$unused".into(),
        is_admin: false,
        disabled_at: None,
        quota: store::Quota::NONE,
        attributes: Default::default(),
        created_at: 0,
        updated_at: 0,
    };
    let event = Ctx::system()
        .event("account.registered", "user", id)
        .build()
        .unwrap();
    UserStore::create(w.store.as_ref(), &user, &event)
        .await
        .unwrap();
    let mut ctx = w.guard.system_ctx();
    ctx.principal = Principal::User {
        id: id.into(),
        admin: false,
    };
    ctx
}

async fn upload(
    w: &World,
    ctx: &Ctx,
    folder: Option<&str>,
    name: &str,
    body: &'static [u8],
) -> String {
    let new = NewFile {
        name: name.into(),
        folder_id: folder.map(str::to_owned),
        content_type: "text/plain".into(),
    };
    let chunks = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(body))]);
    w.files.upload(ctx, new, chunks).await.unwrap().file.id
}

async fn read(delivery: Delivery) -> Result<Vec<u8>, std::io::Error> {
    let Delivery::Content { mut body, .. } = delivery else {
        panic!("not content");
    };
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

/// Creates group `id` in the memory store, as ann.
async fn new_group(w: &World, id: &str) {
    use crate::store::{GroupRecord, GroupStore};
    let rec = GroupRecord {
        id: id.into(),
        team_id: None,
        name: id.into(),
        description: String::new(),
        created_by: "ann".into(),
        created_at: 0,
        updated_at: 0,
    };
    let event = Ctx::system()
        .event("group.created", "group", id)
        .build()
        .unwrap();
    GroupStore::create(w.store.as_ref(), &rec, &event)
        .await
        .unwrap();
}

/// A file `depth` folders deep in `owner`'s tree: (the top folder, the file).
async fn deep_file(w: &World, owner: &Ctx, depth: usize) -> (String, String) {
    let mut parent: Option<String> = None;
    let mut top = String::new();
    for level in 0..depth {
        let f = w
            .folders
            .create(owner, parent.as_deref(), &format!("level {level}"))
            .await
            .unwrap();
        if level == 0 {
            top = f.id.clone();
        }
        parent = Some(f.id);
    }
    let file = upload(w, owner, parent.as_deref(), "deep.txt", b"deep").await;
    (top, file)
}

#[tokio::test]
async fn a_decision_30_folders_deep_costs_two_round_trips() {
    let w = world();
    let ann = person(&w, "ann").await;
    let bob = person(&w, "bob").await;
    let (top, file) = deep_file(&w, &ann, 30).await;
    // Bob may read it through a share on the top folder, 30 levels up.
    w.shares
        .grant(
            &ann,
            "folder",
            &top,
            Some(ShareWith::Email("bob@example.com")),
            "viewer",
            None,
        )
        .await
        .unwrap();

    for (who, ctx) in [("owner", &ann), ("shared", &bob)] {
        w.counting.calls.store(0, Ordering::SeqCst);
        w.files.get(ctx, &file).await.unwrap();
        assert_eq!(
            w.counting.calls.load(Ordering::SeqCst),
            2,
            "{who}: the file with its folders, then the shares"
        );
    }
    // A refusal costs the same and reveals nothing.
    let eve = person(&w, "eve").await;
    w.counting.calls.store(0, Ordering::SeqCst);
    let refused = w.files.get(&eve, &file).await;
    assert!(matches!(refused, Err(Error::NotFound(_))), "{refused:?}");
    assert_eq!(w.counting.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_member_of_50_groups_among_1000_shares_costs_two_round_trips() {
    use crate::store::{GroupStore, Holder};
    let w = world();
    let ann = person(&w, "ann").await;
    let bob = person(&w, "bob").await;
    let ev = || {
        Ctx::system()
            .event("test.setup", "group", "g")
            .build()
            .unwrap()
    };
    // bob is in g0, g0 in g1, … g48 in g49: 50 groups, all of them bob's.
    for i in 0..50 {
        new_group(&w, &format!("g{i}")).await;
        let child = format!("g{}", i.max(1) - 1);
        let member = if i == 0 {
            Holder::User("bob")
        } else {
            Holder::Group(&child)
        };
        w.store
            .add_member(&format!("g{i}"), member, "ann", 0, &ev())
            .await
            .unwrap();
    }
    let (top, file) = deep_file(&w, &ann, 10).await;
    // 1000 shares elsewhere in the system, and one of the top folder with the outermost group.
    for i in 0..1000 {
        let g = NewGrant {
            resource_kind: "file",
            resource_id: &format!("elsewhere-{i}"),
            holder: Holder::User("bob"),
            role: "viewer",
            granted_by: "ann",
            at: 0,
            expires_at: None,
        };
        GrantStore::put(w.store.as_ref(), &g, &ev()).await.unwrap();
    }
    w.shares
        .grant(
            &ann,
            "folder",
            &top,
            Some(ShareWith::Group("g49")),
            "viewer",
            None,
        )
        .await
        .unwrap_err();
    // (ann is in none of the groups: an administrator shares it.)
    let mut admin = ann.clone();
    admin.principal = Principal::User {
        id: "ann".into(),
        admin: true,
    };
    w.shares
        .grant(
            &admin,
            "folder",
            &top,
            Some(ShareWith::Group("g49")),
            "viewer",
            None,
        )
        .await
        .unwrap();
    w.counting.calls.store(0, Ordering::SeqCst);
    w.files.get(&bob, &file).await.unwrap();
    assert_eq!(
        w.counting.calls.load(Ordering::SeqCst),
        2,
        "the file with its folders, then the roles with the caller's 50 groups"
    );
}

#[tokio::test]
async fn an_altered_blob_fails_verify_and_its_download() {
    let w = world();
    let ann = person(&w, "ann").await;
    let id = upload(&w, &ann, None, "a.txt", b"hello world").await;
    let got = read(w.files.download(&ann, &id, &Want::default()).await.unwrap()).await;
    assert_eq!(got.unwrap(), b"hello world");

    // Same length, one byte changed, behind the server's back.
    let key = crate::blobs::Blobs::key(&id);
    let altered = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(
        b"hello w0rld",
    ))]);
    w.blobs
        .put_stream("owner", &key, altered, 1 << 20, &w.verifier)
        .await
        .unwrap();

    let v = w.files.verify(&ann, &id).await.unwrap();
    assert!(!v.ok && !v.sha256_matches && !v.signature_valid, "{v:?}");
    // A file that fits one read fails before the headers (a problem document); a larger one
    // would end short of its length.
    let got = w.files.download(&ann, &id, &Want::default()).await;
    assert!(
        matches!(&got, Err(Error::Internal(m)) if m.contains("integrity")),
        "an altered file was delivered: {:?}",
        got.map(|_| ())
    );
    assert_eq!(w.guard.metrics.integrity_failures.get(), 1);
    // The failure reaches the audit trail.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(
        w.store
            .events()
            .iter()
            .any(|e| e.action() == "file.integrity_failed"),
        "no file.integrity_failed event"
    );
    // Checking can be turned off (then only the length is checked).
    let unchecked = Files::new(
        w.store.clone(),
        w.store.clone(),
        w.folders.clone(),
        w.blobs.clone(),
        w.verifier.clone(),
        FilesConfig {
            verify_downloads: false,
            ..FilesConfig::default()
        },
        super::usage::Quotas::new(w.store.clone(), 0, 0),
        w.guard.clone(),
    );
    let got = read(
        unchecked
            .download(&ann, &id, &Want::default())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(got.unwrap(), b"hello w0rld");
}

#[tokio::test]
async fn fsck_repairs_a_cycle_on_the_memory_store() {
    let w = world();
    let ann = person(&w, "ann").await;
    let a = w.folders.create(&ann, None, "a").await.unwrap();
    let b = w.folders.create(&ann, Some(&a.id), "b").await.unwrap();
    // Damage no API call can make: a points at its own child.
    w.store.force_parent(&a.id, &b.id);
    let report = w.folders.fsck(false).await.unwrap();
    assert_eq!(report.damage.len(), 1, "{report:?}");
    assert!(!report.repaired);
    let report = w.folders.fsck(true).await.unwrap();
    assert!(report.repaired);
    assert!(w.folders.fsck(false).await.unwrap().damage.is_empty());
    w.folders.get(&ann, &b.id).await.unwrap();
}

#[tokio::test]
async fn events_are_stamped_by_the_server_clock() {
    let w = world();
    let ann = person(&w, "ann").await;
    w.clock.advance_secs(1000 * 86_400);
    let folder = w.folders.create(&ann, None, "later").await.unwrap();
    let events = w.store.events();
    let created = events
        .iter()
        .find(|e| e.action() == "folder.created" && e.resource().id == folder.id)
        .unwrap();
    use crate::clock::Clock;
    assert_eq!(
        created.time().as_microsecond(),
        w.clock.now_micros(),
        "the event time is the server clock's, not the system's"
    );
}

/// One step of the sharing model test.
#[derive(Debug, Clone)]
enum Step {
    /// Share a target (0, 1: ann's folders; 2: ann's file; 3: the team's file) with a holder
    /// (0..3: users; 3, 4: platform groups; 5: the team's group).
    Share(usize, usize),
    Unshare(usize, usize),
    /// Move ann's file into folder 0 or 1.
    Move(usize),
    /// A user (0..3) joins or leaves a group (0, 1: platform groups; 2: the team's group, which
    /// only the team's members may join).
    Join(usize, usize),
    Leave(usize, usize),
    /// A user joins the team (or changes role: 0 guest, 1 editor, 2 admin), or is taken out.
    TeamJoin(usize, usize),
    TeamLeave(usize),
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    // Weighted so that chains such as join the team, join its group, share with the group,
    // leave the team come up within a few dozen cases.
    prop_oneof![
        3 => (0..4usize, 0..6usize).prop_map(|(t, h)| Step::Share(t, h)),
        2 => (0..4usize, 0..6usize).prop_map(|(t, h)| Step::Unshare(t, h)),
        1 => (0..2usize).prop_map(Step::Move),
        3 => (0..3usize, 0..3usize).prop_map(|(u, g)| Step::Join(u, g)),
        1 => (0..3usize, 0..3usize).prop_map(|(u, g)| Step::Leave(u, g)),
        2 => (0..3usize, 0..3usize).prop_map(|(u, r)| Step::TeamJoin(u, r)),
        2 => (0..3usize).prop_map(Step::TeamLeave),
    ]
}

/// Random sequences of share, unshare, move, group join and leave, and team join and leave
/// keep "who can read what" equal to a plain model: a user reads ann's file when a share on it
/// or on its folder names them or a group they are in (group 1 sits inside group 0); the
/// team's file when they are in the team or a share on it names them or a group of theirs.
/// Leaving the team leaves its group.
async fn sharing_matches_the_model(steps: Vec<Step>) {
    use crate::store::{GroupRecord, GroupStore, Holder};
    use std::collections::BTreeSet;
    let w = world();
    let ann = person(&w, "ann").await;
    let mut admin = ann.clone();
    admin.principal = Principal::User {
        id: "ann".into(),
        admin: true,
    };
    // User ids are UUIDs, as the routes that take one expect.
    let users: Vec<String> = (0..3).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let mut ctxs = Vec::new();
    for u in &users {
        ctxs.push(person(&w, u).await);
    }
    let ev = || {
        Ctx::system()
            .event("test.setup", "group", "g")
            .build()
            .unwrap()
    };
    for g in ["ga", "gb"] {
        new_group(&w, g).await;
    }
    w.store
        .add_member("ga", Holder::Group("gb"), "ann", 0, &ev())
        .await
        .unwrap();
    // ann's team, with a file in its space and a group of its own.
    let teams = super::Teams::new(
        w.store.clone(),
        w.store.clone(),
        w.store.clone(),
        w.files.clone(),
        w.guard.clone(),
    );
    let team = teams.create(&ann, "Crew").await.unwrap();
    let team_group = format!("{}.gt", team.id);
    let rec = GroupRecord {
        id: team_group.clone(),
        team_id: Some(team.id.clone()),
        name: "gt".into(),
        description: String::new(),
        created_by: "ann".into(),
        created_at: 0,
        updated_at: 0,
    };
    GroupStore::create(w.store.as_ref(), &rec, &ev())
        .await
        .unwrap();
    let groups = ["ga".to_owned(), "gb".to_owned(), team_group];
    let folders = [
        w.folders.create(&ann, None, "f0").await.unwrap().id,
        w.folders.create(&ann, None, "f1").await.unwrap().id,
    ];
    let file = upload(&w, &ann, Some(&folders[0]), "x.txt", b"x").await;
    let team_file = upload(&w, &ann, Some(&team.space_id), "y.txt", b"y").await;

    // The model.
    let mut shares: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut members: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut in_team: BTreeSet<usize> = BTreeSet::new();
    let mut at = 0usize;
    let target = |t: usize| -> (&'static str, String) {
        match t {
            0 | 1 => ("folder", folders[t].clone()),
            2 => ("file", file.clone()),
            _ => ("file", team_file.clone()),
        }
    };
    for s in steps {
        match s.clone() {
            Step::Share(t, h) => {
                let (kind, id) = target(t);
                let email = format!("{}@example.com", users[h.min(2)]);
                let with = if h < 3 {
                    ShareWith::Email(&email)
                } else {
                    ShareWith::Group(&groups[h - 3])
                };
                w.shares
                    .grant(&admin, kind, &id, Some(with), "viewer", None)
                    .await
                    .unwrap();
                shares.insert((t, h));
            }
            Step::Unshare(t, h) => {
                let (kind, id) = target(t);
                let (hk, hid) = if h < 3 {
                    ("user", users[h].as_str())
                } else {
                    ("group", groups[h - 3].as_str())
                };
                let r = w.shares.revoke(&ann, kind, &id, hk, hid).await;
                assert_eq!(r.is_ok(), shares.remove(&(t, h)), "{s:?}: {r:?}");
            }
            Step::Move(f) => {
                let change = super::files::FileUpdate {
                    name: None,
                    folder_id: Some(folders[f].clone()),
                    public: None,
                };
                w.files.update(&ann, &file, &change).await.unwrap();
                at = f;
            }
            Step::Join(u, g) => {
                let r = w
                    .store
                    .add_member(&groups[g], Holder::User(&users[u]), "ann", 0, &ev())
                    .await;
                if g == 2 && !in_team.contains(&u) {
                    assert!(
                        matches!(r, Err(crate::store::Error::Invalid(_))),
                        "{s:?}: {r:?}"
                    );
                } else {
                    assert_eq!(r.unwrap(), members.insert((u, g)), "{s:?}");
                }
            }
            Step::Leave(u, g) => {
                let removed = w
                    .store
                    .remove_member(&groups[g], Holder::User(&users[u]), &ev())
                    .await
                    .unwrap();
                assert_eq!(removed, members.remove(&(u, g)));
            }
            Step::TeamJoin(u, r) => {
                let email = format!("{}@example.com", users[u]);
                let role = ["guest", "editor", "admin"][r];
                teams.set_role(&ann, &team.id, &email, role).await.unwrap();
                in_team.insert(u);
            }
            Step::TeamLeave(u) => {
                let r = teams.remove_member(&ann, &team.id, &users[u]).await;
                assert_eq!(r.is_ok(), in_team.remove(&u), "{s:?}: {r:?}");
                members.remove(&(u, 2));
            }
        }
        for (u, ctx) in ctxs.iter().enumerate() {
            // Group 0 holds group 1: a member of gb is in ga too.
            let in_group =
                |g: usize| members.contains(&(u, g)) || (g == 0 && members.contains(&(u, 1)));
            let named = |t: usize| {
                shares.contains(&(t, u))
                    || (0..3).any(|g| in_group(g) && shares.contains(&(t, g + 3)))
            };
            let expected = named(2) || named(at);
            let got = w.files.get(ctx, &file).await.is_ok();
            assert_eq!(got, expected, "{} on ann's file after {s:?}", users[u]);
            let expected = in_team.contains(&u) || named(3);
            let got = w.files.get(ctx, &team_file).await.is_ok();
            assert_eq!(got, expected, "{} on the team's file after {s:?}", users[u]);
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]
    #[test]
    fn random_sharing_matches_a_simple_model(steps in proptest::collection::vec(step(), 1..25)) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(sharing_matches_the_model(steps));
    }
}
