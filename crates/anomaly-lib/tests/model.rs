//! Behaviour of the model through its public API.

use std::sync::{Arc, Mutex};

use strongroom_anomaly::{
    Config, Error, Event, Feature, FileAction, Finding, Level, Model, Outcome, Timestamp,
};

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const FIREFOX_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
/// Monday 2024-01-01 09:00 UTC.
const T0: i64 = 1_704_099_600;
const DAY: i64 = 86_400;

fn at(t: i64) -> Timestamp {
    Timestamp::from_unix_seconds(t)
}

fn home_login(user: &str, t: i64) -> Event {
    Event::login(user, at(t))
        .with_ip("198.51.100.23")
        .with_asn(64500)
        .with_country("DE")
        .with_city("Berlin")
        .with_coordinates(52.52, 13.40)
        .with_user_agent(CHROME)
        .with_device_id("laptop-1")
}

/// Thirty weekdays of logins from home, plus a population of other users so global shares mean
/// something.
fn trained() -> Model {
    let mut m = Model::new(Config::default()).unwrap();
    for d in 0..30 {
        m.observe(&home_login("alice", T0 + d * DAY)).unwrap();
        for (i, (country, asn)) in [("DE", 64500), ("FR", 64501), ("US", 64502), ("BR", 64503)]
            .iter()
            .enumerate()
        {
            let e = Event::login(format!("other{i}"), at(T0 + d * DAY + 60))
                .with_ip(format!("192.0.2.{i}"))
                .with_asn(*asn)
                .with_country(*country)
                .with_user_agent(if i % 2 == 0 { CHROME } else { FIREFOX_LINUX })
                .with_device_id(format!("dev-{i}"));
            m.observe(&e).unwrap();
        }
    }
    m
}

fn reason(risk: &strongroom_anomaly::Risk, feature: Feature) -> &strongroom_anomaly::Reason {
    risk.reasons
        .iter()
        .find(|r| r.feature == feature)
        .unwrap_or_else(|| panic!("no {feature} reason in {:#?}", risk.reasons))
}

#[test]
fn familiar_login_is_low_and_says_why() {
    let m = trained();
    let risk = m.score(&home_login("alice", T0 + 30 * DAY)).unwrap();
    assert_eq!(risk.level, Level::Low, "{risk:#?}");
    assert!(risk.score < 0.05);
    assert!(matches!(
        reason(&risk, Feature::Country).finding,
        Finding::Seen { .. }
    ));
    assert!(matches!(
        reason(&risk, Feature::DeviceId).finding,
        Finding::Seen { .. }
    ));
    let total: f64 = risk.reasons.iter().map(|r| r.contribution).sum();
    assert!(
        (total - risk.evidence).abs() < 1e-9,
        "reasons add up to the evidence"
    );
}

#[test]
fn new_country_network_and_device_is_high_with_reasons() {
    let m = trained();
    let odd = Event::login("alice", at(T0 + 30 * DAY))
        .with_ip("203.0.113.99")
        .with_asn(64503)
        .with_country("BR")
        .with_user_agent(FIREFOX_LINUX)
        .with_device_id("unknown-7");
    let risk = m.score(&odd).unwrap();
    assert!(risk.level >= Level::High, "{risk:#?}");
    let country = reason(&risk, Feature::Country);
    assert_eq!(country.value, "BR");
    assert!(matches!(country.finding, Finding::NewForUser { .. }));
    assert!(country.contribution > 1.0);
    // Finer levels are implied by the new country and add nothing.
    assert_eq!(reason(&risk, Feature::Asn).finding, Finding::ImpliedNew);
    assert_eq!(reason(&risk, Feature::Asn).contribution, 0.0);
    assert!(matches!(
        reason(&risk, Feature::DeviceId).finding,
        Finding::NewForUser { .. }
    ));
    assert_eq!(
        risk.reasons[0].contribution,
        risk.reasons
            .iter()
            .map(|r| r.contribution)
            .fold(f64::MIN, f64::max)
    );
    assert!(risk.raising().count() >= 3);
    assert!(risk.reasons.iter().any(|r| {
        r.to_string()
            .starts_with("country \"BR\" new for this user")
    }));
}

#[test]
fn cold_start_is_explicit_and_adds_no_personal_evidence() {
    let m = trained();
    let risk = m.score(&home_login("newcomer", T0 + 30 * DAY)).unwrap();
    let r = reason(&risk, Feature::Profile);
    assert_eq!(
        r.finding,
        Finding::ColdStart {
            events_seen: 0,
            events_needed: 5
        }
    );
    assert!(risk.reasons.iter().all(|r| r.feature != Feature::Country));
    assert_eq!(risk.level, Level::Low);
}

#[test]
fn missing_and_malformed_fields_are_scored_and_reported() {
    let m = trained();
    let bare = Event::login("alice", at(T0 + 30 * DAY));
    let risk = m.score(&bare).unwrap();
    assert!(
        risk.reasons
            .iter()
            .any(|r| r.feature == Feature::Ip && r.finding == Finding::Missing)
    );
    assert!(
        risk.reasons
            .iter()
            .any(|r| r.feature == Feature::UserAgent && r.finding == Finding::Missing)
    );
    assert!(
        risk.reasons
            .iter()
            .any(|r| r.feature == Feature::DeviceId && r.finding == Finding::Missing)
    );

    let junk = Event::login("alice", at(T0 + 30 * DAY))
        .with_ip("300.1.2.3")
        .with_user_agent("\u{7}")
        .with_coordinates(f64::NAN, f64::INFINITY);
    let risk = m.score(&junk).unwrap();
    for feature in [Feature::Ip, Feature::UserAgent, Feature::Travel] {
        let r = risk
            .reasons
            .iter()
            .find(|r| r.feature == feature && r.finding == Finding::Malformed);
        assert_eq!(r.map(|r| r.contribution), Some(1.0), "{feature}");
    }
    assert!((0.0..=1.0).contains(&risk.score));
}

#[test]
fn unusable_events_are_typed_errors() {
    let mut m = Model::new(Config::default()).unwrap();
    let err = m.score(&Event::login("", at(0))).unwrap_err();
    assert!(matches!(err, Error::InvalidEvent { field: "user", .. }));
    let err = m
        .observe(&Event::login("x".repeat(513), at(0)))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidEvent { field: "user", .. }));
    let mut bad = Config::default();
    bad.thresholds.critical = 2.0;
    assert!(matches!(
        Model::new(bad),
        Err(Error::InvalidConfig {
            field: "thresholds.critical",
            ..
        })
    ));
}

#[test]
fn impossible_travel_is_flagged() {
    let mut m = trained();
    m.observe(&home_login("alice", T0 + 30 * DAY)).unwrap();
    let sydney = home_login("alice", T0 + 30 * DAY + 2 * 3600).with_coordinates(-33.87, 151.21);
    let risk = m.score(&sydney).unwrap();
    let r = reason(&risk, Feature::Travel);
    let Finding::ImpossibleTravel {
        km,
        hours,
        km_per_hour,
    } = r.finding
    else {
        panic!("{r:?}")
    };
    assert!(km > 15_000.0 && (hours - 2.0).abs() < 1e-9 && km_per_hour > 7_000.0);
    assert!(r.contribution > 4.0);
    // The same trip over two days is fine.
    let slow = home_login("alice", T0 + 32 * DAY).with_coordinates(-33.87, 151.21);
    assert!(
        m.score(&slow)
            .unwrap()
            .reasons
            .iter()
            .all(|r| r.feature != Feature::Travel)
    );
}

#[test]
fn failed_login_burst_then_success_is_flagged() {
    let mut m = trained();
    let t = T0 + 30 * DAY;
    for i in 0..30 {
        let guess = home_login("alice", t + i * 10).with_outcome(Outcome::Failure);
        m.score_and_observe(&guess).unwrap();
    }
    let risk = m.score(&home_login("alice", t + 400)).unwrap();
    let r = reason(&risk, Feature::FailedLogins);
    assert!(r.contribution > 3.0, "{risk:#?}");
    assert!(risk.level >= Level::Medium);
}

#[test]
fn download_burst_from_a_familiar_context_is_flagged() {
    let mut m = trained();
    let download = |t: i64, doc: i64| {
        Event::file("alice", at(t), FileAction::Download)
            .with_ip("198.51.100.23")
            .with_asn(64500)
            .with_country("DE")
            .with_user_agent(CHROME)
            .with_device_id("laptop-1")
            .with_resource(format!("/alice/doc{doc}"))
            .with_bytes(50_000)
    };
    // Habit: two or three downloads of a few documents a day.
    for d in 0..30 {
        for k in 0..3 {
            m.observe(&download(T0 + d * DAY + 3600 + k * 300, k))
                .unwrap();
        }
    }
    let t = T0 + 30 * DAY + 3600;
    let mut last = None;
    for i in 0..150 {
        last = Some(m.score_and_observe(&download(t + i * 5, 1000 + i)).unwrap());
    }
    let risk = last.unwrap();
    assert!(risk.level >= Level::High, "{risk:#?}");
    for feature in [
        Feature::Downloads,
        Feature::DistinctResources,
        Feature::DownloadBytes,
    ] {
        assert!(
            reason(&risk, feature).contribution > 0.5,
            "{feature}: {risk:#?}"
        );
    }
}

#[test]
fn high_risk_context_is_not_learned_by_score_and_observe() {
    let mut m = trained();
    let attacker = |t| {
        Event::login("alice", at(t))
            .with_ip("203.0.113.99")
            .with_asn(64503)
            .with_country("BR")
            .with_user_agent(FIREFOX_LINUX)
            .with_device_id("attacker")
    };
    let first = m.score_and_observe(&attacker(T0 + 30 * DAY)).unwrap();
    assert!(first.level >= Level::High);
    let second = m.score_and_observe(&attacker(T0 + 30 * DAY + 60)).unwrap();
    assert!(
        second.level >= Level::High,
        "the attacker did not become familiar"
    );
    // Explicitly trusted (say, after passing MFA) it is learned.
    for i in 0..5 {
        m.observe(&attacker(T0 + 31 * DAY + i * 3600)).unwrap();
    }
    assert!(m.score(&attacker(T0 + 32 * DAY)).unwrap().score < second.score);
}

#[test]
fn alerts_fire_for_high_and_critical_only() {
    let seen: Arc<Mutex<Vec<(String, Level)>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let mut m = trained().with_alert_sink(move |a: &strongroom_anomaly::Alert<'_>| {
        sink.lock().unwrap().push((a.user.to_owned(), a.risk.level));
    });
    m.score_and_observe(&home_login("alice", T0 + 30 * DAY))
        .unwrap();
    assert!(seen.lock().unwrap().is_empty());
    let odd = Event::login("alice", at(T0 + 30 * DAY + 60))
        .with_ip("203.0.113.99")
        .with_asn(64503)
        .with_country("BR")
        .with_device_id("x");
    let risk = m.score(&odd).unwrap();
    let alerts = seen.lock().unwrap().clone();
    assert_eq!(alerts, vec![("alice".to_owned(), risk.level)]);
    assert!(risk.level >= Level::High);
}

#[test]
fn snapshot_round_trip_keeps_what_was_learned() {
    let m = trained();
    let bytes = m.snapshot().unwrap();
    let restored = Model::restore(&bytes).unwrap();
    let probe = Event::login("alice", at(T0 + 30 * DAY))
        .with_ip("203.0.113.99")
        .with_country("BR");
    assert_eq!(m.score(&probe).unwrap(), restored.score(&probe).unwrap());
    assert_eq!(restored.user_count(), m.user_count());
    assert_eq!(restored.events_learned("alice"), 30);
    let mut via_reader = Vec::new();
    m.write_snapshot(&mut via_reader).unwrap();
    assert_eq!(
        Model::read_snapshot(via_reader.as_slice())
            .unwrap()
            .user_count(),
        m.user_count()
    );
}

#[test]
fn bad_snapshots_are_refused() {
    let m = trained();
    let json: serde_json::Value = serde_json::from_slice(&m.snapshot().unwrap()).unwrap();

    let mut future = json.clone();
    future["format_version"] = 99.into();
    let err = Model::restore(&serde_json::to_vec(&future).unwrap()).unwrap_err();
    assert!(matches!(
        err,
        Error::UnsupportedSnapshotVersion {
            found: 99,
            supported: 1
        }
    ));

    assert!(matches!(
        Model::restore(b"not json"),
        Err(Error::CorruptSnapshot(_))
    ));
    assert!(matches!(
        Model::restore(b"{\"format_version\":1}"),
        Err(Error::CorruptSnapshot(_))
    ));

    let mut short_hours = json.clone();
    short_hours["global"]["hours"] = serde_json::json!([1, 2, 3]);
    let err = Model::restore(&serde_json::to_vec(&short_hours).unwrap()).unwrap_err();
    assert!(matches!(err, Error::CorruptSnapshot(_)));

    let mut bad_config = json.clone();
    bad_config["config"]["sketch_width"] = 1000.into();
    let err = Model::restore(&serde_json::to_vec(&bad_config).unwrap()).unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidConfig {
            field: "sketch_width",
            ..
        }
    ));

    let mut negative = json;
    negative["users"][0][1]["tables"][0]["total"] = serde_json::json!(-5.0);
    let err = Model::restore(&serde_json::to_vec(&negative).unwrap()).unwrap_err();
    assert!(matches!(err, Error::CorruptSnapshot(_)));
}

#[test]
fn memory_is_bounded_per_user_and_in_users() {
    let mut config = Config::default();
    config.max_users = 64;
    config.max_values_per_feature = 8;
    let mut m = Model::new(config).unwrap();
    // One roaming user with thousands of distinct values.
    for i in 0..5000i64 {
        let e = Event::login("roamer", at(T0 + i * 60))
            .with_ip(format!("10.{}.{}.{}", i % 200, (i / 200) % 250, i % 250))
            .with_asn(i as u32)
            .with_country(format!("C{i}"))
            .with_user_agent(format!("agent/{i}"))
            .with_device_id(format!("d{i}"));
        m.score_and_observe(&e).unwrap();
    }
    let one_user = m.approx_memory_bytes();
    for i in 0..5000i64 {
        m.observe(&home_login(&format!("u{i}"), T0 + i)).unwrap();
    }
    assert!(m.user_count() <= 64, "{}", m.user_count());
    // The most recently active users survive eviction.
    assert_eq!(m.events_learned("u4999"), 1);
    assert!(m.approx_memory_bytes() < one_user + 64 * 8 * 1024);
}

#[test]
fn time_going_backwards_is_harmless() {
    let mut m = trained();
    for t in [T0 + 40 * DAY, T0, i64::MIN, i64::MAX, 0, -1] {
        let risk = m.score_and_observe(&home_login("alice", t)).unwrap();
        assert!((0.0..=1.0).contains(&risk.score));
    }
}

#[test]
fn forgetting_a_user_starts_them_over() {
    let mut m = trained();
    assert!(m.forget_user("alice"));
    assert!(!m.forget_user("alice"));
    assert_eq!(m.events_learned("alice"), 0);
}
