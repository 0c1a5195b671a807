//! Consent receipts shaped after the Kantara Initiative Consent Receipt v1.1 (field names) with
//! the ISO/IEC TS 27560 additions the ledger needs (legal basis, policy version and hash, expiry,
//! evidence).

use crate::canonical::canonical_sha256;
use crate::error::Result;
use crate::purpose::LegalBasis;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The Kantara specification version every receipt declares.
pub const RECEIPT_VERSION: &str = "KI-CR-v1.1.0";

/// The data controller named on receipts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Controller {
    /// Legal name of the controller.
    #[serde(rename = "piiController")]
    pub name: String,
    /// Contact person or office (e.g. the data protection officer).
    pub contact: String,
    /// Contact e-mail address.
    pub email: String,
    /// Postal address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Contact phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The controller's web site.
    #[serde(
        rename = "piiControllerUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub url: Option<String>,
}

impl Controller {
    /// A controller with its legal name, contact and contact e-mail.
    pub fn new(
        name: impl Into<String>,
        contact: impl Into<String>,
        email: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            contact: contact.into(),
            email: email.into(),
            address: None,
            phone: None,
            url: None,
        }
    }
}

/// A service of the controller and the purposes consented to for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptService {
    /// Service name.
    pub service: String,
    /// The purposes consented to.
    pub purposes: Vec<ReceiptPurpose>,
}

/// One purpose on a receipt, with the policy it was consented under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptPurpose {
    /// The purpose's human title.
    pub purpose: String,
    /// The purpose id in the ledger.
    pub purpose_id: String,
    /// Purpose category (the purpose description).
    pub purpose_category: Vec<String>,
    /// Kantara consent type; `EXPLICIT` for grants recorded by this ledger.
    pub consent_type: String,
    /// Categories of personal data covered.
    pub pii_category: Vec<String>,
    /// Whether this is the primary purpose of the service.
    pub primary_purpose: bool,
    /// When and how the consent ends.
    pub termination: String,
    /// Whether the data is disclosed to third parties.
    pub third_party_disclosure: bool,
    /// Names of the third parties.
    pub third_party_name: Vec<String>,
    /// The lawful basis of processing.
    pub legal_basis: LegalBasis,
    /// The policy version consented to.
    pub policy_version: String,
    /// SHA-256 of that policy text, lowercase hex.
    pub policy_sha256: String,
}

/// Who a temporary access grant lets in, and to what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    /// The party granted access (e.g. `support`, or a staff member's id).
    pub grantee: String,
    /// What they may access (e.g. `files:read`).
    pub scope: String,
}

impl Delegation {
    /// Access for `grantee` to `scope`.
    pub fn new(grantee: impl Into<String>, scope: impl Into<String>) -> Self {
        Self {
            grantee: grantee.into(),
            scope: scope.into(),
        }
    }
}

/// A consent receipt: what the subject agreed to, when, how and under which policy text.
///
/// Its `receipt_hash` is the SHA-256 of the receipt's canonical JSON (RFC 8785 key order, the
/// hash field left out), so anyone holding a copy can show it was not altered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// Always [`RECEIPT_VERSION`].
    pub version: String,
    /// The jurisdiction the controller operates under (e.g. `EU`, `US-CA`).
    pub jurisdiction: String,
    /// When consent was given, seconds since the Unix epoch (Kantara `NumericDate`).
    pub consent_timestamp: i64,
    /// When consent was given, RFC 3339 with microseconds.
    pub issued_at: Timestamp,
    /// How consent was collected (e.g. `web-form`, `mobile-app`, `paper`).
    pub collection_method: String,
    /// Unique id of this receipt (and of the consent it records).
    #[serde(rename = "consentReceiptID")]
    pub receipt_id: Uuid,
    /// Language of the notice shown (BCP 47 / ISO 639).
    pub language: String,
    /// The data subject (PII principal).
    pub pii_principal_id: String,
    /// The controllers.
    pub pii_controllers: Vec<Controller>,
    /// Where the privacy policy is published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_url: Option<String>,
    /// The services and purposes consented to.
    pub services: Vec<ReceiptService>,
    /// Whether sensitive personal data is involved.
    pub sensitive: bool,
    /// Categories of sensitive data.
    pub spi_cat: Vec<String>,
    /// The legal basis (ISO/IEC TS 27560 addition).
    pub legal_basis: LegalBasis,
    /// The policy version consented to (ISO/IEC TS 27560 addition).
    pub policy_version: String,
    /// SHA-256 of the policy text (ISO/IEC TS 27560 addition).
    pub policy_sha256: String,
    /// When the consent expires.
    pub expires_at: Timestamp,
    /// Evidence the application captured with the consent (form id, notice hash, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<serde_json::Value>,
    /// For temporary access grants: who may access what.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation: Option<Delegation>,
    /// SHA-256 of the canonical JSON of every other field, lowercase hex.
    pub receipt_hash: String,
}

impl Receipt {
    /// Recompute the hash over the receipt's content (all fields but `receipt_hash`).
    pub fn compute_hash(&self) -> Result<String> {
        let mut value = serde_json::to_value(self).map_err(|e| crate::Error::Corrupt {
            reason: format!("receipt is not representable as JSON: {e}"),
        })?;
        if let Some(map) = value.as_object_mut() {
            map.remove("receiptHash");
        }
        canonical_sha256(&value)
    }

    /// Whether `receipt_hash` matches the content.
    pub fn hash_is_valid(&self) -> bool {
        self.compute_hash()
            .is_ok_and(|h| h.as_bytes() == self.receipt_hash.as_bytes())
    }

    /// The receipt as pretty JSON (the form handed to the subject).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub(crate) fn seal(mut self) -> Result<Self> {
        self.receipt_hash = self.compute_hash()?;
        Ok(self)
    }

    /// The purpose id this receipt covers.
    pub fn purpose_id(&self) -> &str {
        self.services
            .first()
            .and_then(|s| s.purposes.first())
            .map(|p| p.purpose_id.as_str())
            .unwrap_or_default()
    }
}
