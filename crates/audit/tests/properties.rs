//! Property tests for the parsers and the canonical encoding.

use proptest::prelude::*;
use serde_json::{Map, Value};
use strongroom_audit::{Actor, AuditEvent, Outcome, Resource, Timestamp};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn event() -> impl Strategy<Value = AuditEvent> {
    (
        prop_oneof![Just(0u8), Just(1), Just(2)],
        "[a-zA-Z0-9@._-]{1,20}",
        "[a-z][a-z0-9_]{0,8}\\.[a-z][a-z0-9_]{0,8}",
        "[a-z][a-z0-9_]{0,8}",
        "[^\\p{Cc}]{1,30}",
        prop_oneof![
            Just(Outcome::Success),
            Just(Outcome::Failure),
            Just(Outcome::Denied)
        ],
        0i64..4_000_000_000,
        prop::collection::btree_map("[a-z]{1,6}", json_value(), 0..5),
        proptest::option::of(any::<[u8; 4]>()),
    )
        .prop_map(
            |(kind, id, action, rtype, rid, outcome, second, attrs, ip)| {
                let actor = match kind {
                    0 => Actor::User(id),
                    1 => Actor::Service(id),
                    _ => Actor::Anonymous,
                };
                let mut b = AuditEvent::builder(actor, action, Resource::new(rtype, rid).unwrap())
                    .outcome(outcome)
                    .time(Timestamp::from_second(second).unwrap())
                    .attributes(Value::Object(attrs.into_iter().collect::<Map<_, _>>()));
                if let Some(ip) = ip {
                    b = b.ip(std::net::IpAddr::from(ip));
                }
                b.build().unwrap()
            },
        )
}

proptest! {
    #[test]
    fn cloudevents_and_storage_json_round_trip(e in event()) {
        let back = AuditEvent::from_cloudevent_json(&e.to_cloudevent_json()).unwrap();
        prop_assert_eq!(back.canonical_bytes(), e.canonical_bytes());
        prop_assert_eq!(&back, &e);
        let stored = AuditEvent::from_json(&e.to_json()).unwrap();
        prop_assert_eq!(stored.canonical_bytes(), e.canonical_bytes());
    }

    #[test]
    fn arbitrary_text_never_panics_the_parsers(text in ".{0,200}") {
        let _ = AuditEvent::from_cloudevent_json(&text);
        let _ = AuditEvent::from_json(&text);
    }

    #[test]
    fn arbitrary_json_never_panics_the_cloudevent_parser(v in json_value(), data in json_value()) {
        let _ = AuditEvent::from_cloudevent(&v);
        let ce = serde_json::json!({"specversion": "1.0", "id": "x", "source": "s", "type": "a.b", "data": data});
        let _ = AuditEvent::from_cloudevent(&ce);
    }
}
