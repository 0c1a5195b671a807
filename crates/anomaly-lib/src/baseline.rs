//! Streaming statistics for rates and volumes that survive outliers and drift.

use serde::{Deserialize, Serialize};

/// An exponentially decaying sum: "how much in the last window or so".
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub(crate) struct DecayingSum {
    value: f64,
    at: i64,
}

impl DecayingSum {
    /// The sum at `now` if `x` were added.
    pub(crate) fn peek(&self, x: f64, now: i64, window_seconds: f64) -> f64 {
        let dt = if now > self.at {
            (now as f64) - (self.at as f64)
        } else {
            0.0
        };
        self.value * (-dt / window_seconds).exp() + x
    }

    pub(crate) fn add(&mut self, x: f64, now: i64, window_seconds: f64) {
        self.value = self.peek(x, now, window_seconds);
        self.at = self.at.max(now);
    }

    pub(crate) fn is_consistent(&self) -> bool {
        self.value.is_finite() && self.value >= 0.0
    }
}

/// Robust running location and scale of `ln(1 + x)`.
///
/// A Huber-clipped exponentially weighted mean tracks the median of a symmetric distribution and
/// moves at most a few deviations per observation, so one burst cannot drag the baseline up;
/// the effective memory of `MEMORY` observations lets it follow a slow drift.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub(crate) struct RobustBaseline {
    location: f64,
    scale: f64,
    count: u64,
}

const MEMORY: f64 = 200.0;
const CLIP: f64 = 3.0;
/// Scale floor in log space: a user who always downloads exactly one file still has a
/// tolerance of about x1.3 before a deviation counts.
pub(crate) const SCALE_FLOOR: f64 = 0.25;

impl RobustBaseline {
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    pub(crate) fn is_consistent(&self) -> bool {
        self.location.is_finite() && self.scale.is_finite() && self.scale >= 0.0
    }

    /// Typical value back in the original units.
    pub(crate) fn typical(&self) -> f64 {
        self.location.exp_m1().max(0.0)
    }

    /// Robust deviations of `x` above the location (negative below).
    pub(crate) fn deviations(&self, x: f64) -> f64 {
        (x.max(0.0).ln_1p() - self.location) / self.scale.max(SCALE_FLOOR)
    }

    pub(crate) fn update(&mut self, x: f64) {
        let y = x.max(0.0).ln_1p();
        if !y.is_finite() {
            return;
        }
        self.count = self.count.saturating_add(1);
        let r = y - self.location;
        let bound = CLIP * self.scale.max(SCALE_FLOOR);
        if self.count <= 3 || r.abs() <= bound {
            let eta = (1.0 / self.count as f64).max(1.0 / MEMORY);
            self.location += eta * r;
            self.scale += eta * (r.abs() - self.scale);
        } else {
            // An outlier (a burst in progress) leaves the scale alone and nudges the location by
            // at most bound / MEMORY, so only a sustained change of habit (hundreds of events)
            // moves the baseline.
            self.location += r.signum() * bound / MEMORY;
        }
    }
}

/// The last few resources a user touched, to count distinct ones cheaply.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RecentSet {
    ring: Vec<u64>,
    next: usize,
}

pub(crate) const RECENT_RESOURCES: usize = 32;

impl RecentSet {
    pub(crate) fn contains(&self, h: u64) -> bool {
        self.ring.contains(&h)
    }

    pub(crate) fn insert(&mut self, h: u64) {
        if self.contains(h) {
            return;
        }
        if self.ring.len() < RECENT_RESOURCES {
            self.ring.push(h);
        } else {
            let i = self.next % RECENT_RESOURCES;
            self.ring[i] = h;
            self.next = (i + 1) % RECENT_RESOURCES;
        }
    }

    pub(crate) fn is_consistent(&self) -> bool {
        self.ring.len() <= RECENT_RESOURCES
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.ring.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_resists_bursts() {
        let mut b = RobustBaseline::default();
        for i in 0..300 {
            b.update(f64::from(3 + i % 3));
        }
        let before = b.typical();
        for _ in 0..5 {
            b.update(10_000.0);
        }
        assert!(b.typical() < before * 2.0, "{} vs {before}", b.typical());
        assert!(b.deviations(10_000.0) > 5.0);
        assert!(b.deviations(4.0).abs() < 2.0);
    }

    #[test]
    fn baseline_follows_drift() {
        let mut b = RobustBaseline::default();
        for _ in 0..300 {
            b.update(5.0);
        }
        for _ in 0..3000 {
            b.update(50.0);
        }
        assert!(b.deviations(50.0).abs() < 1.0);
    }

    #[test]
    fn nan_and_infinity_are_ignored() {
        let mut b = RobustBaseline::default();
        b.update(f64::NAN);
        b.update(f64::INFINITY);
        b.update(3.0);
        assert!(b.is_consistent());
    }

    #[test]
    fn decaying_sum_decays() {
        let mut s = DecayingSum::default();
        s.add(10.0, 0, 3600.0);
        assert!((s.peek(0.0, 3600, 3600.0) - 10.0 / std::f64::consts::E).abs() < 1e-9);
        assert_eq!(s.peek(1.0, -5, 3600.0), 11.0);
    }

    #[test]
    fn recent_set_is_bounded() {
        let mut r = RecentSet::default();
        for h in 0..100 {
            r.insert(h);
        }
        assert!(r.is_consistent());
        assert!(r.contains(99) && !r.contains(0));
    }
}
