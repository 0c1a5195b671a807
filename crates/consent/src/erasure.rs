//! Erasure (GDPR Art. 17): run every registered handler, then pseudonymize the ledger and record
//! a proof that holds no personal data.
//!
//! The request, each handler's completion and the proof are records in the subject's chain, so a
//! crash at any point resumes on the next [`ConsentLedger::erase`] call: handlers with a recorded
//! completion are skipped, the others run again. Handlers must therefore be idempotent.

use crate::clock::to_micros;
use crate::error::{Error, Result};
use crate::events::ConsentEvent;
use crate::ledger::{ConsentLedger, Draft};
use crate::record::{ChainRecord, RecordHeader, RecordKind};
use crate::store::ConsentStoreExt;
use crate::subject::check_subject;
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::{self, Debug};

/// Erases one data domain (files, sessions, audit trail, ...) of a subject.
#[async_trait]
pub trait ErasureHandler: Debug + Send + Sync + 'static {
    /// A stable name, recorded in proofs; unique per ledger.
    fn name(&self) -> &str;

    /// Erase everything this domain holds about `subject` and return how many items went.
    /// Must be idempotent: after a crash it runs again for the same subject.
    async fn erase(&self, subject: &str) -> std::result::Result<u64, HandlerError>;
}

/// Why a handler could not finish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerError {
    /// What went wrong (keep personal data out of it: it is stored until the erasure finishes).
    pub message: String,
    /// Whether trying again later may succeed (a timeout) or a person must act first (a
    /// permission error). Either way the next `erase` call runs the handler again.
    pub retryable: bool,
}

impl HandlerError {
    /// A failure that a later retry may fix.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
        }
    }

    /// A failure that needs a person to act before a retry can succeed.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
        }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HandlerError {}

/// What happened to one handler in one `erase` call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum HandlerOutcome {
    /// It ran and finished in this call.
    Erased {
        /// Items it erased.
        items: u64,
    },
    /// It had already finished in an earlier call; not run again.
    AlreadyErased {
        /// When it finished.
        at: Timestamp,
    },
    /// It failed; the next `erase` call runs it again.
    Failed {
        /// Its error.
        error: HandlerError,
    },
}

/// One handler's line in an [`ErasureReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerReport {
    /// The handler name.
    pub handler: String,
    /// What happened.
    pub outcome: HandlerOutcome,
}

/// The outcome of an `erase` call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureReport {
    /// Keyed digest of the subject id.
    pub subject_digest: String,
    /// When erasure was first requested.
    pub requested_at: Timestamp,
    /// The deadline.
    pub due_by: Timestamp,
    /// One line per registered handler, in registration order.
    pub handlers: Vec<HandlerReport>,
    /// The proof, once everything finished.
    pub proof: Option<ErasureProof>,
}

impl ErasureReport {
    /// Whether every handler finished and the ledger was pseudonymized.
    pub fn is_complete(&self) -> bool {
        self.proof.is_some()
    }

    /// The handlers that failed.
    pub fn failed(&self) -> impl Iterator<Item = &HandlerReport> {
        self.handlers
            .iter()
            .filter(|h| matches!(h.outcome, HandlerOutcome::Failed { .. }))
    }
}

/// When one handler finished, as the proof records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerProof {
    /// The handler name.
    pub name: String,
    /// When it finished.
    pub completed_at: Timestamp,
}

/// Proof that a subject was erased, holding no personal data: the keyed digest of the subject id
/// (recompute it with the ledger key to find the proof of a given person), times, the handlers
/// that finished, and the hash of the chain head whose payloads were dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureProof {
    /// Keyed digest of the subject id.
    pub subject_digest: String,
    /// When erasure was requested.
    pub requested_at: Timestamp,
    /// When it finished.
    pub completed_at: Timestamp,
    /// The handlers that finished, in registration order.
    pub handlers: Vec<HandlerProof>,
    /// How many chain records had their personal payload dropped (in total, so far).
    pub records_redacted: u64,
    /// Hash of the last record before this proof; the chain still verifies up to it.
    pub chain_head: String,
    /// Recipients of the purposes the subject consented to, to be told of the erasure
    /// (GDPR Art. 19); the ledger does not contact them itself.
    pub recipients_to_notify: Vec<String>,
}

/// Where a subject's erasure stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErasureStatus {
    /// Requested, not finished.
    Pending {
        /// When requested.
        requested_at: Timestamp,
        /// The deadline.
        due_by: Timestamp,
        /// Whether the deadline has passed.
        overdue: bool,
        /// Handlers that already finished.
        finished: Vec<String>,
    },
    /// Finished.
    Completed {
        /// The proof.
        proof: ErasureProof,
    },
}

struct ErasureState<'a> {
    /// The open request: the first one after the last completed erasure.
    pending: Option<&'a ChainRecord>,
    /// Handlers that finished since the open request, with when.
    finished: BTreeMap<String, Timestamp>,
    /// The last proof, if nothing was recorded after it.
    settled: Option<ErasureProof>,
}

fn erasure_state(records: &[ChainRecord]) -> ErasureState<'_> {
    let last_erased = records.iter().rposition(|r| r.kind == RecordKind::Erased);
    let after = &records[last_erased.map_or(0, |i| i + 1)..];
    let pending = after
        .iter()
        .find(|r| r.kind == RecordKind::ErasureRequested);
    let finished = after
        .iter()
        .filter(|r| r.kind == RecordKind::ErasureStep && r.header.completed == Some(true))
        .filter_map(|r| Some((r.header.handler.clone()?, r.recorded_at)))
        .collect();
    let settled = match last_erased {
        Some(i) if after.is_empty() => records[i]
            .data()
            .and_then(|d| serde_json::from_value(d.clone()).ok()),
        _ => None,
    };
    ErasureState {
        pending,
        finished,
        settled,
    }
}

/// New consents wait until a pending erasure finishes.
pub(crate) fn refuse_if_pending(records: &[ChainRecord]) -> Result<()> {
    match erasure_state(records).pending {
        Some(r) => Err(Error::ErasurePending {
            due_by: r.header.due_by.unwrap_or(r.recorded_at),
        }),
        None => Ok(()),
    }
}

impl ConsentLedger {
    /// Erase `subject`: run every [`ErasureHandler`], drop the personal payloads of the
    /// subject's chain and record an [`ErasureProof`].
    ///
    /// From the request on, every consent and access grant of the subject stops counting. If a
    /// handler fails, the others still run, nothing is pseudonymized yet, and the call returns
    /// [`Error::ErasureIncomplete`] with the per-handler report; the next call retries only the
    /// handlers that have not finished. Erasing an unknown or already-erased subject is not an
    /// error: it runs the handlers (they may hold data the ledger never saw) and returns a proof,
    /// or the existing proof when nothing happened since and no handler was added.
    pub async fn erase(&self, subject: &str) -> Result<ErasureReport> {
        check_subject(subject)?;
        let chain = self.key.subject_digest(subject);
        let records = self.store.read_all(&chain).await?;
        let state = erasure_state(&records);
        if state.pending.is_none()
            && let Some(proof) = state.settled
            && self
                .handlers
                .iter()
                .all(|h| proof.handlers.iter().any(|p| p.name == h.name()))
        {
            return Ok(ErasureReport {
                subject_digest: chain,
                requested_at: proof.requested_at,
                due_by: proof.completed_at,
                handlers: proof
                    .handlers
                    .iter()
                    .map(|p| HandlerReport {
                        handler: p.name.clone(),
                        outcome: HandlerOutcome::AlreadyErased { at: p.completed_at },
                    })
                    .collect(),
                proof: Some(proof),
            });
        }
        let mut finished = state.finished;
        let (requested_at, due_by) = match state.pending {
            Some(r) => (r.recorded_at, r.header.due_by.unwrap_or(r.recorded_at)),
            None => self.open_request(&chain).await?,
        };

        let mut handlers = Vec::with_capacity(self.handlers.len());
        for h in &self.handlers {
            let name = h.name().to_owned();
            if let Some(&at) = finished.get(&name) {
                handlers.push(HandlerReport {
                    handler: name,
                    outcome: HandlerOutcome::AlreadyErased { at },
                });
                continue;
            }
            let (completed, body, outcome) = match h.erase(subject).await {
                Ok(items) => (
                    true,
                    json!({ "items": items }),
                    HandlerOutcome::Erased { items },
                ),
                Err(error) => (
                    false,
                    json!({ "error": error.message, "retryable": error.retryable }),
                    HandlerOutcome::Failed { error },
                ),
            };
            // Only a recorded completion counts: if this append fails, the handler runs again
            // next time rather than being reported as done.
            let (record, ()) = self
                .append_with(&chain, |_, _| {
                    Ok((
                        Draft {
                            kind: RecordKind::ErasureStep,
                            header: RecordHeader {
                                handler: Some(name.clone()),
                                completed: Some(completed),
                                ..RecordHeader::default()
                            },
                            body: body.clone(),
                        },
                        (),
                    ))
                })
                .await?;
            if completed {
                finished.insert(name.clone(), record.recorded_at);
            }
            handlers.push(HandlerReport {
                handler: name,
                outcome,
            });
        }

        let mut report = ErasureReport {
            subject_digest: chain.clone(),
            requested_at,
            due_by,
            handlers,
            proof: None,
        };
        if report.failed().next().is_some() {
            self.emit(ConsentEvent::ErasureFailed {
                subject_digest: chain,
                handlers: report.failed().map(|h| h.handler.clone()).collect(),
            });
            return Err(Error::ErasureIncomplete(Box::new(report)));
        }

        report.proof = Some(self.seal_erasure(&chain, requested_at, &finished).await?);
        self.emit(ConsentEvent::Erased {
            subject_digest: chain,
        });
        Ok(report)
    }

    /// Where the erasure of `subject` stands (`None` if it was never requested).
    pub async fn erasure_status(&self, subject: &str) -> Result<Option<ErasureStatus>> {
        check_subject(subject)?;
        let records = self.read(subject).await?;
        let state = erasure_state(&records);
        if let Some(r) = state.pending {
            let due_by = r.header.due_by.unwrap_or(r.recorded_at);
            return Ok(Some(ErasureStatus::Pending {
                requested_at: r.recorded_at,
                due_by,
                overdue: self.now() > due_by,
                finished: state.finished.into_keys().collect(),
            }));
        }
        Ok(records
            .iter()
            .rev()
            .find(|r| r.kind == RecordKind::Erased)
            .and_then(|r| serde_json::from_value(r.data()?.clone()).ok())
            .map(|proof| ErasureStatus::Completed { proof }))
    }

    async fn open_request(&self, chain: &str) -> Result<(Timestamp, Timestamp)> {
        let names: Vec<&str> = self.handlers.iter().map(|h| h.name()).collect();
        let (record, due_by) = self
            .append_with(chain, |_, now| {
                let due_by = to_micros(
                    now.checked_add(self.erasure_deadline)
                        .unwrap_or(Timestamp::MAX),
                );
                Ok((
                    Draft {
                        kind: RecordKind::ErasureRequested,
                        header: RecordHeader {
                            due_by: Some(due_by),
                            ..RecordHeader::default()
                        },
                        body: json!({ "handlers": names }),
                    },
                    due_by,
                ))
            })
            .await?;
        self.emit(ConsentEvent::ErasureRequested {
            subject_digest: chain.to_owned(),
            due_by,
        });
        Ok((record.recorded_at, due_by))
    }

    /// Drop every personal payload, then record the proof. Redaction is idempotent, so a crash
    /// between the two is repaired by the next call.
    async fn seal_erasure(
        &self,
        chain: &str,
        requested_at: Timestamp,
        finished: &BTreeMap<String, Timestamp>,
    ) -> Result<ErasureProof> {
        let records = self.store.read_all(chain).await?;
        let personal: Vec<u64> = records
            .iter()
            .filter(|r| r.kind != RecordKind::Erased && r.payload.is_some())
            .map(|r| r.seq)
            .collect();
        self.store.redact(chain, &personal).await?;
        let records_redacted = records
            .iter()
            .filter(|r| r.kind != RecordKind::Erased)
            .count() as u64;
        let handlers: Vec<HandlerProof> = self
            .handlers
            .iter()
            .filter_map(|h| {
                Some(HandlerProof {
                    name: h.name().to_owned(),
                    completed_at: *finished.get(h.name())?,
                })
            })
            .collect();
        let mut recipients_to_notify: Vec<String> = records
            .iter()
            .filter(|r| matches!(r.kind, RecordKind::Granted | RecordKind::AccessGranted))
            .filter_map(|r| self.purpose(r.header.purpose.as_deref()?))
            .flat_map(|p| p.recipients().to_vec())
            .collect();
        recipients_to_notify.sort();
        recipients_to_notify.dedup();
        let (_, proof) = self
            .append_with(chain, |records, now| {
                let proof = ErasureProof {
                    subject_digest: chain.to_owned(),
                    requested_at,
                    completed_at: now,
                    handlers: handlers.clone(),
                    records_redacted,
                    chain_head: records.last().map(|r| r.hash.clone()).unwrap_or_default(),
                    recipients_to_notify: recipients_to_notify.clone(),
                };
                let body = serde_json::to_value(&proof).map_err(|e| Error::Corrupt {
                    reason: format!("erasure proof: {e}"),
                })?;
                Ok((
                    Draft {
                        kind: RecordKind::Erased,
                        header: RecordHeader::default(),
                        body,
                    },
                    proof,
                ))
            })
            .await?;
        Ok(proof)
    }
}
