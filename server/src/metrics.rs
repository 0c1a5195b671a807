//! Prometheus metrics, one registry per server instance (no globals, so tests can run several).

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

/// The server's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Requests by route, method and status.
    pub requests: Family<Labels, Counter>,
    /// Latency by route and method.
    pub latency: Family<Labels, Histogram>,
    /// Bytes received in uploads.
    pub bytes_uploaded: Counter,
    /// Bytes sent in downloads.
    pub bytes_downloaded: Counter,
    /// Failed logins, refreshes and link passwords.
    pub auth_failures: Counter,
    /// Sign-ins refused unchecked because the account or the address must wait or is locked.
    pub logins_throttled: Counter,
    /// Accounts locked after too many failed sign-ins.
    pub accounts_locked: Counter,
    /// Requests the policy refused.
    pub denials: Counter,
    /// Policy decisions that allowed.
    pub decisions_allowed: Gauge,
    /// Policy decisions that denied.
    pub decisions_denied: Gauge,
    /// Events in the outbox.
    pub outbox_pending: Gauge,
    /// Age of the oldest outbox event, seconds.
    pub outbox_lag_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// Events the relay published.
    pub relay_published: Gauge,
    /// Failed publish attempts and outbox errors of the relay.
    pub relay_errors: Gauge,
    /// Orphan blobs removed.
    pub orphans_swept: Counter,
    /// Connections closed at once because a connection cap was reached.
    pub connections_refused: Counter,
    /// Connections closed because no byte moved for `http.idle_timeout_secs`.
    pub connections_timed_out: Counter,
    /// Transfers cut off for moving slower than the minimum rate.
    pub transfers_too_slow: Counter,
    /// Downloads cut off because the stored content failed its integrity check.
    pub integrity_failures: Counter,
    /// Webhook delivery attempts by outcome (`delivered`, `retrying`, `dead`).
    pub webhook_attempts: Family<Vec<(String, String)>, Counter>,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("strongroom");
        let requests = Family::<Labels, Counter>::default();
        let latency = Family::<Labels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let m = Metrics {
            requests,
            latency,
            bytes_uploaded: Counter::default(),
            bytes_downloaded: Counter::default(),
            auth_failures: Counter::default(),
            logins_throttled: Counter::default(),
            accounts_locked: Counter::default(),
            denials: Counter::default(),
            decisions_allowed: Gauge::default(),
            decisions_denied: Gauge::default(),
            outbox_pending: Gauge::default(),
            outbox_lag_seconds: Gauge::default(),
            relay_published: Gauge::default(),
            relay_errors: Gauge::default(),
            orphans_swept: Counter::default(),
            connections_refused: Counter::default(),
            connections_timed_out: Counter::default(),
            transfers_too_slow: Counter::default(),
            integrity_failures: Counter::default(),
            webhook_attempts: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            m.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route and method",
            m.latency.clone(),
        );
        registry.register(
            "uploaded_bytes",
            "Bytes received in uploads",
            m.bytes_uploaded.clone(),
        );
        registry.register(
            "downloaded_bytes",
            "Bytes sent in downloads",
            m.bytes_downloaded.clone(),
        );
        registry.register(
            "auth_failures",
            "Failed logins, refreshes and link passwords",
            m.auth_failures.clone(),
        );
        registry.register(
            "logins_throttled",
            "Sign-ins refused unchecked during a delay or a lock",
            m.logins_throttled.clone(),
        );
        registry.register(
            "accounts_locked",
            "Accounts locked after too many failed sign-ins",
            m.accounts_locked.clone(),
        );
        registry.register(
            "authz_denials",
            "Requests refused by the access policy",
            m.denials.clone(),
        );
        registry.register(
            "policy_decisions_allowed",
            "Policy decisions that allowed",
            m.decisions_allowed.clone(),
        );
        registry.register(
            "policy_decisions_denied",
            "Policy decisions that denied",
            m.decisions_denied.clone(),
        );
        registry.register(
            "outbox_pending_events",
            "Audit events not yet published",
            m.outbox_pending.clone(),
        );
        registry.register(
            "outbox_lag_seconds",
            "Age of the oldest unpublished audit event",
            m.outbox_lag_seconds.clone(),
        );
        registry.register(
            "relay_published_events",
            "Events published by this process's relay",
            m.relay_published.clone(),
        );
        registry.register(
            "relay_errors",
            "Failed publish attempts and outbox errors of this process's relay",
            m.relay_errors.clone(),
        );
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts by outcome (delivered, retrying, dead)",
            m.webhook_attempts.clone(),
        );
        registry.register(
            "orphan_blobs_swept",
            "Blobs without metadata removed by the sweeper",
            m.orphans_swept.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections closed at once because a connection cap was reached",
            m.connections_refused.clone(),
        );
        registry.register(
            "connections_timed_out",
            "Connections closed because no byte moved for the idle timeout",
            m.connections_timed_out.clone(),
        );
        registry.register(
            "transfers_too_slow",
            "Uploads and downloads cut off for moving slower than the minimum rate",
            m.transfers_too_slow.clone(),
        );
        registry.register(
            "integrity_failures",
            "Downloads cut off because the stored content failed its integrity check",
            m.integrity_failures.clone(),
        );
        Arc::new(Metrics { registry, ..m })
    }

    /// Records one finished request.
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let route = route.to_owned();
        let method = method.to_owned();
        self.requests
            .get_or_create(&vec![
                ("route".into(), route.clone()),
                ("method".into(), method.clone()),
                ("status".into(), status.to_string()),
            ])
            .inc();
        self.latency
            .get_or_create(&vec![("route".into(), route), ("method".into(), method)])
            .observe(seconds);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    /// The metrics in the Prometheus text format 0.0.4 (what `promtool check metrics` and
    /// scrapers that do not ask for OpenMetrics read). The encoder speaks OpenMetrics, whose
    /// counters are described under their base name (`# TYPE x counter`, sample `x_total`) and
    /// which ends with `# EOF`; the 0.0.4 format names the family as its samples.
    pub fn render_text(&self) -> String {
        openmetrics_to_text(&self.render())
    }
}

/// Rewrites an OpenMetrics exposition into the Prometheus text format 0.0.4.
pub fn openmetrics_to_text(om: &str) -> String {
    let mut counters = std::collections::HashSet::new();
    for line in om.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ")
            && let Some(name) = rest.strip_suffix(" counter")
        {
            counters.insert(name.to_owned());
        }
    }
    let mut out = String::with_capacity(om.len());
    for line in om.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let rewritten = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}").trim_end().to_owned())
        });
        out.push_str(rewritten.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn counters_are_described_under_their_sample_name() {
        let om = "# HELP a_requests Requests.\n# TYPE a_requests counter\na_requests_total{x=\"1\"} 3\n# HELP a_up Up.\n# TYPE a_up gauge\na_up 1\n# EOF\n";
        assert_eq!(
            super::openmetrics_to_text(om),
            "# HELP a_requests_total Requests.\n# TYPE a_requests_total counter\na_requests_total{x=\"1\"} 3\n# HELP a_up Up.\n# TYPE a_up gauge\na_up 1\n"
        );
    }
}
