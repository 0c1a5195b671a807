//! Temporary access: a consented, time-boxed grant from a subject to another party, readable by
//! a policy engine as a plain attribute.

use crate::error::{Error, Result};
use crate::events::ConsentEvent;
use crate::ledger::{ConsentLedger, Draft, Grant, check_reason};
use crate::purpose::Purpose;
use crate::receipt::{Delegation, Receipt};
use crate::record::{ChainRecord, RecordHeader, RecordKind};
use crate::status::{ConsentStatus, ends_everything, grant_status};
use crate::subject::{check_subject, check_text};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// A live temporary access grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessGrant {
    /// The grant id (also its receipt id).
    pub grant_id: Uuid,
    /// The subject who granted access.
    pub subject: String,
    /// Who may access.
    pub grantee: String,
    /// What they may access.
    pub scope: String,
    /// The purpose the access was consented under.
    pub purpose: String,
    /// When it was granted.
    pub granted_at: Timestamp,
    /// When it ends by itself.
    pub expires_at: Timestamp,
    /// Its receipt.
    pub receipt: Receipt,
}

/// The attribute form of an [`AccessGrant`] for a policy engine: plain strings, RFC 3339 times.
///
/// Put it in a request context, e.g. `{"temporary_access": [attr, ...]}`, and let a policy permit
/// when `grantee` and `scope` match and `expires_at` is in the future. The ledger already leaves
/// out expired and revoked grants, so the policy's own time check is defence in depth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessAttribute {
    /// The grant id.
    pub grant_id: String,
    /// The subject who granted access.
    pub subject: String,
    /// Who may access.
    pub grantee: String,
    /// What they may access.
    pub scope: String,
    /// When it ends, RFC 3339.
    pub expires_at: String,
}

impl AccessGrant {
    /// The attribute a policy engine reads.
    pub fn attribute(&self) -> AccessAttribute {
        AccessAttribute {
            grant_id: self.grant_id.to_string(),
            subject: self.subject.clone(),
            grantee: self.grantee.clone(),
            scope: self.scope.clone(),
            expires_at: self.expires_at.to_string(),
        }
    }
}

impl ConsentLedger {
    /// Record that `subject` lets `delegation.grantee` access `delegation.scope` for the grant's
    /// lifetime (at most the ledger's `max_access_ttl`). The access ends by itself at expiry.
    pub async fn grant_access(
        &self,
        subject: &str,
        delegation: Delegation,
        grant: Grant,
    ) -> Result<AccessGrant> {
        check_text("grantee", &delegation.grantee, 256)?;
        check_text("scope", &delegation.scope, 256)?;
        let receipt = self
            .record_grant(
                subject,
                &grant,
                Some(&delegation),
                RecordKind::AccessGranted,
            )
            .await?;
        let access = AccessGrant {
            grant_id: receipt.receipt_id,
            subject: subject.to_owned(),
            grantee: delegation.grantee,
            scope: delegation.scope,
            purpose: grant.purpose,
            granted_at: receipt.issued_at,
            expires_at: receipt.expires_at,
            receipt,
        };
        self.emit(ConsentEvent::AccessGranted {
            subject: subject.to_owned(),
            grant_id: access.grant_id,
            grantee: access.grantee.clone(),
            scope: access.scope.clone(),
            expires_at: access.expires_at,
        });
        Ok(access)
    }

    /// End a temporary access grant before it expires.
    pub async fn revoke_access(&self, subject: &str, grant_id: Uuid, reason: &str) -> Result<()> {
        check_subject(subject)?;
        check_reason(reason)?;
        let chain = self.key.subject_digest(subject);
        self.append_with(&chain, |records, now| {
            let grant = active_grants(records, &|p| self.purpose(p), now)
                .into_iter()
                .find(|g| g.grant_id == grant_id)
                .ok_or(Error::UnknownAccessGrant { grant_id })?;
            let header = RecordHeader {
                purpose: Some(grant.purpose),
                consent_id: Some(grant_id),
                ..RecordHeader::default()
            };
            let body = json!({ "subject": subject, "reason": reason });
            Ok((
                Draft {
                    kind: RecordKind::AccessRevoked,
                    header,
                    body,
                },
                (),
            ))
        })
        .await?;
        self.emit(ConsentEvent::AccessRevoked {
            subject: subject.to_owned(),
            grant_id,
        });
        Ok(())
    }

    /// The temporary access grants of `subject` in force at `at`.
    pub async fn active_access(&self, subject: &str, at: Timestamp) -> Result<Vec<AccessGrant>> {
        check_subject(subject)?;
        let records = self.read(subject).await?;
        Ok(active_grants(&records, &|p| self.purpose(p), at))
    }

    /// The attributes of `subject`'s grants in force at `at`, for a policy engine.
    pub async fn access_attributes(
        &self,
        subject: &str,
        at: Timestamp,
    ) -> Result<Vec<AccessAttribute>> {
        Ok(self
            .active_access(subject, at)
            .await?
            .iter()
            .map(AccessGrant::attribute)
            .collect())
    }
}

/// Grants recorded by `at`, not revoked, not ended by an erasure request, not expired and not
/// superseded by a policy needing fresh consent.
pub(crate) fn active_grants(
    records: &[ChainRecord],
    purpose: &dyn Fn(&str) -> Option<Purpose>,
    at: Timestamp,
) -> Vec<AccessGrant> {
    let visible: Vec<&ChainRecord> = records.iter().take_while(|r| r.recorded_at <= at).collect();
    let mut out = Vec::new();
    for (i, r) in visible.iter().enumerate() {
        if r.kind != RecordKind::AccessGranted {
            continue;
        }
        let ended = visible[i + 1..].iter().any(|later| {
            ends_everything(later.kind)
                || (later.kind == RecordKind::AccessRevoked
                    && later.header.consent_id == r.header.consent_id)
        });
        if ended {
            continue;
        }
        let registered = r.header.purpose.as_deref().and_then(purpose);
        if !matches!(
            grant_status(r, registered.as_ref(), at),
            ConsentStatus::Granted { .. }
        ) {
            continue;
        }
        let Some(receipt) = r
            .data()
            .and_then(|d| serde_json::from_value::<Receipt>(d.clone()).ok())
        else {
            continue;
        };
        let Some(delegation) = receipt.delegation.clone() else {
            continue;
        };
        out.push(AccessGrant {
            grant_id: receipt.receipt_id,
            subject: receipt.pii_principal_id.clone(),
            grantee: delegation.grantee,
            scope: delegation.scope,
            purpose: receipt.purpose_id().to_owned(),
            granted_at: receipt.issued_at,
            expires_at: receipt.expires_at,
            receipt,
        });
    }
    out
}
