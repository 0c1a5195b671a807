//! The contract of [`ChunkStore`]: pins, commits, releases, drops, the collector's claim and
//! forget with generations (the race with a concurrent upload, step by step, including a
//! collector that crashed after claiming), usage and data keys.

use super::fresh;
use crate::store::chunks::{ChunkRef, ChunkStore, NewPin, WrappedKey};
use crate::store::{Error, UserStore};

fn pin<'a>(upload: &'a str, owner: &'a str, chunk: &'a str, at: i64) -> NewPin<'a> {
    NewPin {
        upload_id: upload,
        owner_id: owner,
        chunk_id: chunk,
        size: 10,
        sealed: true,
        generation: at * 1000 + 7,
        at,
    }
}

fn list(ids: &[&str]) -> Vec<ChunkRef> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| ChunkRef {
            chunk_id: (*id).to_owned(),
            offset: i as u64 * 10,
            size: 10,
        })
        .collect()
}

/// Everything a chunk index promises.
pub async fn chunks_contract<S>(store: &S)
where
    S: ChunkStore + UserStore + ?Sized,
{
    let owner = super::tree::owner(store).await;
    let (x, y) = (fresh("x"), fresh("y"));
    let (up1, up2, up3) = (fresh("up1"), fresh("up2"), fresh("up3"));

    // Two uploads of the same new chunk both write it until one commits.
    let a = store.pin(&pin(&up1, &owner, &x, 1)).await.unwrap();
    assert!(a.must_write && a.sealed);
    let b = store.pin(&pin(&up2, &owner, &x, 1)).await.unwrap();
    assert!(b.must_write, "not known to be written yet");
    store.pin(&pin(&up1, &owner, &y, 1)).await.unwrap();
    store.pin(&pin(&up1, &owner, &x, 1)).await.unwrap();
    // A commit must account for every pin.
    let short = store
        .commit(&up1, "k1", &owner, &list(&[&x, &y]), "b1", 2)
        .await;
    assert!(matches!(short, Err(Error::NotFound)), "{short:?}");
    store
        .commit(&up1, "k1", &owner, &list(&[&x, &y, &x]), "b1", 2)
        .await
        .unwrap();
    let c = store.pin(&pin(&up3, &owner, &x, 3)).await.unwrap();
    assert!(!c.must_write, "written by the commit");
    assert_eq!(c.generation, a.generation);
    store.release(&up3).await.unwrap();
    store.release(&up2).await.unwrap();
    let content = store.content("k1").await.unwrap().unwrap();
    assert_eq!(
        (content.size, content.owner_id.as_str()),
        (30, owner.as_str())
    );
    assert_eq!(
        content.binding.as_deref(),
        Some("b1"),
        "the binding is kept"
    );
    let ranged = store.chunks_of("k1", 12, 25).await.unwrap();
    assert_eq!(
        ranged.iter().map(|c| c.offset).collect::<Vec<_>>(),
        vec![10, 20]
    );
    let usage = store.usage(&owner).await.unwrap();
    assert_eq!((usage.chunks, usage.bytes), (2, 20), "each chunk once");
    assert!(
        store
            .claim(None, 100)
            .await
            .unwrap()
            .iter()
            .all(|c| c.owner_id != owner)
    );

    // Dropping the content frees both; the collector claims them once.
    let freed = store.drop_content("k1").await.unwrap();
    assert_eq!(freed.len(), 2, "{freed:?}");
    assert!(store.content("k1").await.unwrap().is_none());
    assert!(
        store.drop_content("k1").await.unwrap().is_empty(),
        "dropping twice is fine"
    );
    let claimed = store.claim(Some(&freed), 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    // The race: an upload pins x after the claim and before the object is deleted. It gets a
    // new generation (a new object to write), so deleting the old object cannot hurt it, and
    // forgetting the old generation leaves it alone.
    let up4 = fresh("up4");
    let back = store.pin(&pin(&up4, &owner, &x, 5)).await.unwrap();
    assert!(back.must_write);
    assert_eq!(back.generation, a.generation + 1);
    for c in &claimed {
        store.forget(c).await.unwrap();
    }
    store
        .commit(&up4, "k2", &owner, &list(&[&x]), "b2", 6)
        .await
        .unwrap();
    let k2 = store.chunks_of("k2", 0, 10).await.unwrap();
    assert_eq!(k2[0].generation, back.generation);
    assert_eq!(
        store.usage(&owner).await.unwrap().chunks,
        1,
        "y is gone, x is back"
    );

    // A collector that crashed after claiming: its claim is found again and finished.
    let freed = store.drop_content("k2").await.unwrap();
    let lost = store.claim(Some(&freed), 10).await.unwrap();
    assert_eq!(lost.len(), 1);
    let again = store.claim(None, 1000).await.unwrap();
    assert!(again.contains(&lost[0]), "{again:?}");
    store.forget(&again[0]).await.unwrap();
    for c in &again[1..] {
        store.forget(c).await.unwrap();
    }
    assert_eq!(store.usage(&owner).await.unwrap().chunks, 0);
    // Stored again after being forgotten: a generation of its own, never the deleted one's.
    let up6 = fresh("up6");
    let anew = store.pin(&pin(&up6, &owner, &x, 300)).await.unwrap();
    assert!(anew.must_write);
    assert_ne!(anew.generation, lost[0].generation);
    store.release(&up6).await.unwrap();
    let gone: Vec<_> = store.claim(None, 1000).await.unwrap();
    for c in &gone {
        store.forget(c).await.unwrap();
    }

    // Abandoned uploads: found by age, released.
    let up5 = fresh("up5");
    store.pin(&pin(&up5, &owner, &y, 100)).await.unwrap();
    assert!(
        store
            .stale_uploads(50)
            .await
            .unwrap()
            .iter()
            .all(|u| *u != up5)
    );
    assert!(store.stale_uploads(101).await.unwrap().contains(&up5));
    store.release(&up5).await.unwrap();
    assert!(!store.stale_uploads(101).await.unwrap().contains(&up5));
    assert_eq!(store.claim(None, 1000).await.unwrap().len(), 1, "y again");
    assert!(
        store
            .contents_before(i64::MAX, 10)
            .await
            .unwrap()
            .iter()
            .all(|c| c.owner_id != owner)
    );

    // Data keys: the first one stored wins; rewrapping is conditional on the old KEK.
    let first = WrappedKey {
        owner_id: owner.clone(),
        kek_id: "1".into(),
        wrapped: vec![1, 2, 3],
    };
    let second = WrappedKey {
        wrapped: vec![9],
        ..first.clone()
    };
    assert_eq!(store.put_data_key(&first, 1).await.unwrap(), first);
    assert_eq!(
        store.put_data_key(&second, 2).await.unwrap(),
        first,
        "the first stays"
    );
    assert_eq!(store.data_key(&owner).await.unwrap(), Some(first.clone()));
    let under_two = WrappedKey {
        kek_id: "2".into(),
        wrapped: vec![4, 5],
        ..first.clone()
    };
    assert!(
        store
            .keys_not_under("2", 1000)
            .await
            .unwrap()
            .contains(&first)
    );
    assert!(
        !store.rewrap(&under_two, "7", 3).await.unwrap(),
        "not under 7"
    );
    assert!(store.rewrap(&under_two, "1", 3).await.unwrap());
    assert!(
        !store
            .keys_not_under("2", 1000)
            .await
            .unwrap()
            .iter()
            .any(|k| k.owner_id == owner)
    );
    assert_eq!(store.data_key(&owner).await.unwrap(), Some(under_two));
}
