//! The contract of [`FileStore`] and [`FolderStore`]: names, missing parents, nesting, cycles,
//! emptiness, one event per write.

use std::sync::Arc;

use super::{event, fresh, user};
use crate::store::{
    Error, FileChange, FileOrder, FileQuery, FileRecord, FileStore, FolderChange, FolderRecord,
    FolderStore, MAX_DEPTH, UserStore,
};

/// A file record for `owner` in `folder`.
pub fn file(id: &str, owner: &str, folder: &str, name: &str, size: u64, at: i64) -> FileRecord {
    FileRecord {
        id: id.into(),
        owner_id: owner.into(),
        folder_id: folder.into(),
        name: name.into(),
        size,
        content_type: "text/plain".into(),
        sha256: "00".repeat(32),
        signature: "sr1:test".into(),
        blob_key: format!("blobs/{id}"),
        public: false,
        version: 1,
        created_at: at,
        updated_at: at,
        trashed_at: None,
    }
}

/// A folder record for `owner` in `parent`.
pub fn folder(id: &str, owner: &str, parent: &str, name: &str) -> FolderRecord {
    FolderRecord {
        id: id.into(),
        owner_id: owner.into(),
        parent_id: parent.into(),
        name: name.into(),
        public: false,
        created_at: 7,
        updated_at: 7,
        trashed_at: None,
    }
}

pub(super) async fn owner<S: UserStore + ?Sized>(store: &S) -> String {
    let id = fresh("owner");
    UserStore::create(
        store,
        &user(&id, &format!("{id}@example.com"), false),
        &event("account.registered"),
    )
    .await
    .unwrap();
    id
}

/// Folders: create, look up, list by name, unique names per parent, missing parents, the depth
/// limit on create and on move, no move into itself or below itself, delete only when empty;
/// one event per write and none for a refused one.
pub async fn folders_contract<S>(store: &S, events: impl AsyncFn() -> u64)
where
    S: UserStore + FolderStore + FileStore + ?Sized,
{
    let ann = owner(store).await;
    let before = events().await;
    let (a, b, c) = (fresh("fa"), fresh("fb"), fresh("fc"));
    FolderStore::create(store, &folder(&a, &ann, "", "A"), &event("folder.created"))
        .await
        .unwrap();
    FolderStore::create(store, &folder(&b, &ann, &a, "B"), &event("folder.created"))
        .await
        .unwrap();
    FolderStore::create(store, &folder(&c, &ann, &a, "C"), &event("folder.created"))
        .await
        .unwrap();
    assert_eq!(events().await - before, 3);
    assert_eq!(
        FolderStore::get(store, &b).await.unwrap().unwrap(),
        folder(&b, &ann, &a, "B")
    );
    assert!(
        FolderStore::get(store, "no-such-folder")
            .await
            .unwrap()
            .is_none()
    );
    let names: Vec<String> = FolderStore::children(store, &ann, &a)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["B", "C"]);
    let chain = store.chain(&b).await.unwrap();
    let ids: Vec<&str> = chain.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, [b.as_str(), a.as_str()], "nearest first");
    assert_eq!(chain[1].parent_id, "");
    assert!(store.chain("no-such-folder").await.unwrap().is_empty());

    // Refusals, each recording nothing.
    let before = events().await;
    let dup = FolderStore::create(
        store,
        &folder(&fresh("fd"), &ann, &a, "B"),
        &event("folder.created"),
    )
    .await;
    assert!(
        matches!(&dup, Err(Error::Conflict(m)) if m.contains("folder")),
        "{dup:?}"
    );
    let orphan = FolderStore::create(
        store,
        &folder(&fresh("fe"), &ann, "no-such-folder", "E"),
        &event("folder.created"),
    )
    .await;
    assert!(matches!(orphan, Err(Error::ParentGone)), "{orphan:?}");
    let into_self = FolderStore::update(
        store,
        &a,
        &FolderChange {
            parent_id: Some(b.clone()),
            ..Default::default()
        },
        9,
        &event("folder.updated"),
    )
    .await;
    assert!(matches!(into_self, Err(Error::Invalid(_))), "{into_self:?}");
    let rename = FolderStore::update(
        store,
        &c,
        &FolderChange {
            name: Some("B".into()),
            ..Default::default()
        },
        9,
        &event("folder.updated"),
    )
    .await;
    assert!(matches!(rename, Err(Error::Conflict(_))), "{rename:?}");
    let missing = FolderStore::update(
        store,
        "no-such-folder",
        &FolderChange {
            name: Some("Z".into()),
            ..Default::default()
        },
        9,
        &event("folder.updated"),
    )
    .await;
    assert!(matches!(missing, Err(Error::NotFound)), "{missing:?}");
    let not_empty = FolderStore::delete(store, &a, &event("folder.deleted")).await;
    assert!(
        matches!(&not_empty, Err(Error::Conflict(m)) if m.contains("not empty")),
        "{not_empty:?}"
    );
    assert_eq!(
        events().await - before,
        0,
        "a refused write records nothing"
    );

    // A move, a rename, publishing.
    FolderStore::update(
        store,
        &c,
        &FolderChange {
            name: Some("C2".into()),
            parent_id: Some(b.clone()),
            public: Some(true),
        },
        11,
        &event("folder.updated"),
    )
    .await
    .unwrap();
    let moved = FolderStore::get(store, &c).await.unwrap().unwrap();
    assert_eq!(
        (moved.name.as_str(), moved.parent_id.as_str(), moved.public),
        ("C2", b.as_str(), true)
    );
    assert_eq!(moved.updated_at, 11);
    assert_eq!(store.chain(&c).await.unwrap().len(), 3);

    // A file keeps its folder from being deleted.
    let f = fresh("file");
    store
        .insert(
            &file(&f, &ann, &c, "x", 1, 1),
            "",
            &crate::store::Quota::NONE,
            &event("file.uploaded"),
        )
        .await
        .unwrap();
    let busy = FolderStore::delete(store, &c, &event("folder.deleted")).await;
    assert!(matches!(busy, Err(Error::Conflict(_))), "{busy:?}");
    assert!(
        FileStore::delete(store, &f, &event("file.deleted"))
            .await
            .unwrap()
            .is_some()
    );
    FolderStore::delete(store, &c, &event("folder.deleted"))
        .await
        .unwrap();
    let gone = FolderStore::delete(store, &c, &event("folder.deleted")).await;
    assert!(matches!(gone, Err(Error::NotFound)), "{gone:?}");

    // fsck's view and repair.
    let edges = store.edges().await.unwrap();
    assert!(
        edges
            .iter()
            .any(|e| e.id == b && e.parent_id == a && e.owner_id == ann)
    );
    store
        .reattach(&b, "B at the root", 12, &event("folder.repaired"))
        .await
        .unwrap();
    assert_eq!(store.chain(&b).await.unwrap().len(), 1);
    let taken = store.reattach(&b, "A", 12, &event("folder.repaired")).await;
    assert!(matches!(taken, Err(Error::Conflict(_))), "{taken:?}");
}

/// Nesting stops at [`MAX_DEPTH`], on create and on a move that would carry a subtree below it.
pub async fn folders_depth<S>(store: &S)
where
    S: UserStore + FolderStore + ?Sized,
{
    let ann = owner(store).await;
    let mut parent = String::new();
    let mut ids = Vec::new();
    for level in 0..MAX_DEPTH {
        let id = fresh(&format!("d{level}"));
        FolderStore::create(
            store,
            &folder(&id, &ann, &parent, "d"),
            &event("folder.created"),
        )
        .await
        .unwrap();
        ids.push(id.clone());
        parent = id;
    }
    let deeper = FolderStore::create(
        store,
        &folder(&fresh("dx"), &ann, &parent, "d"),
        &event("folder.created"),
    )
    .await;
    assert!(matches!(deeper, Err(Error::Invalid(_))), "{deeper:?}");
    assert_eq!(store.chain(&parent).await.unwrap().len(), MAX_DEPTH);
    // A two-level tree at the root cannot move under the 63rd level.
    let (top, below) = (fresh("t"), fresh("tb"));
    FolderStore::create(
        store,
        &folder(&top, &ann, "", "top"),
        &event("folder.created"),
    )
    .await
    .unwrap();
    FolderStore::create(
        store,
        &folder(&below, &ann, &top, "below"),
        &event("folder.created"),
    )
    .await
    .unwrap();
    let too_deep = FolderStore::update(
        store,
        &top,
        &FolderChange {
            parent_id: Some(ids[MAX_DEPTH - 2].clone()),
            ..Default::default()
        },
        1,
        &event("folder.updated"),
    )
    .await;
    assert!(matches!(too_deep, Err(Error::Invalid(_))), "{too_deep:?}");
    // One level higher it fits exactly.
    FolderStore::update(
        store,
        &top,
        &FolderChange {
            parent_id: Some(ids[MAX_DEPTH - 3].clone()),
            ..Default::default()
        },
        1,
        &event("folder.updated"),
    )
    .await
    .unwrap();
    assert_eq!(store.chain(&below).await.unwrap().len(), MAX_DEPTH);
}

/// Two opposite moves racing each other (A into B, B into A) never both succeed: the tree stays
/// a tree.
pub async fn folders_racing_moves<S>(store: Arc<S>)
where
    S: UserStore + FolderStore + ?Sized,
{
    let ann = owner(store.as_ref()).await;
    for round in 0..10 {
        let (a, b) = (fresh(&format!("ra{round}")), fresh(&format!("rb{round}")));
        for (id, name) in [(&a, "a"), (&b, "b")] {
            FolderStore::create(
                store.as_ref(),
                &folder(id, &ann, "", &format!("{name}{round}")),
                &event("folder.created"),
            )
            .await
            .unwrap();
        }
        let mv = |what: String, into: String| {
            let store = store.clone();
            tokio::spawn(async move {
                let change = FolderChange {
                    parent_id: Some(into),
                    ..Default::default()
                };
                FolderStore::update(store.as_ref(), &what, &change, 1, &event("folder.updated"))
                    .await
            })
        };
        let (x, y) = (mv(a.clone(), b.clone()), mv(b.clone(), a.clone()));
        let (x, y) = (x.await.unwrap(), y.await.unwrap());
        assert!(
            x.is_err() || y.is_err(),
            "both opposite moves succeeded: {x:?} {y:?}"
        );
        assert!(store.chain(&a).await.unwrap().len() <= 2);
        assert!(store.chain(&b).await.unwrap().len() <= 2);
    }
}

/// Files: insert, look up, locate with the folders above (nearest first), list pages in every
/// order, unique names per folder, missing folders, rename/move/publish, delete once; one event
/// per write and none for a refused one.
pub async fn files_contract<S>(store: &S, events: impl AsyncFn() -> u64)
where
    S: UserStore + FolderStore + FileStore + ?Sized,
{
    let ann = owner(store).await;
    let (top, sub) = (fresh("top"), fresh("sub"));
    FolderStore::create(
        store,
        &folder(&top, &ann, "", "top"),
        &event("folder.created"),
    )
    .await
    .unwrap();
    FolderStore::create(
        store,
        &folder(&sub, &ann, &top, "sub"),
        &event("folder.created"),
    )
    .await
    .unwrap();
    let before = events().await;
    let (x, y, z) = (fresh("x"), fresh("y"), fresh("z"));
    store
        .insert(
            &file(&x, &ann, "", "b.txt", 30, 1),
            "",
            &crate::store::Quota::NONE,
            &event("file.uploaded"),
        )
        .await
        .unwrap();
    store
        .insert(
            &file(&y, &ann, "", "a.txt", 10, 2),
            "",
            &crate::store::Quota::NONE,
            &event("file.uploaded"),
        )
        .await
        .unwrap();
    store
        .insert(
            &file(&z, &ann, &sub, "deep.txt", 20, 3),
            "",
            &crate::store::Quota::NONE,
            &event("file.uploaded"),
        )
        .await
        .unwrap();
    assert_eq!(events().await - before, 3);
    assert_eq!(
        FileStore::get(store, &x).await.unwrap().unwrap(),
        file(&x, &ann, "", "b.txt", 30, 1)
    );
    assert!(FileStore::get(store, "nope").await.unwrap().is_none());

    let at_root = store.locate(&x).await.unwrap().unwrap();
    assert!(at_root.folders.is_empty());
    let deep = store.locate(&z).await.unwrap().unwrap();
    assert_eq!(deep.file.id, z);
    let ids: Vec<&str> = deep.folders.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, [sub.as_str(), top.as_str()], "nearest first");
    assert!(store.locate("nope").await.unwrap().is_none());

    let page = |order, desc, limit, offset| FileQuery {
        owner_id: &ann,
        folder_id: "",
        order,
        desc,
        limit,
        offset,
    };
    let names = |files: Vec<FileRecord>| files.into_iter().map(|f| f.name).collect::<Vec<_>>();
    assert_eq!(
        names(
            FileStore::list(store, &page(FileOrder::Name, false, 10, 0))
                .await
                .unwrap()
        ),
        ["a.txt", "b.txt"]
    );
    assert_eq!(
        names(
            FileStore::list(store, &page(FileOrder::Size, true, 10, 0))
                .await
                .unwrap()
        ),
        ["b.txt", "a.txt"]
    );
    assert_eq!(
        names(
            FileStore::list(store, &page(FileOrder::Created, false, 1, 1))
                .await
                .unwrap()
        ),
        ["a.txt"]
    );
    assert!(
        FileStore::list(store, &page(FileOrder::Updated, false, 10, 5))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .find_named(&ann, "", "a.txt")
            .await
            .unwrap()
            .unwrap()
            .id,
        y
    );
    assert_eq!(
        store
            .find_named(&ann, &sub, "deep.txt")
            .await
            .unwrap()
            .unwrap()
            .id,
        z
    );
    assert!(
        store
            .find_named(&ann, &top, "deep.txt")
            .await
            .unwrap()
            .is_none()
    );

    // Refusals, each recording nothing.
    let before = events().await;
    let dup = store
        .insert(
            &file(&fresh("w"), &ann, "", "a.txt", 1, 1),
            "",
            &crate::store::Quota::NONE,
            &event("file.uploaded"),
        )
        .await;
    assert!(
        matches!(&dup, Err(Error::Conflict(m)) if m.contains("file")),
        "{dup:?}"
    );
    let orphan = store
        .insert(
            &file(&fresh("w"), &ann, "no-such-folder", "w", 1, 1),
            "",
            &crate::store::Quota::NONE,
            &event("file.uploaded"),
        )
        .await;
    assert!(matches!(orphan, Err(Error::ParentGone)), "{orphan:?}");
    let rename = FileStore::update(
        store,
        &x,
        &FileChange {
            name: Some("a.txt".into()),
            ..Default::default()
        },
        5,
        &event("file.renamed"),
    )
    .await;
    assert!(matches!(rename, Err(Error::Conflict(_))), "{rename:?}");
    let nowhere = FileStore::update(
        store,
        &x,
        &FileChange {
            folder_id: Some("no-such-folder".into()),
            ..Default::default()
        },
        5,
        &event("file.moved"),
    )
    .await;
    assert!(matches!(nowhere, Err(Error::ParentGone)), "{nowhere:?}");
    let missing = FileStore::update(
        store,
        "nope",
        &FileChange {
            name: Some("n".into()),
            ..Default::default()
        },
        5,
        &event("file.renamed"),
    )
    .await;
    assert!(matches!(missing, Err(Error::NotFound)), "{missing:?}");
    assert!(
        FileStore::delete(store, "nope", &event("file.deleted"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        events().await - before,
        0,
        "a refused write records nothing"
    );

    // The same name may sit in another folder; a move, a rename and publishing at once.
    FileStore::update(
        store,
        &x,
        &FileChange {
            name: Some("deep.txt".into()),
            folder_id: Some(top.clone()),
            public: Some(true),
        },
        6,
        &event("file.moved"),
    )
    .await
    .unwrap();
    let moved = FileStore::get(store, &x).await.unwrap().unwrap();
    assert_eq!(
        (
            moved.name.as_str(),
            moved.folder_id.as_str(),
            moved.public,
            moved.updated_at
        ),
        ("deep.txt", top.as_str(), true, 6)
    );
    assert_eq!(store.locate(&x).await.unwrap().unwrap().folders.len(), 1);
    // Back to the root.
    FileStore::update(
        store,
        &x,
        &FileChange {
            folder_id: Some(String::new()),
            ..Default::default()
        },
        7,
        &event("file.moved"),
    )
    .await
    .unwrap();
    assert!(store.locate(&x).await.unwrap().unwrap().folders.is_empty());

    let before = events().await;
    assert!(
        FileStore::delete(store, &z, &event("file.deleted"))
            .await
            .unwrap()
            .is_some_and(|blobs| blobs == [format!("blobs/{z}")])
    );
    assert!(FileStore::get(store, &z).await.unwrap().is_none());
    assert_eq!(events().await - before, 1);
}

/// Quotas hold inside the write: of 20 concurrent inserts of 100 bytes under a 1000-byte quota,
/// exactly 10 commit (the rest are `QuotaExceeded`), and a new version past it is refused too.
pub async fn files_quota_under_concurrency<S>(store: Arc<S>)
where
    S: UserStore + FileStore + crate::store::VersionStore + ?Sized + 'static,
{
    let ann = owner(store.as_ref()).await;
    let quota = crate::store::Quota {
        bytes: Some(1000),
        files: None,
    };
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (store, ann) = (store.clone(), ann.clone());
            tokio::spawn(async move {
                let f = file(&fresh("q"), &ann, "", &format!("q{i}"), 100, 1);
                FileStore::insert(store.as_ref(), &f, "", &quota, &event("file.uploaded")).await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(Error::QuotaExceeded(_)) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(ok, 10);
    let usage = FileStore::usage(store.as_ref(), &ann).await.unwrap();
    assert_eq!((usage.files, usage.bytes), (10, 1000));
}
