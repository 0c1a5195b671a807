//! Failed sign-ins and rate windows: attempts counted one at a time (also when they race), the
//! back-off and the lock as [`Rules`] say, the lock's event written once and with the lock, a
//! success forgetting the failures but not a lock, unlocking, the list of locks, pruning, and
//! request windows counted exactly under concurrency.

use std::sync::Arc;

use super::{event, fresh};
use crate::store::Error;
use crate::store::throttle::{Admission, DynThrottleStore, Rules};

const S: i64 = 1_000_000;

/// The attempt's number, if it was admitted.
fn number(a: Admission) -> Option<u32> {
    match a {
        Admission::Go { n, .. } => Some(n),
        _ => None,
    }
}

fn rules() -> Rules {
    Rules {
        free: 2,
        base_secs: 10,
        max_secs: 40,
        lock_after: 4,
        forget_after_secs: 3600,
    }
}

/// See the module docs.
pub async fn throttle_contract(store: Arc<DynThrottleStore>, events: impl AsyncFn() -> u64) {
    let r = rules();
    let who = fresh("user:t");
    let t = 1_000_000 * S;
    let before = events().await;

    // Two free failures, then delays of 10 s and 20 s.
    for n in 1..=2 {
        assert_eq!(number(store.admit(&who, &r, t).await.unwrap()), Some(n));
        assert!(
            !store
                .confirm_failure(&who, &r, t, &event("auth.account.locked"))
                .await
                .unwrap()
        );
    }
    assert_eq!(number(store.admit(&who, &r, t).await.unwrap()), Some(3));
    assert_eq!(
        store.admit(&who, &r, t + 2 * S).await.unwrap(),
        Admission::Wait { secs: 8 },
        "a refused attempt is not counted"
    );
    let rec = store.failures(&who).await.unwrap().unwrap();
    assert_eq!(
        (rec.failures, rec.blocked_until, rec.locked_at),
        (3, t + 10 * S, None)
    );
    assert_eq!(
        number(store.admit(&who, &r, t + 10 * S).await.unwrap()),
        Some(4)
    );
    // The fourth failure locks, once, with its event.
    let lock = || event("auth.account.locked");
    assert!(
        store
            .confirm_failure(&who, &r, t + 11 * S, &lock())
            .await
            .unwrap()
    );
    assert!(
        !store
            .confirm_failure(&who, &r, t + 12 * S, &lock())
            .await
            .unwrap()
    );
    assert_eq!(events().await - before, 1, "one lock event");
    assert_eq!(
        store.admit(&who, &r, t + 99_999 * S).await.unwrap(),
        Admission::Locked
    );
    store.forgive(&who).await.unwrap();
    assert_eq!(
        store.failures(&who).await.unwrap().unwrap().locked_at,
        Some(t + 11 * S),
        "a success elsewhere does not lift a lock"
    );

    // The list of locks, oldest first, paged by subject.
    let other = fresh("email:t");
    for n in 1..=4 {
        assert_eq!(
            number(store.admit(&other, &r, t + 100 * S * n).await.unwrap()),
            Some(n as u32)
        );
    }
    assert!(
        store
            .confirm_failure(&other, &r, t + 500 * S, &lock())
            .await
            .unwrap()
    );
    let locked = store.locked(None, 1000).await.unwrap();
    let mine: Vec<&str> = locked
        .iter()
        .map(|l| l.subject.as_str())
        .filter(|s| *s == who || *s == other)
        .collect();
    assert_eq!(mine, [who.as_str(), other.as_str()]);
    let page = store.locked(Some(&who), 1000).await.unwrap();
    assert!(page.iter().any(|l| l.subject == other) && page.iter().all(|l| l.subject != who));

    // Unlocking: only a lock, with its event; then attempts start from zero.
    let unlock = || event("auth.account.unlocked");
    assert!(matches!(
        store.unlock(&fresh("user:none"), &unlock()).await,
        Err(Error::NotFound)
    ));
    let n = events().await;
    store.unlock(&who, &unlock()).await.unwrap();
    assert_eq!(events().await - n, 1);
    assert!(matches!(
        store.unlock(&who, &unlock()).await,
        Err(Error::NotFound)
    ));
    assert_eq!(
        number(store.admit(&who, &r, t + 100_000 * S).await.unwrap()),
        Some(1)
    );
    // A success forgets; clear lifts a lock without an event.
    store.forgive(&who).await.unwrap();
    assert_eq!(store.failures(&who).await.unwrap(), None);
    let n = events().await;
    store.clear(&other).await.unwrap();
    assert_eq!(store.failures(&other).await.unwrap(), None);
    assert_eq!(events().await, n);

    // Racing attempts are each counted: their numbers are 1..=20, each once.
    let racer = fresh("ip:t");
    let open = Rules {
        free: 1000,
        lock_after: 0,
        ..r
    };
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (s, racer) = (store.clone(), racer.clone());
        tasks.push(tokio::spawn(async move {
            s.admit(&racer, &open, t).await.unwrap()
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Admission::Go { n, .. } => numbers.push(n),
            other => panic!("refused: {other:?}"),
        }
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=20).collect::<Vec<_>>());
    // A refund takes one failure back, and no more than there are.
    store.refund(&racer, 0).await.unwrap();
    assert_eq!(store.failures(&racer).await.unwrap().unwrap().failures, 19);
    let once = fresh("ip:once");
    store.admit(&once, &open, t).await.unwrap();
    store.refund(&once, 0).await.unwrap();
    store.refund(&once, 0).await.unwrap();
    assert_eq!(store.failures(&once).await.unwrap().unwrap().failures, 0);
    // A refund lifts the delay its attempt set, not one a later attempt set.
    let own = fresh("ip:own");
    let delayed = Rules {
        free: 0,
        base_secs: 5,
        ..open
    };
    let Admission::Go { until, .. } = store.admit(&own, &delayed, t).await.unwrap() else {
        panic!("refused")
    };
    assert_eq!(until, t + 5 * S);
    store.refund(&own, until).await.unwrap();
    assert_eq!(
        store.failures(&own).await.unwrap().unwrap().blocked_until,
        0
    );
    let Admission::Go { until: first, .. } = store.admit(&own, &delayed, t).await.unwrap() else {
        panic!("refused")
    };
    let Admission::Go { until: second, .. } =
        store.admit(&own, &delayed, t + 10 * S).await.unwrap()
    else {
        panic!("refused")
    };
    assert_eq!((first, second), (t + 5 * S, t + 20 * S));
    store.refund(&own, first).await.unwrap();
    let rec = store.failures(&own).await.unwrap().unwrap();
    assert_eq!((rec.failures, rec.blocked_until), (1, second));
    // Racing attempts past the free ones: only one is let through per delay.
    let burst = fresh("ip:b");
    let strict = Rules {
        free: 0,
        base_secs: 60,
        ..open
    };
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (s, burst) = (store.clone(), burst.clone());
        tasks.push(tokio::spawn(async move {
            s.admit(&burst, &strict, t).await.unwrap()
        }));
    }
    let mut admitted = 0;
    for task in tasks {
        if matches!(task.await.unwrap(), Admission::Go { .. }) {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 1);

    // Pruning takes idle records without a lock and old windows, nothing else.
    let idle = fresh("ip:idle");
    store.admit(&idle, &r, 5 * S).await.unwrap();
    let kept = fresh("user:kept");
    for _ in 0..4 {
        store
            .admit(&kept, &Rules { base_secs: 0, ..r }, 5 * S)
            .await
            .unwrap();
    }
    assert!(
        store
            .confirm_failure(&kept, &r, 5 * S, &lock())
            .await
            .unwrap()
    );
    assert!(store.prune(6 * S).await.unwrap() >= 1);
    assert_eq!(store.failures(&idle).await.unwrap(), None);
    assert!(store.failures(&kept).await.unwrap().is_some());
    assert!(store.failures(&racer).await.unwrap().is_some());
    store.clear(&kept).await.unwrap();

    // Request windows: counted exactly when racing; a new window starts again from one.
    let key = fresh("ip:w");
    let w = 60 * S * 1_000_000;
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let (s, key) = (store.clone(), key.clone());
        tasks.push(tokio::spawn(async move { s.hit(&key, w).await.unwrap() }));
    }
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=30).collect::<Vec<u64>>());
    assert_eq!(store.hit(&key, w + 60 * S).await.unwrap(), 1);
    assert_eq!(store.hit(&key, w + 60 * S).await.unwrap(), 2);
    assert_eq!(store.hit(&fresh("ip:w"), w).await.unwrap(), 1);
}
