//! Arbitrary input never panics and always yields a score in [0, 1].

use proptest::prelude::*;
use strongroom_anomaly::{Config, Event, FileAction, Model, Outcome, Timestamp};

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        -200.0..200.0f64,
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        any::<f64>(),
    ]
}

fn any_ip() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3])),
        any::<[u16; 8]>().prop_map(|s| std::net::Ipv6Addr::from(s).to_string()),
        ".{0,40}",
    ]
}

fn any_event() -> impl Strategy<Value = Event> {
    let user = prop_oneof![Just("alice".to_owned()), Just("bob".to_owned()), ".{1,30}"];
    let time = prop_oneof![any::<i64>(), 1_700_000_000i64..1_700_100_000];
    let action = prop_oneof![
        Just(None),
        Just(Some(FileAction::Download)),
        Just(Some(FileAction::Read)),
        Just(Some(FileAction::Upload)),
        Just(Some(FileAction::Share)),
    ];
    (
        (
            user,
            time,
            action,
            any::<bool>(),
            proptest::option::of(any_ip()),
            proptest::option::of(".{0,20}"),
        ),
        (
            proptest::option::of(any::<u32>()),
            proptest::option::of(".{0,8}"),
            proptest::option::of((any_f64(), any_f64())),
            proptest::option::of(".{0,300}"),
            proptest::option::of(".{0,20}"),
            proptest::option::of(any::<u64>()),
            proptest::option::of(".{0,30}"),
        ),
    )
        .prop_map(
            |(
                (user, time, action, failed, ip, prefix),
                (asn, country, coords, ua, device, bytes, resource),
            )| {
                let t = Timestamp::from_unix_seconds(time);
                let mut e = match action {
                    None => Event::login(user, t),
                    Some(a) => Event::file(user, t, a),
                };
                if failed {
                    e = e.with_outcome(Outcome::Failure);
                }
                if let Some(v) = ip {
                    e = e.with_ip(v);
                }
                if let Some(v) = prefix {
                    e = e.with_prefix(v);
                }
                if let Some(v) = asn {
                    e = e.with_asn(v);
                }
                if let Some(v) = country {
                    e = e.with_country(v);
                }
                if let Some((lat, lon)) = coords {
                    e = e.with_coordinates(lat, lon);
                }
                if let Some(v) = ua {
                    e = e.with_user_agent(v);
                }
                if let Some(v) = device {
                    e = e.with_device_id(v);
                }
                if let Some(v) = bytes {
                    e = e.with_bytes(v);
                }
                if let Some(v) = resource {
                    e = e.with_resource(v);
                }
                e
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn score_is_a_probability_and_nothing_panics(events in proptest::collection::vec(any_event(), 1..60)) {
        let mut config = Config::default();
        config.cold_start_events = 1;
        config.max_users = 8;
        config.max_values_per_feature = 3;
        config.sketch_width = 64;
        let mut model = Model::new(config).unwrap();
        for e in &events {
            let risk = model.score_and_observe(e).unwrap();
            prop_assert!((0.0..=1.0).contains(&risk.score), "{risk:?}");
            prop_assert!(risk.evidence.is_finite());
            prop_assert!(risk.reasons.iter().all(|r| r.contribution.is_finite()));
            let _ = risk.reasons.iter().map(ToString::to_string).count();
        }
        // Whatever was learned survives a snapshot and scores the same.
        let restored = Model::restore(&model.snapshot().unwrap()).unwrap();
        for e in events.iter().take(5) {
            prop_assert_eq!(model.score(e).unwrap(), restored.score(e).unwrap());
        }
    }

    #[test]
    fn restore_never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Model::restore(&bytes);
    }
}
