//! Standard Webhooks delivery (feature `webhooks`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt as _;
use jiff::Timestamp;
use reqwest::Url;

use crate::clock::{Clock, Sleeper, SystemClock, TokioSleeper, add};
use crate::{AuditEvent, Error, EventPublisher, Result};

mod sender;
mod signature;
mod ssrf;

pub use sender::{Sent, Verdict, WebhookSender, message_body};

pub use signature::{DEFAULT_TOLERANCE, WebhookSecret, WebhookVerifier, signature_header};
pub use ssrf::SsrfGuard;

/// Attempts kept in the attempt log (oldest dropped first).
const ATTEMPT_LOG: usize = 10_000;
/// Event-type filters per endpoint.
const MAX_FILTERS: usize = 100;

/// Settings of a [`WebhookDispatcher`].
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Delay before each attempt: the first entry before the first attempt (normally 0), one entry
    /// per attempt; after the last, the message is dead-lettered. Default: 0, 5 s, 5 min, 30 min,
    /// 2 h, 5 h, 10 h, 10 h.
    pub schedule: Vec<Duration>,
    /// Random spread applied to each non-zero delay, as a fraction (default 0.1: ±10 %).
    pub jitter: f64,
    /// Timeout of one HTTP attempt (default 15 s).
    pub timeout: Duration,
    /// Longest `Retry-After` honoured (default 24 h); longer values are capped.
    pub max_retry_after: Duration,
    /// Where requests may go.
    pub ssrf: SsrfGuard,
    /// Attempts in flight at once (default 32).
    pub concurrency: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        let m = 60;
        let h = 3600;
        WebhookConfig {
            schedule: [0, 5, 5 * m, 30 * m, 2 * h, 5 * h, 10 * h, 10 * h]
                .map(Duration::from_secs)
                .to_vec(),
            jitter: 0.1,
            timeout: Duration::from_secs(15),
            max_retry_after: Duration::from_secs(24 * h),
            ssrf: SsrfGuard::strict(),
            concurrency: 32,
        }
    }
}

impl WebhookConfig {
    /// The wait before attempt `attempt_index` (0 for the first) with the jitter applied, or
    /// `None` when the schedule is exhausted (the message is given up).
    pub fn delay_before(&self, attempt_index: usize) -> Option<Duration> {
        let base = *self.schedule.get(attempt_index)?;
        if base.is_zero() || self.jitter == 0.0 {
            return Some(base);
        }
        let j = self.jitter;
        Some(base.mul_f64(rand::random_range(1.0 - j..=1.0 + j)))
    }
}

/// A registered receiver, as shown to its owner (secrets are not included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Id (`ep_...`).
    pub id: String,
    /// Destination URL.
    pub url: String,
    /// Action prefixes it subscribes to (`file` matches `file.uploaded`); empty means all.
    pub event_types: Vec<String>,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// Why it was disabled, when it was (for example `410 Gone`).
    pub disabled_reason: Option<String>,
    /// How many secrets currently sign (2 during a rotation's overlap).
    pub active_secrets: usize,
}

#[derive(Debug)]
struct EndpointState {
    id: String,
    url: Url,
    // Newest first; each with the time it stops signing (None: current).
    secrets: Vec<(WebhookSecret, Option<Timestamp>)>,
    event_types: Vec<String>,
    enabled: bool,
    disabled_reason: Option<String>,
}

impl EndpointState {
    fn signing_secrets(&self, now: Timestamp) -> Vec<&WebhookSecret> {
        self.secrets
            .iter()
            .filter(|(_, until)| until.is_none_or(|t| now < t))
            .map(|(s, _)| s)
            .collect()
    }

    fn wants(&self, action: &str) -> bool {
        self.event_types.is_empty()
            || self.event_types.iter().any(|p| {
                action == p
                    || (action.starts_with(p.as_str())
                        && action.as_bytes().get(p.len()) == Some(&b'.'))
            })
    }

    fn view(&self, now: Timestamp) -> Endpoint {
        Endpoint {
            id: self.id.clone(),
            url: self.url.to_string(),
            event_types: self.event_types.clone(),
            enabled: self.enabled,
            disabled_reason: self.disabled_reason.clone(),
            active_secrets: self.signing_secrets(now).len(),
        }
    }
}

#[derive(Debug, Clone)]
struct Delivery {
    message_id: String,
    endpoint_id: String,
    event_type: String,
    body: Arc<str>,
    attempts: u32,
    due: Timestamp,
    last_status: Option<u16>,
    last_error: Option<String>,
}

/// One HTTP attempt, as kept in the queryable attempt log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// The `webhook-id` (the event id; the same on every retry, so receivers deduplicate).
    pub message_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it was made.
    pub at: Timestamp,
    /// HTTP status, if a response arrived.
    pub status: Option<u16>,
    /// Time until the response (or the failure).
    pub latency: Duration,
    /// Network, timeout or refusal error, if any.
    pub error: Option<String>,
    /// The first 1 KiB of the response body (lossy UTF-8).
    pub response_excerpt: String,
}

/// A message that will not be retried any more: attempts exhausted, or its endpoint disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Id for [`WebhookDispatcher::redeliver`].
    pub id: u64,
    /// The `webhook-id`.
    pub message_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// Event type (action).
    pub event_type: String,
    /// Attempts made.
    pub attempts: u32,
    /// Last HTTP status, if any.
    pub last_status: Option<u16>,
    /// Why it was given up.
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

/// What one [`WebhookDispatcher::deliver_due`] round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryRound {
    /// HTTP attempts made.
    pub attempted: usize,
    /// Acknowledged with 2xx.
    pub delivered: usize,
    /// Failed and scheduled again.
    pub retrying: usize,
    /// Given up (dead-lettered).
    pub dead: usize,
}

#[derive(Debug, Default)]
struct State {
    endpoints: HashMap<String, EndpointState>,
    queue: Vec<Delivery>,
    dead: Vec<(DeadLetter, Delivery)>,
    attempts: std::collections::VecDeque<DeliveryAttempt>,
}

/// Delivers events to webhook endpoints following the Standard Webhooks specification.
///
/// Feed it events as an [`EventPublisher`] (usually from an [`OutboxRelay`](crate::OutboxRelay),
/// so webhooks are sent only for committed changes), then call [`deliver_due`](Self::deliver_due)
/// or [`run`](Self::run). Each request carries `webhook-id` (the event id), `webhook-timestamp`
/// and `webhook-signature` (`v1,<base64 HMAC-SHA256>` per active secret); the body is
/// `{"type", "timestamp", "data"}` with the event in `data`.
///
/// Endpoints, the retry queue, dead letters and the attempt log are held in memory.
#[derive(Debug)]
pub struct WebhookDispatcher {
    sender: WebhookSender,
    config: WebhookConfig,
    clock: Arc<dyn Clock>,
    sleeper: Arc<dyn Sleeper>,
    state: Mutex<State>,
    next_dead_id: AtomicU64,
}

/// Where a due delivery goes: its endpoint's URL and signing secrets, or `None` when the endpoint
/// was disabled or removed meanwhile.
type Target = Option<(Url, Vec<WebhookSecret>)>;

impl WebhookDispatcher {
    /// A dispatcher with these settings, the system clock and tokio's sleep.
    pub fn new(config: WebhookConfig) -> Result<WebhookDispatcher> {
        if config.schedule.is_empty() || config.schedule.len() > 100 {
            return Err(Error::invalid("schedule", "must have 1 to 100 entries"));
        }
        if !(0.0..1.0).contains(&config.jitter) {
            return Err(Error::invalid("jitter", "must be in [0, 1)"));
        }
        if config.timeout.is_zero() || config.concurrency == 0 {
            return Err(Error::invalid(
                "webhook config",
                "timeout and concurrency must be positive",
            ));
        }
        let sender = WebhookSender::new(&config)?;
        Ok(WebhookDispatcher {
            sender,
            config,
            clock: Arc::new(SystemClock),
            sleeper: Arc::new(TokioSleeper),
            state: Mutex::new(State::default()),
            next_dead_id: AtomicU64::new(1),
        })
    }

    /// Replaces the clock (timestamps, retry times).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> WebhookDispatcher {
        self.clock = clock;
        self
    }

    /// Replaces the sleeper used by [`run`](Self::run).
    #[must_use]
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> WebhookDispatcher {
        self.sleeper = sleeper;
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers an endpoint. The URL must pass the [`SsrfGuard`] (IP literals are checked now,
    /// host names at every connection); `event_types` are action prefixes (empty: everything).
    pub fn add_endpoint(
        &self,
        url: &str,
        secret: WebhookSecret,
        event_types: &[&str],
    ) -> Result<String> {
        let url = self.config.ssrf.check_url(url)?;
        if event_types.len() > MAX_FILTERS {
            return Err(Error::invalid(
                "event types",
                format!("at most {MAX_FILTERS}"),
            ));
        }
        for t in event_types {
            let probe = crate::AuditQuery::new().action_prefix(*t);
            probe.validate().map_err(|_| {
                Error::invalid("event type", format!("{t:?} is not a dotted action prefix"))
            })?;
        }
        let id = format!("ep_{}", uuid::Uuid::now_v7().simple());
        let endpoint = EndpointState {
            id: id.clone(),
            url,
            secrets: vec![(secret, None)],
            event_types: event_types.iter().map(|s| (*s).to_owned()).collect(),
            enabled: true,
            disabled_reason: None,
        };
        self.state().endpoints.insert(id.clone(), endpoint);
        Ok(id)
    }

    /// One endpoint.
    pub fn endpoint(&self, id: &str) -> Result<Endpoint> {
        let now = self.clock.now();
        self.state()
            .endpoints
            .get(id)
            .map(|e| e.view(now))
            .ok_or_else(|| not_found(id))
    }

    /// Every endpoint.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        let now = self.clock.now();
        self.state()
            .endpoints
            .values()
            .map(|e| e.view(now))
            .collect()
    }

    /// Enables or disables an endpoint. Disabling dead-letters its queued messages.
    pub fn set_enabled(&self, id: &str, enabled: bool) -> Result<()> {
        let now = self.clock.now();
        let mut state = self.state();
        let endpoint = state.endpoints.get_mut(id).ok_or_else(|| not_found(id))?;
        endpoint.enabled = enabled;
        endpoint.disabled_reason = (!enabled).then(|| "disabled by its owner".to_owned());
        if !enabled {
            self.bury_endpoint_queue(&mut state, id, "endpoint disabled", now);
        }
        Ok(())
    }

    /// Removes an endpoint; its queued messages are dropped.
    pub fn remove_endpoint(&self, id: &str) -> Result<()> {
        let mut state = self.state();
        state.endpoints.remove(id).ok_or_else(|| not_found(id))?;
        state.queue.retain(|d| d.endpoint_id != id);
        Ok(())
    }

    /// Makes `new` the endpoint's signing secret. The previous one keeps signing too for `overlap`
    /// (both signatures are sent), so the receiver can switch without missing a message.
    pub fn rotate_secret(&self, id: &str, new: WebhookSecret, overlap: Duration) -> Result<()> {
        let now = self.clock.now();
        let mut state = self.state();
        let endpoint = state.endpoints.get_mut(id).ok_or_else(|| not_found(id))?;
        let until = add(now, overlap);
        for (_, expiry) in &mut endpoint.secrets {
            *expiry = Some(expiry.map_or(until, |t| t.min(until)));
        }
        endpoint
            .secrets
            .retain(|(_, expiry)| expiry.is_none_or(|t| now < t));
        endpoint.secrets.insert(0, (new, None));
        Ok(())
    }

    /// Messages waiting for an attempt.
    pub fn pending(&self) -> usize {
        self.state().queue.len()
    }

    /// When the next queued attempt is due.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.state().queue.iter().map(|d| d.due).min()
    }

    /// Messages given up on, oldest first.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        self.state().dead.iter().map(|(d, _)| d.clone()).collect()
    }

    /// Queues a dead letter again, with a fresh attempt budget (the endpoint must be enabled).
    pub fn redeliver(&self, dead_letter: u64) -> Result<()> {
        let now = self.clock.now();
        let mut state = self.state();
        let index = state
            .dead
            .iter()
            .position(|(d, _)| d.id == dead_letter)
            .ok_or_else(|| not_found(&format!("dead letter {dead_letter}")))?;
        let endpoint_id = state.dead[index].1.endpoint_id.clone();
        match state.endpoints.get(&endpoint_id) {
            Some(e) if e.enabled => {}
            _ => {
                return Err(Error::invalid(
                    "dead letter",
                    "its endpoint is missing or disabled",
                ));
            }
        }
        let (_, mut delivery) = state.dead.remove(index);
        delivery.attempts = 0;
        delivery.due = now;
        state.queue.push(delivery);
        Ok(())
    }

    /// The attempt log of one endpoint (or all with `None`), oldest first.
    pub fn attempts(&self, endpoint: Option<&str>) -> Vec<DeliveryAttempt> {
        self.state()
            .attempts
            .iter()
            .filter(|a| endpoint.is_none_or(|e| a.endpoint_id == e))
            .cloned()
            .collect()
    }

    fn bury_endpoint_queue(
        &self,
        state: &mut State,
        endpoint_id: &str,
        reason: &str,
        now: Timestamp,
    ) {
        let (buried, kept): (Vec<Delivery>, Vec<Delivery>) = std::mem::take(&mut state.queue)
            .into_iter()
            .partition(|d| d.endpoint_id == endpoint_id);
        state.queue = kept;
        for d in buried {
            self.bury(state, d, reason, now);
        }
    }

    fn bury(&self, state: &mut State, delivery: Delivery, reason: &str, at: Timestamp) {
        let letter = DeadLetter {
            id: self.next_dead_id.fetch_add(1, Ordering::Relaxed),
            message_id: delivery.message_id.clone(),
            endpoint_id: delivery.endpoint_id.clone(),
            event_type: delivery.event_type.clone(),
            attempts: delivery.attempts,
            last_status: delivery.last_status,
            reason: delivery
                .last_error
                .as_ref()
                .map_or_else(|| reason.to_owned(), |e| format!("{reason}: {e}")),
            at,
        };
        state.dead.push((letter, delivery));
    }

    fn delay(&self, attempt_index: usize) -> Option<Duration> {
        self.config.delay_before(attempt_index)
    }

    /// Makes every attempt that is due now, concurrently, and schedules retries.
    pub async fn deliver_due(&self) -> DeliveryRound {
        let now = self.clock.now();
        let due: Vec<(Delivery, Target)> = {
            let mut state = self.state();
            let (due, later): (Vec<Delivery>, Vec<Delivery>) = std::mem::take(&mut state.queue)
                .into_iter()
                .partition(|d| d.due <= now);
            state.queue = later;
            due.into_iter()
                .map(|d| {
                    let target = state
                        .endpoints
                        .get(&d.endpoint_id)
                        .filter(|e| e.enabled)
                        .map(|e| {
                            (
                                e.url.clone(),
                                e.signing_secrets(now).into_iter().cloned().collect(),
                            )
                        });
                    (d, target)
                })
                .collect()
        };
        let results: Vec<(Delivery, Option<(Verdict, DeliveryAttempt)>)> =
            futures::stream::iter(due)
                .map(|(delivery, target)| async move {
                    match target {
                        None => (delivery, None),
                        Some((url, secrets)) => {
                            let result = self.attempt(&delivery, url, &secrets).await;
                            (delivery, Some(result))
                        }
                    }
                })
                .buffer_unordered(self.config.concurrency)
                .collect()
                .await;

        let mut round = DeliveryRound::default();
        let now = self.clock.now();
        let mut state = self.state();
        for (mut delivery, result) in results {
            let Some((outcome, attempt)) = result else {
                self.bury(&mut state, delivery, "endpoint disabled or removed", now);
                round.dead += 1;
                continue;
            };
            round.attempted += 1;
            delivery.attempts += 1;
            delivery.last_status = attempt.status;
            delivery.last_error = attempt.error.clone();
            if state.attempts.len() == ATTEMPT_LOG {
                state.attempts.pop_front();
            }
            state.attempts.push_back(attempt);
            match outcome {
                Verdict::Delivered => round.delivered += 1,
                Verdict::Gone => {
                    if let Some(endpoint) = state.endpoints.get_mut(&delivery.endpoint_id) {
                        endpoint.enabled = false;
                        endpoint.disabled_reason = Some("receiver answered 410 Gone".to_owned());
                    }
                    let endpoint_id = delivery.endpoint_id.clone();
                    self.bury(&mut state, delivery, "endpoint answered 410 Gone", now);
                    self.bury_endpoint_queue(
                        &mut state,
                        &endpoint_id,
                        "endpoint answered 410 Gone",
                        now,
                    );
                    round.dead += 1;
                }
                Verdict::Retry { after } => match self.delay(delivery.attempts as usize) {
                    None => {
                        self.bury(&mut state, delivery, "attempts exhausted", now);
                        round.dead += 1;
                    }
                    Some(scheduled) => {
                        let wait = match after {
                            Some(retry_after) => {
                                scheduled.max(retry_after.min(self.config.max_retry_after))
                            }
                            None => scheduled,
                        };
                        delivery.due = add(now, wait);
                        state.queue.push(delivery);
                        round.retrying += 1;
                    }
                },
            }
        }
        round
    }

    async fn attempt(
        &self,
        delivery: &Delivery,
        url: Url,
        secrets: &[WebhookSecret],
    ) -> (Verdict, DeliveryAttempt) {
        let at = self.clock.now();
        let refs: Vec<&WebhookSecret> = secrets.iter().collect();
        let sent = self
            .sender
            .send(&url, &delivery.message_id, &delivery.body, &refs, at)
            .await;
        let record = DeliveryAttempt {
            message_id: delivery.message_id.clone(),
            endpoint_id: delivery.endpoint_id.clone(),
            attempt: delivery.attempts + 1,
            at,
            status: sent.status,
            latency: sent.latency,
            error: sent.error,
            response_excerpt: sent.response_excerpt,
        };
        (sent.verdict, record)
    }

    /// Delivers until `shutdown` completes, sleeping (with the injected sleeper) until the next
    /// attempt is due, at most `idle` at a time so newly published messages are picked up.
    pub async fn run(&self, idle: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            self.deliver_due().await;
            let now = self.clock.now();
            let wait = self
                .next_due()
                .map(|due| Duration::try_from(due.duration_since(now)).unwrap_or(Duration::ZERO))
                .map_or(idle, |d| d.min(idle));
            tokio::select! {
                biased;
                () = &mut shutdown => return,
                () = self.sleeper.sleep(wait) => {}
            }
        }
    }
}

#[async_trait]
impl EventPublisher for WebhookDispatcher {
    /// Queues one message per event and interested, enabled endpoint; delivery happens in
    /// [`deliver_due`](WebhookDispatcher::deliver_due).
    async fn publish(&self, events: &[AuditEvent]) -> Result<()> {
        let now = self.clock.now();
        let first = self.delay(0).unwrap_or(Duration::ZERO);
        let mut state = self.state();
        let State {
            endpoints, queue, ..
        } = &mut *state;
        // Redelivery from the outbox may hand us an event that is still queued.
        let mut queued: std::collections::HashSet<(String, String)> = queue
            .iter()
            .map(|d| (d.endpoint_id.clone(), d.message_id.clone()))
            .collect();
        for event in events {
            let message_id = event.id().to_string();
            let body: Arc<str> = message_body(event).into();
            for endpoint in endpoints
                .values()
                .filter(|e| e.enabled && e.wants(event.action()))
            {
                if !queued.insert((endpoint.id.clone(), message_id.clone())) {
                    continue;
                }
                queue.push(Delivery {
                    message_id: message_id.clone(),
                    endpoint_id: endpoint.id.clone(),
                    event_type: event.action().to_owned(),
                    body: body.clone(),
                    attempts: 0,
                    due: add(now, first),
                    last_status: None,
                    last_error: None,
                });
            }
        }
        Ok(())
    }
}

fn not_found(id: &str) -> Error {
    Error::NotFound {
        what: format!("webhook endpoint {id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_configuration_is_refused() {
        for config in [
            WebhookConfig {
                schedule: vec![],
                ..WebhookConfig::default()
            },
            WebhookConfig {
                jitter: 1.5,
                ..WebhookConfig::default()
            },
            WebhookConfig {
                timeout: Duration::ZERO,
                ..WebhookConfig::default()
            },
            WebhookConfig {
                concurrency: 0,
                ..WebhookConfig::default()
            },
        ] {
            assert!(matches!(
                WebhookDispatcher::new(config),
                Err(Error::Invalid { .. })
            ));
        }
        let d = WebhookDispatcher::new(WebhookConfig::default()).unwrap();
        let secret = WebhookSecret::generate;
        assert!(matches!(
            d.add_endpoint("http://127.0.0.1/x", secret(), &[]),
            Err(Error::UnsafeUrl { .. })
        ));
        assert!(matches!(
            d.add_endpoint("gopher://example.com/", secret(), &[]),
            Err(Error::UnsafeUrl { .. })
        ));
        assert!(matches!(
            d.add_endpoint("https://example.com/", secret(), &["File"]),
            Err(Error::Invalid { .. })
        ));
        assert!(matches!(
            d.endpoint("ep_missing"),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(d.redeliver(7), Err(Error::NotFound { .. })));
        let id = d
            .add_endpoint("https://example.com/hook", secret(), &["file"])
            .unwrap();
        assert_eq!(d.endpoint(&id).unwrap().active_secrets, 1);
    }
}
