//! A user's recent values of one feature: bounded, exponentially decaying counts.

use serde::{Deserialize, Serialize};

/// Up to `cap` values with decayed weights, plus the decayed count of events whose value was
/// new at the time, which estimates how often this user shows something new at this level.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ValueTable {
    entries: Vec<(u64, f32)>,
    total: f32,
    novel: f32,
    /// Time (unix seconds) the weights are decayed to.
    at: i64,
}

/// What a table says about one value at one time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lookup {
    /// Decayed weight of the value, 0 when absent.
    pub weight: f64,
    /// Decayed weight of all values.
    pub total: f64,
    /// Probability that the next value is new: (novel + prior) / (total + prior).
    pub novelty: f64,
}

fn decay_factor(from: i64, to: i64, half_life_seconds: f64) -> f64 {
    if to <= from {
        // Time going backwards (or standing still) does not un-age anything.
        return 1.0;
    }
    let dt = (to as f64) - (from as f64);
    (-dt / half_life_seconds).exp2()
}

impl ValueTable {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_consistent(&self, cap: usize) -> bool {
        self.entries.len() <= cap
            && self.total.is_finite()
            && self.novel.is_finite()
            && self.total >= 0.0
            && self.novel >= 0.0
            && self.entries.iter().all(|(_, w)| w.is_finite() && *w >= 0.0)
    }

    pub(crate) fn lookup(&self, hash: u64, now: i64, half_life_seconds: f64, prior: f64) -> Lookup {
        let f = decay_factor(self.at, now, half_life_seconds);
        let weight = self
            .entries
            .iter()
            .find(|(h, _)| *h == hash)
            .map_or(0.0, |(_, w)| f64::from(*w) * f);
        let total = f64::from(self.total) * f;
        let novel = f64::from(self.novel) * f;
        Lookup {
            weight,
            total,
            novelty: ((novel + prior) / (total + prior)).clamp(0.0, 1.0),
        }
    }

    pub(crate) fn observe(&mut self, hash: u64, now: i64, half_life_seconds: f64, cap: usize) {
        if self.total > 0.0 {
            let f = decay_factor(self.at, now, half_life_seconds) as f32;
            if f < 1.0 {
                self.entries.iter_mut().for_each(|(_, w)| *w *= f);
                self.total *= f;
                self.novel *= f;
            }
        }
        self.at = self.at.max(now);
        if self.total == 0.0 {
            self.at = now;
        }
        self.total += 1.0;
        if let Some((_, w)) = self.entries.iter_mut().find(|(h, _)| *h == hash) {
            *w += 1.0;
            return;
        }
        self.novel += 1.0;
        if self.entries.len() >= cap {
            // Evict the value with the least decayed use (recency and frequency in one number).
            if let Some(i) = self
                .entries
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.1.total_cmp(&b.1.1))
                .map(|(i, _)| i)
            {
                self.entries.swap_remove(i);
            }
        }
        self.entries.push((hash, 1.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const HL: f64 = 30.0 * 86_400.0;

    #[test]
    fn novelty_falls_with_repetition() {
        let mut t = ValueTable::default();
        assert_eq!(t.lookup(1, 0, HL, 1.0).novelty, 1.0);
        for i in 0..20 {
            t.observe(1, i * DAY, HL, 4);
        }
        let l = t.lookup(1, 20 * DAY, HL, 1.0);
        assert!(l.novelty < 0.15, "{l:?}");
        assert!(l.weight > 0.0 && l.weight <= l.total);
        assert_eq!(t.lookup(2, 20 * DAY, HL, 1.0).weight, 0.0);
    }

    #[test]
    fn bounded_and_evicts_least_used() {
        let mut t = ValueTable::default();
        for _ in 0..10 {
            t.observe(1, 0, HL, 3);
        }
        for v in 2..50 {
            t.observe(v, 0, HL, 3);
        }
        assert_eq!(t.len(), 3);
        assert!(
            t.lookup(1, 0, HL, 1.0).weight > 0.0,
            "the habitual value survives"
        );
    }

    #[test]
    fn old_habits_fade() {
        let mut t = ValueTable::default();
        for _ in 0..10 {
            t.observe(1, 0, HL, 4);
        }
        let fresh = t.lookup(1, 0, HL, 1.0);
        let stale = t.lookup(1, 365 * DAY, HL, 1.0);
        assert!(stale.total < fresh.total / 100.0);
        assert!(stale.novelty > fresh.novelty);
    }

    #[test]
    fn time_going_backwards_does_not_panic_or_grow() {
        let mut t = ValueTable::default();
        t.observe(1, 1000 * DAY, HL, 4);
        t.observe(1, -1000 * DAY, HL, 4);
        t.observe(1, i64::MIN, HL, 4);
        t.observe(1, i64::MAX, HL, 4);
        assert!(t.is_consistent(4));
        let l = t.lookup(1, i64::MIN, HL, 1.0);
        assert!(l.novelty.is_finite() && l.weight.is_finite());
    }
}
