//! The contract of [`VersionStore`]: numbering, the files row's mirror, `If-Match`, removal,
//! retention, blob references.

use std::sync::Arc;

use super::tree::file;
use super::{event, fresh, user};
use crate::store::{Error, FileStore, NewVersion, UserStore, VersionStore};

fn content(file_id: &str, blob: &str, sha: &str, at: i64) -> NewVersion {
    NewVersion {
        file_id: file_id.into(),
        if_match: None,
        size: 3,
        content_type: "text/plain".into(),
        sha256: sha.into(),
        signature: format!("sig-{sha}"),
        blob_key: blob.into(),
        created_by: "writer".into(),
        at,
        restored_from: None,
        quota: crate::store::Quota::NONE,
        words: String::new(),
    }
}

/// Version 1 at insert, then 2, 3 …; the files row follows; `If-Match` holds inside the write;
/// the current version cannot go; retention picks the right ones; blob references are counted.
pub async fn versions_contract<S>(store: &S, events: impl AsyncFn() -> u64)
where
    S: UserStore + FileStore + VersionStore + ?Sized,
{
    let ann = fresh("vowner");
    UserStore::create(
        store,
        &user(&ann, &format!("{ann}@example.com"), false),
        &event("account.registered"),
    )
    .await
    .unwrap();
    let id = fresh("vfile");
    let first = file(&id, &ann, "", "v.txt", 30, 10);
    FileStore::insert(
        store,
        &first,
        "",
        &crate::store::Quota::NONE,
        &event("file.uploaded"),
    )
    .await
    .unwrap();
    let listed = VersionStore::list(store, &id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].version, listed[0].blob_key.as_str()),
        (1, first.blob_key.as_str())
    );
    assert_eq!(
        FileStore::get(store, &id).await.unwrap().unwrap().version,
        1
    );

    let before = events().await;
    let v2 = store
        .add(
            &content(&id, &fresh("blob"), "bb", 20),
            &event("file.versioned"),
        )
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    let current = FileStore::get(store, &id).await.unwrap().unwrap();
    assert_eq!(
        (
            current.version,
            current.sha256.as_str(),
            current.blob_key.as_str(),
            current.size
        ),
        (2, "bb", v2.blob_key.as_str(), 3)
    );
    assert_eq!(current.updated_at, 20);
    // If-Match: the right tag writes, a stale one is refused and records nothing.
    let mut guarded = content(&id, &fresh("blob"), "cc", 30);
    guarded.if_match = Some(vec!["bb".into()]);
    assert_eq!(
        store
            .add(&guarded, &event("file.versioned"))
            .await
            .unwrap()
            .version,
        3
    );
    let mut stale = content(&id, &fresh("blob"), "dd", 40);
    stale.if_match = Some(vec!["bb".into()]);
    let refused = store.add(&stale, &event("file.versioned")).await;
    assert!(
        matches!(refused, Err(Error::Stale { current: 3 })),
        "{refused:?}"
    );
    let missing = store
        .add(
            &content("no-such-file", "b", "ee", 1),
            &event("file.versioned"),
        )
        .await;
    assert!(matches!(missing, Err(Error::NotFound)), "{missing:?}");
    assert_eq!(events().await - before, 2);

    // A restore shares its source's blob.
    let mut restore = content(&id, &first.blob_key, &first.sha256, 50);
    restore.restored_from = Some(1);
    let v4 = store.add(&restore, &event("file.restored")).await.unwrap();
    assert_eq!((v4.version, v4.restored_from), (4, Some(1)));
    let all: Vec<i64> = VersionStore::list(store, &id)
        .await
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(all, [4, 3, 2, 1], "newest first");
    assert_eq!(
        VersionStore::get(store, &id, 2)
            .await
            .unwrap()
            .unwrap()
            .sha256,
        "bb"
    );
    assert!(VersionStore::get(store, &id, 9).await.unwrap().is_none());

    // Removal: never the current one; a shared blob stays referenced.
    let before = events().await;
    let current_gone = store.remove(&id, 4, &event("file.version_deleted")).await;
    assert!(
        matches!(current_gone, Err(Error::Conflict(_))),
        "{current_gone:?}"
    );
    let nine = store.remove(&id, 9, &event("file.version_deleted")).await;
    assert!(matches!(nine, Err(Error::NotFound)), "{nine:?}");
    assert_eq!(events().await - before, 0);
    let shared = store
        .remove(&id, 1, &event("file.version_deleted"))
        .await
        .unwrap();
    assert_eq!(shared.unreferenced_blob, None, "version 4 still uses it");
    assert!(store.blob_in_use(&first.blob_key).await.unwrap());
    let own = store
        .remove(&id, 2, &event("file.version_deleted"))
        .await
        .unwrap();
    assert_eq!(own.unreferenced_blob.as_deref(), Some(v2.blob_key.as_str()));
    assert!(!store.blob_in_use(&v2.blob_key).await.unwrap());
    assert_eq!(events().await - before, 2);

    // Deleting the file hands back every blob its versions used.
    let blobs = FileStore::delete(store, &id, &event("file.deleted"))
        .await
        .unwrap()
        .unwrap();
    let mut want = vec![first.blob_key.clone(), guarded.blob_key.clone()];
    want.sort();
    let mut got = blobs;
    got.sort();
    assert_eq!(got, want);
    assert!(VersionStore::list(store, &id).await.unwrap().is_empty());
}

/// Retention: keep-last, keep-since and both (a version either rule keeps stays); the current
/// version always stays.
pub async fn versions_retention<S>(store: Arc<S>)
where
    S: UserStore + FileStore + VersionStore + ?Sized,
{
    let ann = fresh("rowner");
    UserStore::create(
        store.as_ref(),
        &user(&ann, &format!("{ann}@example.com"), false),
        &event("account.registered"),
    )
    .await
    .unwrap();
    let id = fresh("rfile");
    // Versions 1..=5 made at times 100, 200, … 500.
    FileStore::insert(
        store.as_ref(),
        &file(&id, &ann, "", "r.txt", 1, 100),
        "",
        &crate::store::Quota::NONE,
        &event("file.uploaded"),
    )
    .await
    .unwrap();
    for at in [200, 300, 400, 500] {
        store
            .add(
                &content(&id, &fresh("blob"), &format!("s{at}"), at),
                &event("file.versioned"),
            )
            .await
            .unwrap();
    }
    let mine = |all: Vec<(String, i64)>| {
        all.into_iter()
            .filter(|(f, _)| f == &id)
            .map(|(_, v)| v)
            .collect::<Vec<_>>()
    };
    assert!(
        mine(store.expired(0, None, 100).await.unwrap()).is_empty(),
        "no rule, no pruning"
    );
    assert_eq!(
        mine(store.expired(2, None, 100).await.unwrap()),
        [1, 2, 3],
        "oldest first"
    );
    assert_eq!(
        mine(store.expired(0, Some(350), 100).await.unwrap()),
        [1, 2, 3]
    );
    assert_eq!(
        mine(store.expired(4, Some(350), 100).await.unwrap()),
        [1],
        "either rule keeps"
    );
    assert_eq!(
        mine(store.expired(1, Some(10_000), 100).await.unwrap()),
        [1, 2, 3, 4]
    );
    assert!(
        !mine(store.expired(1, Some(10_000), 100).await.unwrap()).contains(&5),
        "the current version is never expired"
    );
}
