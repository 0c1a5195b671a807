//! One signed Standard Webhooks request, through a client that checks where it connects.
//!
//! [`WebhookDispatcher`](super::WebhookDispatcher) sends through it; so can a caller that keeps
//! endpoints and the retry queue in its own store and only needs the request, its signatures,
//! the address checks and a verdict on the answer.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use reqwest::Url;

use super::{WebhookConfig, WebhookSecret, signature_header, ssrf};
use crate::{AuditEvent, Error, Result};

/// Bytes of a receiver's response kept.
const RESPONSE_EXCERPT: usize = 1024;

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Acknowledged (2xx).
    Delivered,
    /// The receiver answered 410 Gone: stop sending to this endpoint.
    Gone,
    /// Try again later; `after` is the receiver's `Retry-After` (on 429 and 503), capped by
    /// [`WebhookConfig::max_retry_after`].
    Retry {
        /// The receiver's wish, if it gave one.
        after: Option<Duration>,
    },
}

/// One attempt's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// What to do next.
    pub verdict: Verdict,
    /// HTTP status, if a response arrived.
    pub status: Option<u16>,
    /// Time until the response (or the failure).
    pub latency: Duration,
    /// Network, timeout or refusal error, if any (a refused address reads `unsafe address`).
    pub error: Option<String>,
    /// The first 1 KiB of the response body (lossy UTF-8).
    pub response_excerpt: String,
}

/// Sends Standard Webhooks requests: `webhook-id`, `webhook-timestamp` and one
/// `webhook-signature` per secret, JSON body. Redirects and proxies are off and every address
/// a host name resolves to passes the [`SsrfGuard`](super::SsrfGuard) first. Cheap to clone.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    max_retry_after: Duration,
}

impl WebhookSender {
    /// A sender with `config`'s timeout, address guard and `Retry-After` cap.
    pub fn new(config: &WebhookConfig) -> Result<WebhookSender> {
        if config.timeout.is_zero() {
            return Err(Error::invalid("webhook config", "timeout must be positive"));
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // A redirect or a proxy would send the request somewhere the guard did not check.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(ssrf::GuardedResolver(config.ssrf))
            .user_agent(concat!("strongroom-audit/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::unavailable("building the HTTP client", e))?;
        Ok(WebhookSender {
            client,
            max_retry_after: config.max_retry_after,
        })
    }

    /// Posts `body` to `url` as message `message_id`, signed at `at` by each of `secrets`.
    /// Never fails: a refusal, a timeout or an error status is a [`Verdict`] with the reason.
    pub async fn send(
        &self,
        url: &Url,
        message_id: &str,
        body: &str,
        secrets: &[&WebhookSecret],
        at: Timestamp,
    ) -> Sent {
        let timestamp = at.as_second();
        let signature = signature_header(secrets, message_id, timestamp, body.as_bytes());
        let started = Instant::now();
        let mut sent = Sent {
            verdict: Verdict::Retry { after: None },
            status: None,
            latency: Duration::ZERO,
            error: None,
            response_excerpt: String::new(),
        };
        let response = self
            .client
            .post(url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_owned())
            .send()
            .await;
        let mut response = match response {
            Ok(r) => r,
            Err(e) => {
                sent.latency = started.elapsed();
                sent.error = Some(describe(&e));
                return sent;
            }
        };
        let status = response.status().as_u16();
        sent.status = Some(status);
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, at))
            .map(|d| d.min(self.max_retry_after));
        let mut excerpt = Vec::new();
        while excerpt.len() < RESPONSE_EXCERPT {
            match response.chunk().await {
                Ok(Some(chunk)) => excerpt
                    .extend_from_slice(&chunk[..chunk.len().min(RESPONSE_EXCERPT - excerpt.len())]),
                _ => break,
            }
        }
        sent.latency = started.elapsed();
        sent.response_excerpt = String::from_utf8_lossy(&excerpt).into_owned();
        sent.verdict = match status {
            200..=299 => Verdict::Delivered,
            410 => Verdict::Gone,
            429 | 503 => Verdict::Retry { after: retry_after },
            _ => Verdict::Retry { after: None },
        };
        sent
    }
}

/// The body of the message for `event`: `{"type", "timestamp", "data"}` with the event in
/// `data`.
pub fn message_body(event: &AuditEvent) -> String {
    serde_json::json!({
        "type": event.action(),
        "timestamp": event.time().to_string(),
        "data": event,
    })
    .to_string()
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        e.to_string()
    };
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `Retry-After` as delay-seconds or an HTTP date.
fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    Some(Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now: Timestamp = "2026-11-25T10:00:00Z".parse().unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 25 Nov 2026 10:05:00 GMT", now),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            parse_retry_after("Wed, 25 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
