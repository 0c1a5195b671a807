//! What a score says: the number, the level, and why.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How risky an event is, with every contribution that made it so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Risk {
    /// Posterior-style probability that the event is not the account owner, in `[0, 1]`.
    pub score: f64,
    /// `score` bucketed by the configured [`Thresholds`](crate::Thresholds).
    pub level: Level,
    /// Evidence in natural-log units (nats): the sum of the reasons' contributions, before the
    /// prior is added and the logistic function maps it to `score`.
    pub evidence: f64,
    /// Every feature that was evaluated, most incriminating first; also what was missing or
    /// malformed, and whether the user is still in cold start.
    pub reasons: Vec<Reason>,
}

impl Risk {
    /// The reasons that raised the score, most incriminating first.
    pub fn raising(&self) -> impl Iterator<Item = &Reason> {
        self.reasons.iter().filter(|r| r.contribution > 0.0)
    }
}

/// Coarse risk level for access decisions (allow / challenge / block).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Below `thresholds.medium`.
    Low,
    /// At or above `thresholds.medium`: typically a step-up challenge.
    Medium,
    /// At or above `thresholds.high`: challenge and alert.
    High,
    /// At or above `thresholds.critical`: block and alert.
    Critical,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        })
    }
}

/// A feature the model evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Feature {
    /// Exact client IP.
    Ip,
    /// Network prefix (/24, /48 or as supplied).
    Prefix,
    /// Autonomous system.
    Asn,
    /// Country.
    Country,
    /// Exact user-agent string.
    UserAgent,
    /// Browser family parsed from the user agent.
    Browser,
    /// Operating system parsed from the user agent.
    Os,
    /// Device class parsed from the user agent (pc, smartphone...).
    DeviceClass,
    /// Device identifier.
    DeviceId,
    /// Hour of the week.
    HourOfWeek,
    /// Downloads in the rate window.
    Downloads,
    /// Bytes downloaded in the rate window.
    DownloadBytes,
    /// Distinct resources touched in the rate window.
    DistinctResources,
    /// Failed logins in the rate window.
    FailedLogins,
    /// Travel speed between this event's position and the last known one.
    Travel,
    /// The user's profile as a whole (cold start).
    Profile,
}

impl Feature {
    /// Stable lower-case name, as used in serialized reasons.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Ip => "ip",
            Feature::Prefix => "prefix",
            Feature::Asn => "asn",
            Feature::Country => "country",
            Feature::UserAgent => "user_agent",
            Feature::Browser => "browser",
            Feature::Os => "os",
            Feature::DeviceClass => "device_class",
            Feature::DeviceId => "device_id",
            Feature::HourOfWeek => "hour_of_week",
            Feature::Downloads => "downloads",
            Feature::DownloadBytes => "download_bytes",
            Feature::DistinctResources => "distinct_resources",
            Feature::FailedLogins => "failed_logins",
            Feature::Travel => "travel",
            Feature::Profile => "profile",
        }
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the model found about one feature value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "finding")]
#[non_exhaustive]
pub enum Finding {
    /// The user has never (or not recently) used this value.
    NewForUser {
        /// Estimated probability that this user's next value at this level is a new one.
        user_novelty: f64,
        /// Share of all traffic (given the coarser level) that has this value.
        global_share: f64,
    },
    /// A coarser level is already new, so this one is new too; it adds no further evidence.
    ImpliedNew,
    /// The user has used this value before.
    Seen {
        /// Share of this user's traffic (given the coarser level) with this value.
        user_share: f64,
        /// Share of all traffic (given the coarser level) with this value.
        global_share: f64,
    },
    /// A rate or volume compared with the user's (or, in cold start, everyone's) baseline.
    AboveBaseline {
        /// Value in the window, including this event.
        observed: f64,
        /// Typical value (robust running median).
        typical: f64,
        /// Robust deviations above typical, in log space.
        deviations: f64,
        /// Whether the population baseline was used because the user's own is too young.
        population_baseline: bool,
    },
    /// Too fast to travel between the last known position and this one.
    ImpossibleTravel {
        /// Great-circle distance.
        km: f64,
        /// Time between the two events.
        hours: f64,
        /// Implied speed.
        km_per_hour: f64,
    },
    /// Too few events for this user: personal features add no evidence yet.
    ColdStart {
        /// Successful events learned so far.
        events_seen: u64,
        /// Events needed to leave cold start.
        events_needed: u64,
    },
    /// The event did not carry this feature.
    Missing,
    /// The event carried this feature but it could not be understood.
    Malformed,
}

/// One piece of evidence behind a [`Risk`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Reason {
    /// Which feature.
    pub feature: Feature,
    /// The value the event had (for example `"AS64500"` or `"Firefox"`); empty when missing.
    pub value: String,
    /// How unusual it is.
    #[serde(flatten)]
    pub finding: Finding,
    /// Weighted log-likelihood ratio in nats: positive raises the score, negative lowers it.
    pub contribution: f64,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.feature)?;
        if !self.value.is_empty() {
            write!(f, "{:?} ", self.value)?;
        }
        match &self.finding {
            Finding::NewForUser {
                user_novelty,
                global_share,
            } => write!(
                f,
                "new for this user (user novelty {:.1}%, {:.2}% of all traffic)",
                user_novelty * 100.0,
                global_share * 100.0
            )?,
            Finding::ImpliedNew => f.write_str("new (implied by a coarser level)")?,
            Finding::Seen {
                user_share,
                global_share,
            } => write!(
                f,
                "seen ({:.1}% of this user's traffic, {:.2}% of all traffic)",
                user_share * 100.0,
                global_share * 100.0
            )?,
            Finding::AboveBaseline {
                observed,
                typical,
                deviations,
                population_baseline,
            } => write!(
                f,
                "{observed:.0} in window vs typical {typical:.0} ({deviations:.1} robust deviations{})",
                if *population_baseline {
                    ", population baseline"
                } else {
                    ""
                }
            )?,
            Finding::ImpossibleTravel {
                km,
                hours,
                km_per_hour,
            } => write!(f, "{km:.0} km in {hours:.2} h ({km_per_hour:.0} km/h)")?,
            Finding::ColdStart {
                events_seen,
                events_needed,
            } => write!(
                f,
                "cold start ({events_seen} of {events_needed} events learned)"
            )?,
            Finding::Missing => f.write_str("missing")?,
            Finding::Malformed => f.write_str("malformed")?,
        }
        write!(f, ": {:+.2}", self.contribution)
    }
}
