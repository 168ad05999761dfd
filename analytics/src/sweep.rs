//! When idle flows are looked for: a schedule kept in capture time.
//!
//! An engine closes flows idle for longer than its timeout during a sweep, and a sweep runs at
//! the first packet at least [`SweepClock::INTERVAL_US`] after the previous one. Which flows a
//! sweep closes therefore depends on which packets set the clock. When the flows of a capture
//! are shared out between several engines, a sensor keeps one clock over every packet and tells
//! every engine when it would have swept (see `EngineConfig::shared_sweeps`), so that each
//! flow ends exactly as it would in a single engine, whatever the number of engines.

/// The capture-time clock and sweep schedule of one stream of packets.
#[derive(Clone, Debug)]
pub struct SweepClock {
    now_us: i64,
    next_sweep_us: i64,
}

/// What one packet's timestamp did to a [`SweepClock`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tick {
    /// The timestamp is earlier than the clock, which stays where it was.
    pub backwards: bool,
    /// A sweep is due now, before the packet is analysed.
    pub sweep_due: bool,
}

impl Default for SweepClock {
    fn default() -> Self {
        SweepClock {
            now_us: i64::MIN,
            next_sweep_us: i64::MIN,
        }
    }
}

impl SweepClock {
    /// Capture time between two sweeps.
    pub const INTERVAL_US: i64 = 10 * 1_000_000;

    /// The latest capture time seen (µs since the epoch); `i64::MIN` before any packet.
    pub fn now_us(&self) -> i64 {
        self.now_us
    }

    /// Moves the clock to a packet's timestamp (never backwards) and says whether a sweep is
    /// due; when it is, the next one is scheduled an interval later.
    pub fn tick(&mut self, ts_us: i64) -> Tick {
        let backwards = ts_us < self.now_us;
        if !backwards {
            self.now_us = ts_us;
        }

        let sweep_due = self.now_us >= self.next_sweep_us;
        if sweep_due {
            self.next_sweep_us = self.now_us.saturating_add(Self::INTERVAL_US);
        }
        Tick {
            backwards,
            sweep_due,
        }
    }

    /// Moves the clock forward to `now_us` (a shared clock's time), leaving the schedule alone.
    pub fn catch_up(&mut self, now_us: i64) {
        self.now_us = self.now_us.max(now_us);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_at_the_first_packet_of_each_interval_and_never_goes_back() {
        let mut clock = SweepClock::default();
        let second = 1_000_000;
        let due: Vec<(i64, bool, bool)> = [0, 3, 9, 10, 7, 19, 21, 40]
            .iter()
            .map(|&s| {
                let tick = clock.tick(s * second);
                (clock.now_us() / second, tick.backwards, tick.sweep_due)
            })
            .collect();

        assert_eq!(
            due,
            vec![
                (0, false, true),
                (3, false, false),
                (9, false, false),
                (10, false, true),
                (10, true, false),
                (19, false, false),
                (21, false, true),
                (40, false, true),
            ]
        );

        clock.catch_up(30 * second);
        assert_eq!(clock.now_us(), 40 * second);
        clock.catch_up(45 * second);
        assert_eq!(clock.now_us(), 45 * second);
        assert!(!clock.tick(46 * second).sweep_due);
    }
}
