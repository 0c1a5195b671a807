//! The hook that hears about High and Critical risks.

use crate::{Risk, Timestamp};

/// One event that scored [`Level::High`](crate::Level::High) or above.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Alert<'a> {
    /// The account.
    pub user: &'a str,
    /// When the event happened.
    pub time: Timestamp,
    /// The full risk, with reasons.
    pub risk: &'a Risk,
}

/// Receives alerts from [`Model::score`](crate::Model::score) and
/// [`Model::score_and_observe`](crate::Model::score_and_observe).
///
/// Called synchronously on the scoring thread, so keep it cheap: push onto a channel or a
/// queue (for example an audit outbox) rather than doing network I/O inline. Any
/// `Fn(&Alert) + Send + Sync` closure is a sink.
pub trait AlertSink: Send + Sync {
    /// Handles one alert.
    fn alert(&self, alert: &Alert<'_>);
}

impl<F> AlertSink for F
where
    F: Fn(&Alert<'_>) + Send + Sync,
{
    fn alert(&self, alert: &Alert<'_>) {
        self(alert)
    }
}
