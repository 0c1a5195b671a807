//! Webhook delivery against a real HTTP server on 127.0.0.1 started by each test. Time is a
//! manual clock: no test sleeps.
#![cfg(feature = "webhooks")]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use strongroom_audit::{
    Actor, AuditEvent, Clock, Error, EventPublisher, ManualClock, ManualSleeper, Resource,
    SsrfGuard, Timestamp, WebhookConfig, WebhookDispatcher, WebhookSecret, WebhookVerifier,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
struct Request {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// A minimal HTTP/1.1 receiver: records each request and answers with the next scripted
/// response (status, extra header lines), 200 when the script is empty.
#[derive(Clone, Default)]
struct Receiver {
    requests: Arc<Mutex<Vec<Request>>>,
    script: Arc<Mutex<VecDeque<(u16, &'static str)>>>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let receiver = Receiver::default();
        let r = receiver.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let r = r.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut reader = BufReader::new(read);
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let mut headers = HashMap::new();
                        loop {
                            let mut h = String::new();
                            reader.read_line(&mut h).await.unwrap();
                            let h = h.trim_end();
                            if h.is_empty() {
                                break;
                            }
                            let (k, v) = h.split_once(':').unwrap();
                            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                        }
                        let len: usize = headers
                            .get("content-length")
                            .map_or(0, |v| v.parse().unwrap());
                        let mut body = vec![0; len];
                        reader.read_exact(&mut body).await.unwrap();
                        r.requests.lock().unwrap().push(Request { headers, body });
                        let (status, extra) =
                            r.script.lock().unwrap().pop_front().unwrap_or((200, ""));
                        let text = format!("response {status}");
                        let response = format!(
                            "HTTP/1.1 {status} X\r\ncontent-length: {}\r\n{extra}\r\n{text}",
                            text.len()
                        );
                        if write.write_all(response.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (receiver, url)
    }

    fn then(&self, status: u16, extra_headers: &'static str) -> &Self {
        self.script
            .lock()
            .unwrap()
            .push_back((status, extra_headers));
        self
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn event(action: &str) -> AuditEvent {
    AuditEvent::builder(
        Actor::User("alice".into()),
        action,
        Resource::new("file", "f1").unwrap(),
    )
    .attribute("size", 10)
    .build()
    .unwrap()
}

fn dispatcher(clock: &ManualClock, schedule: &[u64]) -> WebhookDispatcher {
    WebhookDispatcher::new(WebhookConfig {
        schedule: schedule.iter().copied().map(Duration::from_secs).collect(),
        jitter: 0.0,
        ssrf: SsrfGuard::strict().allow_loopback(),
        ..WebhookConfig::default()
    })
    .unwrap()
    .with_clock(Arc::new(clock.clone()))
}

fn clock() -> ManualClock {
    ManualClock::new(Timestamp::now())
}

/// Computes the Standard Webhooks signature from the spec's formula with plain HMAC, apart from
/// the crate's implementation.
fn independent_signature(secret: &str, id: &str, ts: &str, body: &[u8]) -> String {
    use base64::Engine as _;
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

#[tokio::test]
async fn a_delivery_carries_verifiable_standard_webhooks_headers() {
    let (receiver, url) = Receiver::start().await;
    let clock = clock();
    let d = dispatcher(&clock, &[0, 5]);
    let secret = WebhookSecret::generate();
    let exposed = secret.expose().to_string();
    let id = d.add_endpoint(&url, secret.clone(), &["file"]).unwrap();
    let e = event("file.uploaded");
    d.publish(&[e.clone(), event("auth.login")]).await.unwrap();
    assert_eq!(d.pending(), 1, "the endpoint only wants file.* events");
    d.publish(std::slice::from_ref(&e)).await.unwrap();
    assert_eq!(
        d.pending(),
        1,
        "a redelivered event that is still queued is not queued twice"
    );
    let round = d.deliver_due().await;
    assert_eq!((round.attempted, round.delivered), (1, 1));

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.headers["webhook-id"], e.id().to_string());
    assert_eq!(
        r.headers["webhook-timestamp"],
        clock.now().as_second().to_string()
    );
    assert_eq!(r.headers["content-type"], "application/json");
    let expected = independent_signature(
        &exposed,
        &r.headers["webhook-id"],
        &r.headers["webhook-timestamp"],
        &r.body,
    );
    assert_eq!(r.headers["webhook-signature"], expected);
    WebhookVerifier::new(secret)
        .verify(
            &r.headers["webhook-id"],
            &r.headers["webhook-timestamp"],
            &r.headers["webhook-signature"],
            &r.body,
            clock.now(),
        )
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["type"], "file.uploaded");
    assert_eq!(
        serde_json::from_value::<AuditEvent>(body["data"].clone()).unwrap(),
        e
    );

    let log = d.attempts(Some(&id));
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].status, log[0].attempt), (Some(200), 1));
    assert_eq!(log[0].response_excerpt, "response 200");
    assert_eq!(d.pending(), 0);
}

#[tokio::test]
async fn retries_follow_the_schedule_and_honour_retry_after() {
    let (receiver, url) = Receiver::start().await;
    receiver
        .then(500, "")
        .then(429, "retry-after: 3600\r\n")
        .then(200, "");
    let clock = clock();
    let d = dispatcher(&clock, &[0, 5, 300, 1800]);
    let id = d
        .add_endpoint(&url, WebhookSecret::generate(), &[])
        .unwrap();
    d.publish(&[event("file.uploaded")]).await.unwrap();

    assert_eq!(d.deliver_due().await.retrying, 1);
    assert_eq!(
        d.next_due(),
        Some(clock.now() + jiff::SignedDuration::from_secs(5))
    );
    assert_eq!(d.deliver_due().await.attempted, 0, "not due yet");
    clock.advance(Duration::from_secs(5));
    assert_eq!(d.deliver_due().await.retrying, 1);
    // The schedule says 5 minutes; the receiver asked for an hour.
    clock.advance(Duration::from_secs(301));
    assert_eq!(
        d.deliver_due().await.attempted,
        0,
        "Retry-After is honoured"
    );
    clock.advance(Duration::from_secs(3300));
    assert_eq!(d.deliver_due().await.delivered, 1);

    let statuses: Vec<Option<u16>> = d.attempts(Some(&id)).iter().map(|a| a.status).collect();
    assert_eq!(statuses, vec![Some(500), Some(429), Some(200)]);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    // One message id across retries, a fresh timestamp on each.
    assert!(
        requests
            .iter()
            .all(|r| r.headers["webhook-id"] == requests[0].headers["webhook-id"])
    );
    assert_ne!(
        requests[0].headers["webhook-timestamp"],
        requests[2].headers["webhook-timestamp"]
    );
}

#[tokio::test]
async fn the_last_failure_dead_letters_and_redelivery_works() {
    let (receiver, url) = Receiver::start().await;
    receiver.then(500, "").then(502, "").then(503, "");
    let clock = clock();
    let d = dispatcher(&clock, &[0, 10, 20]);
    let id = d
        .add_endpoint(&url, WebhookSecret::generate(), &[])
        .unwrap();
    d.publish(&[event("file.deleted")]).await.unwrap();
    d.deliver_due().await;
    clock.advance(Duration::from_secs(10));
    d.deliver_due().await;
    clock.advance(Duration::from_secs(20));
    let round = d.deliver_due().await;
    assert_eq!(round.dead, 1);
    assert_eq!(d.pending(), 0);
    let dead = d.dead_letters();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (
            dead[0].attempts,
            dead[0].last_status,
            dead[0].endpoint_id.as_str()
        ),
        (3, Some(503), id.as_str())
    );
    assert!(
        dead[0].reason.contains("attempts exhausted"),
        "{}",
        dead[0].reason
    );

    d.redeliver(dead[0].id).unwrap();
    assert!(d.dead_letters().is_empty());
    assert_eq!(d.deliver_due().await.delivered, 1);
    assert_eq!(receiver.requests().len(), 4);
}

#[tokio::test]
async fn gone_disables_the_endpoint() {
    let (receiver, url) = Receiver::start().await;
    receiver.then(410, "");
    let clock = clock();
    let d = dispatcher(&clock, &[0, 5]);
    let id = d
        .add_endpoint(&url, WebhookSecret::generate(), &[])
        .unwrap();
    d.publish(&[event("file.uploaded")]).await.unwrap();
    assert_eq!(d.deliver_due().await.dead, 1);
    let endpoint = d.endpoint(&id).unwrap();
    assert!(!endpoint.enabled);
    assert!(endpoint.disabled_reason.unwrap().contains("410"));
    d.publish(&[event("file.uploaded")]).await.unwrap();
    assert_eq!(d.pending(), 0, "a disabled endpoint gets nothing");
    assert!(matches!(
        d.redeliver(d.dead_letters()[0].id),
        Err(Error::Invalid { .. })
    ));
    d.set_enabled(&id, true).unwrap();
    d.publish(&[event("file.uploaded")]).await.unwrap();
    assert_eq!(d.deliver_due().await.delivered, 1);
    assert_eq!(receiver.requests().len(), 2);
}

#[tokio::test]
async fn rotation_signs_with_both_secrets_during_the_overlap() {
    let (receiver, url) = Receiver::start().await;
    let clock = clock();
    let d = dispatcher(&clock, &[0]);
    let old = WebhookSecret::generate();
    let new = WebhookSecret::generate();
    let id = d.add_endpoint(&url, old.clone(), &[]).unwrap();
    d.rotate_secret(&id, new.clone(), Duration::from_secs(3600))
        .unwrap();
    assert_eq!(d.endpoint(&id).unwrap().active_secrets, 2);
    d.publish(&[event("file.uploaded")]).await.unwrap();
    d.deliver_due().await;
    clock.advance(Duration::from_secs(3601));
    assert_eq!(d.endpoint(&id).unwrap().active_secrets, 1);
    d.publish(&[event("file.uploaded")]).await.unwrap();
    d.deliver_due().await;

    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    let verify = |r: &Request, secret: &WebhookSecret, at: Timestamp| {
        WebhookVerifier::new(secret.clone()).verify(
            &r.headers["webhook-id"],
            &r.headers["webhook-timestamp"],
            &r.headers["webhook-signature"],
            &r.body,
            at,
        )
    };
    let during =
        Timestamp::from_second(requests[0].headers["webhook-timestamp"].parse().unwrap()).unwrap();
    assert_eq!(
        requests[0].headers["webhook-signature"].split(' ').count(),
        2
    );
    verify(&requests[0], &old, during).unwrap();
    verify(&requests[0], &new, during).unwrap();
    let after = clock.now();
    assert_eq!(
        requests[1].headers["webhook-signature"].split(' ').count(),
        1
    );
    verify(&requests[1], &new, after).unwrap();
    assert!(matches!(
        verify(&requests[1], &old, after),
        Err(Error::BadSignature { .. })
    ));
}

#[tokio::test]
async fn the_ssrf_guard_refuses_internal_targets_unless_allowed() {
    let (receiver, url) = Receiver::start().await;
    let strict = WebhookDispatcher::new(WebhookConfig::default()).unwrap();
    for target in [
        url.as_str(),
        "http://10.0.0.1/",
        "http://169.254.169.254/",
        "http://[::1]/",
        "ftp://example.com/",
    ] {
        assert!(
            matches!(
                strict.add_endpoint(target, WebhookSecret::generate(), &[]),
                Err(Error::UnsafeUrl { .. })
            ),
            "{target}"
        );
    }
    // A host name is checked when it is resolved, at delivery: localhost is loopback.
    let clock = clock();
    let d = WebhookDispatcher::new(WebhookConfig {
        schedule: vec![Duration::ZERO],
        ..WebhookConfig::default()
    })
    .unwrap()
    .with_clock(Arc::new(clock.clone()));
    let port = url.split(':').nth(2).unwrap().split('/').next().unwrap();
    d.add_endpoint(
        &format!("http://localhost:{port}/hooks"),
        WebhookSecret::generate(),
        &[],
    )
    .unwrap();
    d.publish(&[event("file.uploaded")]).await.unwrap();
    assert_eq!(d.deliver_due().await.dead, 1);
    let attempts = d.attempts(None);
    assert!(attempts[0].status.is_none());
    assert!(
        attempts[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("loopback"),
        "{:?}",
        attempts[0].error
    );
    assert!(
        receiver.requests().is_empty(),
        "nothing reached the receiver"
    );
}

#[tokio::test]
async fn the_run_loop_delivers_retries_without_real_sleeps() {
    let (receiver, url) = Receiver::start().await;
    receiver.then(503, "retry-after: 120\r\n");
    let clock = clock();
    let sleeper = ManualSleeper::new(clock.clone());
    let d = Arc::new(dispatcher(&clock, &[0, 5]).with_sleeper(Arc::new(sleeper.clone())));
    d.add_endpoint(&url, WebhookSecret::generate(), &[])
        .unwrap();
    d.publish(&[event("file.uploaded")]).await.unwrap();
    let r = receiver.clone();
    let done = async move {
        while r.requests().len() < 2 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(
        Duration::from_secs(30),
        d.run(Duration::from_secs(60), done),
    )
    .await
    .unwrap();
    assert_eq!(receiver.requests().len(), 2);
    // It slept until the Retry-After time (the idle cap of 60 s twice, then the rest).
    let slept: Duration = sleeper.slept().iter().sum();
    assert!(slept >= Duration::from_secs(120), "{:?}", sleeper.slept());
}
