//! [`UsageLedger`]: samples append only as their account's next, each with one event, and the
//! history an export needs.

use std::sync::Arc;

use super::{event, fresh};
use crate::store::usage::{DynUsageLedger, UsageFigures, UsageSample};

fn sample(user: &str, seq: i64, at: i64, bytes: u64) -> UsageSample {
    UsageSample {
        user_id: user.to_owned(),
        seq,
        at,
        figures: UsageFigures {
            files: 1,
            logical_bytes: bytes,
            stored_bytes: bytes / 2,
            ..UsageFigures::ZERO
        },
    }
}

/// Appends (in order, refused duplicates and gaps without events), the latest per account,
/// the history of a window with paging, and two meters racing to append one change.
pub async fn usage_contract(store: Arc<DynUsageLedger>, events: impl AsyncFn() -> u64) {
    // Ids that sort in this order, after any other test's.
    let tag = fresh("usage");
    let (a, b) = (format!("{tag}-a"), format!("{tag}-b"));
    let ev = || event("usage.changed");
    let before = events().await;
    let n = store
        .append(&[(sample(&a, 1, 10, 100), ev()), (sample(&b, 1, 10, 7), ev())])
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(events().await - before, 2, "one event per sample");

    let before = events().await;
    let dup = store
        .append(&[(sample(&a, 1, 11, 999), ev())])
        .await
        .unwrap();
    let gap = store
        .append(&[(sample(&a, 3, 11, 999), ev())])
        .await
        .unwrap();
    assert_eq!((dup, gap), (0, 0), "a taken seq and a gap are skipped");
    assert_eq!(events().await, before, "a skipped sample has no event");
    // One batch: the skipped one does not stop the others.
    let n = store
        .append(&[(sample(&a, 2, 20, 300), ev()), (sample(&b, 1, 20, 8), ev())])
        .await
        .unwrap();
    assert_eq!(n, 1);

    let latest: Vec<UsageSample> = store
        .latest()
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.user_id.starts_with(&tag))
        .collect();
    assert_eq!(latest, vec![sample(&a, 2, 20, 300), sample(&b, 1, 10, 7)]);

    // A window after both first samples: each account's state at its start, then its changes.
    let h = store.history(15, 30, Some(&tag), 10).await.unwrap();
    assert_eq!(
        h,
        vec![
            sample(&a, 1, 10, 100),
            sample(&a, 2, 20, 300),
            sample(&b, 1, 10, 7)
        ]
    );
    let h = store.history(10, 20, Some(&tag), 10).await.unwrap();
    assert_eq!(
        h,
        vec![sample(&a, 1, 10, 100), sample(&b, 1, 10, 7)],
        "to is exclusive"
    );
    assert!(
        store
            .history(0, 10, Some(&tag), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Paging by account.
    let page = store.history(15, 30, Some(&tag), 1).await.unwrap();
    assert!(page.iter().all(|s| s.user_id == a), "{page:?}");
    let page = store.history(15, 30, Some(&a), 1).await.unwrap();
    assert_eq!(page, vec![sample(&b, 1, 10, 7)]);
    assert!(store.history(15, 30, Some(&b), 1).await.unwrap().is_empty());

    // Two meters saw the same change: one sample, one event.
    let before = events().await;
    let racing: Vec<_> = (0..4)
        .map(|i| {
            let (store, b) = (store.clone(), b.clone());
            tokio::spawn(async move {
                store
                    .append(&[(sample(&b, 2, 40 + i, 9), event("usage.changed"))])
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut written = 0;
    for t in racing {
        written += t.await.unwrap();
    }
    assert_eq!(written, 1);
    assert_eq!(events().await - before, 1);
}
