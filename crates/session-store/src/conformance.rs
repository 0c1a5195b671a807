//! The test suite every [`SessionStore`](crate::SessionStore) backend must pass.
//!
//! Each function is a plain `async fn` taking the store under test; a backend's test module
//! calls them all, for example through [`run_all`]. Functions that exercise the refresh flow
//! build a [`SessionManager`] (with a [`ManualClock`]) over the store, which is why they take an
//! `Arc`.
//!
//! **These tests write and delete data** (including a `purge_expired` over the whole store):
//! point them at a throwaway database or schema. This module is for backend authors and is not
//! a stable API.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::join_all;

use crate::refresh::Secret;
use crate::{
    Algorithm, ClientInfo, DeviceRecord, DynSessionStore, Error, KeyRing, Login, ManualClock,
    RefreshState, RefreshTokenRecord, RevokeReason, RevokeScope, Rotation, Session, SessionEvent,
    SessionId, SessionManager, SessionManagerBuilder, TokenHash, TokenPolicy, TokenRejection,
};

/// Concurrent requests in the race tests.
const RACERS: usize = 8;
const START_SECS: u64 = 1_700_000_000;

/// Runs every test in this module against `store`.
pub async fn run_all(store: &Arc<DynSessionStore>) {
    create_and_read(store).await;
    rotate_is_conditional(store).await;
    rotate_race_exactly_one_wins(store).await;
    rotate_refused_after_revoke(store).await;
    revoke_scopes(store).await;
    devices(store).await;
    purge_expired(store).await;
    login_refresh_verify(store).await;
    refresh_race_exactly_one_wins(store).await;
    refresh_race_in_grace_window_shares_successor(store).await;
    reuse_after_rotation_revokes_family(store).await;
    grace_window_closes(store).await;
    idle_and_absolute_expiry(store).await;
    device_binding_and_trust(store).await;
    list_and_revoke_sessions(store).await;
    revocation_visible_across_managers_within_cache_ttl(store).await;
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A user id no other test (or earlier run against the same database) uses.
fn unique_user(tag: &str) -> String {
    format!("{tag}-{}", SessionId::generate())
}

fn session_fixture(user_id: &str, created: SystemTime) -> Session {
    Session {
        id: SessionId::generate(),
        user_id: user_id.to_owned(),
        device_id: Some("device-1".into()),
        device_name: Some("Laptop".into()),
        ip: Some("192.0.2.10".parse().expect("valid literal")),
        user_agent: Some("Mozilla/5.0".into()),
        roles: vec!["editor".into(), "viewer".into()],
        amr: vec!["pwd".into()],
        device_bound: false,
        created_at: created,
        last_used_at: created,
        idle_expires_at: created + Duration::from_secs(3_600),
        expires_at: created + Duration::from_secs(86_400),
        revoked_at: None,
        revoke_reason: None,
    }
}

fn token_fixture(
    session: &Session,
    generation: u64,
    issued: SystemTime,
) -> (Secret, RefreshTokenRecord) {
    let (secret, token) = Secret::generate();
    let record = RefreshTokenRecord {
        hash: TokenHash::of(token.as_str()),
        session_id: session.id.clone(),
        generation,
        state: RefreshState::Active,
        issued_at: issued,
        rotated_at: None,
        successor: None,
    };
    (secret, record)
}

fn rotation_fixture(
    session: &Session,
    previous: (&Secret, &RefreshTokenRecord),
    when: SystemTime,
) -> Rotation {
    let (next_secret, next) = token_fixture(session, previous.1.generation + 1, when);
    Rotation {
        session_id: session.id.clone(),
        previous: previous.1.hash,
        sealed_next: previous.0.seal(&next_secret),
        next,
        at: when,
        idle_expires_at: when + Duration::from_secs(3_600),
        ip: Some("198.51.100.7".parse().expect("valid literal")),
        user_agent: None,
    }
}

async fn stored_session(
    store: &DynSessionStore,
    user: &str,
    created: SystemTime,
) -> (Session, Secret, RefreshTokenRecord) {
    let session = session_fixture(user, created);
    let (secret, token) = token_fixture(&session, 0, created);
    store
        .create_session(&session, &token)
        .await
        .expect("create session");
    (session, secret, token)
}

/// Records every event a manager emits.
#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<Vec<SessionEvent>>>);

impl Recorder {
    fn events(&self) -> Vec<SessionEvent> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn count(&self, pred: impl Fn(&SessionEvent) -> bool) -> usize {
        self.events().iter().filter(|e| pred(e)).count()
    }
}

fn builder(
    store: &Arc<DynSessionStore>,
    clock: &ManualClock,
    events: &Recorder,
) -> SessionManagerBuilder {
    let sink = events.clone();
    SessionManager::builder(
        store.clone(),
        KeyRing::generate(Algorithm::EdDSA).expect("key generation"),
        TokenPolicy::new("https://auth.example", "strongroom"),
    )
    .clock(Arc::new(clock.clone()))
    .events(move |e: &SessionEvent| {
        sink.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(e.clone())
    })
}

fn manager(store: &Arc<DynSessionStore>) -> (SessionManager, ManualClock, Recorder) {
    let clock = ManualClock::new(at(START_SECS));
    let events = Recorder::default();
    let manager = builder(store, &clock, &events)
        .build()
        .expect("valid configuration");
    (manager, clock, events)
}

/// Sessions and tokens round-trip exactly; missing records are `NotFound`; duplicates are
/// `AlreadyExists`.
pub async fn create_and_read(store: &Arc<DynSessionStore>) {
    let user = unique_user("create");
    let (session, _, token) = stored_session(store.as_ref(), &user, at(START_SECS)).await;
    assert_eq!(store.session(&session.id).await.expect("get"), session);
    assert_eq!(
        store.refresh_token(&token.hash).await.expect("token"),
        token
    );
    let both = store
        .refresh_token_with_session(&token.hash)
        .await
        .expect("token with session");
    assert_eq!(both, (token.clone(), session.clone()));

    let (later, _, _) = stored_session(store.as_ref(), &user, at(START_SECS + 5)).await;
    let listed = store.sessions_for_user(&user).await.expect("list");
    assert_eq!(listed, vec![session.clone(), later], "oldest first");
    assert!(
        store
            .sessions_for_user(&unique_user("nobody"))
            .await
            .expect("list")
            .is_empty()
    );

    let missing = store.session(&SessionId::generate()).await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
    let (_, unknown) = token_fixture(&session_fixture(&user, at(START_SECS)), 0, at(START_SECS));
    assert!(matches!(
        store.refresh_token(&unknown.hash).await,
        Err(Error::NotFound { .. })
    ));
    let neither = store.refresh_token_with_session(&unknown.hash).await;
    assert!(
        matches!(neither, Err(Error::NotFound { .. })),
        "{neither:?}"
    );

    let (_, fresh_token) = token_fixture(&session, 0, at(START_SECS));
    let dup = store.create_session(&session, &fresh_token).await;
    assert!(matches!(dup, Err(Error::AlreadyExists { .. })), "{dup:?}");
    let other = session_fixture(&user, at(START_SECS));
    let dup_token = RefreshTokenRecord {
        session_id: other.id.clone(),
        ..token.clone()
    };
    let dup = store.create_session(&other, &dup_token).await;
    assert!(matches!(dup, Err(Error::AlreadyExists { .. })), "{dup:?}");
    assert!(
        matches!(store.session(&other.id).await, Err(Error::NotFound { .. })),
        "no partial insert"
    );
}

/// `rotate` applies all its changes, and refuses (changing nothing) a token that is not active
/// or belongs to another session.
pub async fn rotate_is_conditional(store: &Arc<DynSessionStore>) {
    let user = unique_user("rotate");
    let t0 = at(START_SECS);
    let (session, secret, first) = stored_session(store.as_ref(), &user, t0).await;
    let t1 = at(START_SECS + 60);
    let rotation = rotation_fixture(&session, (&secret, &first), t1);
    store.rotate(&rotation).await.expect("rotate");

    let old = store.refresh_token(&first.hash).await.expect("old token");
    assert_eq!(old.state, RefreshState::Rotated);
    assert_eq!(old.rotated_at, Some(t1));
    let successor = old.successor.expect("successor recorded");
    assert_eq!(successor.hash, rotation.next.hash);
    assert_eq!(successor.sealed, rotation.sealed_next);
    assert_eq!(
        store.refresh_token(&rotation.next.hash).await.expect("new"),
        rotation.next
    );
    let touched = store.session(&session.id).await.expect("session");
    assert_eq!(touched.last_used_at, t1);
    assert_eq!(touched.idle_expires_at, rotation.idle_expires_at);
    assert_eq!(touched.ip, rotation.ip);
    assert_eq!(
        touched.user_agent, session.user_agent,
        "absent user agent keeps the old one"
    );

    let again = rotation_fixture(&session, (&secret, &first), at(START_SECS + 61));
    assert!(matches!(store.rotate(&again).await, Err(Error::Conflict)));
    assert!(matches!(
        store.refresh_token(&again.next.hash).await,
        Err(Error::NotFound { .. })
    ));

    let (other, _, _) = stored_session(store.as_ref(), &user, t0).await;
    let next_secret = Secret::generate().0;
    let mut cross = rotation_fixture(&session, (&next_secret, &rotation.next), t1);
    cross.session_id = other.id.clone();
    cross.next.session_id = other.id;
    assert!(matches!(store.rotate(&cross).await, Err(Error::Conflict)));
    let still = store
        .refresh_token(&rotation.next.hash)
        .await
        .expect("token");
    assert_eq!(still.state, RefreshState::Active);
}

/// Many concurrent rotations of one token: exactly one succeeds, the rest are `Conflict`, and
/// the session ends with exactly one active token.
pub async fn rotate_race_exactly_one_wins(store: &Arc<DynSessionStore>) {
    let user = unique_user("race");
    let (session, secret, first) = stored_session(store.as_ref(), &user, at(START_SECS)).await;
    let rotations: Vec<Rotation> = (0..RACERS)
        .map(|i| rotation_fixture(&session, (&secret, &first), at(START_SECS + 1 + i as u64)))
        .collect();
    let results = join_all(rotations.iter().map(|r| store.rotate(r))).await;
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(Error::Conflict))),
        "{results:?}"
    );

    let mut active = 0;
    for r in &rotations {
        match store.refresh_token(&r.next.hash).await {
            Ok(t) => {
                assert_eq!(t.state, RefreshState::Active);
                active += 1;
            }
            Err(Error::NotFound { .. }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(active, 1, "losers left nothing behind");
}

/// A revoked session cannot be rotated, and the failed attempt changes nothing.
pub async fn rotate_refused_after_revoke(store: &Arc<DynSessionStore>) {
    let user = unique_user("revoked-rotate");
    let (session, secret, first) = stored_session(store.as_ref(), &user, at(START_SECS)).await;
    let revoked = store
        .revoke(
            &RevokeScope::Session(session.id.clone()),
            at(START_SECS + 1),
            RevokeReason::Logout,
        )
        .await
        .expect("revoke");
    assert_eq!(revoked, vec![session.id.clone()]);
    let rotation = rotation_fixture(&session, (&secret, &first), at(START_SECS + 2));
    let result = store.rotate(&rotation).await;
    assert!(matches!(result, Err(Error::SessionRevoked)), "{result:?}");
    assert_eq!(
        store.refresh_token(&first.hash).await.expect("token").state,
        RefreshState::Active
    );
    assert!(matches!(
        store.refresh_token(&rotation.next.hash).await,
        Err(Error::NotFound { .. })
    ));
}

/// Revoking one, all, and all-but-one session; idempotence; `NotFound` for unknown ids.
pub async fn revoke_scopes(store: &Arc<DynSessionStore>) {
    let user = unique_user("scopes");
    let bystander = unique_user("bystander");
    let t = at(START_SECS);
    let (a, _, _) = stored_session(store.as_ref(), &user, t).await;
    let (b, _, _) = stored_session(store.as_ref(), &user, t).await;
    let (c, _, _) = stored_session(store.as_ref(), &user, t).await;
    let (other, _, _) = stored_session(store.as_ref(), &bystander, t).await;

    let when = at(START_SECS + 10);
    let one = store
        .revoke(
            &RevokeScope::Session(a.id.clone()),
            when,
            RevokeReason::Admin,
        )
        .await;
    assert_eq!(one.expect("revoke one"), vec![a.id.clone()]);
    let stored = store.session(&a.id).await.expect("session");
    assert_eq!(
        (stored.revoked_at, stored.revoke_reason),
        (Some(when), Some(RevokeReason::Admin))
    );
    let twice = store
        .revoke(
            &RevokeScope::Session(a.id.clone()),
            when,
            RevokeReason::Logout,
        )
        .await;
    assert!(twice.expect("idempotent").is_empty());
    assert_eq!(
        store.session(&a.id).await.expect("s").revoke_reason,
        Some(RevokeReason::Admin)
    );

    let scope = RevokeScope::UserExcept {
        user_id: user.clone(),
        keep: c.id.clone(),
    };
    let others = store
        .revoke(&scope, when, RevokeReason::LogoutOthers)
        .await
        .expect("others");
    assert_eq!(others, vec![b.id.clone()]);
    assert!(
        store
            .session(&c.id)
            .await
            .expect("kept")
            .revoked_at
            .is_none()
    );

    let all = store
        .revoke(
            &RevokeScope::User(user.clone()),
            when,
            RevokeReason::LogoutAll,
        )
        .await;
    assert_eq!(all.expect("all"), vec![c.id.clone()]);
    assert!(
        store
            .session(&other.id)
            .await
            .expect("bystander")
            .revoked_at
            .is_none()
    );

    let unknown = store
        .revoke(
            &RevokeScope::Session(SessionId::generate()),
            when,
            RevokeReason::Logout,
        )
        .await;
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );
    let ghost = RevokeScope::User(unique_user("ghost"));
    let nobody = store.revoke(&ghost, when, RevokeReason::LogoutAll).await;
    assert!(nobody.expect("empty").is_empty());
}

/// Devices: first sighting is reported once, later sightings update `last_seen`, trust can be
/// set and cleared, unknown devices are `NotFound`.
pub async fn devices(store: &Arc<DynSessionStore>) {
    let user = unique_user("devices");
    let first = DeviceRecord {
        user_id: user.clone(),
        device_id: "phone".into(),
        name: Some("Phone".into()),
        first_seen: at(START_SECS),
        last_seen: at(START_SECS),
        trusted_until: None,
    };
    assert!(
        store.record_device(&first).await.expect("record"),
        "new device"
    );
    let again = DeviceRecord {
        last_seen: at(START_SECS + 50),
        name: None,
        ..first.clone()
    };
    assert!(
        !store.record_device(&again).await.expect("record"),
        "known device"
    );
    let stored = store.device(&user, "phone").await.expect("device");
    assert_eq!(stored.last_seen, at(START_SECS + 50));
    assert_eq!(stored.first_seen, at(START_SECS));
    assert_eq!(
        stored.name.as_deref(),
        Some("Phone"),
        "absent name keeps the old one"
    );

    let until = at(START_SECS + 86_400);
    store
        .set_device_trust(&user, "phone", Some(until))
        .await
        .expect("trust");
    assert_eq!(
        store.device(&user, "phone").await.expect("d").trusted_until,
        Some(until)
    );
    let renamed = DeviceRecord {
        name: Some("New phone".into()),
        ..again.clone()
    };
    store.record_device(&renamed).await.expect("record");
    let stored = store.device(&user, "phone").await.expect("d");
    assert_eq!(
        (stored.trusted_until, stored.name.as_deref()),
        (Some(until), Some("New phone"))
    );
    store
        .set_device_trust(&user, "phone", None)
        .await
        .expect("untrust");
    assert_eq!(
        store.device(&user, "phone").await.expect("d").trusted_until,
        None
    );

    let laptop = DeviceRecord {
        device_id: "laptop".into(),
        first_seen: at(START_SECS + 1),
        ..first
    };
    store.record_device(&laptop).await.expect("record");
    let listed: Vec<String> = store
        .devices_for_user(&user)
        .await
        .expect("list")
        .into_iter()
        .map(|d| d.device_id)
        .collect();
    assert_eq!(listed, vec!["phone", "laptop"]);

    assert!(matches!(
        store.device(&user, "tablet").await,
        Err(Error::NotFound { .. })
    ));
    let trust = store.set_device_trust(&user, "tablet", Some(until)).await;
    assert!(matches!(trust, Err(Error::NotFound { .. })), "{trust:?}");
    assert!(matches!(
        store.device(&unique_user("x"), "phone").await,
        Err(Error::NotFound { .. })
    ));
}

/// `purge_expired` deletes idle- and absolutely-expired sessions with their tokens and keeps
/// live (including revoked-but-unexpired) ones.
pub async fn purge_expired(store: &Arc<DynSessionStore>) {
    let user = unique_user("purge");
    // Far from the other tests' times so that their sessions are unaffected in this window.
    let base = START_SECS - 10_000_000;
    let t = at(base);
    let mut idle = session_fixture(&user, t);
    idle.idle_expires_at = at(base + 100);
    let mut absolute = session_fixture(&user, t);
    absolute.expires_at = at(base + 200);
    let mut revoked = session_fixture(&user, t);
    revoked.revoked_at = Some(t);
    revoked.revoke_reason = Some(RevokeReason::Logout);
    let live = session_fixture(&user, t);
    let mut tokens = Vec::new();
    for s in [&idle, &absolute, &revoked, &live] {
        let (_, token) = token_fixture(s, 0, t);
        store.create_session(s, &token).await.expect("create");
        tokens.push(token);
    }
    let purged = store.purge_expired(at(base + 200)).await.expect("purge");
    assert!(purged >= 2, "idle and absolute expiry purged, got {purged}");
    for gone in [&idle, &absolute] {
        assert!(matches!(
            store.session(&gone.id).await,
            Err(Error::NotFound { .. })
        ));
    }
    for (i, kept) in [(2, &revoked), (3, &live)] {
        assert!(store.session(&kept.id).await.is_ok(), "{i}");
        assert!(store.refresh_token(&tokens[i].hash).await.is_ok());
    }
    for gone in &tokens[..2] {
        assert!(matches!(
            store.refresh_token(&gone.hash).await,
            Err(Error::NotFound { .. })
        ));
    }
    let remaining: Vec<SessionId> = store
        .sessions_for_user(&user)
        .await
        .expect("list")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(remaining.len(), 2);
    assert_eq!(
        store.purge_expired(at(base + 200)).await.expect("purge"),
        0,
        "nothing left to purge"
    );
}

/// The basic flow: login, verify, refresh (rotation), verify the new token; events emitted.
pub async fn login_refresh_verify(store: &Arc<DynSessionStore>) {
    let (manager, clock, events) = manager(store);
    let user = unique_user("flow");
    let client = ClientInfo::new()
        .device_id("laptop-1")
        .device_name("Laptop")
        .ip("203.0.113.9".parse().expect("valid literal"))
        .user_agent("test-agent/1.0");
    let login = Login::new(&user)
        .roles(["editor"])
        .amr(["pwd", "otp"])
        .client(client.clone());
    let pair = manager.login(login).await.expect("login");
    let claims = manager
        .verify_access(pair.access_token.as_str(), true)
        .await
        .expect("verify");
    assert_eq!(claims.sub, user);
    assert_eq!(claims.sid, pair.session_id.as_str());
    assert_eq!(claims.roles, ["editor"]);
    assert_eq!(claims.amr, ["pwd", "otp"]);
    assert_eq!(claims.device.as_deref(), Some("laptop-1"));
    assert!(
        pair.refresh_token
            .as_str()
            .starts_with(crate::REFRESH_TOKEN_PREFIX)
    );

    clock.advance(Duration::from_secs(240));
    let next = manager
        .refresh(pair.refresh_token.as_str(), &client)
        .await
        .expect("refresh");
    assert_ne!(next.refresh_token, pair.refresh_token);
    assert_eq!(next.session_id, pair.session_id);
    assert_ne!(next.access_claims.jti, claims.jti);
    manager
        .verify_access(next.access_token.as_str(), true)
        .await
        .expect("verify new");
    let session = manager.session(&pair.session_id).await.expect("session");
    assert_eq!(session.last_used_at, at(START_SECS + 240));
    assert_eq!(session.user_agent.as_deref(), Some("test-agent/1.0"));

    let bad = manager.refresh("srt_not-a-token", &client).await;
    assert!(matches!(bad, Err(Error::InvalidRefreshToken)), "{bad:?}");
    let (_, unknown) = Secret::generate();
    let bad = manager.refresh(unknown.as_str(), &client).await;
    assert!(matches!(bad, Err(Error::InvalidRefreshToken)), "{bad:?}");

    assert_eq!(events.count(|e| matches!(e, SessionEvent::Login { .. })), 1);
    assert_eq!(
        events.count(|e| matches!(e, SessionEvent::NewDevice { .. })),
        1
    );
    assert_eq!(
        events.count(|e| matches!(
            e,
            SessionEvent::Refreshed {
                generation: 1,
                grace_retry: false,
                ..
            }
        )),
        1
    );
}

/// Without a grace window, concurrent refreshes of one token: exactly one succeeds, the others
/// are treated as reuse, and the session ends revoked (RFC 9700 §4.14.2).
pub async fn refresh_race_exactly_one_wins(store: &Arc<DynSessionStore>) {
    let (manager, _, events) = manager(store);
    let pair = manager
        .login(Login::new(unique_user("race")))
        .await
        .expect("login");
    let client = ClientInfo::new();
    let results =
        join_all((0..RACERS).map(|_| manager.refresh(pair.refresh_token.as_str(), &client))).await;
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| r.is_ok()
                || matches!(r, Err(Error::RefreshTokenReused | Error::SessionRevoked))),
        "{results:?}"
    );
    assert!(events.count(|e| matches!(e, SessionEvent::ReuseDetected { .. })) >= 1);
    let after = manager
        .refresh(winners[0].refresh_token.as_str(), &client)
        .await;
    assert!(matches!(after, Err(Error::SessionRevoked)), "{after:?}");
}

/// Inside the grace window, concurrent refreshes of one token all receive the same successor
/// and the session stays active.
pub async fn refresh_race_in_grace_window_shares_successor(store: &Arc<DynSessionStore>) {
    let clock = ManualClock::new(at(START_SECS));
    let events = Recorder::default();
    let manager = builder(store, &clock, &events)
        .refresh_grace(Duration::from_secs(30))
        .build()
        .expect("config");
    let pair = manager
        .login(Login::new(unique_user("grace-race")))
        .await
        .expect("login");
    let client = ClientInfo::new();
    let results =
        join_all((0..RACERS).map(|_| manager.refresh(pair.refresh_token.as_str(), &client))).await;
    let tokens: Vec<String> = results
        .into_iter()
        .map(|r| {
            r.expect("every racer succeeds in the grace window")
                .refresh_token
                .as_str()
                .to_owned()
        })
        .collect();
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "one shared successor"
    );
    assert_eq!(
        events.count(|e| matches!(
            e,
            SessionEvent::Refreshed {
                grace_retry: false,
                ..
            }
        )),
        1
    );
    assert_eq!(
        events.count(|e| matches!(e, SessionEvent::ReuseDetected { .. })),
        0
    );
    manager
        .refresh(&tokens[0], &client)
        .await
        .expect("successor works");
    assert!(
        manager
            .session(&pair.session_id)
            .await
            .expect("s")
            .revoked_at
            .is_none()
    );
}

/// Presenting a rotated token revokes the whole family: the current token stops working, the
/// access tokens fail `check_revoked`, and `ReuseDetected` + `Revoked` are emitted.
pub async fn reuse_after_rotation_revokes_family(store: &Arc<DynSessionStore>) {
    let (manager, clock, events) = manager(store);
    let pair = manager
        .login(Login::new(unique_user("reuse")))
        .await
        .expect("login");
    let client = ClientInfo::new().ip("192.0.2.66".parse().expect("valid literal"));
    clock.advance(Duration::from_secs(10));
    let second = manager
        .refresh(pair.refresh_token.as_str(), &ClientInfo::new())
        .await
        .expect("refresh");
    manager
        .verify_access(second.access_token.as_str(), true)
        .await
        .expect("valid before reuse");

    clock.advance(Duration::from_secs(10));
    let replay = manager.refresh(pair.refresh_token.as_str(), &client).await;
    assert!(
        matches!(replay, Err(Error::RefreshTokenReused)),
        "{replay:?}"
    );
    let current = manager
        .refresh(second.refresh_token.as_str(), &ClientInfo::new())
        .await;
    assert!(matches!(current, Err(Error::SessionRevoked)), "{current:?}");
    let access = manager
        .verify_access(second.access_token.as_str(), true)
        .await;
    assert!(
        matches!(
            access,
            Err(Error::AccessTokenRejected(TokenRejection::SessionRevoked))
        ),
        "{access:?}"
    );
    manager
        .verify_access(second.access_token.as_str(), false)
        .await
        .expect("offline check still passes");
    let session = manager.session(&pair.session_id).await.expect("session");
    assert_eq!(session.revoke_reason, Some(RevokeReason::ReuseDetected));

    let evs = events.events();
    assert!(evs.iter().any(|e| matches!(e,
        SessionEvent::ReuseDetected { session_id, generation: 0, ip: Some(_), .. } if *session_id == pair.session_id)));
    assert!(evs.iter().any(|e| matches!(
        e,
        SessionEvent::Revoked {
            reason: RevokeReason::ReuseDetected,
            ..
        }
    )));
}

/// The grace window is bounded: after it, a replay is reuse. Inside it, a replay after the
/// successor was itself used is reuse too.
pub async fn grace_window_closes(store: &Arc<DynSessionStore>) {
    let clock = ManualClock::new(at(START_SECS));
    let events = Recorder::default();
    let manager = builder(store, &clock, &events)
        .refresh_grace(Duration::from_secs(10))
        .build()
        .expect("config");
    let client = ClientInfo::new();

    let pair = manager
        .login(Login::new(unique_user("grace-late")))
        .await
        .expect("login");
    let next = manager
        .refresh(pair.refresh_token.as_str(), &client)
        .await
        .expect("refresh");
    clock.advance(Duration::from_secs(9));
    let retry = manager
        .refresh(pair.refresh_token.as_str(), &client)
        .await
        .expect("retry in grace");
    assert_eq!(retry.refresh_token, next.refresh_token);
    clock.advance(Duration::from_secs(1));
    let late = manager.refresh(pair.refresh_token.as_str(), &client).await;
    assert!(matches!(late, Err(Error::RefreshTokenReused)), "{late:?}");

    let pair = manager
        .login(Login::new(unique_user("grace-used")))
        .await
        .expect("login");
    let next = manager
        .refresh(pair.refresh_token.as_str(), &client)
        .await
        .expect("refresh");
    manager
        .refresh(next.refresh_token.as_str(), &client)
        .await
        .expect("successor used");
    let replay = manager.refresh(pair.refresh_token.as_str(), &client).await;
    assert!(
        matches!(replay, Err(Error::RefreshTokenReused)),
        "{replay:?}"
    );
}

/// Idle timeout and absolute lifetime, both against the injected clock.
pub async fn idle_and_absolute_expiry(store: &Arc<DynSessionStore>) {
    let clock = ManualClock::new(at(START_SECS));
    let events = Recorder::default();
    let manager = builder(store, &clock, &events)
        .idle_timeout(Duration::from_secs(3_600))
        .absolute_lifetime(Duration::from_secs(3 * 3_600))
        .build()
        .expect("config");
    let client = ClientInfo::new();

    let user = unique_user("idle");
    let pair = manager.login(Login::new(&user)).await.expect("login");
    clock.advance(Duration::from_secs(3_599));
    let pair = manager
        .refresh(pair.refresh_token.as_str(), &client)
        .await
        .expect("just in time");
    clock.advance(Duration::from_secs(3_600));
    let idle = manager.refresh(pair.refresh_token.as_str(), &client).await;
    assert!(matches!(idle, Err(Error::SessionExpired)), "{idle:?}");
    assert!(
        manager.sessions(&user).await.expect("list").is_empty(),
        "expired sessions are not listed"
    );

    let mut pair = manager
        .login(Login::new(unique_user("absolute")))
        .await
        .expect("login");
    for _ in 0..3 {
        clock.advance(Duration::from_secs(3_000));
        pair = manager
            .refresh(pair.refresh_token.as_str(), &client)
            .await
            .expect("active use");
    }
    clock.advance(Duration::from_secs(3 * 3_600 - 9_000));
    let absolute = manager.refresh(pair.refresh_token.as_str(), &client).await;
    assert!(
        matches!(absolute, Err(Error::SessionExpired)),
        "{absolute:?}"
    );
}

/// Device binding, new-device events and trusted devices with expiry.
pub async fn device_binding_and_trust(store: &Arc<DynSessionStore>) {
    let clock = ManualClock::new(at(START_SECS));
    let events = Recorder::default();
    let manager = builder(store, &clock, &events)
        .device_binding(true)
        .build()
        .expect("config");
    let user = unique_user("binding");

    let unbound = manager.login(Login::new(&user)).await;
    assert!(
        matches!(
            unbound,
            Err(Error::InvalidInput {
                field: "device_id",
                ..
            })
        ),
        "{unbound:?}"
    );
    let laptop = ClientInfo::new().device_id("laptop");
    let pair = manager
        .login(Login::new(&user).client(laptop.clone()))
        .await
        .expect("login");
    let _second = manager
        .login(Login::new(&user).client(laptop.clone()))
        .await
        .expect("login");
    assert_eq!(
        events.count(|e| matches!(e, SessionEvent::NewDevice { .. })),
        1,
        "reported once"
    );

    for stranger in [ClientInfo::new().device_id("attacker"), ClientInfo::new()] {
        let stolen = manager
            .refresh(pair.refresh_token.as_str(), &stranger)
            .await;
        assert!(matches!(stolen, Err(Error::DeviceMismatch)), "{stolen:?}");
    }
    assert_eq!(
        events.count(|e| matches!(e, SessionEvent::DeviceMismatch { .. })),
        2
    );
    manager
        .refresh(pair.refresh_token.as_str(), &laptop)
        .await
        .expect("right device still works");

    assert!(
        !manager
            .is_trusted_device(&user, "laptop")
            .await
            .expect("trust")
    );
    manager
        .trust_device(&user, "laptop", Duration::from_secs(86_400))
        .await
        .expect("trust");
    assert!(
        manager
            .is_trusted_device(&user, "laptop")
            .await
            .expect("trust")
    );
    clock.advance(Duration::from_secs(86_400));
    assert!(
        !manager
            .is_trusted_device(&user, "laptop")
            .await
            .expect("trust expired")
    );
    manager
        .trust_device(&user, "laptop", Duration::from_secs(60))
        .await
        .expect("trust");
    manager
        .untrust_device(&user, "laptop")
        .await
        .expect("untrust");
    assert!(
        !manager
            .is_trusted_device(&user, "laptop")
            .await
            .expect("untrusted")
    );
    assert!(
        !manager
            .is_trusted_device(&user, "phone")
            .await
            .expect("unknown is untrusted")
    );
    let unknown = manager
        .trust_device(&user, "phone", Duration::from_secs(60))
        .await;
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );
    assert_eq!(manager.devices(&user).await.expect("devices").len(), 1);
}

/// Listing sessions and revoking one, all but the current, and all; `check_revoked` sees each
/// revocation at once; a user cannot revoke someone else's session.
pub async fn list_and_revoke_sessions(store: &Arc<DynSessionStore>) {
    let (manager, clock, events) = manager(store);
    let user = unique_user("list");
    let intruder = unique_user("intruder");
    let mut pairs = Vec::new();
    for name in ["laptop", "phone", "tablet"] {
        let client = ClientInfo::new().device_id(name).device_name(name);
        pairs.push(
            manager
                .login(Login::new(&user).client(client))
                .await
                .expect("login"),
        );
        clock.advance(Duration::from_secs(1));
    }
    manager.login(Login::new(&intruder)).await.expect("login");
    let listed = manager.sessions(&user).await.expect("list");
    let names: Vec<_> = listed
        .iter()
        .map(|s| s.device_name.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(names, ["laptop", "phone", "tablet"]);

    let foreign = manager
        .revoke_session(&intruder, &pairs[0].session_id)
        .await;
    assert!(
        matches!(foreign, Err(Error::NotFound { .. })),
        "{foreign:?}"
    );
    for p in &pairs {
        manager
            .verify_access(p.access_token.as_str(), true)
            .await
            .expect("active");
    }

    let current = &pairs[0];
    assert_eq!(
        manager
            .revoke_all_except(&user, &current.session_id)
            .await
            .expect("others"),
        2
    );
    let listed = manager.sessions(&user).await.expect("list");
    assert_eq!(
        listed.iter().map(|s| &s.id).collect::<Vec<_>>(),
        vec![&current.session_id]
    );
    for p in &pairs[1..] {
        let r = manager.verify_access(p.access_token.as_str(), true).await;
        assert!(
            matches!(
                r,
                Err(Error::AccessTokenRejected(TokenRejection::SessionRevoked))
            ),
            "{r:?}"
        );
        let r = manager
            .refresh(p.refresh_token.as_str(), &ClientInfo::new())
            .await;
        assert!(matches!(r, Err(Error::SessionRevoked)), "{r:?}");
    }
    manager
        .verify_access(current.access_token.as_str(), true)
        .await
        .expect("current survives");

    manager
        .revoke_session(&user, &current.session_id)
        .await
        .expect("logout");
    let r = manager
        .verify_access(current.access_token.as_str(), true)
        .await;
    assert!(
        matches!(
            r,
            Err(Error::AccessTokenRejected(TokenRejection::SessionRevoked))
        ),
        "{r:?}"
    );
    assert_eq!(
        manager.revoke_all(&user).await.expect("all"),
        0,
        "nothing left"
    );
    assert_eq!(
        events.count(|e| matches!(e, SessionEvent::Revoked { .. })),
        3
    );
    assert_eq!(manager.sessions(&intruder).await.expect("list").len(), 1);
    assert!(matches!(
        manager.sessions("").await,
        Err(Error::InvalidInput { .. })
    ));
}

/// A revocation made by another process (here: another manager on the same store) is seen by
/// `check_revoked` no later than the cache TTL.
pub async fn revocation_visible_across_managers_within_cache_ttl(store: &Arc<DynSessionStore>) {
    let clock = ManualClock::new(at(START_SECS));
    let events = Recorder::default();
    let keys = KeyRing::generate(Algorithm::EdDSA).expect("keys");
    let policy = TokenPolicy::new("https://auth.example", "strongroom");
    let make = || {
        SessionManager::builder(store.clone(), keys.clone(), policy.clone())
            .clock(Arc::new(clock.clone()))
            .revocation_cache(Duration::from_secs(5), 100)
            .build()
            .expect("config")
    };
    let (api, auth) = (make(), make());
    let user = unique_user("cache");
    let pair = auth.login(Login::new(&user)).await.expect("login");
    api.verify_access(pair.access_token.as_str(), true)
        .await
        .expect("cached as active");
    auth.revoke_all(&user).await.expect("revoke elsewhere");
    clock.advance(Duration::from_secs(4));
    api.verify_access(pair.access_token.as_str(), true)
        .await
        .expect("documented staleness: still accepted inside the TTL");
    clock.advance(Duration::from_secs(1));
    let r = api.verify_access(pair.access_token.as_str(), true).await;
    assert!(
        matches!(
            r,
            Err(Error::AccessTokenRejected(TokenRejection::SessionRevoked))
        ),
        "{r:?}"
    );
    drop(events);
}
