//! Property tests: no input makes the ledger panic, and every accepted receipt keeps a valid,
//! reproducible hash through a JSON round trip.

use proptest::prelude::*;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;
use strongroom_consent::{
    ConsentLedger, Controller, Error, Grant, LedgerKey, LegalBasis, MemoryConsentStore,
    PolicyVersion, Purpose, Receipt, Timestamp,
};

const MAX_TTL: Duration = Duration::from_secs(365 * 86_400);

fn ledger() -> ConsentLedger {
    ConsentLedger::builder(Arc::new(MemoryConsentStore::new()), LedgerKey::generate())
        .controller(Controller::new("Example GmbH", "DPO", "dpo@example.com"))
        .jurisdiction("EU")
        .max_ttl(MAX_TTL)
        .purpose(
            Purpose::new(
                "newsletter",
                "Newsletter",
                LegalBasis::Consent,
                PolicyVersion::new("1", "text", Timestamp::UNIX_EPOCH).expect("policy"),
            )
            .expect("purpose"),
        )
        .build()
        .expect("ledger")
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".*".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".*", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_subject_is_accepted_or_refused_cleanly(subject in ".{0,300}") {
        let ledger = ledger();
        match block_on(ledger.grant(&subject, Grant::new("newsletter", "1", "web-form"))) {
            Ok(receipt) => prop_assert_eq!(receipt.pii_principal_id, subject),
            Err(Error::InvalidInput { field, .. }) => prop_assert_eq!(field, "subject"),
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    #[test]
    fn any_purpose_and_version_is_accepted_or_refused_cleanly(
        purpose in ".{0,40}",
        version in ".{0,40}",
        method in ".{0,40}",
    ) {
        let ledger = ledger();
        let result = block_on(ledger.grant("alice", Grant::new(purpose.clone(), version.clone(), method)));
        match result {
            Ok(_) => prop_assert!(purpose == "newsletter" && version == "1"),
            Err(
                Error::InvalidInput { .. }
                | Error::UnknownPurpose { .. }
                | Error::UnknownPolicyVersion { .. },
            ) => {}
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    #[test]
    fn ttl_bounds_are_enforced(secs in 0u64..(2 * 365 * 86_400)) {
        let ledger = ledger();
        let ttl = Duration::from_secs(secs);
        let result = block_on(ledger.grant("alice", Grant::new("newsletter", "1", "web-form").ttl(ttl)));
        if secs == 0 || ttl > MAX_TTL {
            prop_assert!(matches!(result, Err(Error::InvalidTtl { .. })), "{result:?}");
        } else {
            prop_assert!(result.is_ok(), "{result:?}");
        }
    }

    #[test]
    fn accepted_evidence_keeps_the_receipt_hash_reproducible(evidence in json_value()) {
        let ledger = ledger();
        let result = block_on(ledger.grant(
            "alice",
            Grant::new("newsletter", "1", "web-form").evidence(evidence.clone()),
        ));
        match result {
            Ok(receipt) => {
                prop_assert!(receipt.hash_is_valid());
                let reparsed: Receipt = serde_json::from_str(&receipt.to_json()).expect("parse");
                prop_assert!(reparsed.hash_is_valid());
                prop_assert_eq!(reparsed.receipt_hash, receipt.receipt_hash);
            }
            Err(Error::InvalidInput { field, .. }) => prop_assert_eq!(field, "evidence"),
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }
}
