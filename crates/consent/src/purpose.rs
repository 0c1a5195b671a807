//! Purposes of processing, their legal basis and their versioned policy texts.

use crate::canonical::sha256_hex;
use crate::error::{Error, Result, invalid};
use crate::subject::check_text;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The lawful basis of processing (GDPR Art. 6(1) (a) to (f)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// (a) the data subject has given consent.
    Consent,
    /// (b) necessary for a contract with the data subject.
    Contract,
    /// (c) necessary for a legal obligation of the controller.
    LegalObligation,
    /// (d) necessary to protect vital interests.
    VitalInterests,
    /// (e) necessary for a task in the public interest.
    PublicTask,
    /// (f) necessary for the legitimate interests of the controller or a third party.
    LegitimateInterests,
}

/// One published version of a purpose's policy text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersion {
    version: String,
    sha256: String,
    effective_from: Timestamp,
    requires_fresh_consent: bool,
}

impl PolicyVersion {
    /// Version `version` of the policy whose full text is `text`, in force from `effective_from`.
    /// The text itself is not kept, only its SHA-256, which every receipt quotes.
    pub fn new(version: impl Into<String>, text: &str, effective_from: Timestamp) -> Result<Self> {
        let version = version.into();
        check_text("policy version", &version, 64)?;
        if text.trim().is_empty() {
            return Err(invalid("policy text", "must not be empty"));
        }
        Ok(Self {
            version,
            sha256: sha256_hex(text.as_bytes()),
            effective_from,
            requires_fresh_consent: false,
        })
    }

    /// Whether consents given under earlier versions stop counting once this version is in force
    /// (they then check as [`ConsentStatus::Superseded`](crate::ConsentStatus::Superseded)).
    #[must_use]
    pub fn with_fresh_consent_required(mut self, yes: bool) -> Self {
        self.requires_fresh_consent = yes;
        self
    }

    /// The version label.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// SHA-256 of the policy text, lowercase hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// When this version comes into force.
    pub fn effective_from(&self) -> Timestamp {
        self.effective_from
    }

    /// Whether consents given under earlier versions stop counting once this one is in force.
    pub fn requires_fresh_consent(&self) -> bool {
        self.requires_fresh_consent
    }
}

/// A purpose of processing the subject can consent to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purpose {
    id: String,
    title: String,
    description: String,
    legal_basis: LegalBasis,
    data_categories: Vec<String>,
    recipients: Vec<String>,
    #[serde(with = "opt_duration_secs")]
    default_ttl: Option<Duration>,
    /// Ordered by `effective_from`, oldest first.
    policies: Vec<PolicyVersion>,
}

impl Purpose {
    /// A purpose with id `id` (lowercase ASCII letters, digits, `.`, `_`, `-`), a human title,
    /// its legal basis and its first policy version.
    pub fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        legal_basis: LegalBasis,
        policy: PolicyVersion,
    ) -> Result<Self> {
        let id = id.into();
        check_purpose_id(&id)?;
        let title = title.into();
        check_text("purpose title", &title, 200)?;
        Ok(Self {
            id,
            title,
            description: String::new(),
            legal_basis,
            data_categories: Vec::new(),
            recipients: Vec::new(),
            default_ttl: None,
            policies: vec![policy],
        })
    }

    /// A longer description shown to the subject.
    #[must_use]
    pub fn with_description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// The categories of personal data processed (e.g. `email`, `usage`).
    #[must_use]
    pub fn with_data_categories<I, S>(mut self, categories: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.data_categories = categories.into_iter().map(Into::into).collect();
        self
    }

    /// Third parties the data is disclosed to.
    #[must_use]
    pub fn with_recipients<I, S>(mut self, recipients: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.recipients = recipients.into_iter().map(Into::into).collect();
        self
    }

    /// How long a consent lasts when the grant does not say.
    #[must_use]
    pub fn with_default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = Some(ttl);
        self
    }

    /// The purpose id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The human title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The longer description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The legal basis.
    pub fn legal_basis(&self) -> LegalBasis {
        self.legal_basis
    }

    /// Categories of personal data processed.
    pub fn data_categories(&self) -> &[String] {
        &self.data_categories
    }

    /// Recipients of the data.
    pub fn recipients(&self) -> &[String] {
        &self.recipients
    }

    /// The default consent lifetime, if any.
    pub fn default_ttl(&self) -> Option<Duration> {
        self.default_ttl
    }

    /// Every published policy version, oldest first.
    pub fn policies(&self) -> &[PolicyVersion] {
        &self.policies
    }

    /// The version in force at `at`, if any has taken effect.
    pub fn policy_at(&self, at: Timestamp) -> Option<&PolicyVersion> {
        self.policies.iter().rev().find(|p| p.effective_from <= at)
    }

    /// A published version by label.
    pub fn policy(&self, version: &str) -> Option<&PolicyVersion> {
        self.policies.iter().find(|p| p.version == version)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        check_purpose_id(&self.id)?;
        check_text("purpose title", &self.title, 200)?;
        if self.description.chars().count() > 4000 {
            return Err(invalid(
                "purpose description",
                "longer than 4000 characters",
            ));
        }
        for c in self.data_categories.iter().chain(&self.recipients) {
            check_text("purpose category or recipient", c, 200)?;
        }
        if self.default_ttl == Some(Duration::ZERO) {
            return Err(Error::InvalidTtl {
                reason: "a purpose's default ttl must be above zero".into(),
            });
        }
        Ok(())
    }

    /// Add a newer version; it must take effect after every existing one and use a new label.
    pub(crate) fn publish(&mut self, policy: PolicyVersion) -> Result<()> {
        if self.policy(&policy.version).is_some() {
            return Err(Error::AlreadyExists {
                what: format!(
                    "policy version `{}` of purpose `{}`",
                    policy.version, self.id
                ),
            });
        }
        if let Some(last) = self.policies.last()
            && policy.effective_from <= last.effective_from
        {
            return Err(invalid(
                "policy effective_from",
                format!(
                    "must be later than the newest version `{}` ({})",
                    last.version, last.effective_from
                ),
            ));
        }
        self.policies.push(policy);
        Ok(())
    }

    /// When a consent given under `version` stopped counting because a later version in force
    /// by `at` requires fresh consent; `None` while it still counts. A version the purpose no
    /// longer lists cannot be vouched for and is treated as superseded by the one in force.
    pub(crate) fn superseded(&self, version: &str, at: Timestamp) -> Option<&PolicyVersion> {
        let Some(index) = self.policies.iter().position(|p| p.version == version) else {
            return self.policy_at(at);
        };
        self.policies[index + 1..]
            .iter()
            .take_while(|p| p.effective_from <= at)
            .find(|p| p.requires_fresh_consent)
    }
}

pub(crate) fn check_purpose_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 128 {
        return Err(invalid("purpose id", "must be 1 to 128 characters"));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(invalid(
            "purpose id",
            "only lowercase ASCII letters, digits, `.`, `_` and `-` are allowed",
        ));
    }
    Ok(())
}

mod opt_duration_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn purpose() -> Purpose {
        Purpose::new(
            "newsletter",
            "Newsletter",
            LegalBasis::Consent,
            PolicyVersion::new("1", "v1 text", t("2026-01-01T00:00:00Z")).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn ids_are_checked() {
        let p = PolicyVersion::new("1", "x", t("2026-01-01T00:00:00Z")).unwrap();
        assert!(Purpose::new("Bad Id", "t", LegalBasis::Consent, p.clone()).is_err());
        assert!(Purpose::new("", "t", LegalBasis::Consent, p.clone()).is_err());
        assert!(Purpose::new("ok.id_1-x", "t", LegalBasis::Consent, p).is_ok());
        assert!(PolicyVersion::new("1", "  ", t("2026-01-01T00:00:00Z")).is_err());
    }

    #[test]
    fn policy_hash_is_sha256_of_text() {
        let p = PolicyVersion::new("1", "abc", t("2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(
            p.sha256(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn versions_must_move_forward() {
        let mut p = purpose();
        let dup = PolicyVersion::new("1", "again", t("2026-02-01T00:00:00Z")).unwrap();
        assert!(matches!(p.publish(dup), Err(Error::AlreadyExists { .. })));
        let older = PolicyVersion::new("0", "older", t("2025-01-01T00:00:00Z")).unwrap();
        assert!(matches!(p.publish(older), Err(Error::InvalidInput { .. })));
    }

    #[test]
    fn supersession_follows_effective_dates() {
        let mut p = purpose();
        p.publish(PolicyVersion::new("2", "v2", t("2026-02-01T00:00:00Z")).unwrap())
            .unwrap();
        p.publish(
            PolicyVersion::new("3", "v3", t("2026-03-01T00:00:00Z"))
                .unwrap()
                .with_fresh_consent_required(true),
        )
        .unwrap();
        assert_eq!(
            p.policy_at(t("2026-02-15T00:00:00Z")).unwrap().version(),
            "2"
        );
        assert!(p.superseded("1", t("2026-02-15T00:00:00Z")).is_none());
        assert_eq!(
            p.superseded("1", t("2026-03-01T00:00:00Z"))
                .unwrap()
                .version(),
            "3"
        );
        assert!(p.superseded("3", t("2026-04-01T00:00:00Z")).is_none());
        assert_eq!(
            p.superseded("unknown", t("2026-04-01T00:00:00Z"))
                .unwrap()
                .version(),
            "3"
        );
    }
}
