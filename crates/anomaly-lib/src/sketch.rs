//! Global value frequencies in fixed memory: a count-min sketch with conservative update.
//!
//! It can only over-estimate a count, and rarely does by much; over-estimating a value's global
//! frequency makes it look slightly more common than it is, which errs towards a lower score.

use serde::{Deserialize, Serialize};

use crate::hash::mix;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CountMinSketch {
    width: usize,
    depth: usize,
    cells: Vec<u32>,
}

/// Past this a cell halves every cell, so counts never saturate and old traffic fades.
const HALVE_AT: u32 = u32::MAX / 2;

impl CountMinSketch {
    pub(crate) fn new(width: usize, depth: usize) -> Self {
        CountMinSketch {
            width,
            depth,
            cells: vec![0; width * depth],
        }
    }

    pub(crate) fn is_consistent(&self) -> bool {
        self.width.is_power_of_two()
            && (1..=16).contains(&self.depth)
            && self.cells.len() == self.width.saturating_mul(self.depth)
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.cells.len() * std::mem::size_of::<u32>()
    }

    fn slot(&self, row: usize, hash: u64) -> usize {
        let h = mix(hash ^ (row as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        row * self.width + (h as usize & (self.width - 1))
    }

    pub(crate) fn estimate(&self, hash: u64) -> u32 {
        (0..self.depth)
            .map(|r| self.cells[self.slot(r, hash)])
            .min()
            .unwrap_or(0)
    }

    /// Adds one occurrence; returns true when the sketch halved itself to make room.
    pub(crate) fn add(&mut self, hash: u64) -> bool {
        let slots: [usize; 16] = std::array::from_fn(|r| {
            if r < self.depth {
                self.slot(r, hash)
            } else {
                0
            }
        });
        let slots = &slots[..self.depth];
        let min = slots.iter().map(|&s| self.cells[s]).min().unwrap_or(0);
        // Conservative update: only the cells at the minimum grow.
        for &s in slots {
            if self.cells[s] == min {
                self.cells[s] = min + 1;
            }
        }
        if min + 1 >= HALVE_AT {
            self.cells.iter_mut().for_each(|c| *c /= 2);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::hash_value;

    #[test]
    fn never_underestimates() {
        let mut s = CountMinSketch::new(256, 4);
        for i in 0..2000u32 {
            let v = format!("v{}", i % 300);
            s.add(hash_value(0, &v));
        }
        for i in 0..300u32 {
            let truth = 2000 / 300 + u32::from(i < 2000 % 300);
            assert!(s.estimate(hash_value(0, &format!("v{i}"))) >= truth);
        }
    }

    #[test]
    fn exact_when_sparse() {
        let mut s = CountMinSketch::new(1 << 12, 4);
        for _ in 0..7 {
            s.add(hash_value(3, "DE"));
        }
        s.add(hash_value(3, "FR"));
        assert_eq!(s.estimate(hash_value(3, "DE")), 7);
        assert_eq!(s.estimate(hash_value(3, "FR")), 1);
        assert_eq!(s.estimate(hash_value(3, "US")), 0);
    }
}
