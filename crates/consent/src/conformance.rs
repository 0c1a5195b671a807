//! The conformance suite every [`ConsentStore`] runs (feature `conformance`).
//!
//! Each function is a test: it panics on failure. Store-level tests take `&DynConsentStore`;
//! ledger-level tests take an `Arc<DynConsentStore>` because a [`ConsentLedger`] owns its store.
//! [`run_all`] runs every test that needs nothing but the store. The suite writes chains under
//! random names and leaves them behind: point it at a throwaway database, never at real data.
//! It is a testing aid, not a stable API.

use crate::record::{ChainRecord, GENESIS_HASH, RecordHeader, RecordKind};
use crate::store::{ConsentStore, ConsentStoreExt, DynConsentStore};
use crate::{
    ChainVerification, ConsentEvent, ConsentLedger, ConsentLedgerBuilder, ConsentObserver,
    ConsentStatus, Controller, Delegation, ErasureHandler, ErasureStatus, Error, ExportContributor,
    Grant, HandlerError, HandlerOutcome, LedgerKey, LegalBasis, ManualClock, PolicyVersion,
    Purpose, RECEIPT_VERSION, Result, StorageError,
};
use async_trait::async_trait;
use futures::future::join_all;
use jiff::Timestamp;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);
const NEWSLETTER_TEXT: &str = "We send a monthly newsletter to your e-mail address.";

/// Every test that needs only the store, in order.
pub async fn run_all(store: Arc<DynConsentStore>) {
    append_read_head(&*store).await;
    append_refuses_forks_and_gaps(&*store).await;
    concurrent_appends_never_fork(&*store).await;
    redact_drops_only_payloads(&*store).await;
    append_refuses_unnamed_chains_and_huge_seqs(&*store).await;
    read_from_any_seq(&*store).await;
    redact_ignores_unknown_and_repeated_seqs(&*store).await;
    chains_are_independent(&*store).await;
    grant_check_withdraw(store.clone()).await;
    expiry_follows_the_clock(store.clone()).await;
    expirations_are_announced_once_per_window(store.clone()).await;
    clock_going_back_keeps_history_ordered(store.clone()).await;
    policy_versions_and_supersession(store.clone()).await;
    bad_input_is_typed(store.clone()).await;
    temporary_access_expires_by_itself(store.clone()).await;
    concurrent_grants_form_one_chain(store.clone()).await;
    export_contains_everything(store.clone()).await;
    erase_then_export_has_no_personal_data(store.clone()).await;
    failed_handler_is_retried(store.clone()).await;
    crash_mid_erasure_resumes(store.clone()).await;
    erase_unknown_subject_is_proven(store.clone()).await;
    observer_sees_every_event(store).await;
}

fn t0() -> Timestamp {
    "2026-01-01T00:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

fn subject() -> String {
    format!("alice-{}@example.com", uuid::Uuid::new_v4())
}

fn unique_chain() -> String {
    crate::canonical::sha256_hex(uuid::Uuid::new_v4().as_bytes())
}

fn purposes() -> Vec<Purpose> {
    let start = t0() - DAY;
    vec![
        Purpose::new(
            "newsletter",
            "Monthly newsletter",
            LegalBasis::Consent,
            PolicyVersion::new("1", NEWSLETTER_TEXT, start).expect("policy"),
        )
        .expect("purpose")
        .with_description("News about the product, once a month")
        .with_data_categories(["email"])
        .with_recipients(["Mailer Inc"])
        .with_default_ttl(30 * DAY),
        Purpose::new(
            "support-access",
            "Support may open my files",
            LegalBasis::Consent,
            PolicyVersion::new("1", "Support staff may read the files you choose.", start)
                .expect("policy"),
        )
        .expect("purpose")
        .with_default_ttl(24 * HOUR),
    ]
}

fn builder(store: Arc<DynConsentStore>, clock: Arc<ManualClock>) -> ConsentLedgerBuilder {
    let mut b = ConsentLedger::builder(store, LedgerKey::generate())
        .controller(Controller::new(
            "Example GmbH",
            "Data protection officer",
            "dpo@example.com",
        ))
        .jurisdiction("EU")
        .clock(clock)
        .max_ttl(365 * DAY)
        .max_access_ttl(7 * DAY);
    for p in purposes() {
        b = b.purpose(p);
    }
    b
}

fn ledger(store: Arc<DynConsentStore>) -> (ConsentLedger, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(t0()));
    let ledger = builder(store, clock.clone()).build().expect("ledger");
    (ledger, clock)
}

fn newsletter() -> Grant {
    Grant::new("newsletter", "1", "web-form")
}

async fn seal_chain(store: &DynConsentStore, chain: &str, n: u64) -> Vec<ChainRecord> {
    let mut out: Vec<ChainRecord> = Vec::new();
    for seq in 1..=n {
        let prev = out.last().map_or(GENESIS_HASH, |r| r.hash.as_str());
        let record = record(chain, seq, prev);
        store.append(&record).await.expect("append");
        out.push(record);
    }
    out
}

fn record(chain: &str, seq: u64, prev: &str) -> ChainRecord {
    ChainRecord::seal(
        chain,
        seq,
        t0(),
        RecordKind::Granted,
        RecordHeader {
            purpose: Some("newsletter".into()),
            ..RecordHeader::default()
        },
        json!({ "seq": seq, "who": "someone" }),
        prev,
    )
    .expect("seal")
}

/// Appended records come back in order, whole; `head` is the last; unknown chains are empty.
pub async fn append_read_head(store: &DynConsentStore) {
    let chain = unique_chain();
    assert!(store.read_all(&chain).await.expect("read").is_empty());
    assert!(store.head(&chain).await.expect("head").is_none());
    let written = seal_chain(store, &chain, 3).await;
    assert_eq!(store.read_all(&chain).await.expect("read"), written);
    assert_eq!(store.read(&chain, 2).await.expect("read"), written[1..]);
    assert_eq!(
        store.head(&chain).await.expect("head").as_ref(),
        written.last()
    );
    assert!(
        crate::record::verify_chain(&chain, &written).is_intact(),
        "sealed records verify"
    );
}

/// A record that does not extend the head exactly is refused with `Conflict`.
pub async fn append_refuses_forks_and_gaps(store: &DynConsentStore) {
    let chain = unique_chain();
    let first = record(&chain, 1, "f".repeat(64).as_str());
    assert!(matches!(
        store.append(&first).await,
        Err(Error::Conflict { .. })
    ));
    let written = seal_chain(store, &chain, 2).await;
    let again = record(&chain, 2, &written[0].hash);
    assert!(matches!(
        store.append(&again).await,
        Err(Error::Conflict { .. })
    ));
    let gap = record(&chain, 4, &written[1].hash);
    assert!(matches!(
        store.append(&gap).await,
        Err(Error::Conflict { .. })
    ));
    let bad_link = record(&chain, 3, &written[0].hash);
    assert!(matches!(
        store.append(&bad_link).await,
        Err(Error::Conflict { .. })
    ));
    let zero = record(&chain, 0, GENESIS_HASH);
    assert!(matches!(
        store.append(&zero).await,
        Err(Error::InvalidInput { .. })
    ));
    assert_eq!(store.read_all(&chain).await.expect("read"), written);
}

/// Of many writers appending record 2 at once, exactly one wins.
pub async fn concurrent_appends_never_fork(store: &DynConsentStore) {
    let chain = unique_chain();
    let first = seal_chain(store, &chain, 1).await;
    let candidates: Vec<ChainRecord> = (0..8).map(|_| record(&chain, 2, &first[0].hash)).collect();
    let results = join_all(candidates.iter().map(|r| store.append(r))).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "exactly one concurrent append wins: {results:?}");
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(Error::Conflict { .. })))
    );
    let stored = store.read_all(&chain).await.expect("read");
    assert_eq!(stored.len(), 2);
    assert!(crate::record::verify_chain(&chain, &stored).is_intact());
}

/// Redaction drops payloads and touches nothing else; the chain still verifies.
pub async fn redact_drops_only_payloads(store: &DynConsentStore) {
    let chain = unique_chain();
    let written = seal_chain(store, &chain, 3).await;
    assert_eq!(store.redact(&chain, &[1, 3]).await.expect("redact"), 2);
    assert_eq!(store.redact(&chain, &[1, 3]).await.expect("redact"), 0);
    assert_eq!(
        store.redact(&unique_chain(), &[1]).await.expect("redact"),
        0
    );
    let stored = store.read_all(&chain).await.expect("read");
    assert!(stored[0].payload.is_none() && stored[2].payload.is_none());
    assert_eq!(stored[1], written[1]);
    let mut expected = written[0].clone();
    expected.payload = None;
    assert_eq!(stored[0], expected);
    assert!(crate::record::verify_chain(&chain, &stored).is_intact());
}

/// A record with an empty chain name or a seq beyond `i64::MAX` is `InvalidInput`, not a
/// conflict, and nothing is stored.
pub async fn append_refuses_unnamed_chains_and_huge_seqs(store: &DynConsentStore) {
    let unnamed = record("", 1, GENESIS_HASH);
    assert!(matches!(
        store.append(&unnamed).await,
        Err(Error::InvalidInput { .. })
    ));
    assert!(store.read_all("").await.expect("read").is_empty());
    let chain = unique_chain();
    let written = seal_chain(store, &chain, 1).await;
    for seq in [i64::MAX as u64 + 1, u64::MAX] {
        let huge = record(&chain, seq, &written[0].hash);
        assert!(
            matches!(store.append(&huge).await, Err(Error::InvalidInput { .. })),
            "seq {seq}"
        );
    }
    assert_eq!(store.read_all(&chain).await.expect("read"), written);
}

/// `read` from any seq: 0 reads everything, past the head (up to `u64::MAX`) reads nothing.
pub async fn read_from_any_seq(store: &DynConsentStore) {
    let chain = unique_chain();
    let written = seal_chain(store, &chain, 3).await;
    assert_eq!(store.read(&chain, 0).await.expect("read 0"), written);
    assert_eq!(store.read(&chain, 3).await.expect("read 3"), written[2..]);
    for from in [4, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX] {
        assert!(
            store.read(&chain, from).await.expect("read").is_empty(),
            "read from {from}"
        );
    }
}

/// `redact` counts each dropped payload once: unknown, repeated and out-of-range seqs and an
/// empty list change nothing.
pub async fn redact_ignores_unknown_and_repeated_seqs(store: &DynConsentStore) {
    let chain = unique_chain();
    let written = seal_chain(store, &chain, 3).await;
    assert_eq!(store.redact(&chain, &[]).await.expect("redact"), 0);
    assert_eq!(
        store
            .redact(&chain, &[0, 4, i64::MAX as u64 + 1, u64::MAX])
            .await
            .expect("redact"),
        0
    );
    assert_eq!(store.read_all(&chain).await.expect("read"), written);
    assert_eq!(store.redact(&chain, &[2, 2, 2]).await.expect("redact"), 1);
    let stored = store.read_all(&chain).await.expect("read");
    assert!(stored[1].payload.is_none());
    assert_eq!([&stored[0], &stored[2]], [&written[0], &written[2]]);
}

/// `read`, `head` and `redact` see only the chain they name, whatever the other chains hold;
/// a redacted head comes back without its payload.
pub async fn chains_are_independent(store: &DynConsentStore) {
    let long = unique_chain();
    let short = unique_chain();
    let long_records = seal_chain(store, &long, 3).await;
    let short_records = seal_chain(store, &short, 1).await;
    assert_eq!(
        store.head(&short).await.expect("head").as_ref(),
        short_records.last()
    );
    assert_eq!(store.read(&short, 1).await.expect("read"), short_records);
    assert_eq!(store.redact(&short, &[1, 2, 3]).await.expect("redact"), 1);
    assert_eq!(store.read_all(&long).await.expect("read"), long_records);
    let head = store.head(&short).await.expect("head").expect("a head");
    let mut expected = short_records[0].clone();
    expected.payload = None;
    assert_eq!(head, expected);
    assert_eq!(
        store.head(&long).await.expect("head").as_ref(),
        long_records.last()
    );
}

/// Grant, check, withdraw, re-grant, with receipts and history.
pub async fn grant_check_withdraw(store: Arc<DynConsentStore>) {
    let (ledger, clock) = ledger(store);
    let alice = subject();
    assert_eq!(
        ledger.check_now(&alice, "newsletter").await.expect("check"),
        ConsentStatus::Never
    );

    let receipt = ledger
        .grant(
            &alice,
            newsletter().evidence(json!({ "form": "signup", "notice_version": 3 })),
        )
        .await
        .expect("grant");
    assert_eq!(receipt.version, RECEIPT_VERSION);
    assert_eq!(receipt.jurisdiction, "EU");
    assert_eq!(receipt.pii_principal_id, alice);
    assert_eq!(receipt.collection_method, "web-form");
    assert_eq!(receipt.purpose_id(), "newsletter");
    assert_eq!(receipt.legal_basis, LegalBasis::Consent);
    assert_eq!(receipt.policy_version, "1");
    assert_eq!(
        receipt.policy_sha256,
        crate::canonical::sha256_hex(NEWSLETTER_TEXT.as_bytes())
    );
    assert_eq!(receipt.issued_at, t0());
    assert_eq!(receipt.consent_timestamp, t0().as_second());
    assert_eq!(receipt.expires_at, t0() + 30 * DAY);
    assert_eq!(
        receipt.services[0].purposes[0].third_party_name,
        ["Mailer Inc"]
    );
    assert!(receipt.hash_is_valid());
    let mut forged = receipt.clone();
    forged.pii_principal_id = "mallory".into();
    assert!(!forged.hash_is_valid());

    clock.advance(HOUR);
    assert_eq!(
        ledger.check_now(&alice, "newsletter").await.expect("check"),
        ConsentStatus::Granted {
            until: receipt.expires_at,
            receipt_id: receipt.receipt_id
        }
    );
    let states = ledger
        .consents(&alice, ledger.now())
        .await
        .expect("consents");
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].receipt.as_ref(), Some(&receipt));

    let withdrawal = ledger
        .withdraw(&alice, "newsletter", "too many mails")
        .await
        .expect("withdraw");
    assert_eq!(withdrawal.receipt_id, receipt.receipt_id);
    assert_eq!(
        ledger.check_now(&alice, "newsletter").await.expect("check"),
        ConsentStatus::Withdrawn { at: t0() + HOUR }
    );
    assert!(matches!(
        ledger.withdraw(&alice, "newsletter", "again").await,
        Err(Error::AlreadyWithdrawn { .. })
    ));
    // The past is answered from the history as it stood then.
    assert!(
        ledger
            .check(&alice, "newsletter", t0() + HOUR / 2)
            .await
            .expect("check")
            .is_granted()
    );

    clock.advance(HOUR);
    let again = ledger.grant(&alice, newsletter()).await.expect("grant");
    assert_ne!(again.receipt_id, receipt.receipt_id);
    assert!(
        ledger
            .check_now(&alice, "newsletter")
            .await
            .expect("check")
            .is_granted()
    );

    let history = ledger.history(&alice).await.expect("history");
    let kinds: Vec<RecordKind> = history.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            RecordKind::Granted,
            RecordKind::Withdrawn,
            RecordKind::Granted
        ]
    );
    assert!(ledger.verify(&alice).await.expect("verify").is_intact());
}

/// Expiry is a function of the clock, not of a job.
pub async fn expiry_follows_the_clock(store: Arc<DynConsentStore>) {
    let (ledger, clock) = ledger(store);
    let alice = subject();
    let receipt = ledger
        .grant(&alice, newsletter().ttl(HOUR))
        .await
        .expect("grant");
    clock.advance(HOUR - Duration::from_secs(1));
    assert!(
        ledger
            .check_now(&alice, "newsletter")
            .await
            .expect("check")
            .is_granted()
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        ledger.check_now(&alice, "newsletter").await.expect("check"),
        ConsentStatus::Expired {
            at: receipt.expires_at
        }
    );
    // An expired consent can still be withdrawn (the subject's wish is recorded).
    ledger
        .withdraw(&alice, "newsletter", "")
        .await
        .expect("withdraw expired");
    assert!(matches!(
        ledger.check_now(&alice, "newsletter").await.expect("check"),
        ConsentStatus::Withdrawn { .. }
    ));
}

/// Expirations are announced once, to the observers too, when the application walks consecutive
/// windows; never for a consent still running or withdrawn before its end.
pub async fn expirations_are_announced_once_per_window(store: Arc<DynConsentStore>) {
    let clock = Arc::new(ManualClock::new(t0()));
    let recorder = Arc::new(Recorder::default());
    let ledger = builder(store, clock.clone())
        .observer(recorder.clone())
        .build()
        .expect("ledger");
    let alice = subject();
    let first = ledger
        .grant(&alice, newsletter().ttl(HOUR))
        .await
        .expect("grant");
    let support = ledger
        .grant(
            &alice,
            Grant::new("support-access", "1", "web-form").ttl(3 * HOUR),
        )
        .await
        .expect("grant");
    let start = t0();
    let announce = |since, until| ledger.announce_expirations(&alice, since, until);

    // Nothing has expired in the first half hour.
    assert!(
        announce(start, start + HOUR / 2)
            .await
            .expect("window")
            .is_empty()
    );
    // The newsletter consent ends at +1h: announced in the window that contains it, once.
    let events = announce(start + HOUR / 2, start + 2 * HOUR)
        .await
        .expect("window");
    assert_eq!(
        events,
        vec![ConsentEvent::Expired {
            subject: alice.clone(),
            purpose: "newsletter".into(),
            receipt_id: first.receipt_id,
            expired_at: first.expires_at,
        }]
    );
    assert!(
        announce(start + 2 * HOUR, start + 5 * HOUR / 2)
            .await
            .expect("window")
            .is_empty()
    );
    // Withdrawn before its end: a withdrawal, not an expiry.
    clock.set(start + 2 * HOUR + HOUR / 2);
    ledger
        .withdraw(&alice, "support-access", "no longer needed")
        .await
        .expect("withdraw");
    assert!(
        announce(start + 5 * HOUR / 2, start + 10 * HOUR)
            .await
            .expect("window")
            .is_empty()
    );
    let _ = support;
    let seen = recorder.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let expired: Vec<_> = seen
        .iter()
        .filter(|e| matches!(e, ConsentEvent::Expired { .. }))
        .collect();
    assert_eq!(expired, vec![&events[0]], "observers see each expiry once");
    // A window that ends before it starts is refused.
    assert!(matches!(
        announce(start + HOUR, start).await,
        Err(Error::InvalidInput { field: "since", .. })
    ));
}

/// A clock stepping backwards never makes a record older than its predecessor, so "as of"
/// checks keep seeing the history in the order it happened.
pub async fn clock_going_back_keeps_history_ordered(store: Arc<DynConsentStore>) {
    let (ledger, clock) = ledger(store);
    let alice = subject();
    clock.set(t0() + HOUR);
    ledger.grant(&alice, newsletter()).await.expect("grant");
    clock.set(t0());
    ledger
        .withdraw(&alice, "newsletter", "")
        .await
        .expect("withdraw");
    let history = ledger.history(&alice).await.expect("history");
    assert_eq!(history[1].recorded_at, t0() + HOUR);
    assert!(matches!(
        ledger
            .check(&alice, "newsletter", t0() + HOUR)
            .await
            .expect("check"),
        ConsentStatus::Withdrawn { .. }
    ));
}

/// Grants must use the version in force; a version requiring fresh consent supersedes older
/// consents from its effective date.
pub async fn policy_versions_and_supersession(store: Arc<DynConsentStore>) {
    let (ledger, clock) = ledger(store);
    let alice = subject();
    ledger
        .grant(&alice, newsletter().ttl(90 * DAY))
        .await
        .expect("grant");
    ledger
        .publish_policy(
            "newsletter",
            PolicyVersion::new("2", "typo fixed", t0() + 10 * DAY).expect("v2"),
        )
        .expect("publish v2");
    ledger
        .publish_policy(
            "newsletter",
            PolicyVersion::new("3", "now also sold to partners", t0() + 20 * DAY)
                .expect("v3")
                .with_fresh_consent_required(true),
        )
        .expect("publish v3");
    assert!(matches!(
        ledger.publish_policy(
            "newsletter",
            PolicyVersion::new("3", "dup", t0() + 30 * DAY).expect("dup")
        ),
        Err(Error::AlreadyExists { .. })
    ));

    clock.set(t0() + 15 * DAY);
    assert!(
        ledger
            .check_now(&alice, "newsletter")
            .await
            .expect("check")
            .is_granted()
    );
    let bob = subject();
    assert!(matches!(
        ledger.grant(&bob, newsletter()).await,
        Err(Error::StalePolicyVersion { ref current, .. }) if current == "2"
    ));
    assert!(matches!(
        ledger
            .grant(&bob, Grant::new("newsletter", "9", "web-form"))
            .await,
        Err(Error::UnknownPolicyVersion { .. })
    ));

    clock.set(t0() + 21 * DAY);
    assert_eq!(
        ledger.check_now(&alice, "newsletter").await.expect("check"),
        ConsentStatus::Superseded {
            at: t0() + 20 * DAY,
            by_version: "3".into()
        }
    );
    assert!(
        ledger
            .check(&alice, "newsletter", t0() + 15 * DAY)
            .await
            .expect("check")
            .is_granted()
    );
    let fresh = ledger
        .grant(&alice, Grant::new("newsletter", "3", "web-form"))
        .await
        .expect("fresh grant");
    assert_eq!(fresh.policy_version, "3");
    assert!(
        ledger
            .check_now(&alice, "newsletter")
            .await
            .expect("check")
            .is_granted()
    );
}

/// Bad input gets typed errors and records nothing.
pub async fn bad_input_is_typed(store: Arc<DynConsentStore>) {
    let (ledger, _clock) = ledger(store);
    let alice = subject();
    let grant = |g: Grant| ledger.grant(&alice, g);
    assert!(matches!(
        grant(Grant::new("unknown", "1", "web-form")).await,
        Err(Error::UnknownPurpose { .. })
    ));
    assert!(matches!(
        grant(Grant::new("Bad Id", "1", "web-form")).await,
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        grant(newsletter().ttl(Duration::ZERO)).await,
        Err(Error::InvalidTtl { .. })
    ));
    assert!(matches!(
        grant(newsletter().ttl(366 * DAY)).await,
        Err(Error::InvalidTtl { .. })
    ));
    assert!(matches!(
        grant(Grant::new("newsletter", "1", "")).await,
        Err(Error::InvalidInput { .. })
    ));
    for evidence in [
        json!("not an object"),
        json!({ "score": 0.5 }),
        json!({ "blob": "x".repeat(20_000) }),
    ] {
        assert!(matches!(
            grant(newsletter().evidence(evidence)).await,
            Err(Error::InvalidInput {
                field: "evidence",
                ..
            })
        ));
    }
    for bad in ["", "   ", "a\u{0}b", &"x".repeat(300)] {
        assert!(matches!(
            ledger.grant(bad, newsletter()).await,
            Err(Error::InvalidInput {
                field: "subject",
                ..
            })
        ));
        assert!(matches!(
            ledger.check_now(bad, "newsletter").await,
            Err(Error::InvalidInput { .. })
        ));
        assert!(matches!(
            ledger.erase(bad).await,
            Err(Error::InvalidInput { .. })
        ));
    }
    assert!(matches!(
        ledger.check_now(&alice, "unknown").await,
        Err(Error::UnknownPurpose { .. })
    ));
    assert!(matches!(
        ledger.withdraw(&alice, "newsletter", "").await,
        Err(Error::NotGranted { .. })
    ));
    assert!(matches!(
        ledger.withdraw(&alice, "unknown", "").await,
        Err(Error::UnknownPurpose { .. })
    ));
    assert!(matches!(
        ledger
            .withdraw(&alice, "newsletter", &"r".repeat(5000))
            .await,
        Err(Error::InvalidInput {
            field: "reason",
            ..
        })
    ));
    assert!(matches!(
        ledger.revoke_access(&alice, uuid::Uuid::new_v4(), "").await,
        Err(Error::UnknownAccessGrant { .. })
    ));
    assert!(matches!(
        ledger
            .grant_access(
                &alice,
                Delegation::new("", "files:read"),
                Grant::new("support-access", "1", "web-form")
            )
            .await,
        Err(Error::InvalidInput {
            field: "grantee",
            ..
        })
    ));
    assert!(matches!(
        ledger.publish_policy(
            "unknown",
            PolicyVersion::new("2", "x", t0()).expect("policy")
        ),
        Err(Error::UnknownPurpose { .. })
    ));
    assert!(matches!(
        ledger.register_purpose(purposes().remove(0)),
        Err(Error::AlreadyExists { .. })
    ));
    assert!(ledger.history(&alice).await.expect("history").is_empty());
}

/// A time-boxed grant to another party, readable as an attribute, ending by itself.
pub async fn temporary_access_expires_by_itself(store: Arc<DynConsentStore>) {
    let (ledger, clock) = ledger(store);
    let alice = subject();
    let support = || Grant::new("support-access", "1", "in-app-dialog");
    let access = ledger
        .grant_access(&alice, Delegation::new("support", "files:read"), support())
        .await
        .expect("grant access");
    assert_eq!(access.expires_at, t0() + 24 * HOUR);
    assert!(access.receipt.hash_is_valid());
    assert_eq!(
        access.receipt.delegation,
        Some(Delegation::new("support", "files:read"))
    );
    let attribute = serde_json::to_value(access.attribute()).expect("json");
    assert_eq!(attribute["grantee"], "support");
    assert_eq!(attribute["scope"], "files:read");
    assert_eq!(attribute["subject"], Value::String(alice.clone()));
    assert_eq!(attribute["expires_at"], "2026-01-02T00:00:00Z");

    clock.advance(24 * HOUR - Duration::from_secs(1));
    let attrs = ledger
        .access_attributes(&alice, ledger.now())
        .await
        .expect("attrs");
    assert_eq!(attrs, [access.attribute()]);
    clock.advance(Duration::from_secs(1));
    assert!(
        ledger
            .active_access(&alice, ledger.now())
            .await
            .expect("active")
            .is_empty()
    );

    assert!(matches!(
        ledger
            .grant_access(
                &alice,
                Delegation::new("support", "files:read"),
                support().ttl(8 * DAY)
            )
            .await,
        Err(Error::InvalidTtl { .. })
    ));
    let second = ledger
        .grant_access(
            &alice,
            Delegation::new("auditor", "files:list"),
            support().ttl(HOUR),
        )
        .await
        .expect("grant access");
    assert_eq!(
        ledger
            .active_access(&alice, ledger.now())
            .await
            .expect("active")
            .len(),
        1
    );
    ledger
        .revoke_access(&alice, second.grant_id, "done")
        .await
        .expect("revoke");
    assert!(
        ledger
            .active_access(&alice, ledger.now())
            .await
            .expect("active")
            .is_empty()
    );
    assert!(matches!(
        ledger.revoke_access(&alice, second.grant_id, "").await,
        Err(Error::UnknownAccessGrant { .. })
    ));
    assert!(ledger.verify(&alice).await.expect("verify").is_intact());
}

/// Many concurrent grants for one subject all land, in one linear chain.
pub async fn concurrent_grants_form_one_chain(store: Arc<DynConsentStore>) {
    let (ledger, _clock) = ledger(store);
    let alice = subject();
    let results = join_all((0..12).map(|_| ledger.grant(&alice, newsletter()))).await;
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    let history = ledger.history(&alice).await.expect("history");
    assert_eq!(history.len(), 12);
    assert!(
        history
            .iter()
            .enumerate()
            .all(|(i, r)| r.seq == i as u64 + 1)
    );
    assert!(ledger.verify(&alice).await.expect("verify").is_intact());
}

/// `verify` names the first broken record after `tamper(chain, seq)` edits record `seq` of the
/// chain behind the store's back (it must change a hashed field: header, payload, kind, ...).
pub async fn verify_names_first_broken_record<F>(store: Arc<DynConsentStore>, tamper: F)
where
    F: AsyncFnOnce(String, u64),
{
    let (ledger, _clock) = ledger(store);
    let alice = subject();
    for _ in 0..4 {
        ledger.grant(&alice, newsletter()).await.expect("grant");
    }
    assert!(ledger.verify(&alice).await.expect("verify").is_intact());
    tamper(ledger.subject_digest(&alice).expect("digest"), 2).await;
    match ledger.verify(&alice).await.expect("verify") {
        ChainVerification::Broken { seq, .. } => assert_eq!(seq, 2),
        intact => panic!("tampering went unnoticed: {intact:?}"),
    }
}

#[derive(Debug)]
struct FilesSection;

#[async_trait]
impl ExportContributor for FilesSection {
    fn section(&self) -> &str {
        "files"
    }
    async fn export(
        &self,
        subject: &str,
    ) -> std::result::Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Ok(json!([{ "owner": subject, "name": "holiday.jpg" }]))
    }
}

#[derive(Debug)]
struct BrokenSection;

#[async_trait]
impl ExportContributor for BrokenSection {
    fn section(&self) -> &str {
        "sessions"
    }
    async fn export(
        &self,
        _subject: &str,
    ) -> std::result::Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err("session store unreachable".into())
    }
}

/// The export holds every consent, withdrawal, receipt, access grant and contributed section.
pub async fn export_contains_everything(store: Arc<DynConsentStore>) {
    let clock = Arc::new(ManualClock::new(t0()));
    let ledger = builder(store.clone(), clock.clone())
        .export_contributor(Arc::new(FilesSection))
        .build()
        .expect("ledger");
    let alice = subject();
    let receipt = ledger.grant(&alice, newsletter()).await.expect("grant");
    clock.advance(HOUR);
    ledger
        .withdraw(&alice, "newsletter", "moving on")
        .await
        .expect("withdraw");
    let access = ledger
        .grant_access(
            &alice,
            Delegation::new("support", "files:read"),
            Grant::new("support-access", "1", "web-form"),
        )
        .await
        .expect("access");

    let doc = ledger.export(&alice).await.expect("export");
    assert_eq!(doc.format, crate::EXPORT_FORMAT);
    assert_eq!(doc.subject, alice);
    assert_eq!(doc.receipts, [receipt.clone(), access.receipt.clone()]);
    assert_eq!(doc.withdrawals.len(), 1);
    assert_eq!(doc.withdrawals[0].reason, "moving on");
    assert_eq!(doc.withdrawals[0].receipt_id, receipt.receipt_id);
    assert_eq!(doc.consents.len(), 1);
    assert!(matches!(
        doc.consents[0].status,
        ConsentStatus::Withdrawn { .. }
    ));
    assert_eq!(doc.access_grants.len(), 1);
    assert!(doc.access_grants[0].active);
    assert_eq!(doc.chain.len(), 3);
    assert!(doc.chain_verification.is_intact());
    assert_eq!(doc.sections["files"][0]["name"], "holiday.jpg");
    let parsed: crate::ExportDocument = serde_json::from_str(&doc.to_json()).expect("parse");
    assert_eq!(parsed, doc);

    let failing = builder(store, clock)
        .export_contributor(Arc::new(BrokenSection))
        .build()
        .expect("ledger");
    assert!(matches!(
        failing.export(&alice).await,
        Err(Error::Contributor { ref section, .. }) if section == "sessions"
    ));
}

/// Counts calls; fails the first `failures` of them.
#[derive(Debug)]
struct Handler {
    name: &'static str,
    calls: AtomicU64,
    failures: u64,
}

impl Handler {
    fn new(name: &'static str, failures: u64) -> Arc<Self> {
        Arc::new(Self {
            name,
            calls: AtomicU64::new(0),
            failures,
        })
    }

    fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl ErasureHandler for Handler {
    fn name(&self) -> &str {
        self.name
    }
    async fn erase(&self, _subject: &str) -> std::result::Result<u64, HandlerError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if call < self.failures {
            Err(HandlerError::retryable("backup server timed out"))
        } else {
            Ok(7)
        }
    }
}

/// After erasure, nothing the subject gave is left in the store, the chain still verifies and
/// the export shows no personal data; a second erase is idempotent.
pub async fn erase_then_export_has_no_personal_data(store: Arc<DynConsentStore>) {
    let clock = Arc::new(ManualClock::new(t0()));
    let files = Handler::new("files", 0);
    let ledger = builder(store.clone(), clock.clone())
        .erasure_handler(files.clone())
        .build()
        .expect("ledger");
    let alice = subject();
    let marks = ["EVIDENCEMARK", "REASONMARK", "GRANTEEMARK", "SCOPEMARK"];
    ledger
        .grant(&alice, newsletter().evidence(json!({ "form": marks[0] })))
        .await
        .expect("grant");
    ledger
        .withdraw(&alice, "newsletter", marks[1])
        .await
        .expect("withdraw");
    ledger
        .grant_access(
            &alice,
            Delegation::new(marks[2], marks[3]),
            Grant::new("support-access", "1", "web-form"),
        )
        .await
        .expect("access");
    clock.advance(HOUR);

    let report = ledger.erase(&alice).await.expect("erase");
    assert!(report.is_complete());
    assert!(matches!(
        report.handlers[0].outcome,
        HandlerOutcome::Erased { items: 7 }
    ));
    let proof = report.proof.clone().expect("proof");
    let digest = ledger.subject_digest(&alice).expect("digest");
    assert_eq!(proof.subject_digest, digest);
    assert_eq!(proof.handlers.len(), 1);
    assert_eq!(proof.handlers[0].name, "files");
    assert!(proof.records_redacted >= 3);
    assert_eq!(proof.recipients_to_notify, ["Mailer Inc"]);
    assert_eq!(files.calls(), 1);

    let stored = store.read_all(&digest).await.expect("read");
    let raw = serde_json::to_string(&stored).expect("json");
    assert!(!raw.contains(&alice), "subject id left in the store");
    for mark in marks {
        assert!(!raw.contains(mark), "{mark} left in the store");
    }
    assert!(ledger.verify(&alice).await.expect("verify").is_intact());
    assert!(matches!(
        ledger.check_now(&alice, "newsletter").await.expect("check"),
        ConsentStatus::Withdrawn { .. }
    ));
    assert!(
        ledger
            .active_access(&alice, ledger.now())
            .await
            .expect("active")
            .is_empty()
    );

    let doc = ledger.export(&alice).await.expect("export");
    assert!(doc.receipts.is_empty() && doc.withdrawals.is_empty());
    assert!(doc.access_grants.is_empty());
    assert_eq!(doc.erasures, std::slice::from_ref(&proof));
    let mut value = serde_json::to_value(&doc).expect("json");
    if let Some(map) = value.as_object_mut() {
        map.remove("subject");
    }
    let text = value.to_string();
    assert!(!text.contains(&alice), "subject id left in the export");
    for mark in marks {
        assert!(!text.contains(mark), "{mark} left in the export");
    }

    let again = ledger.erase(&alice).await.expect("erase again");
    assert_eq!(again.proof, Some(proof));
    assert_eq!(
        files.calls(),
        1,
        "a settled erasure does not rerun handlers"
    );
    assert!(matches!(
        ledger.erasure_status(&alice).await.expect("status"),
        Some(ErasureStatus::Completed { .. })
    ));

    // The subject may come back and consent again.
    ledger
        .grant(&alice, newsletter())
        .await
        .expect("grant after erasure");
    assert!(
        ledger
            .check_now(&alice, "newsletter")
            .await
            .expect("check")
            .is_granted()
    );
}

/// A failing handler leaves the request open and the ledger untouched; the next call retries
/// only what did not finish.
pub async fn failed_handler_is_retried(store: Arc<DynConsentStore>) {
    let clock = Arc::new(ManualClock::new(t0()));
    let files = Handler::new("files", 0);
    let backups = Handler::new("backups", 1);
    let ledger = builder(store, clock.clone())
        .erasure_handler(files.clone())
        .erasure_handler(backups.clone())
        .build()
        .expect("ledger");
    let alice = subject();
    ledger.grant(&alice, newsletter()).await.expect("grant");

    let Err(Error::ErasureIncomplete(report)) = ledger.erase(&alice).await else {
        panic!("a failed handler must fail the erasure");
    };
    assert!(!report.is_complete());
    assert!(matches!(
        report.handlers[0].outcome,
        HandlerOutcome::Erased { .. }
    ));
    assert!(matches!(
        &report.handlers[1].outcome,
        HandlerOutcome::Failed { error } if error.retryable
    ));
    assert_eq!(report.due_by, t0() + 30 * DAY);
    // Processing stops at the request, but nothing is pseudonymized before all handlers finish.
    assert!(matches!(
        ledger.check_now(&alice, "newsletter").await.expect("check"),
        ConsentStatus::Withdrawn { .. }
    ));
    assert!(
        ledger.history(&alice).await.expect("history")[0]
            .payload
            .is_some()
    );
    assert!(matches!(
        ledger.grant(&alice, newsletter()).await,
        Err(Error::ErasurePending { .. })
    ));

    clock.advance(31 * DAY);
    match ledger.erasure_status(&alice).await.expect("status") {
        Some(ErasureStatus::Pending {
            overdue, finished, ..
        }) => {
            assert!(overdue);
            assert_eq!(finished, ["files"]);
        }
        other => panic!("expected a pending erasure, got {other:?}"),
    }

    let report = ledger.erase(&alice).await.expect("retry");
    assert!(report.is_complete());
    assert!(matches!(
        report.handlers[0].outcome,
        HandlerOutcome::AlreadyErased { .. }
    ));
    assert!(matches!(
        report.handlers[1].outcome,
        HandlerOutcome::Erased { .. }
    ));
    assert_eq!((files.calls(), backups.calls()), (1, 2));
    assert_eq!(report.proof.expect("proof").handlers.len(), 2);
    assert!(
        ledger.history(&alice).await.expect("history")[0]
            .payload
            .is_none()
    );
    assert!(ledger.verify(&alice).await.expect("verify").is_intact());
}

/// A store that fails the next append of chosen record kinds, as a crash would.
#[derive(Debug)]
struct CrashingStore {
    inner: Arc<DynConsentStore>,
    crash_on: Mutex<Vec<RecordKind>>,
}

#[async_trait]
impl ConsentStore for CrashingStore {
    async fn append(&self, record: &ChainRecord) -> Result<()> {
        let crash = {
            let mut kinds = self.crash_on.lock().unwrap_or_else(|e| e.into_inner());
            match kinds.iter().position(|k| *k == record.kind) {
                Some(i) => {
                    kinds.remove(i);
                    true
                }
                None => false,
            }
        };
        if crash {
            return Err(Error::Storage(StorageError::new(std::io::Error::other(
                "simulated crash",
            ))));
        }
        self.inner.append(record).await
    }
    async fn read(&self, chain: &str, from_seq: u64) -> Result<Vec<ChainRecord>> {
        self.inner.read(chain, from_seq).await
    }
    async fn head(&self, chain: &str) -> Result<Option<ChainRecord>> {
        self.inner.head(chain).await
    }
    async fn redact(&self, chain: &str, seqs: &[u64]) -> Result<u64> {
        self.inner.redact(chain, seqs).await
    }
}

/// A crash after a handler ran but before its completion was recorded reruns the handler; a
/// crash between redaction and the proof finishes on the next call.
pub async fn crash_mid_erasure_resumes(store: Arc<DynConsentStore>) {
    let crashing = Arc::new(CrashingStore {
        inner: store,
        crash_on: Mutex::new(vec![RecordKind::ErasureStep]),
    });
    let clock = Arc::new(ManualClock::new(t0()));
    let files = Handler::new("files", 0);
    let ledger = builder(crashing.clone(), clock)
        .erasure_handler(files.clone())
        .build()
        .expect("ledger");

    let alice = subject();
    ledger.grant(&alice, newsletter()).await.expect("grant");
    assert!(matches!(ledger.erase(&alice).await, Err(Error::Storage(_))));
    assert_eq!(files.calls(), 1);
    match ledger.erasure_status(&alice).await.expect("status") {
        Some(ErasureStatus::Pending { finished, .. }) => {
            assert!(
                finished.is_empty(),
                "an unrecorded completion must not count"
            )
        }
        other => panic!("expected a pending erasure, got {other:?}"),
    }
    let report = ledger.erase(&alice).await.expect("resume");
    assert!(report.is_complete());
    assert_eq!(files.calls(), 2);

    let bob = subject();
    ledger.grant(&bob, newsletter()).await.expect("grant");
    crashing
        .crash_on
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(RecordKind::Erased);
    assert!(matches!(ledger.erase(&bob).await, Err(Error::Storage(_))));
    assert!(matches!(
        ledger.erasure_status(&bob).await.expect("status"),
        Some(ErasureStatus::Pending { .. })
    ));
    let report = ledger.erase(&bob).await.expect("resume");
    assert!(report.is_complete());
    assert_eq!(files.calls(), 3, "the finished handler is not rerun");
    assert!(ledger.verify(&bob).await.expect("verify").is_intact());
}

/// Erasing a subject the ledger never saw still runs the handlers and leaves a proof.
pub async fn erase_unknown_subject_is_proven(store: Arc<DynConsentStore>) {
    let clock = Arc::new(ManualClock::new(t0()));
    let files = Handler::new("files", 0);
    let ledger = builder(store, clock)
        .erasure_handler(files.clone())
        .build()
        .expect("ledger");
    let ghost = subject();
    let first = ledger.erase(&ghost).await.expect("erase");
    assert!(first.is_complete());
    assert_eq!(files.calls(), 1);
    let second = ledger.erase(&ghost).await.expect("erase again");
    assert_eq!(second.proof, first.proof);
    assert_eq!(files.calls(), 1);
    assert!(ledger.verify(&ghost).await.expect("verify").is_intact());
}

#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<ConsentEvent>>);

impl ConsentObserver for Recorder {
    fn on_event(&self, event: &ConsentEvent) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event.clone());
    }
}

/// The observer sees each change once, in order; erasure events carry no subject id.
pub async fn observer_sees_every_event(store: Arc<DynConsentStore>) {
    let clock = Arc::new(ManualClock::new(t0()));
    let recorder = Arc::new(Recorder::default());
    let ledger = builder(store, clock)
        .observer(recorder.clone())
        .erasure_handler(Handler::new("files", 0))
        .build()
        .expect("ledger");
    let alice = subject();
    ledger.grant(&alice, newsletter()).await.expect("grant");
    ledger
        .withdraw(&alice, "newsletter", "")
        .await
        .expect("withdraw");
    let access = ledger
        .grant_access(
            &alice,
            Delegation::new("support", "files:read"),
            Grant::new("support-access", "1", "web-form"),
        )
        .await
        .expect("access");
    ledger
        .revoke_access(&alice, access.grant_id, "")
        .await
        .expect("revoke");
    let _ = ledger.grant(&alice, Grant::new("unknown", "1", "x")).await;
    ledger.erase(&alice).await.expect("erase");
    let events = recorder.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let kinds: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_value(e).expect("json")["type"].to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "\"granted\"",
            "\"withdrawn\"",
            "\"access_granted\"",
            "\"access_revoked\"",
            "\"erasure_requested\"",
            "\"erased\""
        ]
    );
    let erasure_events = serde_json::to_string(&events[4..]).expect("json");
    assert!(!erasure_events.contains(&alice));
}

/// Like [`concurrent_grants_form_one_chain`], but from tasks running in parallel on a
/// multi-threaded runtime.
#[cfg(test)]
pub(crate) async fn spawned_grants_form_one_chain(store: Arc<DynConsentStore>) {
    let (ledger, _clock) = ledger(store);
    let ledger = Arc::new(ledger);
    let alice = subject();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let ledger = ledger.clone();
            let alice = alice.clone();
            tokio::spawn(async move { ledger.grant(&alice, newsletter()).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("join").expect("grant");
    }
    let history = ledger.history(&alice).await.expect("history");
    assert_eq!(history.len(), 16);
    assert!(ledger.verify(&alice).await.expect("verify").is_intact());
}
