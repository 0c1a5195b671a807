//! The ledger: purposes, grants, withdrawals and status checks over a [`ConsentStore`].

use crate::canonical::check_hashable;
use crate::clock::{Clock, SystemClock, to_micros};
use crate::erasure::ErasureHandler;
use crate::error::{Error, Result, invalid};
use crate::events::{ConsentEvent, ConsentObserver};
use crate::export::ExportContributor;
use crate::purpose::{PolicyVersion, Purpose, check_purpose_id};
use crate::receipt::{
    Controller, Delegation, RECEIPT_VERSION, Receipt, ReceiptPurpose, ReceiptService,
};
use crate::record::{ChainRecord, ChainVerification, GENESIS_HASH, RecordHeader, RecordKind};
use crate::status::{self, ConsentState, ConsentStatus};
use crate::store::{ConsentStoreExt, DynConsentStore};
use crate::subject::{LedgerKey, check_subject, check_text};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use uuid::Uuid;

/// How often one append is retried when other writers keep winning the race for the chain head.
const MAX_APPEND_ATTEMPTS: usize = 64;
/// Largest evidence document accepted with a grant, in bytes of canonical JSON.
const MAX_EVIDENCE_BYTES: usize = 16 * 1024;
/// Longest withdrawal or revocation reason.
const MAX_REASON_CHARS: usize = 2000;

/// What the subject is consenting to, and how it was collected.
#[derive(Debug, Clone)]
pub struct Grant {
    pub(crate) purpose: String,
    pub(crate) policy_version: String,
    pub(crate) collection_method: String,
    pub(crate) ttl: Option<Duration>,
    pub(crate) evidence: Option<Value>,
}

impl Grant {
    /// Consent to `purpose` under `policy_version` (the one in force), collected by
    /// `collection_method` (e.g. `web-form`).
    pub fn new(
        purpose: impl Into<String>,
        policy_version: impl Into<String>,
        collection_method: impl Into<String>,
    ) -> Self {
        Self {
            purpose: purpose.into(),
            policy_version: policy_version.into(),
            collection_method: collection_method.into(),
            ttl: None,
            evidence: None,
        }
    }

    /// How long the consent lasts; defaults to the purpose's default, then the ledger's maximum.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Evidence of how consent was obtained (a JSON object: form id, hash of the notice shown,
    /// ...). Numbers must be integers so the receipt hash is reproducible everywhere.
    #[must_use]
    pub fn evidence(mut self, evidence: Value) -> Self {
        self.evidence = Some(evidence);
        self
    }

    fn validate(&self) -> Result<()> {
        check_purpose_id(&self.purpose)?;
        check_text("policy version", &self.policy_version, 64)?;
        check_text("collection method", &self.collection_method, 128)?;
        if let Some(evidence) = &self.evidence {
            if !evidence.is_object() {
                return Err(invalid("evidence", "must be a JSON object"));
            }
            check_hashable("evidence", evidence, MAX_EVIDENCE_BYTES)?;
        }
        Ok(())
    }
}

/// A recorded withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    /// The purpose id.
    pub purpose: String,
    /// The receipt of the consent that was withdrawn.
    pub receipt_id: Uuid,
    /// When.
    pub withdrawn_at: Timestamp,
    /// The subject's reason, if given.
    pub reason: String,
}

/// What one append should record.
pub(crate) struct Draft {
    pub(crate) kind: RecordKind,
    pub(crate) header: RecordHeader,
    pub(crate) body: Value,
}

#[derive(Debug)]
pub(crate) struct Issuer {
    pub(crate) controller: Controller,
    pub(crate) jurisdiction: String,
    pub(crate) language: String,
    pub(crate) service: String,
    pub(crate) policy_url: Option<String>,
}

/// A consent ledger over one [`ConsentStore`](crate::ConsentStore).
///
/// Every change is a record appended to the subject's hash chain; status is computed from the
/// chain and the clock on every call, so an expired consent reads as expired the instant it
/// expires, with no background job.
#[derive(Debug)]
pub struct ConsentLedger {
    pub(crate) store: Arc<DynConsentStore>,
    pub(crate) key: LedgerKey,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) purposes: RwLock<BTreeMap<String, Purpose>>,
    pub(crate) issuer: Issuer,
    pub(crate) max_ttl: Duration,
    pub(crate) max_access_ttl: Duration,
    pub(crate) erasure_deadline: Duration,
    pub(crate) handlers: Vec<Arc<dyn ErasureHandler>>,
    pub(crate) contributors: Vec<Arc<dyn ExportContributor>>,
    pub(crate) observers: Vec<Arc<dyn ConsentObserver>>,
}

/// Builds a [`ConsentLedger`]; see [`ConsentLedger::builder`].
#[derive(Debug)]
pub struct ConsentLedgerBuilder {
    store: Arc<DynConsentStore>,
    key: LedgerKey,
    clock: Arc<dyn Clock>,
    controller: Option<Controller>,
    jurisdiction: Option<String>,
    language: String,
    service: String,
    policy_url: Option<String>,
    purposes: Vec<Purpose>,
    max_ttl: Duration,
    max_access_ttl: Duration,
    erasure_deadline: Duration,
    handlers: Vec<Arc<dyn ErasureHandler>>,
    contributors: Vec<Arc<dyn ExportContributor>>,
    observers: Vec<Arc<dyn ConsentObserver>>,
}

const DAY: Duration = Duration::from_secs(86_400);

impl ConsentLedgerBuilder {
    /// The controller named on receipts (required).
    #[must_use]
    pub fn controller(mut self, controller: Controller) -> Self {
        self.controller = Some(controller);
        self
    }

    /// The jurisdiction named on receipts, e.g. `EU` (required).
    #[must_use]
    pub fn jurisdiction(mut self, jurisdiction: impl Into<String>) -> Self {
        self.jurisdiction = Some(jurisdiction.into());
        self
    }

    /// Language of the notices (default `en`).
    #[must_use]
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = language.into();
        self
    }

    /// Service name on receipts (default `strongroom`).
    #[must_use]
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = service.into();
        self
    }

    /// Where the privacy policy is published.
    #[must_use]
    pub fn policy_url(mut self, url: impl Into<String>) -> Self {
        self.policy_url = Some(url.into());
        self
    }

    /// The clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Register a purpose.
    #[must_use]
    pub fn purpose(mut self, purpose: Purpose) -> Self {
        self.purposes.push(purpose);
        self
    }

    /// Longest consent lifetime accepted, and the lifetime when neither the grant nor the
    /// purpose sets one (default 730 days).
    #[must_use]
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.max_ttl = ttl;
        self
    }

    /// Longest temporary access grant accepted (default 30 days).
    #[must_use]
    pub fn max_access_ttl(mut self, ttl: Duration) -> Self {
        self.max_access_ttl = ttl;
        self
    }

    /// Time allowed to finish an erasure (default 30 days: GDPR Art. 12(3) allows one month;
    /// CCPA allows 45 days).
    #[must_use]
    pub fn erasure_deadline(mut self, deadline: Duration) -> Self {
        self.erasure_deadline = deadline;
        self
    }

    /// Add an erasure handler; they run in the order added.
    #[must_use]
    pub fn erasure_handler(mut self, handler: Arc<dyn ErasureHandler>) -> Self {
        self.handlers.push(handler);
        self
    }

    /// Add an export contributor.
    #[must_use]
    pub fn export_contributor(mut self, contributor: Arc<dyn ExportContributor>) -> Self {
        self.contributors.push(contributor);
        self
    }

    /// Add an observer of recorded events.
    #[must_use]
    pub fn observer(mut self, observer: Arc<dyn ConsentObserver>) -> Self {
        self.observers.push(observer);
        self
    }

    /// Check the configuration and build the ledger.
    pub fn build(self) -> Result<ConsentLedger> {
        let controller = self
            .controller
            .ok_or_else(|| invalid("controller", "is required"))?;
        check_text("controller name", &controller.name, 200)?;
        check_text("controller contact", &controller.contact, 200)?;
        check_text("controller email", &controller.email, 200)?;
        let jurisdiction = self
            .jurisdiction
            .ok_or_else(|| invalid("jurisdiction", "is required"))?;
        check_text("jurisdiction", &jurisdiction, 64)?;
        check_text("language", &self.language, 35)?;
        check_text("service", &self.service, 200)?;
        for (what, ttl) in [
            ("max_ttl", self.max_ttl),
            ("max_access_ttl", self.max_access_ttl),
            ("erasure_deadline", self.erasure_deadline),
        ] {
            if ttl.is_zero() {
                return Err(invalid(what, "must be above zero"));
            }
        }
        let mut names: Vec<&str> = Vec::new();
        for h in &self.handlers {
            check_text("erasure handler name", h.name(), 128)?;
            if names.contains(&h.name()) {
                return Err(Error::AlreadyExists {
                    what: format!("erasure handler `{}`", h.name()),
                });
            }
            names.push(h.name());
        }
        let mut sections: Vec<&str> = Vec::new();
        for c in &self.contributors {
            check_text("export section", c.section(), 128)?;
            if sections.contains(&c.section()) || crate::export::RESERVED.contains(&c.section()) {
                return Err(Error::AlreadyExists {
                    what: format!("export section `{}`", c.section()),
                });
            }
            sections.push(c.section());
        }
        let ledger = ConsentLedger {
            store: self.store,
            key: self.key,
            clock: self.clock,
            purposes: RwLock::new(BTreeMap::new()),
            issuer: Issuer {
                controller,
                jurisdiction,
                language: self.language,
                service: self.service,
                policy_url: self.policy_url,
            },
            max_ttl: self.max_ttl,
            max_access_ttl: self.max_access_ttl,
            erasure_deadline: self.erasure_deadline,
            handlers: self.handlers,
            contributors: self.contributors,
            observers: self.observers,
        };
        for p in self.purposes {
            ledger.register_purpose(p)?;
        }
        Ok(ledger)
    }
}

impl ConsentLedger {
    /// Start building a ledger over `store`, naming chains with `key`.
    pub fn builder(store: Arc<DynConsentStore>, key: LedgerKey) -> ConsentLedgerBuilder {
        ConsentLedgerBuilder {
            store,
            key,
            clock: Arc::new(SystemClock),
            controller: None,
            jurisdiction: None,
            language: "en".into(),
            service: "strongroom".into(),
            policy_url: None,
            purposes: Vec::new(),
            max_ttl: DAY * 730,
            max_access_ttl: DAY * 30,
            erasure_deadline: DAY * 30,
            handlers: Vec::new(),
            contributors: Vec::new(),
            observers: Vec::new(),
        }
    }

    /// Register a purpose. Purposes are configuration, not stored data: register the same set at
    /// every start. Receipts quote the policy version and hash, so they stand on their own.
    pub fn register_purpose(&self, purpose: Purpose) -> Result<()> {
        purpose.validate()?;
        let mut purposes = self.purposes.write().unwrap_or_else(|e| e.into_inner());
        if purposes.contains_key(purpose.id()) {
            return Err(Error::AlreadyExists {
                what: format!("purpose `{}`", purpose.id()),
            });
        }
        purposes.insert(purpose.id().to_owned(), purpose);
        Ok(())
    }

    /// Publish a new policy version of a purpose (it takes effect at its `effective_from`).
    pub fn publish_policy(&self, purpose: &str, policy: PolicyVersion) -> Result<()> {
        let mut purposes = self.purposes.write().unwrap_or_else(|e| e.into_inner());
        purposes
            .get_mut(purpose)
            .ok_or_else(|| Error::UnknownPurpose {
                purpose: purpose.to_owned(),
            })?
            .publish(policy)
    }

    /// A registered purpose.
    pub fn purpose(&self, id: &str) -> Option<Purpose> {
        self.purposes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Every registered purpose, by id.
    pub fn purposes(&self) -> Vec<Purpose> {
        self.purposes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// The current time by the ledger's clock.
    pub fn now(&self) -> Timestamp {
        to_micros(self.clock.now())
    }

    /// Record that `subject` consents to `grant`, and return the receipt to hand them.
    pub async fn grant(&self, subject: &str, grant: Grant) -> Result<Receipt> {
        let receipt = self
            .record_grant(subject, &grant, None, RecordKind::Granted)
            .await?;
        self.emit(ConsentEvent::Granted {
            subject: subject.to_owned(),
            purpose: grant.purpose,
            receipt_id: receipt.receipt_id,
            expires_at: receipt.expires_at,
        });
        Ok(receipt)
    }

    pub(crate) async fn record_grant(
        &self,
        subject: &str,
        grant: &Grant,
        delegation: Option<&Delegation>,
        kind: RecordKind,
    ) -> Result<Receipt> {
        check_subject(subject)?;
        grant.validate()?;
        let purpose = self.registered(&grant.purpose)?;
        let max = if delegation.is_some() {
            self.max_access_ttl
        } else {
            self.max_ttl
        };
        let ttl = grant
            .ttl
            .or(purpose.default_ttl())
            .unwrap_or(max.min(self.max_ttl));
        if ttl.is_zero() {
            return Err(Error::InvalidTtl {
                reason: "must be above zero".into(),
            });
        }
        if ttl > max {
            return Err(Error::InvalidTtl {
                reason: format!(
                    "{}s is above the maximum of {}s",
                    ttl.as_secs(),
                    max.as_secs()
                ),
            });
        }
        let chain = self.key.subject_digest(subject);
        self.append_with(&chain, |records, now| {
            crate::erasure::refuse_if_pending(records)?;
            let policy = purpose
                .policy_at(now)
                .ok_or_else(|| Error::NoPolicyInForce {
                    purpose: purpose.id().to_owned(),
                })?;
            if policy.version() != grant.policy_version {
                return Err(match purpose.policy(&grant.policy_version) {
                    None => Error::UnknownPolicyVersion {
                        purpose: purpose.id().to_owned(),
                        version: grant.policy_version.clone(),
                    },
                    Some(_) => Error::StalePolicyVersion {
                        purpose: purpose.id().to_owned(),
                        given: grant.policy_version.clone(),
                        current: policy.version().to_owned(),
                    },
                });
            }
            let expires_at = to_micros(now.checked_add(ttl).map_err(|_| Error::InvalidTtl {
                reason: "expiry is beyond the representable range".into(),
            })?);
            let receipt = self.receipt(
                subject, &purpose, policy, grant, delegation, now, expires_at,
            )?;
            let header = RecordHeader {
                purpose: Some(purpose.id().to_owned()),
                consent_id: Some(receipt.receipt_id),
                policy_version: Some(policy.version().to_owned()),
                expires_at: Some(expires_at),
                ..RecordHeader::default()
            };
            let body = serde_json::to_value(&receipt).map_err(|e| Error::Corrupt {
                reason: format!("receipt: {e}"),
            })?;
            Ok((Draft { kind, header, body }, receipt))
        })
        .await
        .map(|(_, receipt)| receipt)
    }

    #[allow(clippy::too_many_arguments)]
    fn receipt(
        &self,
        subject: &str,
        purpose: &Purpose,
        policy: &PolicyVersion,
        grant: &Grant,
        delegation: Option<&Delegation>,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<Receipt> {
        let termination = match delegation {
            Some(d) => format!(
                "access for {} to {} ends at {expires_at} or when revoked",
                d.grantee, d.scope
            ),
            None => format!("expires at {expires_at} unless withdrawn earlier"),
        };
        Receipt {
            version: RECEIPT_VERSION.to_owned(),
            jurisdiction: self.issuer.jurisdiction.clone(),
            consent_timestamp: now.as_second(),
            issued_at: now,
            collection_method: grant.collection_method.clone(),
            receipt_id: Uuid::new_v4(),
            language: self.issuer.language.clone(),
            pii_principal_id: subject.to_owned(),
            pii_controllers: vec![self.issuer.controller.clone()],
            policy_url: self.issuer.policy_url.clone(),
            services: vec![ReceiptService {
                service: self.issuer.service.clone(),
                purposes: vec![ReceiptPurpose {
                    purpose: purpose.title().to_owned(),
                    purpose_id: purpose.id().to_owned(),
                    purpose_category: if purpose.description().is_empty() {
                        Vec::new()
                    } else {
                        vec![purpose.description().to_owned()]
                    },
                    consent_type: "EXPLICIT".to_owned(),
                    pii_category: purpose.data_categories().to_vec(),
                    primary_purpose: true,
                    termination,
                    third_party_disclosure: !purpose.recipients().is_empty(),
                    third_party_name: purpose.recipients().to_vec(),
                    legal_basis: purpose.legal_basis(),
                    policy_version: policy.version().to_owned(),
                    policy_sha256: policy.sha256().to_owned(),
                }],
            }],
            sensitive: false,
            spi_cat: Vec::new(),
            legal_basis: purpose.legal_basis(),
            policy_version: policy.version().to_owned(),
            policy_sha256: policy.sha256().to_owned(),
            expires_at,
            evidence: grant.evidence.clone(),
            delegation: delegation.cloned(),
            receipt_hash: String::new(),
        }
        .seal()
    }

    /// Record that `subject` withdraws consent to `purpose`. Withdrawing an expired or
    /// superseded consent is recorded too; withdrawing what was never given is an error.
    pub async fn withdraw(&self, subject: &str, purpose: &str, reason: &str) -> Result<Withdrawal> {
        check_subject(subject)?;
        check_purpose_id(purpose)?;
        check_reason(reason)?;
        // Withdrawal must stay possible for a purpose the application stopped registering.
        let registered = self.purpose(purpose);
        let chain = self.key.subject_digest(subject);
        let (_, withdrawal) = self
            .append_with(&chain, |records, now| {
                let receipt_id = match status::purpose_status(records, purpose, None, now) {
                    ConsentStatus::Never if registered.is_none() => {
                        return Err(Error::UnknownPurpose {
                            purpose: purpose.to_owned(),
                        });
                    }
                    ConsentStatus::Never => {
                        return Err(Error::NotGranted {
                            purpose: purpose.to_owned(),
                        });
                    }
                    ConsentStatus::Withdrawn { at } => {
                        return Err(Error::AlreadyWithdrawn {
                            purpose: purpose.to_owned(),
                            at,
                        });
                    }
                    _ => last_grant_id(records, purpose),
                };
                let header = RecordHeader {
                    purpose: Some(purpose.to_owned()),
                    consent_id: Some(receipt_id),
                    ..RecordHeader::default()
                };
                let body = json!({ "subject": subject, "reason": reason });
                let withdrawal = Withdrawal {
                    purpose: purpose.to_owned(),
                    receipt_id,
                    withdrawn_at: now,
                    reason: reason.to_owned(),
                };
                Ok((
                    Draft {
                        kind: RecordKind::Withdrawn,
                        header,
                        body,
                    },
                    withdrawal,
                ))
            })
            .await?;
        self.emit(ConsentEvent::Withdrawn {
            subject: subject.to_owned(),
            purpose: purpose.to_owned(),
            receipt_id: withdrawal.receipt_id,
        });
        Ok(withdrawal)
    }

    /// The status of `subject`'s consent to `purpose` at `at` (past instants answer from the
    /// history as it stood then; policy supersession is judged by effective dates).
    pub async fn check(
        &self,
        subject: &str,
        purpose: &str,
        at: Timestamp,
    ) -> Result<ConsentStatus> {
        check_subject(subject)?;
        check_purpose_id(purpose)?;
        let registered = self.registered(purpose)?;
        let records = self.read(subject).await?;
        Ok(status::purpose_status(
            &records,
            purpose,
            Some(&registered),
            at,
        ))
    }

    /// Announces the consents of `subject` that expired in `[since, until)`: one
    /// [`ConsentEvent::Expired`] per consent, sent to every observer and returned.
    ///
    /// Expiry itself needs no job (`check` computes it from the clock); this is for the audit
    /// trail and notifications, and the application drives it with a watermark: call it with
    /// consecutive windows (the previous `until` as the next `since`) and each expiry is announced
    /// exactly once. A consent counts if it is still expired as of `until` (one renewed within
    /// the window is not announced).
    pub async fn announce_expirations(
        &self,
        subject: &str,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<ConsentEvent>> {
        check_subject(subject)?;
        if since > until {
            return Err(Error::InvalidInput {
                field: "since",
                reason: format!("the window starts ({since}) after it ends ({until})"),
            });
        }
        let records = self.read(subject).await?;
        let mut events = Vec::new();
        for state in self.consent_states(&records, until) {
            if let ConsentStatus::Expired { at } = state.status
                && since <= at
                && at < until
                && let Some(receipt) = state.receipt
            {
                events.push(ConsentEvent::Expired {
                    subject: subject.to_owned(),
                    purpose: state.purpose,
                    receipt_id: receipt.receipt_id,
                    expired_at: at,
                });
            }
        }
        for event in &events {
            self.emit(event.clone());
        }
        Ok(events)
    }

    /// [`check`](Self::check) at the current time.
    pub async fn check_now(&self, subject: &str, purpose: &str) -> Result<ConsentStatus> {
        self.check(subject, purpose, self.now()).await
    }

    /// The status at `at` of every purpose `subject` ever consented to, with the latest receipt.
    pub async fn consents(&self, subject: &str, at: Timestamp) -> Result<Vec<ConsentState>> {
        check_subject(subject)?;
        let records = self.read(subject).await?;
        Ok(self.consent_states(&records, at))
    }

    pub(crate) fn consent_states(
        &self,
        records: &[ChainRecord],
        at: Timestamp,
    ) -> Vec<ConsentState> {
        status::purposes_seen(records)
            .into_iter()
            .map(|purpose| {
                let registered = self.purpose(&purpose);
                ConsentState {
                    status: status::purpose_status(records, &purpose, registered.as_ref(), at),
                    receipt: status::latest_receipt(records, &purpose),
                    purpose,
                }
            })
            .collect()
    }

    /// Every record of `subject`'s chain, oldest first.
    pub async fn history(&self, subject: &str) -> Result<Vec<ChainRecord>> {
        check_subject(subject)?;
        self.read(subject).await
    }

    /// Check every hash and link of `subject`'s chain; a broken chain names its first broken
    /// record.
    pub async fn verify(&self, subject: &str) -> Result<ChainVerification> {
        check_subject(subject)?;
        let chain = self.key.subject_digest(subject);
        let records = self.store.read_all(&chain).await?;
        Ok(crate::record::verify_chain(&chain, &records))
    }

    /// The keyed digest that names `subject`'s chain (what erasure proofs refer to).
    pub fn subject_digest(&self, subject: &str) -> Result<String> {
        check_subject(subject)?;
        Ok(self.key.subject_digest(subject))
    }

    pub(crate) async fn read(&self, subject: &str) -> Result<Vec<ChainRecord>> {
        self.store.read_all(&self.key.subject_digest(subject)).await
    }

    pub(crate) fn registered(&self, purpose: &str) -> Result<Purpose> {
        self.purpose(purpose).ok_or_else(|| Error::UnknownPurpose {
            purpose: purpose.to_owned(),
        })
    }

    pub(crate) fn emit(&self, event: ConsentEvent) {
        for o in &self.observers {
            o.on_event(&event);
        }
    }

    /// Append one record to `chain`, deciding its content from the chain as it stands. When
    /// another writer appends first, the store refuses ours and we decide again on the new
    /// chain: decisions never act on a stale view and the chain never forks.
    pub(crate) async fn append_with<T>(
        &self,
        chain: &str,
        mut decide: impl FnMut(&[ChainRecord], Timestamp) -> Result<(Draft, T)>,
    ) -> Result<(ChainRecord, T)> {
        let mut last_conflict = None;
        for _ in 0..MAX_APPEND_ATTEMPTS {
            let records = self.store.read_all(chain).await?;
            let head = records.last();
            // Records never go back in time, even if the clock does.
            let now = head.map_or(self.now(), |h| self.now().max(h.recorded_at));
            let (draft, extra) = decide(&records, now)?;
            let record = ChainRecord::seal(
                chain,
                head.map_or(1, |h| h.seq + 1),
                now,
                draft.kind,
                draft.header,
                draft.body,
                head.map_or(GENESIS_HASH, |h| h.hash.as_str()),
            )?;
            match self.store.append(&record).await {
                Ok(()) => return Ok((record, extra)),
                Err(e @ Error::Conflict { .. }) => last_conflict = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_conflict.unwrap_or(Error::Conflict {
            chain: chain.to_owned(),
            seq: 0,
        }))
    }
}

pub(crate) fn check_reason(reason: &str) -> Result<()> {
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(invalid(
            "reason",
            format!("longer than {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(())
}

fn last_grant_id(records: &[ChainRecord], purpose: &str) -> Uuid {
    records
        .iter()
        .rev()
        .find(|r| r.kind == RecordKind::Granted && r.header.purpose.as_deref() == Some(purpose))
        .and_then(|r| r.header.consent_id)
        .unwrap_or_default()
}
