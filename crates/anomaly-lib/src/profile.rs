//! What the model remembers: one profile per user and one set of population statistics.

use serde::{Deserialize, Serialize};

use crate::baseline::{DecayingSum, RecentSet, RobustBaseline};
use crate::event::GeoPoint;
use crate::features::SLOTS;
use crate::sketch::CountMinSketch;
use crate::table::ValueTable;

pub(crate) const HOURS: usize = 168;
/// A user's hour histogram halves when it reaches this many events, so habits can move and
/// the u16 counters never overflow.
pub(crate) const HOUR_HALVING: u32 = 2048;

/// Rate features, in this order wherever there is an array of them.
pub(crate) const DOWNLOADS: usize = 0;
pub(crate) const BYTES: usize = 1;
pub(crate) const DISTINCT: usize = 2;
pub(crate) const FAILURES: usize = 3;
pub(crate) const RATES: usize = 4;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct UserProfile {
    pub tables: [ValueTable; SLOTS],
    /// Empty until the first successful event, then exactly `HOURS` long.
    pub hours: Vec<u16>,
    pub hours_total: u32,
    /// Successful events learned.
    pub events: u64,
    /// Latest event time seen (any outcome), for least-recently-active eviction.
    pub last_active: i64,
    pub location: Option<(GeoPoint, i64)>,
    pub sums: [DecayingSum; RATES],
    pub baselines: [RobustBaseline; RATES],
    pub recent: RecentSet,
}

impl UserProfile {
    pub(crate) fn is_consistent(&self, cap: usize) -> bool {
        self.tables.iter().all(|t| t.is_consistent(cap))
            && (self.hours.is_empty() || self.hours.len() == HOURS)
            && self.location.is_none_or(|(p, _)| p.is_valid())
            && self.sums.iter().all(DecayingSum::is_consistent)
            && self.baselines.iter().all(RobustBaseline::is_consistent)
            && self.recent.is_consistent()
    }

    pub(crate) fn memory_bytes(&self, cap: usize) -> usize {
        std::mem::size_of::<Self>()
            + self
                .tables
                .iter()
                .map(|t| t.len().max(cap.min(4)) * 16)
                .sum::<usize>()
            + self.hours.capacity() * 2
            + self.recent.memory_bytes()
    }

    pub(crate) fn add_hour(&mut self, hour: u8) {
        if self.hours.is_empty() {
            self.hours = vec![0; HOURS];
        }
        self.hours[usize::from(hour) % HOURS] += 1;
        self.hours_total += 1;
        if self.hours_total >= HOUR_HALVING {
            self.hours.iter_mut().for_each(|h| *h /= 2);
            self.hours_total = self.hours.iter().map(|&h| u32::from(h)).sum();
        }
    }

    /// Smoothed count around `hour`: habits are fuzzy to an hour either side.
    pub(crate) fn hour_weight(&self, hour: u8) -> f64 {
        if self.hours.is_empty() {
            return 0.0;
        }
        let h = usize::from(hour) % HOURS;
        let at = |i: usize| f64::from(self.hours[i % HOURS]);
        0.5 * at(h) + 0.25 * (at(h + HOURS - 1) + at(h + 1))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct GlobalStats {
    pub sketch: CountMinSketch,
    /// Successful events that carried each slot.
    pub slot_totals: [u64; SLOTS],
    /// Exactly `HOURS` long.
    pub hours: Vec<u64>,
    pub hours_total: u64,
    pub baselines: [RobustBaseline; RATES],
    pub events: u64,
}

impl GlobalStats {
    pub(crate) fn new(width: usize, depth: usize) -> Self {
        GlobalStats {
            sketch: CountMinSketch::new(width, depth),
            slot_totals: [0; SLOTS],
            hours: vec![0; HOURS],
            hours_total: 0,
            baselines: Default::default(),
            events: 0,
        }
    }

    pub(crate) fn is_consistent(&self) -> bool {
        self.sketch.is_consistent()
            && self.hours.len() == HOURS
            && self.baselines.iter().all(RobustBaseline::is_consistent)
    }

    pub(crate) fn add(&mut self, slot: usize, hash: u64) {
        self.slot_totals[slot] = self.slot_totals[slot].saturating_add(1);
        if self.sketch.add(hash) {
            // The sketch halved itself; keep the denominators on the same scale.
            self.slot_totals.iter_mut().for_each(|t| *t /= 2);
        }
    }

    pub(crate) fn hour_share(&self, hour: u8) -> f64 {
        let h = usize::from(hour) % HOURS;
        (self.hours[h] as f64 + 1.0) / (self.hours_total as f64 + HOURS as f64)
    }
}
