//! Brute force against sign-in, on SQLite and PostgreSQL with the server's clock moved by hand:
//! delays that double per account and per address, a lock that only an administrator or a
//! password reset lifts, answers that are the same for addresses without an account, racing
//! guesses counted one by one, and every refusal audited.

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::Value;

#[macro_use]
mod common;
use common::router::{Backend, Harness, harness_with};

on_both_databases!(
    failures_slow_down_then_lock_an_account,
    a_lock_tells_nobody_whether_the_account_exists,
    racing_guesses_are_counted_one_by_one,
    one_address_guessing_at_many_accounts_is_slowed,
);

const RIGHT: &str = "correct horse battery";
const WRONG: &str = "wrong horse battery";

async fn strict(backend: Backend) -> Option<Harness> {
    harness_with(backend, 1 << 20, |c| {
        c.auth.backoff_after_failures = 3;
        c.auth.backoff_base_secs = 1;
        c.auth.backoff_max_secs = 4;
        c.auth.lock_after_failures = 8;
        c.auth.ip_backoff_after_failures = 1000;
    })
    .await
}

async fn login(h: &Harness, email: &str, password: &str) -> (StatusCode, Value, Option<String>) {
    let r = h.sign_in(email, password).await;
    let retry = r
        .headers
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (r.status, r.body, retry)
}

/// The audit records of `action`, newest first (after publishing the outbox).
async fn audited(h: &Harness, admin: &str, action: &str) -> Vec<Value> {
    let relay = h.app.relay.as_ref().unwrap();
    for _ in 0..100 {
        use strongroom::store::EventLog;
        if h.app.events.backlog().await.unwrap().pending == 0 {
            break;
        }
        relay.run_once().await.unwrap();
    }
    let r = h
        .call(
            Method::GET,
            &format!("/audit?action={action}"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rec| rec["event"].clone())
        .collect()
}

/// Wrong passwords for `email` until it is locked, moving the clock past each delay; the
/// statuses seen, in order.
async fn guess_until_locked(h: &Harness, email: &str) -> Vec<u16> {
    let mut seen = Vec::new();
    for _ in 0..40 {
        let (st, body, retry) = login(h, email, WRONG).await;
        seen.push(st.as_u16());
        match st {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::TOO_MANY_REQUESTS => {
                let secs: i64 = retry.expect("Retry-After").parse().unwrap();
                assert!((1..=4).contains(&secs), "{secs}");
                h.clock.advance_secs(secs);
            }
            StatusCode::FORBIDDEN => {
                assert!(
                    body["detail"].as_str().unwrap().contains("locked"),
                    "{body}"
                );
                return seen;
            }
            other => panic!("{other}: {body}"),
        }
    }
    panic!("never locked: {seen:?}");
}

async fn admin_login(h: &Harness, password: &str) -> String {
    let (st, body, _) = login(h, "admin@strongroom.local", password).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn failures_slow_down_then_lock_an_account(backend: Backend) {
    let Some(h) = strict(backend).await else {
        return;
    };
    let (_, admin_password) = h.app.accounts.bootstrap_admin().await.unwrap().unwrap();
    let (ann, _) = h.user("ann@example.com").await;
    let ann_id = h.call(Method::GET, "/me", Some(&ann), None).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Three free failures, then a success forgets them: three more are free again.
    for _ in 0..3 {
        assert_eq!(
            login(&h, "ann@example.com", WRONG).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(login(&h, "ann@example.com", RIGHT).await.0, StatusCode::OK);
    for _ in 0..3 {
        assert_eq!(
            login(&h, "ann@example.com", WRONG).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    // The fourth failure in a row sets a delay of 1 s: during it even the right password is
    // refused unchecked, with Retry-After.
    assert_eq!(
        login(&h, "ann@example.com", WRONG).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (st, body, retry) = login(&h, "ann@example.com", RIGHT).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(retry.as_deref(), Some("1"));
    h.clock.advance_secs(1);
    assert_eq!(login(&h, "ann@example.com", RIGHT).await.0, StatusCode::OK);

    // Guessing on: delays of 1, 2, 4, 4 s, then the eighth failure locks.
    let seen = guess_until_locked(&h, "ann@example.com").await;
    assert_eq!(seen.iter().filter(|s| **s == 401).count(), 8, "{seen:?}");
    // Ann's signed-in session is untouched by the lock.
    assert_eq!(
        h.call(Method::GET, "/me", Some(&ann), None).await.status,
        StatusCode::OK
    );
    // Locked: the right password does not help, and time does not either.
    h.clock.advance_secs(30 * 86_400);
    let (st, body, _) = login(&h, "ann@example.com", RIGHT).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    // (The admin's access token expired meanwhile.)
    let admin = admin_login(&h, &admin_password).await;
    let (bob, _) = h.user("bob@example.com").await;

    // Administrators see the lock, and only they do.
    let r = h
        .call(Method::GET, "/admin/lockouts", Some(&bob), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = h
        .call(Method::GET, "/admin/lockouts", Some(&admin), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", r.body);
    assert_eq!(items[0]["user_id"], ann_id.as_str());
    assert_eq!(items[0]["email"], "ann@example.com");
    assert_eq!(items[0]["failures"], 8);
    let r = h
        .call(Method::GET, "/admin/lockouts?limit=0", Some(&admin), None)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Unlocking lifts it once; the right password works again.
    let path = format!("/admin/users/{ann_id}/lockout");
    assert_eq!(
        h.call(Method::DELETE, &path, Some(&bob), None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.call(Method::DELETE, &path, Some(&admin), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.call(Method::DELETE, &path, Some(&admin), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(login(&h, "ann@example.com", RIGHT).await.0, StatusCode::OK);

    // Locked again, a password reset lifts the lock too (with the new password).
    guess_until_locked(&h, "ann@example.com").await;
    let r = h
        .call(
            Method::POST,
            &format!("/admin/users/{ann_id}/password-reset"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let new = r.body["password"].as_str().unwrap().to_owned();
    assert_eq!(login(&h, "ann@example.com", &new).await.0, StatusCode::OK);

    // All of it is in the audit trail, never with a password.
    let locked = audited(&h, &admin, "auth.account.locked").await;
    assert_eq!(locked.len(), 2, "{locked:?}");
    assert_eq!(locked[0]["resource"]["id"], ann_id.as_str());
    assert_eq!(locked[0]["attributes"]["failures"], 8);
    let unlocked = audited(&h, &admin, "auth.account.unlocked").await;
    assert_eq!(unlocked.len(), 1);
    let throttled = audited(&h, &admin, "auth.login.throttled").await;
    assert!(throttled.iter().any(|e| e["attributes"]["locked"] == true));
    assert!(
        throttled
            .iter()
            .any(|e| e["attributes"]["locked"] == false && e["attributes"]["scope"] == "account")
    );
    let failed = audited(&h, &admin, "auth.login.failed").await;
    assert_eq!(failed[0]["attributes"]["failures"], 8, "{:?}", failed[0]);
    let all = format!("{locked:?}{throttled:?}{failed:?}");
    // Counted for the operator's alerts too.
    let metrics = h.call(Method::GET, "/metrics", None, None).await;
    let text = String::from_utf8(metrics.raw).unwrap();
    assert!(
        text.contains("strongroom_accounts_locked_total 2"),
        "{text}"
    );
    assert!(
        !text.contains("strongroom_logins_throttled_total 0\n"),
        "{text}"
    );
    assert!(!all.contains(WRONG) && !all.contains(RIGHT));
}

async fn a_lock_tells_nobody_whether_the_account_exists(backend: Backend) {
    let Some(h) = strict(backend).await else {
        return;
    };
    let admin = h.admin_token().await;
    h.user("ann@example.com").await;
    let known = guess_until_locked(&h, "ann@example.com").await;
    let unknown = guess_until_locked(&h, "ghost@example.com").await;
    assert_eq!(known, unknown, "the same answers, in the same order");
    let (st, ..) = login(&h, "ghost@example.com", RIGHT).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let r = h
        .call(Method::GET, "/admin/lockouts", Some(&admin), None)
        .await;
    let ghost: Vec<&Value> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["email"] == "ghost@example.com")
        .collect();
    assert_eq!(ghost.len(), 1, "{}", r.body);
    assert!(ghost[0]["user_id"].is_null());
    // Paging through the locks.
    let r = h
        .call(Method::GET, "/admin/lockouts?limit=1", Some(&admin), None)
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let next = r.body["next"].as_str().unwrap().to_owned();
    let r = h
        .call(
            Method::GET,
            &format!("/admin/lockouts?limit=1&after={next}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        r.body["items"][0]["email"], "ghost@example.com",
        "{}",
        r.body
    );
    assert!(r.body["next"].is_null());
}

async fn racing_guesses_are_counted_one_by_one(backend: Backend) {
    let Some(h) = strict(backend).await else {
        return;
    };
    h.user("bob@example.com").await;
    let h = Arc::new(h);
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            login(&h, "bob@example.com", WRONG).await.0
        }));
    }
    let mut wrong = 0;
    let mut waited = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::UNAUTHORIZED => wrong += 1,
            StatusCode::TOO_MANY_REQUESTS => waited += 1,
            other => panic!("{other}"),
        }
    }
    // Three free guesses and the one that set the first delay: no more were checked.
    assert_eq!((wrong, waited), (4, 26));
}

async fn one_address_guessing_at_many_accounts_is_slowed(backend: Backend) {
    let Some(h) = harness_with(backend, 1 << 20, |c| {
        c.auth.ip_backoff_after_failures = 10;
        c.auth.backoff_base_secs = 1;
        c.auth.ip_backoff_max_secs = 60;
    })
    .await
    else {
        return;
    };
    h.user("carol@example.com").await;
    // One wrong guess each at eleven accounts: no account is slowed, the address is.
    for i in 0..11 {
        let (st, body, _) = login(&h, &format!("victim{i}@example.com"), WRONG).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{i}: {body}");
    }
    let (st, body, retry) = login(&h, "carol@example.com", RIGHT).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("address"),
        "{body}"
    );
    h.clock.advance_secs(retry.unwrap().parse().unwrap());
    // A success does not wipe out the address's failures: the next guess is slowed again.
    assert_eq!(
        login(&h, "carol@example.com", RIGHT).await.0,
        StatusCode::OK
    );
    assert_eq!(
        login(&h, "victim0@example.com", WRONG).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&h, "victim1@example.com", WRONG).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}
