//! The trash part of [`FileStore`] and [`FolderStore`]: a trashed item leaves the live
//! namespace (listings, lookups by name, new children) but keeps its row; restore checks the
//! place it goes back to; the trash lists by owner and age; a subtree and a folder's files are
//! found whatever their state.

use super::tree::{file, folder, owner};
use super::{event, fresh};
use crate::store::{Error, FileOrder, FileQuery, FileStore, FolderStore, TrashQuery, UserStore};

fn everything(owner: Option<&str>, before: Option<i64>) -> TrashQuery<'_> {
    TrashQuery {
        owner_id: owner,
        before,
        limit: 100,
    }
}

/// Trash, restore, list and find, one event per write and none for a refused one.
pub async fn trash_contract<S>(store: &S, events: impl AsyncFn() -> u64)
where
    S: UserStore + FolderStore + FileStore + ?Sized,
{
    let ann = owner(store).await;
    let (top, sub, f1, f2) = (fresh("tt"), fresh("ts"), fresh("tf1"), fresh("tf2"));
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
    FileStore::insert(
        store,
        &file(&f1, &ann, "", "a.txt", 1, 10),
        "",
        &crate::store::Quota::NONE,
        &event("file.uploaded"),
    )
    .await
    .unwrap();
    FileStore::insert(
        store,
        &file(&f2, &ann, &sub, "b.txt", 2, 10),
        "",
        &crate::store::Quota::NONE,
        &event("file.uploaded"),
    )
    .await
    .unwrap();
    let before = events().await;

    // A file: out of the listing and the name lookup, still there by id, marked.
    FileStore::trash(store, &f1, 100, &event("file.trashed"))
        .await
        .unwrap();
    let again = FileStore::trash(store, &f1, 101, &event("file.trashed")).await;
    assert!(matches!(again, Err(Error::NotFound)), "{again:?}");
    let listed = FileStore::list(
        store,
        &FileQuery {
            owner_id: &ann,
            folder_id: "",
            order: FileOrder::Name,
            desc: false,
            limit: 100,
            offset: 0,
        },
    )
    .await
    .unwrap();
    assert!(listed.iter().all(|f| f.id != f1), "{listed:?}");
    assert!(store.find_named(&ann, "", "a.txt").await.unwrap().is_none());
    let kept = FileStore::get(store, &f1).await.unwrap().unwrap();
    assert_eq!(kept.trashed_at, Some(100));
    // Its name is free for a new file; restoring onto it then clashes.
    let f3 = fresh("tf3");
    FileStore::insert(
        store,
        &file(&f3, &ann, "", "a.txt", 3, 110),
        "",
        &crate::store::Quota::NONE,
        &event("file.uploaded"),
    )
    .await
    .unwrap();
    let clash = FileStore::restore(store, &f1, "", "a.txt", 120, &event("file.restored")).await;
    assert!(matches!(clash, Err(Error::Conflict(_))), "{clash:?}");

    // A folder: its subtree is hidden through the chain; nothing new goes in.
    FolderStore::trash(store, &top, 200, &event("folder.trashed"))
        .await
        .unwrap();
    let chain = store.chain(&sub).await.unwrap();
    assert_eq!(
        chain.iter().map(|c| c.trashed).collect::<Vec<_>>(),
        vec![false, true]
    );
    let located = store.locate(&f2).await.unwrap().unwrap();
    assert!(located.folders.iter().any(|c| c.trashed));
    assert!(
        store
            .children(&ann, "")
            .await
            .unwrap()
            .iter()
            .all(|f| f.id != top)
    );
    let into = FolderStore::create(
        store,
        &folder(&fresh("tx"), &ann, &top, "late"),
        &event("folder.created"),
    )
    .await;
    assert!(matches!(into, Err(Error::ParentGone)), "{into:?}");
    let upload = FileStore::insert(
        store,
        &file(&fresh("tf4"), &ann, &top, "late.txt", 1, 210),
        "",
        &crate::store::Quota::NONE,
        &event("file.uploaded"),
    )
    .await;
    assert!(matches!(upload, Err(Error::ParentGone)), "{upload:?}");
    let into_trashed =
        FileStore::restore(store, &f1, &top, "a.txt", 220, &event("file.restored")).await;
    assert!(
        matches!(into_trashed, Err(Error::ParentGone)),
        "{into_trashed:?}"
    );
    let live = FileStore::restore(store, &f3, "", "c.txt", 220, &event("file.restored")).await;
    assert!(
        matches!(live, Err(Error::NotFound)),
        "a live file is not in the trash: {live:?}"
    );
    assert_eq!(
        events().await - before,
        3,
        "a refused write records nothing"
    );

    // The trash by owner and age; the subtree and the folder's files whatever their state.
    let files = FileStore::trashed(store, &everything(Some(&ann), None))
        .await
        .unwrap();
    assert_eq!(
        files.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        vec![f1.as_str()]
    );
    let folders = FolderStore::trashed(store, &everything(Some(&ann), None))
        .await
        .unwrap();
    assert_eq!(folders.len(), 1);
    assert_eq!(folders[0].id, top);
    assert!(
        FolderStore::trashed(store, &everything(Some(&ann), Some(200)))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        FolderStore::trashed(store, &everything(None, Some(201)))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        FileStore::trashed(store, &everything(Some("nobody"), None))
            .await
            .unwrap()
            .is_empty()
    );
    let tree = store.subtree(&top).await.unwrap();
    assert_eq!(
        tree.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        vec![top.as_str(), sub.as_str()]
    );
    assert_eq!(store.in_folder(&sub).await.unwrap().len(), 1);
    assert!(store.subtree("no-such-folder").await.unwrap().is_empty());

    // Restores: the folder to the root under a new name, the file beside it.
    FolderStore::restore(store, &top, "", "top (2)", 300, &event("folder.restored"))
        .await
        .unwrap();
    assert!(!store.chain(&sub).await.unwrap().iter().any(|c| c.trashed));
    FileStore::restore(store, &f1, &top, "a.txt", 310, &event("file.restored"))
        .await
        .unwrap();
    let back = FileStore::get(store, &f1).await.unwrap().unwrap();
    assert_eq!(
        (back.trashed_at, back.folder_id.as_str()),
        (None, top.as_str())
    );
    assert!(
        FileStore::trashed(store, &everything(Some(&ann), None))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(events().await - before, 5);
}
