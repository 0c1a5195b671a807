//! The decision log: every decision handed to a sink, for audit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::decision::Decision;
use crate::request::Request;

/// A decision as the engine hands it to a [`DecisionSink`] (borrowed: copy what you keep).
#[derive(Debug)]
#[non_exhaustive]
pub struct DecisionEvent<'a> {
    /// The request.
    pub request: &'a Request,
    /// The decision.
    pub decision: &'a Decision,
    /// How long the decision took.
    pub duration: Duration,
}

/// Receives every decision made by `authorize`, `authorize_batch` and `authorize_with`.
///
/// It is called on the deciding thread, so it must be quick: to do slow work (write to a
/// database, send to a bus) wrap it in a [`ChannelSink`], which hands owned records to a
/// background thread.
pub trait DecisionSink: Send + Sync + std::fmt::Debug + 'static {
    /// Records one decision.
    fn record(&self, event: &DecisionEvent<'_>);
}

/// An owned copy of a decision, for logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DecisionRecord {
    /// Principal (Cedar syntax).
    pub principal: String,
    /// Action.
    pub action: String,
    /// Resource.
    pub resource: String,
    /// Context as a Cedar record literal.
    pub context: String,
    /// Allowed or not.
    pub allowed: bool,
    /// Determining policy ids.
    pub policies: Vec<String>,
    /// Evaluation errors (`policy: message`).
    pub errors: Vec<String>,
    /// Policy set version.
    pub version: u64,
    /// Decision time in microseconds.
    pub duration_micros: u64,
}

impl From<&DecisionEvent<'_>> for DecisionRecord {
    fn from(e: &DecisionEvent<'_>) -> Self {
        Self {
            principal: e.request.principal().to_string(),
            action: e.request.action().to_string(),
            resource: e.request.resource().to_string(),
            context: e.request.context().to_string(),
            allowed: e.decision.allowed,
            policies: e.decision.policy_ids().map(str::to_owned).collect(),
            errors: e
                .decision
                .errors
                .iter()
                .map(|x| format!("{}: {}", x.policy, x.message))
                .collect(),
            version: e.decision.version,
            duration_micros: u64::try_from(e.duration.as_micros()).unwrap_or(u64::MAX),
        }
    }
}

/// Keeps every record in memory (tests, small tools).
#[derive(Debug, Default)]
pub struct MemorySink(Mutex<Vec<DecisionRecord>>);

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the records gathered so far.
    pub fn take(&self) -> Vec<DecisionRecord> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl DecisionSink for MemorySink {
    fn record(&self, event: &DecisionEvent<'_>) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event.into());
    }
}

/// Moves decision logging off the hot path: records go into a bounded queue that a background
/// thread drains into `handler`. When the queue is full, records are dropped and counted
/// (an authorization never waits for the log).
#[derive(Debug, Clone)]
pub struct ChannelSink {
    tx: SyncSender<DecisionRecord>,
    dropped: Arc<AtomicU64>,
}

impl ChannelSink {
    /// Starts the background thread. It ends when every clone of the sink is dropped.
    pub fn spawn(
        capacity: usize,
        mut handler: impl FnMut(DecisionRecord) + Send + 'static,
    ) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel(capacity.max(1));
        std::thread::Builder::new()
            .name("strongroom-decision-log".into())
            .spawn(move || {
                for record in rx {
                    handler(record);
                }
            })?;
        Ok(Self {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Records dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl DecisionSink for ChannelSink {
    fn record(&self, event: &DecisionEvent<'_>) {
        match self.tx.try_send(event.into()) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
