//! The test suite every [`AuditStore`](crate::AuditStore) backend runs, exposed so that out-of-tree backends can run
//! it too.
//!
//! Each function is a plain `async fn` taking `&DynAuditStore` that panics on failure. Every call
//! works in fresh, randomly named chains, so the suite can share a store with other data, but it
//! **writes test data**: point it at a throwaway database. This module is for backend authors and
//! is not a stable API.
//!
//! [`tampering_is_detected`] also needs a [`Tamper`]: raw access to the backend's rows, to make
//! the edits an attacker with write access to the database (but not to the signing key) makes.
//! The built-in stores implement it (SQL `UPDATE`s and `DELETE`s for SQLite and PostgreSQL).

pub mod outbox;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use uuid::Uuid;

use crate::{
    Actor, AuditEvent, AuditLog, AuditQuery, AuditRecord, ChainId, Checkpoint, CheckpointAnchor,
    CheckpointKind, CheckpointSigner, Digest, DynAuditStore, Error, ManualClock,
    MemoryCheckpointAnchor, Order, Outcome, Resource, TamperKind,
};

/// Runs every test in this module.
pub async fn run_all(store: Arc<DynAuditStore>) {
    empty_chain(&*store).await;
    compare_and_append(&*store).await;
    append_read_verify(store.clone()).await;
    duplicate_events(store.clone()).await;
    query_filters(store.clone()).await;
    pagination_is_stable_under_concurrent_appends(store.clone()).await;
    concurrent_writers_cannot_fork_a_chain(store.clone()).await;
    checkpoints_catch_tampering(store.clone()).await;
    retention_leaves_a_verifiable_anchor(store.clone()).await;
    chains_are_independent(store.clone()).await;
    verify_during_appends_never_raises_a_false_alarm(store.clone()).await;
}

fn fresh_chain(name: &str) -> ChainId {
    ChainId::new(format!("{name}-{}", Uuid::now_v7().simple())).expect("valid chain id")
}

fn t(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).expect("valid time")
}

fn event(actor: &str, action: &str, resource: &str, second: i64) -> AuditEvent {
    AuditEvent::builder(
        Actor::User(actor.into()),
        action,
        Resource::new("file", resource).expect("valid resource"),
    )
    .time(t(second))
    .attribute("n", second)
    .build()
    .expect("valid event")
}

fn log(store: Arc<DynAuditStore>, chain: &ChainId) -> AuditLog {
    AuditLog::builder(store, chain.clone(), CheckpointSigner::from_seed(&[42; 32]))
        .checkpoint_every(0)
        .checkpoint_interval(Duration::ZERO)
        .build()
}

/// The signed head an append of `records` (ending in `last`) carries, signed by `seed`'s key.
fn signed_head(chain: &ChainId, last: &AuditRecord, seed: u8) -> Checkpoint {
    CheckpointSigner::from_seed(&[seed; 32]).sign(
        chain,
        CheckpointKind::Head,
        last.seq,
        last.hash,
        t(0),
    )
}

/// A chain never written has seq 0, the genesis hash, no records, checkpoints or anchor.
pub async fn empty_chain(store: &DynAuditStore) {
    let chain = fresh_chain("empty");
    let head = store.head(&chain).await.unwrap();
    assert_eq!(head.seq, 0);
    assert_eq!(head.hash, chain.genesis());
    assert!(store.read(&chain, 0, 10).await.unwrap().is_empty());
    assert!(
        store
            .query(&chain, &AuditQuery::new())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.latest_checkpoint(&chain).await.unwrap().is_none());
    assert!(store.anchor(&chain).await.unwrap().is_none());
    assert!(store.signed_head(&chain).await.unwrap().is_none());
    assert!(
        store
            .existing_ids(&chain, &[Uuid::now_v7()])
            .await
            .unwrap()
            .is_empty()
    );
}

/// `append` is a compare-and-append: a stale head is a `Conflict`, a batch that does not link is
/// `Invalid`, a stored id is `DuplicateEvent`; in every case nothing is written.
pub async fn compare_and_append(store: &DynAuditStore) {
    let chain = fresh_chain("cas");
    let genesis = store.head(&chain).await.unwrap();
    let r1 = AuditRecord::link(genesis, event("a", "file.read", "f", 1));
    let r2 = AuditRecord::link(r1.as_head(), event("a", "file.read", "f", 2));
    let h1 = signed_head(&chain, &r1, 42);
    store
        .append(&chain, std::slice::from_ref(&r1), &h1)
        .await
        .unwrap();
    assert_eq!(store.signed_head(&chain).await.unwrap(), Some(h1.clone()));

    // A second writer that still believes the chain is empty.
    let stale = AuditRecord::link(genesis, event("b", "file.read", "f", 3));
    let h = signed_head(&chain, &stale, 42);
    let err = store.append(&chain, &[stale], &h).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");

    let r3 = AuditRecord::link(r1.as_head(), event("a", "file.read", "f", 4));
    let h = signed_head(&chain, &r3, 42);
    let err = store
        .append(&chain, &[r2.clone(), r3], &h)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");

    let reused = AuditRecord::link(r1.as_head(), r1.event.clone());
    let h = signed_head(&chain, &reused, 42);
    let err = store.append(&chain, &[reused], &h).await.unwrap_err();
    assert!(
        matches!(err, Error::DuplicateEvent { id } if id == r1.event.id()),
        "{err}"
    );

    let err = store.append(&chain, &[], &h1).await.unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");

    // The signed head must name the batch's last record, and be a head.
    for bad in [h1.clone(), {
        let mut cp = signed_head(&chain, &r2, 42);
        cp.kind = CheckpointKind::Checkpoint;
        cp
    }] {
        let err = store
            .append(&chain, std::slice::from_ref(&r2), &bad)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }), "{err}");
    }

    assert_eq!(store.head(&chain).await.unwrap(), r1.as_head());
    assert_eq!(store.signed_head(&chain).await.unwrap(), Some(h1));
    let h2 = signed_head(&chain, &r2, 42);
    store
        .append(&chain, std::slice::from_ref(&r2), &h2)
        .await
        .unwrap();
    assert_eq!(store.read(&chain, 1, 10).await.unwrap(), vec![r1, r2]);
    assert_eq!(store.signed_head(&chain).await.unwrap(), Some(h2));
}

/// Records come back exactly as appended, and the chain verifies.
pub async fn append_read_verify(store: Arc<DynAuditStore>) {
    let chain = fresh_chain("basic");
    let log = log(store.clone(), &chain);
    let mut written = Vec::new();
    for i in 0..5 {
        written.push(
            log.append(event("alice", "file.uploaded", &format!("f{i}"), i))
                .await
                .unwrap(),
        );
    }
    written.extend(
        log.append_batch(
            (5..12)
                .map(|i| event("bob", "file.read", "f1", i))
                .collect(),
        )
        .await
        .unwrap(),
    );
    assert_eq!(
        written.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=12).collect::<Vec<_>>()
    );
    assert_eq!(store.read(&chain, 1, 100).await.unwrap(), written);
    assert_eq!(
        store.read(&chain, 11, 100).await.unwrap(),
        written[10..].to_vec()
    );
    assert_eq!(
        store.read(&chain, 3, 2).await.unwrap(),
        written[2..4].to_vec()
    );
    assert_eq!(log.head().await.unwrap(), written[11].as_head());
    let signed = store.signed_head(&chain).await.unwrap().unwrap();
    assert_eq!(
        (signed.kind, signed.seq, signed.head),
        (CheckpointKind::Head, 12, written[11].hash)
    );
    assert!(
        CheckpointSigner::from_seed(&[42; 32])
            .verifier()
            .verify(&signed)
    );
    let report = log.verify(..).await.unwrap();
    assert_eq!((report.first, report.last, report.records), (1, 12, 12));
    assert_eq!(report.head, 12);
    assert!(!report.anchor_configured);
    assert_eq!(report.anchored_checkpoint, None);
    assert_eq!(report.latest_checkpoint, None);
    assert_eq!(
        (
            report.after_latest_checkpoint,
            report.after_anchored_checkpoint
        ),
        (12, 12)
    );
    let report = log.verify(4..=6).await.unwrap();
    assert_eq!((report.first, report.last, report.records), (4, 6, 3));
    assert!(log.append_batch(Vec::new()).await.unwrap().is_empty());
}

/// Storing an id twice is refused; `append_new` skips what is already there.
pub async fn duplicate_events(store: Arc<DynAuditStore>) {
    let chain = fresh_chain("dup");
    let log = log(store.clone(), &chain);
    let e1 = event("a", "file.read", "f", 1);
    let e2 = event("a", "file.read", "f", 2);
    log.append(e1.clone()).await.unwrap();
    let err = log.append(e1.clone()).await.unwrap_err();
    assert!(
        matches!(err, Error::DuplicateEvent { id } if id == e1.id()),
        "{err}"
    );
    let err = log
        .append_batch(vec![e2.clone(), e2.clone()])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DuplicateEvent { .. }), "{err}");
    let written = log
        .append_new(vec![e1.clone(), e2.clone(), e2.clone()])
        .await
        .unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].event, e2);
    assert!(
        log.append_new(vec![e1.clone(), e2.clone()])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(log.head().await.unwrap().seq, 2);
    let mut found = store
        .existing_ids(&chain, &[e1.id(), e2.id(), Uuid::now_v7()])
        .await
        .unwrap();
    found.sort();
    let mut expected = vec![e1.id(), e2.id()];
    expected.sort();
    assert_eq!(found, expected);
    log.verify(..).await.unwrap();
}

/// Every filter narrows the result; filters combine with AND; both orders work.
pub async fn query_filters(store: Arc<DynAuditStore>) {
    let chain = fresh_chain("query");
    let log = log(store.clone(), &chain);
    let denied = AuditEvent::builder(
        Actor::Service("scanner".into()),
        "file.share.created",
        Resource::new("file", "f2").unwrap(),
    )
    .outcome(Outcome::Denied)
    .time(t(30))
    .build()
    .unwrap();
    let anonymous = AuditEvent::builder(
        Actor::Anonymous,
        "auth.login",
        Resource::new("user", "alice").unwrap(),
    )
    .outcome(Outcome::Failure)
    .time(t(40))
    .build()
    .unwrap();
    log.append_batch(vec![
        event("alice", "file.uploaded", "f1", 10),
        event("bob", "filesystem.full", "f1", 20),
        denied.clone(),
        anonymous.clone(),
    ])
    .await
    .unwrap();

    let seqs = |records: Vec<AuditRecord>| records.iter().map(|r| r.seq).collect::<Vec<_>>();
    let q = |query: AuditQuery| {
        let store = store.clone();
        let chain = chain.clone();
        async move { seqs(store.query(&chain, &query).await.unwrap()) }
    };
    assert_eq!(q(AuditQuery::new()).await, vec![1, 2, 3, 4]);
    assert_eq!(
        q(AuditQuery::new().order(Order::NewestFirst)).await,
        vec![4, 3, 2, 1]
    );
    assert_eq!(
        q(AuditQuery::new().actor(Actor::User("alice".into()))).await,
        vec![1]
    );
    assert_eq!(
        q(AuditQuery::new().actor(Actor::Service("alice".into()))).await,
        Vec::<u64>::new()
    );
    assert_eq!(q(AuditQuery::new().actor(Actor::Anonymous)).await, vec![4]);
    assert_eq!(
        q(AuditQuery::new().resource(Resource::new("file", "f1").unwrap())).await,
        vec![1, 2]
    );
    assert_eq!(
        q(AuditQuery::new().resource(Resource::new("user", "f1").unwrap())).await,
        Vec::<u64>::new()
    );
    assert_eq!(
        q(AuditQuery::new().resources([
            Resource::new("user", "f1").unwrap(),
            Resource::new("file", "f1").unwrap(),
            Resource::new("file", "nothing").unwrap(),
        ]))
        .await,
        vec![1, 2]
    );
    assert_eq!(
        q(AuditQuery::new().resources(Vec::new())).await,
        Vec::<u64>::new()
    );
    assert_eq!(q(AuditQuery::new().action_prefix("file")).await, vec![1, 3]);
    assert_eq!(
        q(AuditQuery::new().action_prefix("file.share")).await,
        vec![3]
    );
    assert_eq!(
        q(AuditQuery::new().action_prefix("file.share.created")).await,
        vec![3]
    );
    assert_eq!(
        q(AuditQuery::new().action_prefix("file.shar")).await,
        Vec::<u64>::new()
    );
    assert_eq!(q(AuditQuery::new().outcome(Outcome::Denied)).await, vec![3]);
    assert_eq!(
        q(AuditQuery::new().outcome(Outcome::Success)).await,
        vec![1, 2]
    );
    assert_eq!(
        q(AuditQuery::new().since(t(20)).until(t(40))).await,
        vec![2, 3]
    );
    assert_eq!(
        q(AuditQuery::new()
            .since(t(20))
            .action_prefix("file")
            .order(Order::NewestFirst))
        .await,
        vec![3]
    );
    assert_eq!(
        q(AuditQuery::new()
            .resource(Resource::new("file", "f1").unwrap())
            .outcome(Outcome::Success)
            .actor(Actor::User("bob".into())))
        .await,
        vec![2]
    );

    for bad in [
        AuditQuery::new().limit(0),
        AuditQuery::new().limit(crate::MAX_PAGE_SIZE + 1),
        AuditQuery::new().action_prefix("File"),
        AuditQuery::new().action_prefix("file%"),
        AuditQuery::new().action_prefix(""),
        AuditQuery::new().since(t(5)).until(t(1)),
    ] {
        let err = store.query(&chain, &bad).await.unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }), "{bad:?}: {err}");
    }
}

/// Paging through a chain while other tasks append neither skips nor repeats a record.
pub async fn pagination_is_stable_under_concurrent_appends(store: Arc<DynAuditStore>) {
    let chain = fresh_chain("pages");
    let log = log(store.clone(), &chain);
    log.append_batch((0..45).map(|i| event("p", "file.read", "f", i)).collect())
        .await
        .unwrap();

    for order in [Order::OldestFirst, Order::NewestFirst] {
        let writer = {
            let log = log.clone();
            tokio::spawn(async move {
                for i in 0..20 {
                    log.append(event("w", "file.read", "f", 100 + i))
                        .await
                        .unwrap();
                    tokio::task::yield_now().await;
                }
            })
        };
        let mut seen = Vec::new();
        let mut query = AuditQuery::new()
            .actor(Actor::User("p".into()))
            .order(order)
            .limit(10);
        loop {
            let page = log.query(&query).await.unwrap();
            seen.extend(page.records.iter().map(|r| r.seq));
            match page.next {
                Some(cursor) => {
                    // Cursors survive a round trip through text (e.g. a URL).
                    let cursor = cursor.to_string().parse().unwrap();
                    query = query.after(cursor);
                }
                None => break,
            }
            tokio::task::yield_now().await;
        }
        writer.await.unwrap();
        let mut expected: Vec<u64> = (1..=45).collect();
        if order == Order::NewestFirst {
            expected.reverse();
        }
        assert_eq!(seen, expected, "{order:?}");
    }
    assert!(matches!(
        "bogus".parse::<crate::Cursor>(),
        Err(Error::Invalid { .. })
    ));
}

/// Many tasks appending through two independent `AuditLog`s (as two processes would) produce one
/// gapless chain that verifies.
pub async fn concurrent_writers_cannot_fork_a_chain(store: Arc<DynAuditStore>) {
    concurrent_writers_across_stores(store.clone(), store).await;
}

/// Like [`concurrent_writers_cannot_fork_a_chain`], with the two writers going through two store
/// handles (two pools, two processes) over the same database.
pub async fn concurrent_writers_across_stores(a: Arc<DynAuditStore>, b: Arc<DynAuditStore>) {
    let chain = fresh_chain("race");
    let logs = [log(a.clone(), &chain), log(b, &chain)];
    let mut tasks = Vec::new();
    for task in 0..8 {
        let log = logs[task % 2].clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..10 {
                let e = event(&format!("t{task}"), "file.read", "f", i);
                ids.push(e.id());
                if i % 3 == 0 {
                    let extra = event(&format!("t{task}"), "file.read", "g", i);
                    ids.push(extra.id());
                    log.append_batch(vec![e, extra]).await.unwrap();
                } else {
                    log.append(e).await.unwrap();
                }
            }
            ids
        }));
    }
    let mut ids = HashSet::new();
    for task in tasks {
        ids.extend(task.await.unwrap());
    }
    let total = ids.len() as u64;
    assert_eq!(total, 8 * 14);
    assert_eq!(a.head(&chain).await.unwrap().seq, total);
    let records = a.read(&chain, 1, 1000).await.unwrap();
    assert_eq!(records.len() as u64, total);
    assert_eq!(
        records.iter().map(|r| r.event.id()).collect::<HashSet<_>>(),
        ids
    );
    let report = logs[0].verify(..).await.unwrap();
    assert_eq!(report.records, total);
}

/// Signed checkpoints are taken every N records; forged records, forged checkpoints and a
/// truncated tail are each reported at the right sequence number.
pub async fn checkpoints_catch_tampering(store: Arc<DynAuditStore>) {
    let chain = fresh_chain("tamper");
    let signer = CheckpointSigner::from_seed(&[1; 32]);
    let log = AuditLog::builder(
        store.clone(),
        chain.clone(),
        CheckpointSigner::from_seed(&[1; 32]),
    )
    .checkpoint_every(10)
    .checkpoint_interval(Duration::ZERO)
    .build();
    for i in 0..25 {
        log.append(event("a", "file.read", "f", i)).await.unwrap();
    }
    let cps = store.checkpoints(&chain, 0, u64::MAX).await.unwrap();
    assert_eq!(cps.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![10, 20]);
    assert_eq!(
        store.latest_checkpoint(&chain).await.unwrap().unwrap().seq,
        20
    );
    assert_eq!(store.checkpoints(&chain, 11, 20).await.unwrap().len(), 1);
    let report = log.verify(..).await.unwrap();
    assert_eq!((report.records, report.checkpoints), (25, 2));
    let manual = log.checkpoint().await.unwrap();
    assert_eq!(manual.seq, 25);
    store.put_checkpoint(&manual).await.unwrap();

    // A record whose stored hash does not cover its contents, appended behind the log's back.
    let head = store.head(&chain).await.unwrap();
    let mut forged = AuditRecord::link(head, event("a", "file.read", "f", 100));
    forged.event = event("mallory", "file.read", "f", 100);
    // Signed with the log's own key: a buggy writer, not an attacker (see tampering_is_detected).
    let h = signed_head(&chain, &forged, 1);
    store.append(&chain, &[forged], &h).await.unwrap();
    let err = log.verify(..).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Tampered {
                seq: 26,
                problem: TamperKind::HashMismatch
            }
        ),
        "{err}"
    );
    // The records before it still verify on their own.
    log.verify(..=25).await.unwrap();

    // A checkpoint signed by someone else.
    let chain2 = fresh_chain("forged-cp");
    let log2 = log_with(store.clone(), &chain2, 0);
    log2.append_batch((0..3).map(|i| event("a", "file.read", "f", i)).collect())
        .await
        .unwrap();
    let head = store.head(&chain2).await.unwrap();
    let stranger = CheckpointSigner::from_seed(&[66; 32]);
    store
        .put_checkpoint(&stranger.sign(&chain2, CheckpointKind::Checkpoint, 2, head.hash, t(0)))
        .await
        .unwrap();
    let err = log2.verify(..).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Tampered {
                seq: 2,
                problem: TamperKind::BadSignature
            }
        ),
        "{err}"
    );

    // A properly signed checkpoint whose hash is not the record's.
    let chain3 = fresh_chain("mismatch-cp");
    let log3 = log_with(store.clone(), &chain3, 0);
    log3.append_batch((0..3).map(|i| event("a", "file.read", "f", i)).collect())
        .await
        .unwrap();
    store
        .put_checkpoint(&signer.sign(&chain3, CheckpointKind::Checkpoint, 2, head.hash, t(0)))
        .await
        .unwrap();
    let err = log3.verify(..).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Tampered {
                seq: 2,
                problem: TamperKind::CheckpointMismatch
            }
        ),
        "{err}"
    );

    // A checkpoint vouching for more records than the store holds: the tail was cut off.
    let chain4 = fresh_chain("truncated");
    let log4 = log_with(store.clone(), &chain4, 0);
    log4.append_batch((0..3).map(|i| event("a", "file.read", "f", i)).collect())
        .await
        .unwrap();
    store
        .put_checkpoint(&signer.sign(&chain4, CheckpointKind::Checkpoint, 5, head.hash, t(0)))
        .await
        .unwrap();
    let err = log4.verify(..).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Tampered {
                problem: TamperKind::Truncated {
                    checkpointed: 5,
                    stored: 3
                },
                ..
            }
        ),
        "{err}"
    );

    // Anchors are not checkpoints.
    let anchor = signer.sign(&chain4, CheckpointKind::Anchor, 1, head.hash, t(0));
    assert!(matches!(
        store.put_checkpoint(&anchor).await,
        Err(Error::Invalid { .. })
    ));
}

fn log_with(store: Arc<DynAuditStore>, chain: &ChainId, every: u64) -> AuditLog {
    AuditLog::builder(store, chain.clone(), CheckpointSigner::from_seed(&[1; 32]))
        .checkpoint_every(every)
        .checkpoint_interval(Duration::ZERO)
        .build()
}

/// `delete_before` removes the oldest records, leaves a signed anchor, and what remains verifies;
/// a forged anchor is caught.
pub async fn retention_leaves_a_verifiable_anchor(store: Arc<DynAuditStore>) {
    let chain = fresh_chain("retention");
    let clock = ManualClock::new(t(1000));
    let log = AuditLog::builder(
        store.clone(),
        chain.clone(),
        CheckpointSigner::from_seed(&[1; 32]),
    )
    .clock(Arc::new(clock.clone()))
    .checkpoint_every(4)
    .checkpoint_interval(Duration::ZERO)
    .build();
    for i in 0..10 {
        log.append(event("a", "file.read", "f", i * 10))
            .await
            .unwrap();
    }

    let nothing = log.delete_before(t(-5)).await.unwrap();
    assert_eq!(nothing.deleted, 0);
    assert!(nothing.anchor.is_none());

    // Records at t(0), t(10) .. t(90): those before t(35) are seq 1..=4.
    let retention = log.delete_before(t(35)).await.unwrap();
    assert_eq!(retention.deleted, 4);
    let anchor = retention.anchor.unwrap();
    assert_eq!((anchor.seq, anchor.kind), (4, CheckpointKind::Anchor));
    assert_eq!(store.anchor(&chain).await.unwrap(), Some(anchor.clone()));
    assert_eq!(
        store
            .read(&chain, 0, 100)
            .await
            .unwrap()
            .first()
            .map(|r| r.seq),
        Some(5)
    );
    // The checkpoint at 4 went with the records; the one at 8 stays.
    assert_eq!(
        store
            .checkpoints(&chain, 0, 100)
            .await
            .unwrap()
            .iter()
            .map(|c| c.seq)
            .collect::<Vec<_>>(),
        vec![8]
    );
    let report = log.verify(..).await.unwrap();
    assert_eq!(
        (report.first, report.last, report.records, report.anchor),
        (5, 10, 6, Some(4))
    );
    assert_eq!(log.delete_before(t(35)).await.unwrap().deleted, 0);

    // Appending continues from the head, not from the anchor.
    assert_eq!(
        log.append(event("a", "file.read", "f", 200))
            .await
            .unwrap()
            .seq,
        11
    );
    log.verify(..).await.unwrap();

    // An older anchor may not replace a newer one.
    let stale = CheckpointSigner::from_seed(&[1; 32]).sign(
        &chain,
        CheckpointKind::Anchor,
        2,
        anchor.head,
        t(0),
    );
    assert!(matches!(
        store.prune(&stale).await,
        Err(Error::Conflict { .. })
    ));
    let beyond = CheckpointSigner::from_seed(&[1; 32]).sign(
        &chain,
        CheckpointKind::Anchor,
        99,
        anchor.head,
        t(0),
    );
    assert!(matches!(
        store.prune(&beyond).await,
        Err(Error::Invalid { .. })
    ));

    // Someone deletes more records and writes an anchor with a key that is not trusted.
    let head6 = store.read(&chain, 6, 1).await.unwrap()[0].hash;
    let forged =
        CheckpointSigner::from_seed(&[99; 32]).sign(&chain, CheckpointKind::Anchor, 6, head6, t(0));
    assert_eq!(store.prune(&forged).await.unwrap(), 2);
    let err = log.verify(..).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Tampered {
                seq: 6,
                problem: TamperKind::BadSignature
            }
        ),
        "{err}"
    );
    clock.advance(Duration::from_secs(1));
}

/// Records, ids and heads of one chain do not leak into another.
pub async fn chains_are_independent(store: Arc<DynAuditStore>) {
    let a = fresh_chain("a");
    let b = fresh_chain("b");
    let e = event("x", "file.read", "f", 1);
    log(store.clone(), &a).append(e.clone()).await.unwrap();
    // The same event may be recorded in another chain.
    log(store.clone(), &b).append(e.clone()).await.unwrap();
    log(store.clone(), &b)
        .append(event("x", "file.read", "f", 2))
        .await
        .unwrap();
    assert_eq!(store.head(&a).await.unwrap().seq, 1);
    assert_eq!(store.head(&b).await.unwrap().seq, 2);
    assert_eq!(store.query(&a, &AuditQuery::new()).await.unwrap().len(), 1);
    // Records are bound to their chain: chain a's first record does not link from b's genesis.
    let ra = store.read(&a, 1, 1).await.unwrap().remove(0);
    let rb = store.read(&b, 1, 1).await.unwrap().remove(0);
    assert_ne!(ra.hash, rb.hash);
}

/// A value written into a column by [`Tamper::set_column`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnValue {
    /// For TEXT columns.
    Text(String),
    /// For INTEGER / BIGINT columns.
    Int(i64),
    /// For BLOB / BYTEA columns.
    Bytes(Vec<u8>),
}

/// Raw access to a backend's rows, behind the log's back: what an attacker with write access to
/// the database can do. Methods panic if the edit cannot be made.
#[async_trait]
pub trait Tamper: Send + Sync {
    /// `UPDATE audit_records SET <column> = <value>` for one record. Columns: `event_id`,
    /// `time_us`, `actor_kind`, `actor_id`, `action`, `resource_type`, `resource_id`, `outcome`,
    /// `event`, `prev_hash`, `hash`.
    async fn set_column(&self, chain: &ChainId, seq: u64, column: &'static str, value: ColumnValue);

    /// Deletes the records and the checkpoints with `seq >= from_seq`.
    async fn delete_from(&self, chain: &ChainId, from_seq: u64);

    /// Rewrites the head row's `seq` and `hash`, leaving its signature as it was.
    async fn set_head(&self, chain: &ChainId, seq: u64, hash: Digest);

    /// Writes a signed head read earlier back into the head row (a replay).
    async fn restore_head(&self, head: &Checkpoint);

    /// Deletes the chain's records, head and checkpoints.
    async fn empty(&self, chain: &ChainId);
}

/// Every attack of an attacker with write access to the database (not to the signing key) that
/// the log can detect, each in a fresh chain: edited columns, a cut-off tail with a rewritten or
/// replayed head, an emptied chain, and a small log that must still be checkpointed.
pub async fn tampering_is_detected(store: Arc<DynAuditStore>, tamper: Arc<dyn Tamper>) {
    edited_columns_are_detected(store.clone(), &*tamper).await;
    cut_off_tail_is_detected(store.clone(), &*tamper).await;
    emptied_chain_is_detected(store.clone(), &*tamper).await;
    small_quiet_logs_are_checkpointed(store).await;
}

fn assert_tampered(result: crate::Result<crate::VerifyReport>, seq: u64, problem: &TamperKind) {
    match result {
        Err(Error::Tampered { seq: s, problem: p }) if s == seq && &p == problem => {}
        other => panic!("expected tampering {problem:?} at {seq}, got {other:?}"),
    }
}

/// An edit of any stored column of a record is reported at that record, naming the column when
/// it is one of those queries filter on; queries that return the edited row fail too.
pub async fn edited_columns_are_detected(store: Arc<DynAuditStore>, tamper: &dyn Tamper) {
    use ColumnValue::{Bytes, Int, Text};
    let mismatch = |column| TamperKind::ColumnMismatch { column };
    let cases = [
        ("actor_id", Text("x".into()), mismatch("actor_id")),
        ("actor_kind", Text("service".into()), mismatch("actor_kind")),
        (
            "event_id",
            Text(Uuid::now_v7().to_string()),
            mismatch("event_id"),
        ),
        ("time_us", Int(0), mismatch("time_us")),
        ("action", Text("file.deleted".into()), mismatch("action")),
        (
            "resource_type",
            Text("folder".into()),
            mismatch("resource_type"),
        ),
        ("resource_id", Text("other".into()), mismatch("resource_id")),
        ("outcome", Text("denied".into()), mismatch("outcome")),
        ("event", Text(String::new()), TamperKind::HashMismatch),
        ("prev_hash", Bytes(vec![9; 32]), TamperKind::BrokenLink),
        ("hash", Bytes(vec![9; 32]), TamperKind::HashMismatch),
    ];
    for (column, value, problem) in cases {
        let chain = fresh_chain("column");
        let log = log(store.clone(), &chain);
        let records = log
            .append_batch(
                (0..5)
                    .map(|i| event("alice", "file.read", "f", i))
                    .collect(),
            )
            .await
            .unwrap();
        log.verify(..).await.unwrap();
        let value = match value {
            // The same event with one attribute changed: its columns still agree with it.
            Text(v) if column == "event" && v.is_empty() => {
                let original = &records[2].event;
                let forged = AuditEvent::builder(
                    original.actor().clone(),
                    original.action(),
                    original.resource().clone(),
                )
                .id(original.id())
                .time(original.time())
                .attribute("n", 999)
                .build()
                .unwrap();
                Text(forged.to_json())
            }
            other => other,
        };
        tamper.set_column(&chain, 3, column, value).await;
        assert_tampered(log.verify(..).await, 3, &problem);
        log.verify(..=2).await.unwrap();
        assert!(
            matches!(log.verify(3..).await, Err(Error::Tampered { seq: 3, .. })),
            "{column}"
        );
        if let TamperKind::ColumnMismatch { .. } = problem {
            // Any query that returns the row fails instead of trusting the column.
            let err = log.query(&AuditQuery::new()).await.unwrap_err();
            assert!(
                matches!(&err, Error::Tampered { seq: 3, problem: p } if p == &problem),
                "{column}: {err}"
            );
            let err = store.read(&chain, 1, 10).await.unwrap_err();
            assert!(matches!(err, Error::Tampered { seq: 3, .. }), "{err}");
        }
        if column == "actor_id" {
            // The victim's query no longer finds the row (the filter runs on the column), but a
            // query for the forged value does, and is refused.
            let victim = log
                .query(&AuditQuery::new().actor(Actor::User("alice".into())))
                .await
                .unwrap();
            assert_eq!(
                victim.records.iter().map(|r| r.seq).collect::<Vec<_>>(),
                vec![1, 2, 4, 5]
            );
            let forged = log
                .query(&AuditQuery::new().actor(Actor::User("x".into())))
                .await;
            assert!(
                matches!(forged, Err(Error::Tampered { seq: 3, .. })),
                "{forged:?}"
            );
        }
    }
}

/// Deleting the newest records is detected: with the head rewritten to match (its signature no
/// longer fits), and with an older signed head put back (the checkpoint in the anchor outside the
/// database still names a deleted record). Without an anchor the replay goes unnoticed, and the
/// report says how many records were exposed.
pub async fn cut_off_tail_is_detected(store: Arc<DynAuditStore>, tamper: &dyn Tamper) {
    // The head rewritten to the new last record: its signature is for another head.
    let chain = fresh_chain("cut");
    let log = log(store.clone(), &chain);
    let records = log
        .append_batch((0..5).map(|i| event("a", "file.read", "f", i)).collect())
        .await
        .unwrap();
    tamper.delete_from(&chain, 4).await;
    tamper.set_head(&chain, 3, records[2].hash).await;
    assert_tampered(log.verify(..).await, 3, &TamperKind::BadHeadSignature);
    // ... and one left pointing past the remaining records.
    let chain = fresh_chain("cut-head-kept");
    let log = crate::conformance::log(store.clone(), &chain);
    log.append_batch((0..5).map(|i| event("a", "file.read", "f", i)).collect())
        .await
        .unwrap();
    tamper.delete_from(&chain, 4).await;
    assert_tampered(
        log.verify(..).await,
        5,
        &TamperKind::HeadMismatch { head: 5 },
    );

    // An older signed head, kept by the attacker, put back: only the anchor can tell.
    let chain = fresh_chain("replay");
    let anchor = Arc::new(MemoryCheckpointAnchor::new());
    let clock = ManualClock::new(t(0));
    let anchored = AuditLog::builder(
        store.clone(),
        chain.clone(),
        CheckpointSigner::from_seed(&[42; 32]),
    )
    .clock(Arc::new(clock.clone()))
    .checkpoint_every(4)
    .checkpoint_interval(Duration::ZERO)
    .anchor(anchor.clone())
    .build();
    for i in 0..3 {
        anchored
            .append(event("a", "file.read", "f", i))
            .await
            .unwrap();
    }
    let old_head = store.signed_head(&chain).await.unwrap().unwrap();
    assert_eq!(old_head.seq, 3);
    for i in 3..5 {
        clock.advance(Duration::from_secs(1));
        anchored
            .append(event("a", "file.read", "f", i))
            .await
            .unwrap();
    }
    let report = anchored.verify(..).await.unwrap();
    assert!(report.anchor_configured);
    assert_eq!(report.head, 5);
    assert_eq!(
        report.anchored_checkpoint.as_ref().map(|c| (c.seq, c.time)),
        Some((4, t(1)))
    );
    assert_eq!(
        report.latest_checkpoint.as_ref().map(|c| (c.seq, c.time)),
        Some((4, t(1)))
    );
    assert_eq!(
        (
            report.after_latest_checkpoint,
            report.after_anchored_checkpoint
        ),
        (1, 1)
    );

    tamper.delete_from(&chain, 4).await;
    tamper.restore_head(&old_head).await;
    assert_tampered(
        anchored.verify(..).await,
        4,
        &TamperKind::Truncated {
            checkpointed: 4,
            stored: 3,
        },
    );
    // The same chain seen by a log without the anchor: the replay passes, and the report says
    // that nothing is anchored.
    let unanchored = crate::conformance::log(store.clone(), &chain);
    let report = unanchored.verify(..).await.unwrap();
    assert!(!report.anchor_configured);
    assert_eq!(report.anchored_checkpoint, None);
    assert_eq!((report.head, report.after_anchored_checkpoint), (3, 3));

    // A rewritten chain (same length, records re-hashed): the anchored hash differs.
    let chain = fresh_chain("rewrite");
    let anchor = Arc::new(MemoryCheckpointAnchor::new());
    let rewritten = AuditLog::builder(
        store.clone(),
        chain.clone(),
        CheckpointSigner::from_seed(&[42; 32]),
    )
    .checkpoint_every(2)
    .checkpoint_interval(Duration::ZERO)
    .anchor(anchor.clone())
    .build();
    rewritten
        .append_batch((0..2).map(|i| event("a", "file.read", "f", i)).collect())
        .await
        .unwrap();
    let cp = anchor.load(&chain).await.unwrap().unwrap();
    assert_eq!(cp.seq, 2);
    tamper
        .set_column(&chain, 2, "hash", ColumnValue::Bytes(vec![7; 32]))
        .await;
    assert_tampered(rewritten.verify(..).await, 2, &TamperKind::AnchorMismatch);
}

/// Emptying the chain (records, head and checkpoints) is detected through the anchor; without
/// one, the emptied chain looks never written, and the report says nothing is anchored.
pub async fn emptied_chain_is_detected(store: Arc<DynAuditStore>, tamper: &dyn Tamper) {
    let chain = fresh_chain("emptied");
    let anchor = Arc::new(MemoryCheckpointAnchor::new());
    let clock = ManualClock::new(t(0));
    // Default cadence: 1000 records or one minute; the first append is checkpointed.
    let log = AuditLog::builder(
        store.clone(),
        chain.clone(),
        CheckpointSigner::from_seed(&[42; 32]),
    )
    .clock(Arc::new(clock.clone()))
    .anchor(anchor.clone())
    .build();
    for i in 0..3 {
        log.append(event("a", "file.read", "f", i)).await.unwrap();
    }
    assert_eq!(anchor.load(&chain).await.unwrap().map(|c| c.seq), Some(1));
    tamper.empty(&chain).await;
    assert_eq!(store.head(&chain).await.unwrap().seq, 0);
    assert_tampered(
        log.verify(..).await,
        1,
        &TamperKind::Truncated {
            checkpointed: 1,
            stored: 0,
        },
    );
    let report = crate::conformance::log(store.clone(), &chain)
        .verify(..)
        .await
        .unwrap();
    assert_eq!((report.records, report.head), (0, 0));
    assert!(!report.anchor_configured);
}

/// Checkpoints come on a time cadence as well as a count: the first append of a chain is
/// checkpointed, then the first append once the interval has passed (by the injected clock);
/// another process over the same store picks up the time of the newest checkpoint. Every append
/// signs the head.
pub async fn small_quiet_logs_are_checkpointed(store: Arc<DynAuditStore>) {
    let chain = fresh_chain("cadence");
    let clock = ManualClock::new(t(0));
    let anchor = Arc::new(MemoryCheckpointAnchor::new());
    let build = || {
        AuditLog::builder(
            store.clone(),
            chain.clone(),
            CheckpointSigner::from_seed(&[42; 32]),
        )
        .clock(Arc::new(clock.clone()))
        .checkpoint_every(1000)
        .checkpoint_interval(Duration::from_secs(60))
        .anchor(anchor.clone())
        .build()
    };
    let log = build();
    let seqs = || async {
        store
            .checkpoints(&chain, 0, u64::MAX)
            .await
            .unwrap()
            .iter()
            .map(|c| c.seq)
            .collect::<Vec<_>>()
    };
    log.append(event("a", "file.read", "f", 0)).await.unwrap();
    assert_eq!(seqs().await, vec![1]);
    clock.advance(Duration::from_secs(30));
    log.append(event("a", "file.read", "f", 1)).await.unwrap();
    assert_eq!(seqs().await, vec![1]);
    clock.advance(Duration::from_secs(30));
    log.append(event("a", "file.read", "f", 2)).await.unwrap();
    assert_eq!(seqs().await, vec![1, 3]);
    log.append(event("a", "file.read", "f", 3)).await.unwrap();
    assert_eq!(seqs().await, vec![1, 3]);
    let anchored = anchor.load(&chain).await.unwrap().unwrap();
    assert_eq!((anchored.seq, anchored.time), (3, t(60)));

    // Another process: it learns the newest checkpoint's time from the store.
    let other = build();
    clock.advance(Duration::from_secs(10));
    other.append(event("a", "file.read", "f", 4)).await.unwrap();
    assert_eq!(seqs().await, vec![1, 3]);
    clock.advance(Duration::from_secs(50));
    other.append(event("a", "file.read", "f", 5)).await.unwrap();
    assert_eq!(seqs().await, vec![1, 3, 6]);

    let head = store.signed_head(&chain).await.unwrap().unwrap();
    assert_eq!((head.seq, head.time), (6, t(120)));
    assert!(
        CheckpointSigner::from_seed(&[42; 32])
            .verifier()
            .verify(&head)
    );
    let report = log.verify(..).await.unwrap();
    assert_eq!(report.latest_checkpoint.map(|c| c.seq), Some(6));
    assert_eq!(report.after_latest_checkpoint, 0);

    // A head signed by anyone else is refused.
    let records = store.read(&chain, 6, 1).await.unwrap();
    let forged = AuditRecord::link(records[0].as_head(), event("m", "file.read", "f", 9));
    let h = signed_head(&chain, &forged, 66);
    store.append(&chain, &[forged], &h).await.unwrap();
    assert_tampered(log.verify(..).await, 7, &TamperKind::BadHeadSignature);

    // Both cadences off: no checkpoints at all (only the signed head).
    let chain = fresh_chain("no-cadence");
    let off = crate::conformance::log(store.clone(), &chain);
    off.append(event("a", "file.read", "f", 0)).await.unwrap();
    assert!(store.latest_checkpoint(&chain).await.unwrap().is_none());
    assert!(store.signed_head(&chain).await.unwrap().is_some());
}

/// `verify` running while two logs (two processes) append and checkpoint to an anchor never
/// reports tampering: checkpoints and the head are read so that concurrent appends only add
/// records beyond what is checked.
pub async fn verify_during_appends_never_raises_a_false_alarm(store: Arc<DynAuditStore>) {
    let chain = fresh_chain("live");
    let anchor = Arc::new(MemoryCheckpointAnchor::new());
    let build = || {
        AuditLog::builder(
            store.clone(),
            chain.clone(),
            CheckpointSigner::from_seed(&[42; 32]),
        )
        .checkpoint_every(3)
        .checkpoint_interval(Duration::ZERO)
        .anchor(anchor.clone())
        .build()
    };
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let log = build();
            tokio::spawn(async move {
                for i in 0..30 {
                    log.append(event(&format!("w{w}"), "file.read", "f", i))
                        .await
                        .unwrap();
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let verifier = build();
    let mut verified = 0;
    while writers.iter().any(|w| !w.is_finished()) {
        let report = verifier.verify(..).await.unwrap();
        assert!(report.records <= 60);
        verified += 1;
        tokio::task::yield_now().await;
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let report = verifier.verify(..).await.unwrap();
    assert_eq!((report.records, report.head), (60, 60));
    assert_eq!(report.after_anchored_checkpoint, 0);
    assert!(verified > 0);
}
