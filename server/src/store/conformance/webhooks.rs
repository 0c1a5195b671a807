//! The webhook tables: endpoints per scope, deliveries queued once, claimed by one worker,
//! settled by their attempts, buried with a disabled endpoint, redelivered, pruned, and gone
//! with their endpoint or its owner.

use super::{People, event, fresh, user};
use crate::store::webhooks::{ENDPOINT_DISABLED, STILL_PENDING};
use crate::store::{
    AttemptRecord, DeliveryRecord, DeliveryState, EndpointRecord, Error, Next, UserStore,
    WebhookScope, WebhookStore, WrappedSecret,
};

fn endpoint(id: &str, scope: WebhookScope, by: &str, at: i64) -> EndpointRecord {
    EndpointRecord {
        id: id.into(),
        scope,
        url: "https://hooks.example.com/in".into(),
        event_types: vec!["share".into()],
        description: "test".into(),
        enabled: true,
        disabled_reason: None,
        secret: WrappedSecret {
            kek_id: "1".into(),
            wrapped: "c2VhbGVk".into(),
        },
        previous: None,
        created_by: by.into(),
        created_at: at,
        updated_at: at,
    }
}

fn delivery(endpoint: &str, message: &str, at: i64) -> DeliveryRecord {
    DeliveryRecord {
        id: format!("d{}", uuid::Uuid::now_v7().simple()),
        endpoint_id: endpoint.into(),
        message_id: message.into(),
        event_type: "share.granted".into(),
        body: format!("{{\"id\":\"{message}\"}}"),
        state: DeliveryState::Pending,
        attempts: 0,
        due_at: at,
        last_status: None,
        last_error: None,
        created_at: at,
        updated_at: at,
    }
}

fn attempt(delivery: &str, n: u32, at: i64, status: Option<u16>) -> AttemptRecord {
    AttemptRecord {
        id: fresh("att"),
        delivery_id: delivery.into(),
        attempt: n,
        at,
        status,
        latency_ms: 3,
        error: status.is_none().then(|| "connection refused".into()),
        excerpt: "ok".into(),
    }
}

/// `finish` of one attempt: whether it was recorded.
async fn finish_one<S: WebhookStore + ?Sized>(
    store: &S,
    a: &AttemptRecord,
    next: &Next,
    at: i64,
) -> bool {
    store
        .finish(&[(a.clone(), next.clone())], at)
        .await
        .unwrap()
        == 1
}

/// See the module docs.
pub async fn webhooks_contract<S>(store: &S, p: People<'_>, events: impl AsyncFn() -> u64)
where
    S: WebhookStore + UserStore + ?Sized,
{
    let ann = WebhookScope::User(p.ann.0.to_owned());
    let (mine, platform) = (fresh("ep"), fresh("ep"));
    let before = events().await;
    WebhookStore::create(
        store,
        &endpoint(&mine, ann.clone(), p.ann.0, 10),
        &event("webhook.created"),
    )
    .await
    .unwrap();
    WebhookStore::create(
        store,
        &endpoint(&platform, WebhookScope::Platform, p.admin.0, 11),
        &event("webhook.created"),
    )
    .await
    .unwrap();
    assert_eq!(events().await, before + 2, "each create records its event");
    let nobody = endpoint(
        &fresh("ep"),
        WebhookScope::User(fresh("ghost")),
        p.ann.0,
        12,
    );
    assert!(matches!(
        WebhookStore::create(store, &nobody, &event("webhook.created")).await,
        Err(Error::NotFound)
    ));
    assert_eq!(events().await, before + 2, "no event for a refused create");
    let listed = WebhookStore::list(store, &ann).await.unwrap();
    assert_eq!(
        listed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        [mine.as_str()]
    );
    assert_eq!(
        listed[0],
        endpoint(&mine, ann.clone(), p.ann.0, 10),
        "stored as given"
    );
    let platform_list = WebhookStore::list(store, &WebhookScope::Platform)
        .await
        .unwrap();
    assert!(platform_list.iter().any(|e| e.id == platform));
    assert!(
        platform_list
            .iter()
            .all(|e| e.scope == WebhookScope::Platform)
    );
    let enabled = WebhookStore::enabled(store).await.unwrap();
    assert!(enabled.iter().any(|e| e.id == mine) && enabled.iter().any(|e| e.id == platform));

    // Queued once per (endpoint, message), whatever the relay repeats; an unknown endpoint
    // takes nothing.
    let first = delivery(&mine, &fresh("msg"), 100);
    let again = DeliveryRecord {
        id: fresh("d"),
        ..first.clone()
    };
    let stray = delivery(&fresh("ep"), "m", 100);
    let later = delivery(&mine, &fresh("msg"), 500);
    assert_eq!(
        store
            .enqueue(&[first.clone(), again, stray, later.clone()])
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store.enqueue(std::slice::from_ref(&first)).await.unwrap(),
        0
    );

    // Claimed by one worker only, until the lease ends.
    let claimed = store.claim_due(200, 260, 10).await.unwrap();
    let ours: Vec<&DeliveryRecord> = claimed.iter().filter(|d| d.endpoint_id == mine).collect();
    assert_eq!(ours.len(), 1, "only what is due: {claimed:?}");
    assert_eq!(
        (ours[0].id.as_str(), ours[0].due_at),
        (first.id.as_str(), 260)
    );
    let twice = store.claim_due(200, 260, 10).await.unwrap();
    assert!(
        twice.iter().all(|d| d.id != first.id),
        "leased: nobody else takes it"
    );
    let lapsed = store.claim_due(300, 360, 10).await.unwrap();
    assert!(
        lapsed.iter().any(|d| d.id == first.id),
        "a lapsed lease is claimed again"
    );

    // A failed attempt schedules the next; a 2xx settles it; a settled one takes no attempt.
    assert!(
        finish_one(
            store,
            &attempt(&first.id, 1, 300, None),
            &Next::Retry(400),
            300
        )
        .await
    );
    let d = store.delivery(&first.id).await.unwrap().unwrap();
    assert_eq!(
        (d.state, d.attempts, d.due_at),
        (DeliveryState::Pending, 1, 400)
    );
    assert_eq!(d.last_error.as_deref(), Some("connection refused"));
    assert!(
        store
            .claim_due(399, 460, 10)
            .await
            .unwrap()
            .iter()
            .all(|d| d.id != first.id)
    );
    assert!(
        store
            .claim_due(400, 460, 10)
            .await
            .unwrap()
            .iter()
            .any(|d| d.id == first.id)
    );
    assert!(
        finish_one(
            store,
            &attempt(&first.id, 2, 410, Some(200)),
            &Next::Delivered,
            410
        )
        .await
    );
    assert!(
        !finish_one(
            store,
            &attempt(&first.id, 3, 420, Some(200)),
            &Next::Delivered,
            420
        )
        .await
    );
    let d = store.delivery(&first.id).await.unwrap().unwrap();
    assert_eq!(
        (d.state, d.attempts, d.last_status),
        (DeliveryState::Delivered, 2, Some(200))
    );
    let tries = store.attempts(&first.id).await.unwrap();
    assert_eq!(
        tries
            .iter()
            .map(|a| (a.attempt, a.status))
            .collect::<Vec<_>>(),
        [(1, None), (2, Some(200))]
    );
    assert_eq!(tries[1].excerpt, "ok");

    // Listing: newest first, by state, paged.
    let all = store.deliveries(&mine, None, None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        [later.id.as_str(), first.id.as_str()]
    );
    let pending = store
        .deliveries(&mine, Some(DeliveryState::Pending), None, 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    let page = store
        .deliveries(&mine, None, Some(&later.id), 10)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        [first.id.as_str()]
    );

    // Redelivery: not while pending; a settled one starts over.
    let before = events().await;
    assert!(matches!(
        store.redeliver(&later.id, 600, &event("webhook.redelivered")).await,
        Err(Error::Conflict(m)) if m == STILL_PENDING
    ));
    assert!(matches!(
        store
            .redeliver("nope", 600, &event("webhook.redelivered"))
            .await,
        Err(Error::NotFound)
    ));
    store
        .redeliver(&first.id, 600, &event("webhook.redelivered"))
        .await
        .unwrap();
    assert_eq!(events().await, before + 1);
    let d = store.delivery(&first.id).await.unwrap().unwrap();
    assert_eq!(
        (d.state, d.attempts, d.due_at),
        (DeliveryState::Pending, 0, 600)
    );

    // One batch: only what is still pending is recorded.
    let (b1, b2) = (
        delivery(&mine, &fresh("msg"), 610),
        delivery(&mine, &fresh("msg"), 610),
    );
    assert_eq!(store.enqueue(&[b1.clone(), b2.clone()]).await.unwrap(), 2);
    let both = store.claim_due(610, 670, 100).await.unwrap();
    assert!(both.iter().any(|d| d.id == b1.id) && both.iter().any(|d| d.id == b2.id));
    let batch = [
        (attempt(&b1.id, 1, 620, Some(204)), Next::Delivered),
        (
            attempt(&b2.id, 1, 620, None),
            Next::Dead("attempts used up".into()),
        ),
        (attempt(&first.id, 9, 620, Some(204)), Next::Delivered),
    ];
    assert_eq!(store.finish(&batch, 620).await.unwrap(), 3);
    assert_eq!(
        store.finish(&batch, 630).await.unwrap(),
        0,
        "settled: nothing recorded twice"
    );
    assert_eq!(
        store.delivery(&b1.id).await.unwrap().unwrap().state,
        DeliveryState::Delivered
    );
    let d2 = store.delivery(&b2.id).await.unwrap().unwrap();
    assert_eq!(
        (d2.state, d2.last_error.as_deref()),
        (DeliveryState::Dead, Some("attempts used up"))
    );
    store
        .redeliver(&first.id, 640, &event("webhook.redelivered"))
        .await
        .unwrap();

    // Disabling buries what is pending; redelivery then waits for the endpoint.
    let mut off = listed[0].clone();
    off.enabled = false;
    off.disabled_reason = Some("paused".into());
    off.updated_at = 700;
    WebhookStore::update(store, &off, &event("webhook.updated"))
        .await
        .unwrap();
    let d = store.delivery(&later.id).await.unwrap().unwrap();
    assert_eq!(
        (d.state, d.last_error.as_deref()),
        (DeliveryState::Dead, Some("endpoint disabled"))
    );
    assert!(matches!(
        store.redeliver(&later.id, 710, &event("webhook.redelivered")).await,
        Err(Error::Conflict(m)) if m == ENDPOINT_DISABLED
    ));
    assert!(
        !WebhookStore::enabled(store)
            .await
            .unwrap()
            .iter()
            .any(|e| e.id == mine)
    );
    let got = WebhookStore::get(store, &mine).await.unwrap().unwrap();
    assert_eq!(got, off);
    let ghost = endpoint(&fresh("ep"), ann.clone(), p.ann.0, 1);
    assert!(matches!(
        WebhookStore::update(store, &ghost, &event("webhook.updated")).await,
        Err(Error::NotFound)
    ));

    // A rotation keeps the previous secret with its end.
    let mut rotated = got.clone();
    rotated.enabled = true;
    rotated.disabled_reason = None;
    rotated.previous = Some((rotated.secret.clone(), 9_000));
    rotated.secret = WrappedSecret {
        kek_id: "2".into(),
        wrapped: "bmV3".into(),
    };
    rotated.updated_at = 800;
    WebhookStore::update(store, &rotated, &event("webhook.secret_rotated"))
        .await
        .unwrap();
    assert_eq!(
        WebhookStore::get(store, &mine).await.unwrap().unwrap(),
        rotated
    );

    // 410 Gone: the delivery dies, the endpoint is disabled, its other pending ones buried.
    let (g1, g2) = (
        delivery(&mine, &fresh("msg"), 900),
        delivery(&mine, &fresh("msg"), 5_000),
    );
    assert_eq!(store.enqueue(&[g1.clone(), g2.clone()]).await.unwrap(), 2);
    assert!(
        store
            .claim_due(900, 960, 10)
            .await
            .unwrap()
            .iter()
            .any(|d| d.id == g1.id)
    );
    let gone = Next::Gone("receiver answered 410 Gone".into());
    assert!(finish_one(store, &attempt(&g1.id, 1, 910, Some(410)), &gone, 910).await);
    let e = WebhookStore::get(store, &mine).await.unwrap().unwrap();
    assert!(!e.enabled);
    assert_eq!(
        e.disabled_reason.as_deref(),
        Some("receiver answered 410 Gone")
    );
    for id in [&g1.id, &g2.id] {
        assert_eq!(
            store.delivery(id).await.unwrap().unwrap().state,
            DeliveryState::Dead
        );
    }
    let dead = store
        .deliveries(&mine, Some(DeliveryState::Dead), None, 10)
        .await
        .unwrap();
    // The redelivered one (pending again) was buried with the disabling, too, and the batch's
    // dead one is there.
    assert_eq!(dead.len(), 5);

    // Pruning takes settled deliveries older than the cut (with their attempts), not pending ones.
    let p1 = delivery(&platform, &fresh("msg"), 100);
    store.enqueue(std::slice::from_ref(&p1)).await.unwrap();
    assert!(store.prune(10_000).await.unwrap() >= 4);
    assert!(store.delivery(&first.id).await.unwrap().is_none());
    assert!(store.attempts(&first.id).await.unwrap().is_empty());
    assert!(
        store.delivery(&p1.id).await.unwrap().is_some(),
        "pending stays"
    );

    // Racing claims: each delivery goes to one claimer.
    let racing: Vec<DeliveryRecord> = (0..40)
        .map(|_| delivery(&platform, &fresh("msg"), 20_000))
        .collect();
    assert_eq!(store.enqueue(&racing).await.unwrap(), 40);
    let claims =
        futures::future::join_all((0..4).map(|_| store.claim_due(20_000, 20_060, 15))).await;
    let mut seen = std::collections::BTreeSet::new();
    for c in claims {
        for d in c.unwrap() {
            assert!(seen.insert(d.id.clone()), "claimed twice: {}", d.id);
        }
    }
    // A claimer that lost rows to another may come back short (PostgreSQL); the rest is there
    // for the next claim, and nothing is handed out twice.
    for d in store.claim_due(20_000, 20_060, 100).await.unwrap() {
        assert!(seen.insert(d.id.clone()), "claimed twice: {}", d.id);
    }
    let ours: usize = racing.iter().filter(|d| seen.contains(&d.id)).count();
    assert_eq!(ours, 40, "every delivery claimed once");

    // Deleting an endpoint takes its deliveries; deleting its owner takes the endpoint.
    let before = events().await;
    WebhookStore::delete(store, &platform, &event("webhook.deleted"))
        .await
        .unwrap();
    assert_eq!(events().await, before + 1);
    assert!(store.delivery(&p1.id).await.unwrap().is_none());
    assert!(matches!(
        WebhookStore::delete(store, &platform, &event("webhook.deleted")).await,
        Err(Error::NotFound)
    ));
    let (carl, carl_email) = (fresh("carl"), format!("{}@example.com", fresh("carl")));
    UserStore::create(
        store,
        &user(&carl, &carl_email, false),
        &event("account.created"),
    )
    .await
    .unwrap();
    let carls = fresh("ep");
    WebhookStore::create(
        store,
        &endpoint(&carls, WebhookScope::User(carl.clone()), &carl, 1),
        &event("webhook.created"),
    )
    .await
    .unwrap();
    let c1 = delivery(&carls, &fresh("msg"), 1);
    store.enqueue(std::slice::from_ref(&c1)).await.unwrap();
    UserStore::delete(store, &carl, &event("account.deleted"))
        .await
        .unwrap();
    assert!(WebhookStore::get(store, &carls).await.unwrap().is_none());
    assert!(store.delivery(&c1.id).await.unwrap().is_none());
}
