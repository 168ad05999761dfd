//! Counts over time in a fixed number of buckets, whatever the time span of the evidence.
//!
//! A [`Timeline`] holds [`BUCKETS`] counters per series. Buckets start 1 ms wide and are
//! aligned to multiples of their width since the epoch; when a time falls outside the range
//! covered, the width doubles (pairs of buckets merge exactly, thanks to the alignment) until it
//! fits. So memory is fixed per series, rows may come in any order, and a chart of a four-second
//! capture and one of a year both get about [`BUCKETS`] bars. It does not keep the times
//! themselves: a bucket says how many, never exactly when.
//!
//! Series are named (a principal, an attribution); past [`MAX_SERIES`] names, further ones are
//! counted under [`OTHERS`], so hostile evidence with millions of names cannot grow it.

use std::collections::BTreeMap;

/// Buckets per series.
pub const BUCKETS: usize = 60;

/// Distinct series kept before new names are counted under [`OTHERS`].
pub const MAX_SERIES: usize = 256;

/// The series that collects names beyond [`MAX_SERIES`].
pub const OTHERS: &str = "(others)";

/// Width of a bucket before any doubling, in µs.
const FIRST_WIDTH_US: i64 = 1_000;

/// Counts per series and time bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    /// Start of bucket 0 (µs since the epoch, a multiple of `width_us`); meaningless while
    /// nothing was added.
    start_us: i64,
    width_us: i64,
    series: BTreeMap<String, Vec<u64>>,
    /// Times no bucket width could cover (only near the ends of the `i64` range).
    out_of_range: u64,
}

impl Timeline {
    /// Counts one event of `series` at `ts_us`.
    pub fn add(&mut self, series: &str, ts_us: i64) {
        if self.width_us == 0 {
            self.width_us = FIRST_WIDTH_US;
            self.start_us = ts_us.div_euclid(FIRST_WIDTH_US) * FIRST_WIDTH_US;
        }
        let Some(index) = self.index_for(ts_us) else {
            self.out_of_range += 1;
            return;
        };

        let name = if self.series.contains_key(series) || self.series.len() < MAX_SERIES {
            series
        } else {
            OTHERS
        };
        let counts = self
            .series
            .entry(name.to_owned())
            .or_insert_with(|| vec![0; BUCKETS]);
        counts[index] += 1;
    }

    /// The bucket of `ts_us`, widening buckets until one covers it; `None` when no width can.
    fn index_for(&mut self, ts_us: i64) -> Option<usize> {
        for _ in 0..64 {
            let end = self
                .width_us
                .checked_mul(BUCKETS as i64)
                .and_then(|span| self.start_us.checked_add(span))?;
            if ts_us >= self.start_us && ts_us < end {
                return usize::try_from((ts_us - self.start_us) / self.width_us).ok();
            }
            self.double()?;
        }
        None
    }

    /// Doubles the bucket width, merging pairs of buckets; `None` if the width would overflow.
    fn double(&mut self) -> Option<()> {
        let old_width = self.width_us;
        let width = old_width.checked_mul(2)?;
        let start = self.start_us.div_euclid(width) * width;
        width.checked_mul(BUCKETS as i64)?.checked_add(start)?;

        for counts in self.series.values_mut() {
            let mut merged = vec![0u64; BUCKETS];
            for (i, n) in counts.iter().enumerate() {
                // Old bucket i starts at start_us + i * old_width, which is inside the new range.
                let offset = self.start_us - start + i as i64 * old_width;
                let index = usize::try_from(offset / width).unwrap_or(BUCKETS - 1);
                merged[index.min(BUCKETS - 1)] += n;
            }
            *counts = merged;
        }
        self.width_us = width;
        self.start_us = start;
        Some(())
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Bucket width in µs (0 while empty).
    pub fn width_us(&self) -> i64 {
        self.width_us
    }

    /// Events that fell outside every representable range.
    pub fn out_of_range(&self) -> u64 {
        self.out_of_range
    }

    /// The used buckets: first non-empty to last non-empty, each with its start time.
    pub fn used_range(&self) -> Option<(usize, usize)> {
        let used = |i: usize| self.series.values().any(|c| c[i] > 0);
        let first = (0..BUCKETS).find(|&i| used(i))?;
        let last = (0..BUCKETS).rev().find(|&i| used(i))?;
        Some((first, last))
    }

    /// Start of bucket `index` (µs since the epoch).
    pub fn bucket_start(&self, index: usize) -> i64 {
        self.start_us
            .saturating_add((index as i64).saturating_mul(self.width_us))
    }

    /// Series names with their totals, largest first (ties by name).
    pub fn totals(&self) -> Vec<(&str, u64)> {
        let mut totals: Vec<(&str, u64)> = self
            .series
            .iter()
            .map(|(name, counts)| (name.as_str(), counts.iter().sum()))
            .collect();
        totals.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        totals
    }

    /// The counts of one series, one per bucket.
    pub fn counts(&self, series: &str) -> Option<&[u64]> {
        self.series.get(series).map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000;

    #[test]
    fn widens_until_every_time_fits_and_keeps_every_count() {
        let mut timeline = Timeline::default();
        let t0 = 1_796_299_200 * SECOND;

        timeline.add("alice", t0);
        timeline.add("alice", t0 + 500);
        timeline.add("bob", t0 + 10 * SECOND);
        timeline.add("alice", t0 + 3600 * SECOND);

        // 3600 s over 60 buckets needs at least 60 s per bucket: the first power-of-two
        // multiple of 1 ms that is at least that (and aligned) is 65.536 s.
        assert!(timeline.width_us() * BUCKETS as i64 > 3600 * SECOND);
        assert!(timeline.width_us() <= 2 * 65_536_000);
        assert_eq!(timeline.totals(), vec![("alice", 3), ("bob", 1)]);
        let alice = timeline.counts("alice").unwrap_or_default();
        let (first, last) = timeline.used_range().unwrap_or_default();
        assert_eq!(
            alice[first], 2,
            "the first two alice events share the first bucket"
        );
        assert_eq!(alice[last], 1);
        assert!(timeline.bucket_start(first) <= t0);
        assert!(timeline.bucket_start(last) <= t0 + 3600 * SECOND);
        assert!(timeline.bucket_start(last + 1) > t0 + 3600 * SECOND);
    }

    #[test]
    fn earlier_times_widen_downwards() {
        let mut timeline = Timeline::default();
        let t0 = 1_796_299_200 * SECOND;

        timeline.add("a", t0);
        timeline.add("a", t0 - 100 * SECOND);

        let (first, last) = timeline.used_range().unwrap_or_default();
        assert!(timeline.bucket_start(first) <= t0 - 100 * SECOND);
        assert!(timeline.bucket_start(last) <= t0 && timeline.bucket_start(last + 1) > t0);
        assert_eq!(timeline.totals(), vec![("a", 2)]);
        assert_eq!(timeline.out_of_range(), 0);
    }

    #[test]
    fn extreme_times_are_counted_not_lost() {
        let mut timeline = Timeline::default();

        timeline.add("a", 0);
        timeline.add("a", i64::MAX);
        timeline.add("a", i64::MIN);

        let kept: u64 = timeline.totals().iter().map(|(_, n)| n).sum();
        assert_eq!(kept + timeline.out_of_range(), 3);
        assert!(kept >= 1);
    }

    #[test]
    fn names_beyond_the_cap_fold_into_others() {
        let mut timeline = Timeline::default();

        for i in 0..MAX_SERIES + 5 {
            timeline.add(&format!("p{i:04}"), 0);
        }

        let totals = timeline.totals();
        assert_eq!(totals.len(), MAX_SERIES + 1);
        assert_eq!(totals[0], (OTHERS, 5));
    }
}
