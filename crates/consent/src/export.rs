//! The subject access / portability export (GDPR Art. 15 and 20).

use crate::access::active_grants;
use crate::erasure::ErasureProof;
use crate::error::{Error, Result};
use crate::ledger::{ConsentLedger, Withdrawal};
use crate::receipt::{Controller, Receipt};
use crate::record::{ChainRecord, ChainVerification, RecordKind, verify_chain};
use crate::status::ConsentState;
use crate::subject::check_subject;
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Debug;
use uuid::Uuid;

/// The format tag of [`ExportDocument`].
pub const EXPORT_FORMAT: &str = "strongroom-consent-export/1";

/// Section names the ledger writes itself; contributors cannot take them.
pub(crate) const RESERVED: &[&str] = &[
    "format",
    "generated_at",
    "subject",
    "subject_digest",
    "controller",
    "jurisdiction",
    "consents",
    "receipts",
    "withdrawals",
    "access_grants",
    "erasures",
    "chain",
    "chain_verification",
];

/// Adds an application-owned section (files, sessions, audit events) to every export.
#[async_trait]
pub trait ExportContributor: Debug + Send + Sync + 'static {
    /// The section name in [`ExportDocument::sections`]; unique per ledger.
    fn section(&self) -> &str;

    /// The section's content for `subject`.
    async fn export(
        &self,
        subject: &str,
    ) -> std::result::Result<Value, Box<dyn std::error::Error + Send + Sync>>;
}

/// One temporary access grant as it appears in an export (active or not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessGrantEntry {
    /// The grant id.
    pub grant_id: Uuid,
    /// Who could access.
    pub grantee: String,
    /// What they could access.
    pub scope: String,
    /// When it was granted.
    pub granted_at: Timestamp,
    /// When it ends or ended by itself.
    pub expires_at: Timestamp,
    /// Whether it is in force at export time.
    pub active: bool,
}

/// Everything the ledger holds about one subject, as one machine-readable JSON document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportDocument {
    /// Always [`EXPORT_FORMAT`].
    pub format: String,
    /// When the export was made.
    pub generated_at: Timestamp,
    /// The subject.
    pub subject: String,
    /// The keyed digest naming the subject's chain.
    pub subject_digest: String,
    /// The controller.
    pub controller: Controller,
    /// The controller's jurisdiction.
    pub jurisdiction: String,
    /// Status of every purpose ever consented to.
    pub consents: Vec<ConsentState>,
    /// Every receipt, consents and temporary access grants alike, oldest first.
    pub receipts: Vec<Receipt>,
    /// Every withdrawal.
    pub withdrawals: Vec<Withdrawal>,
    /// Every temporary access grant.
    pub access_grants: Vec<AccessGrantEntry>,
    /// Proofs of completed erasures.
    pub erasures: Vec<ErasureProof>,
    /// The full hash chain, so the recipient can verify it.
    pub chain: Vec<ChainRecord>,
    /// The verification of that chain at export time.
    pub chain_verification: ChainVerification,
    /// Sections added by [`ExportContributor`]s.
    pub sections: BTreeMap<String, Value>,
}

impl ExportDocument {
    /// The document as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl ConsentLedger {
    /// Everything about `subject`: consents, receipts, withdrawals, access grants, erasure
    /// proofs, the verifiable chain, and every contributor's section.
    pub async fn export(&self, subject: &str) -> Result<ExportDocument> {
        check_subject(subject)?;
        let now = self.now();
        let chain_id = self.key.subject_digest(subject);
        let chain = self.read(subject).await?;
        let decode = |r: &ChainRecord| {
            r.data()
                .and_then(|d| serde_json::from_value::<Receipt>(d.clone()).ok())
        };
        let receipts: Vec<Receipt> = chain
            .iter()
            .filter(|r| matches!(r.kind, RecordKind::Granted | RecordKind::AccessGranted))
            .filter_map(decode)
            .collect();
        let withdrawals = chain
            .iter()
            .filter(|r| r.kind == RecordKind::Withdrawn)
            .filter_map(|r| {
                let data = r.data()?;
                Some(Withdrawal {
                    purpose: r.header.purpose.clone()?,
                    receipt_id: r.header.consent_id?,
                    withdrawn_at: r.recorded_at,
                    reason: data.get("reason")?.as_str()?.to_owned(),
                })
            })
            .collect();
        let active: Vec<Uuid> = active_grants(&chain, &|p| self.purpose(p), now)
            .iter()
            .map(|g| g.grant_id)
            .collect();
        let access_grants = chain
            .iter()
            .filter(|r| r.kind == RecordKind::AccessGranted)
            .filter_map(decode)
            .filter_map(|receipt| {
                let d = receipt.delegation?;
                Some(AccessGrantEntry {
                    grant_id: receipt.receipt_id,
                    grantee: d.grantee,
                    scope: d.scope,
                    granted_at: receipt.issued_at,
                    expires_at: receipt.expires_at,
                    active: active.contains(&receipt.receipt_id),
                })
            })
            .collect();
        let erasures = chain
            .iter()
            .filter(|r| r.kind == RecordKind::Erased)
            .filter_map(|r| serde_json::from_value(r.data()?.clone()).ok())
            .collect();
        let mut sections = BTreeMap::new();
        for c in &self.contributors {
            let value = c
                .export(subject)
                .await
                .map_err(|source| Error::Contributor {
                    section: c.section().to_owned(),
                    source,
                })?;
            sections.insert(c.section().to_owned(), value);
        }
        Ok(ExportDocument {
            format: EXPORT_FORMAT.to_owned(),
            generated_at: now,
            subject: subject.to_owned(),
            consents: self.consent_states(&chain, now),
            chain_verification: verify_chain(&chain_id, &chain),
            subject_digest: chain_id,
            controller: self.issuer.controller.clone(),
            jurisdiction: self.issuer.jurisdiction.clone(),
            receipts,
            withdrawals,
            access_grants,
            erasures,
            chain,
            sections,
        })
    }
}
