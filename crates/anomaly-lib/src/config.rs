//! Tunables, all with defaults that suit an interactive file platform.

use serde::{Deserialize, Serialize};

use crate::{Error, Level, Result};

/// Score thresholds that map a score in `[0, 1]` to a [`Level`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Thresholds {
    /// Scores at or above this are [`Level::Medium`]. Default 0.2.
    pub medium: f64,
    /// Scores at or above this are [`Level::High`] (alerted). Default 0.6.
    pub high: f64,
    /// Scores at or above this are [`Level::Critical`] (alerted). Default 0.9.
    pub critical: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            medium: 0.2,
            high: 0.6,
            critical: 0.9,
        }
    }
}

impl Thresholds {
    /// The level of `score`.
    pub fn level(&self, score: f64) -> Level {
        if score >= self.critical {
            Level::Critical
        } else if score >= self.high {
            Level::High
        } else if score >= self.medium {
            Level::Medium
        } else {
            Level::Low
        }
    }
}

/// Multipliers applied to each feature's log-likelihood ratio (0 switches a feature off).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Weights {
    /// IP, prefix, ASN and country. Default 1.0.
    pub network: f64,
    /// User agent, browser, OS and device class. Default 0.8.
    pub client: f64,
    /// Device identifier. Default 1.0.
    pub device_id: f64,
    /// Hour of week. Default 0.5.
    pub hour_of_week: f64,
    /// Download count, bytes and distinct resources. Default 1.0.
    pub volume: f64,
    /// Failed logins. Default 1.0.
    pub failed_logins: f64,
    /// Impossible travel. Default 1.0.
    pub travel: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            network: 1.0,
            client: 0.8,
            device_id: 1.0,
            hour_of_week: 0.5,
            volume: 1.0,
            failed_logins: 1.0,
            travel: 1.0,
        }
    }
}

/// Everything tunable about a [`Model`](crate::Model). Start from `Config::default()` and
/// assign fields; [`Model::new`](crate::Model::new) validates the result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Config {
    /// Level thresholds.
    pub thresholds: Thresholds,
    /// Feature weights.
    pub weights: Weights,
    /// Log prior odds of an event being an attack, added to the evidence before the logistic.
    /// Default -4.0 (about 1.8% when there is no evidence either way).
    pub prior_log_odds: f64,
    /// Most evidence, in nats, that familiar context (network, client, device, hour) can
    /// subtract in total. Default 3.
    pub max_familiarity: f64,
    /// [`Model::score_and_observe`](crate::Model::score_and_observe) learns an event's context
    /// as normal only when it scores below this level. Default [`Level::High`].
    pub trust_below: Level,
    /// Successful events a user needs before personal features count. Default 5.
    pub cold_start_events: u64,
    /// Most distinct values remembered per user and feature; the least-used (decayed) value is
    /// evicted beyond that. Default 16.
    pub max_values_per_feature: usize,
    /// Most users held; beyond that the least recently active sixteenth is evicted.
    /// Default 1,000,000.
    pub max_users: usize,
    /// Half-life, in days, of per-user categorical counts (old habits fade). Default 60.
    pub half_life_days: f64,
    /// Pseudo-count behind a user's novelty rate: higher is slower to trust that a user always
    /// uses the same values. Default 1.0.
    pub novelty_prior: f64,
    /// Pseudo-count pulling a user's hour-of-week habit towards the population's. Default 8.
    pub hour_prior: f64,
    /// Width of the rate windows in seconds (exponentially decaying). Default 600: scripted
    /// exfiltration is fast, and a short window separates it from a busy working hour.
    pub rate_window_seconds: f64,
    /// Robust deviations above baseline tolerated before a rate adds evidence. Default 2.5.
    pub rate_tolerance: f64,
    /// Events of a kind a user needs before their own rate baseline replaces the population's.
    /// Default 10.
    pub rate_baseline_events: u64,
    /// Speed above which travel is impossible, km/h. Default 900 (airliner).
    pub max_travel_kmh: f64,
    /// Distances below this are never impossible travel (geo-IP error), km. Default 300.
    pub min_travel_km: f64,
    /// Evidence added when a field is present but malformed (bad IP, NaN coordinate...).
    /// Default 1.0.
    pub malformed_penalty: f64,
    /// Evidence added when a whole feature group (network or client) is missing. Default 0.
    pub missing_penalty: f64,
    /// Width (cells per row, a power of two) of the global count-min sketch. Default 65,536.
    pub sketch_width: usize,
    /// Rows of the global count-min sketch. Default 4.
    pub sketch_depth: usize,
    /// Distinct user-agent strings whose parse is cached. Default 4096.
    pub user_agent_cache: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            thresholds: Thresholds::default(),
            weights: Weights::default(),
            prior_log_odds: -4.0,
            max_familiarity: 3.0,
            trust_below: Level::High,
            cold_start_events: 5,
            max_values_per_feature: 16,
            max_users: 1_000_000,
            half_life_days: 60.0,
            novelty_prior: 1.0,
            hour_prior: 8.0,
            rate_window_seconds: 600.0,
            rate_tolerance: 2.5,
            rate_baseline_events: 10,
            max_travel_kmh: 900.0,
            min_travel_km: 300.0,
            malformed_penalty: 1.0,
            missing_penalty: 0.0,
            sketch_width: 1 << 16,
            sketch_depth: 4,
            user_agent_cache: 4096,
        }
    }
}

/// Caps that keep a hostile config (or snapshot) from exhausting memory.
const MAX_SKETCH_CELLS: usize = 1 << 28;
const MAX_VALUES_PER_FEATURE: usize = 1024;

impl Config {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        let t = &self.thresholds;
        for (field, v) in [
            ("thresholds.medium", t.medium),
            ("thresholds.high", t.high),
            ("thresholds.critical", t.critical),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(Error::config(field, format!("{v} is not in (0, 1]")));
            }
        }
        if !(t.medium <= t.high && t.high <= t.critical) {
            return Err(Error::config(
                "thresholds",
                "must satisfy medium <= high <= critical",
            ));
        }
        let w = &self.weights;
        for (field, v) in [
            ("weights.network", w.network),
            ("weights.client", w.client),
            ("weights.device_id", w.device_id),
            ("weights.hour_of_week", w.hour_of_week),
            ("weights.volume", w.volume),
            ("weights.failed_logins", w.failed_logins),
            ("weights.travel", w.travel),
        ] {
            if !(v.is_finite() && (0.0..=100.0).contains(&v)) {
                return Err(Error::config(field, format!("{v} is not in [0, 100]")));
            }
        }
        finite_in("prior_log_odds", self.prior_log_odds, -50.0, 50.0)?;
        finite_in("max_familiarity", self.max_familiarity, 0.0, 100.0)?;
        positive("half_life_days", self.half_life_days)?;
        positive("novelty_prior", self.novelty_prior)?;
        positive("hour_prior", self.hour_prior)?;
        positive("rate_window_seconds", self.rate_window_seconds)?;
        finite_in("rate_tolerance", self.rate_tolerance, 0.0, 1e6)?;
        positive("max_travel_kmh", self.max_travel_kmh)?;
        finite_in("min_travel_km", self.min_travel_km, 0.0, 40_075.0)?;
        finite_in("malformed_penalty", self.malformed_penalty, 0.0, 100.0)?;
        finite_in("missing_penalty", self.missing_penalty, 0.0, 100.0)?;
        if self.max_values_per_feature == 0 || self.max_values_per_feature > MAX_VALUES_PER_FEATURE
        {
            return Err(Error::config(
                "max_values_per_feature",
                format!("must be in 1..={MAX_VALUES_PER_FEATURE}"),
            ));
        }
        if self.max_users == 0 {
            return Err(Error::config("max_users", "must be at least 1"));
        }
        if !self.sketch_width.is_power_of_two() {
            return Err(Error::config("sketch_width", "must be a power of two"));
        }
        if self.sketch_depth == 0 || self.sketch_depth > 16 {
            return Err(Error::config("sketch_depth", "must be in 1..=16"));
        }
        if self.sketch_width.saturating_mul(self.sketch_depth) > MAX_SKETCH_CELLS {
            return Err(Error::config(
                "sketch_width",
                "width * depth exceeds 2^28 cells",
            ));
        }
        if self.user_agent_cache == 0 {
            return Err(Error::config("user_agent_cache", "must be at least 1"));
        }
        Ok(())
    }
}

fn positive(field: &'static str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::config(
            field,
            format!("{v} is not a positive finite number"),
        ))
    }
}

fn finite_in(field: &'static str, v: f64, lo: f64, hi: f64) -> Result<()> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(Error::config(field, format!("{v} is not in [{lo}, {hi}]")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn rejects_bad_fields() {
        let mut c = Config::default();
        c.thresholds.high = f64::NAN;
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "thresholds.high",
                ..
            })
        ));
        let mut c = Config::default();
        c.thresholds.medium = 0.95;
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "thresholds",
                ..
            })
        ));
        let c = Config {
            sketch_width: 1000,
            ..Config::default()
        };
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "sketch_width",
                ..
            })
        ));
        let c = Config {
            half_life_days: 0.0,
            ..Config::default()
        };
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "half_life_days",
                ..
            })
        ));
        let mut c = Config::default();
        c.weights.travel = f64::INFINITY;
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "weights.travel",
                ..
            })
        ));
    }

    #[test]
    fn levels_follow_thresholds() {
        let t = Thresholds::default();
        assert_eq!(t.level(0.0), Level::Low);
        assert_eq!(t.level(0.2), Level::Medium);
        assert_eq!(t.level(0.6), Level::High);
        assert_eq!(t.level(1.0), Level::Critical);
    }
}
