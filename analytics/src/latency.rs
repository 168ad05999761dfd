//! How long each stage of the analysis takes per packet, as HDR histograms, for
//! `otwitness analyze --stats`.
//!
//! Stages: `decode` (link to transport headers), `reassembly` (flow lookup and TCP
//! reassembly: the engine's time for a packet minus the parser's), `dissect` (the protocol
//! session's parsing, minus attribution), `attribute` (attributing the writes of one packet)
//! and `write` (encoding one batch of evidence rows to Parquet). Timing every packet would cost
//! more than some stages themselves, so only one packet in [`SAMPLE_EVERY`] (on average) is
//! timed; the
//! `count` of a stage is the number of samples, not of packets. Each worker keeps its own
//! [`Latency`] and the run merges them.
//!
//! What this does not do: it does not time packets that are not sampled, it does not split
//! the costs of one stage by protocol, and the clock it reads (`Instant`) adds some tens of
//! nanoseconds to every sample, which shows in the smallest figures (decode).

use std::time::Instant;

use hdrhistogram::Histogram;

/// One packet in this many is timed, on average (see [`Sampler`]).
pub const SAMPLE_EVERY: u64 = 64;

/// Highest value a histogram records, in nanoseconds (one hour); larger values are recorded
/// as this.
const HIGHEST_NS: u64 = 3_600_000_000_000;

/// A stage of the analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Decode,
    Reassembly,
    Dissect,
    Attribute,
    Write,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::Decode,
        Stage::Reassembly,
        Stage::Dissect,
        Stage::Attribute,
        Stage::Write,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Decode => "decode",
            Stage::Reassembly => "reassembly",
            Stage::Dissect => "dissect",
            Stage::Attribute => "attribute",
            Stage::Write => "write",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Percentiles of one stage, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StageSummary {
    pub stage: Stage,
    /// Samples recorded.
    pub count: u64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub max_ns: u64,
}

/// The latency histograms of every stage.
#[derive(Clone, Debug)]
pub struct Latency {
    histograms: Vec<Histogram<u64>>,
}

impl Default for Latency {
    fn default() -> Self {
        let histogram = || {
            // Two significant digits: 1 % resolution, a few kilobytes per histogram.
            Histogram::new_with_bounds(1, HIGHEST_NS, 2)
                .expect("bounds are valid constants: 1 <= low, high >= 2 * low, 2 digits")
        };
        Latency {
            histograms: Stage::ALL.iter().map(|_| histogram()).collect(),
        }
    }
}

impl Latency {
    /// Records one sample of `stage`.
    pub fn record(&mut self, stage: Stage, ns: u64) {
        self.histograms[stage.index()].saturating_record(ns.max(1));
    }

    /// Records the time since `start` as one sample of `stage`.
    pub fn record_since(&mut self, stage: Stage, start: Instant) {
        self.record(stage, elapsed_ns(start));
    }

    /// Adds another worker's samples.
    pub fn merge(&mut self, other: &Latency) {
        for (mine, theirs) in self.histograms.iter_mut().zip(&other.histograms) {
            // Every histogram here is made by `Default` with the same bounds, and a difference
            // of bounds is the only way `add` fails.
            let added = mine.add(theirs);
            debug_assert!(added.is_ok(), "latency histograms of different bounds");
        }
    }

    /// Samples recorded for `stage`.
    pub fn count(&self, stage: Stage) -> u64 {
        self.histograms[stage.index()].len()
    }

    /// Percentiles of every stage, in [`Stage::ALL`] order.
    pub fn summary(&self) -> Vec<StageSummary> {
        Stage::ALL
            .iter()
            .map(|&stage| {
                let h = &self.histograms[stage.index()];
                StageSummary {
                    stage,
                    count: h.len(),
                    p50_ns: h.value_at_quantile(0.50),
                    p90_ns: h.value_at_quantile(0.90),
                    p99_ns: h.value_at_quantile(0.99),
                    max_ns: h.max(),
                }
            })
            .collect()
    }
}

/// Picks the packets to time: one in [`SAMPLE_EVERY`] on average, at pseudo-random gaps (1 to
/// `2 * SAMPLE_EVERY - 1`), so that periodic traffic (request, answer, request, …) is not
/// always caught in the same phase, as a fixed stride of an even number would catch only
/// requests. The sequence is fixed, so runs are repeatable; it never affects the evidence.
#[derive(Clone, Debug)]
pub struct Sampler {
    state: u64,
    countdown: u64,
}

impl Default for Sampler {
    fn default() -> Self {
        Sampler {
            state: 0x9E37_79B9_7F4A_7C15,
            countdown: 1,
        }
    }
}

impl Sampler {
    /// Whether the next packet is to be timed.
    pub fn sample(&mut self) -> bool {
        self.countdown -= 1;
        if self.countdown > 0 {
            return false;
        }
        // xorshift64
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.countdown = 1 + self.state % (2 * SAMPLE_EVERY - 1);
        true
    }
}

/// Time spent in the parser and in attribution while one sampled packet is analysed.
#[derive(Clone, Copy, Debug, Default)]
pub struct PacketClock {
    pub dissect_ns: u64,
    pub attribute_ns: u64,
    /// Whether the parser ran at all (a bare ACK reaches no parser).
    pub dissected: bool,
    /// Whether the packet completed a write.
    pub attributed: bool,
}

/// Nanoseconds since `start`, saturating.
pub fn elapsed_ns(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_follow_the_samples_and_merge_adds_them() {
        let mut a = Latency::default();
        for ns in 1..=100u64 {
            a.record(Stage::Dissect, ns * 1000);
        }
        let mut b = Latency::default();
        b.record(Stage::Dissect, 5_000_000);
        b.record(Stage::Write, 7);
        a.merge(&b);

        let summary = a.summary();
        let dissect = summary.iter().find(|s| s.stage == Stage::Dissect).unwrap();
        assert_eq!(dissect.count, 101);
        // The 51st and 91st of 101 samples are 51 and 91 µs; two significant digits put the
        // reported value within 1 % above them.
        let near = |got: u64, exact: u64| got >= exact && got <= exact + exact / 100;
        assert!(near(dissect.p50_ns, 51_000), "{dissect:?}");
        assert!(near(dissect.p90_ns, 91_000), "{dissect:?}");
        assert!(near(dissect.max_ns, 5_000_000), "{dissect:?}");
        assert_eq!(a.count(Stage::Write), 1);
        assert_eq!(a.count(Stage::Decode), 0);
    }

    #[test]
    fn the_sampler_takes_one_in_sixty_four_in_both_phases() {
        let mut sampler = Sampler::default();
        let picked: Vec<u64> = (0..64_000u64).filter(|_| sampler.sample()).collect();
        assert!((900..=1100).contains(&picked.len()), "{}", picked.len());
        let odd = picked.iter().filter(|i| *i % 2 == 1).count();
        assert!(
            odd * 3 > picked.len() && odd * 3 < picked.len() * 2,
            "{odd}"
        );
    }

    #[test]
    fn zero_and_huge_samples_are_kept() {
        let mut l = Latency::default();
        l.record(Stage::Decode, 0);
        l.record(Stage::Decode, u64::MAX);
        assert_eq!(l.count(Stage::Decode), 2);
    }
}
