//! Evaluation harness: synthetic streams with labelled attacks, a reader for the RBA dataset's
//! CSV, detection metrics, and a trivial baseline to beat.
//!
//! ```
//! use strongroom_anomaly::{Config, Model};
//! use strongroom_anomaly::eval::{self, StreamConfig};
//!
//! let mut config = StreamConfig::default();
//! config.users = 40;
//! config.days = 30;
//! config.warmup_days = 10;
//! let stream = eval::generate(&config)?;
//! let mut model = Model::new(Config::default())?;
//! let report = eval::evaluate(&mut model, &stream)?;
//! println!("{report}");
//! # Ok::<(), strongroom_anomaly::Error>(())
//! ```

mod generator;
mod metrics;
mod rba;
mod rng;
mod world;

use std::collections::{HashMap, HashSet};
use std::fmt;

pub use generator::{AttackKind, LabelledEvent, Stream, StreamConfig, generate};
pub use metrics::{roc_auc, tpr_at_fpr};
pub use rba::read_rba_csv;

use crate::{EventKind, Level, Model, Result};

/// Detection quality over the events after warm-up.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Report {
    /// Events scored after warm-up.
    pub events: usize,
    /// Of which attack events.
    pub attack_events: usize,
    /// ROC AUC over all events after warm-up (logins and file actions).
    pub auc: Option<f64>,
    /// ROC AUC over login events only.
    pub login_auc: Option<f64>,
    /// TPR at 1% FPR, all events.
    pub tpr_at_1pct: Option<f64>,
    /// TPR at 0.1% FPR, all events.
    pub tpr_at_01pct: Option<f64>,
    /// Share of legitimate successful logins scored Medium or above (challenged).
    pub legit_logins_challenged: f64,
    /// Share of attack events scored Medium or above, per kind.
    pub detected_by_kind: Vec<(AttackKind, usize, f64)>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = |x: Option<f64>| x.map_or("n/a".to_owned(), |x| format!("{:.1}%", x * 100.0));
        let num = |x: Option<f64>| x.map_or("n/a".to_owned(), |x| format!("{x:.4}"));
        writeln!(
            f,
            "events scored        {} ({} attack)",
            self.events, self.attack_events
        )?;
        writeln!(f, "ROC AUC              {}", num(self.auc))?;
        writeln!(f, "ROC AUC (logins)     {}", num(self.login_auc))?;
        writeln!(f, "TPR @ FPR 1%         {}", pct(self.tpr_at_1pct))?;
        writeln!(f, "TPR @ FPR 0.1%       {}", pct(self.tpr_at_01pct))?;
        writeln!(
            f,
            "legit logins challenged {:.2}%",
            self.legit_logins_challenged * 100.0
        )?;
        for (kind, n, share) in &self.detected_by_kind {
            writeln!(
                f,
                "  {:<13} {:>6} events, {:.1}% at medium or above",
                kind.name(),
                n,
                share * 100.0
            )?;
        }
        Ok(())
    }
}

/// One scored event, for computing metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Scored {
    /// The score.
    pub score: f64,
    /// Whether it was scored Medium or above.
    pub challenged: bool,
    /// The attack label.
    pub attack: Option<AttackKind>,
    /// Whether it was a successful login.
    pub login: bool,
    /// Whether it was any login.
    pub any_login: bool,
}

/// Metrics from scored events.
pub fn report(scored: &[Scored]) -> Report {
    let scores: Vec<f64> = scored.iter().map(|s| s.score).collect();
    let labels: Vec<bool> = scored.iter().map(|s| s.attack.is_some()).collect();
    let (login_scores, login_labels): (Vec<f64>, Vec<bool>) = scored
        .iter()
        .filter(|s| s.any_login)
        .map(|s| (s.score, s.attack.is_some()))
        .unzip();
    let legit_logins: Vec<&Scored> = scored
        .iter()
        .filter(|s| s.login && s.attack.is_none())
        .collect();
    let challenged = legit_logins.iter().filter(|s| s.challenged).count();
    let mut by_kind: HashMap<AttackKind, (usize, usize)> = HashMap::new();
    for s in scored {
        if let Some(kind) = s.attack {
            let entry = by_kind.entry(kind).or_default();
            entry.0 += 1;
            entry.1 += usize::from(s.challenged);
        }
    }
    let mut detected_by_kind: Vec<(AttackKind, usize, f64)> = by_kind
        .into_iter()
        .map(|(k, (n, hit))| (k, n, hit as f64 / n as f64))
        .collect();
    detected_by_kind.sort_by_key(|(k, _, _)| k.name());
    Report {
        events: scored.len(),
        attack_events: labels.iter().filter(|l| **l).count(),
        auc: roc_auc(&scores, &labels),
        login_auc: roc_auc(&login_scores, &login_labels),
        tpr_at_1pct: tpr_at_fpr(&scores, &labels, 0.01),
        tpr_at_01pct: tpr_at_fpr(&scores, &labels, 0.001),
        legit_logins_challenged: if legit_logins.is_empty() {
            0.0
        } else {
            challenged as f64 / legit_logins.len() as f64
        },
        detected_by_kind,
    }
}

fn scored(l: &LabelledEvent, score: f64, challenged: bool) -> Scored {
    let any_login = l.event.kind == EventKind::Login;
    Scored {
        score,
        challenged,
        attack: l.attack,
        login: any_login && l.event.outcome == crate::Outcome::Success,
        any_login,
    }
}

/// Replays the stream as a risk-based authentication deployment would, and reports on the
/// events after warm-up.
///
/// Each event is scored; events below Medium are learned ([`Model::observe`]); events at
/// Medium or above are challenged (step-up authentication), which the account owner passes
/// (learned) and an attacker fails ([`Model::observe_untrusted`]: counted towards rates only).
/// Attacks that score Low are learned, as they would be in production.
///
/// # Errors
/// As [`Model::score`].
pub fn evaluate(model: &mut Model, stream: &Stream) -> Result<Report> {
    let mut out = Vec::new();
    for l in &stream.events {
        let risk = model.score(&l.event)?;
        let challenged = risk.level >= Level::Medium;
        if challenged && l.attack.is_some() {
            model.observe_untrusted(&l.event)?;
        } else {
            model.observe(&l.event)?;
        }
        if l.event.time >= stream.warmup_end {
            out.push(scored(l, risk.score, challenged));
        }
    }
    Ok(report(&out))
}

/// The trivial baseline: the number of the event's IP, ASN, country, user agent and device id
/// that this user has never used before (file actions and failures score like logins).
/// It challenges any event with two or more new values.
#[derive(Debug, Default)]
pub struct NoveltyBaseline {
    seen: HashMap<String, HashSet<String>>,
}

impl NoveltyBaseline {
    fn keys(l: &LabelledEvent) -> Vec<String> {
        let e = &l.event;
        [
            e.ip.as_ref().map(|v| format!("ip:{v}")),
            e.asn.map(|v| format!("asn:{v}")),
            e.country.as_ref().map(|v| format!("cc:{v}")),
            e.user_agent.as_ref().map(|v| format!("ua:{v}")),
            e.device_id.as_ref().map(|v| format!("dev:{v}")),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Scores then learns one event; the score is the count of new values, over 5.
    pub fn score_and_observe(&mut self, l: &LabelledEvent) -> f64 {
        let seen = self.seen.entry(l.event.user.clone()).or_default();
        let keys = Self::keys(l);
        let new = keys.iter().filter(|k| !seen.contains(*k)).count();
        seen.extend(keys);
        new as f64 / 5.0
    }

    /// [`evaluate`] for the baseline.
    pub fn evaluate(&mut self, stream: &Stream) -> Report {
        let mut out = Vec::new();
        for l in &stream.events {
            let s = self.score_and_observe(l);
            if l.event.time >= stream.warmup_end {
                out.push(scored(l, s, s >= 0.4));
            }
        }
        report(&out)
    }
}
