//! What the threads of a live capture tell each other and the operator: running totals kept in
//! atomics, and the periodic status line made from two snapshots of them.
//!
//! The capture thread owns the packet and drop counters, the evidence thread the row counters,
//! the workers their open flows; everyone may read. Not done here: the manifests and the drop
//! alerts (the evidence thread's job), serving metrics (`metrics`).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Running totals since the capture started.
#[derive(Debug, Default)]
pub struct Shared {
    /// Packets libpcap handed over (after the BPF filter) and their wire bytes.
    pub packets: AtomicU64,
    pub bytes: AtomicU64,
    /// Packets dropped because a worker's queue was full.
    pub queue_drops: AtomicU64,
    /// Packets the kernel dropped for want of buffer space, and those the interface or its
    /// driver dropped, from libpcap's counters.
    pub kernel_drops: AtomicU64,
    pub if_drops: AtomicU64,
    /// Frames of no flow (not IP, unknown link type, too short to decode).
    pub non_ip: AtomicU64,
    pub unsupported_link: AtomicU64,
    pub undecodable: AtomicU64,
    /// Capture time of the first and last packet (µs), `i64::MIN` before the first.
    pub first_ts_us: AtomicI64,
    pub last_ts_us: AtomicI64,
    /// Rows of `writes` and of `alerts` written so far (or held while writing is paused), and
    /// manifests committed.
    pub writes: AtomicU64,
    pub alerts: AtomicU64,
    pub manifests: AtomicU64,
    /// Flows held by all workers right now.
    pub flows: AtomicU64,
    /// 1 while evidence writing is paused for lack of disk space, else 0; the estimated bytes
    /// of rows held in memory meanwhile, and the rows lost since the start because that memory
    /// was full.
    pub evidence_paused: AtomicU64,
    pub held_bytes: AtomicU64,
    pub rows_lost: AtomicU64,
}

impl Shared {
    pub fn new() -> Shared {
        Shared {
            first_ts_us: AtomicI64::new(i64::MIN),
            last_ts_us: AtomicI64::new(i64::MIN),
            ..Shared::default()
        }
    }

    /// The totals as plain numbers.
    pub fn snapshot(&self) -> Snapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let ts = |a: &AtomicI64| Some(a.load(Ordering::Relaxed)).filter(|&t| t != i64::MIN);
        Snapshot {
            packets: get(&self.packets),
            bytes: get(&self.bytes),
            queue_drops: get(&self.queue_drops),
            kernel_drops: get(&self.kernel_drops),
            if_drops: get(&self.if_drops),
            non_ip: get(&self.non_ip),
            unsupported_link: get(&self.unsupported_link),
            undecodable: get(&self.undecodable),
            first_ts_us: ts(&self.first_ts_us),
            last_ts_us: ts(&self.last_ts_us),
            writes: get(&self.writes),
            manifests: get(&self.manifests),
            flows: get(&self.flows),
            evidence_paused: get(&self.evidence_paused) != 0,
            held_bytes: get(&self.held_bytes),
            rows_lost: get(&self.rows_lost),
        }
    }
}

/// [`Shared`] read at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub packets: u64,
    pub bytes: u64,
    pub queue_drops: u64,
    pub kernel_drops: u64,
    pub if_drops: u64,
    pub non_ip: u64,
    pub unsupported_link: u64,
    pub undecodable: u64,
    pub first_ts_us: Option<i64>,
    pub last_ts_us: Option<i64>,
    pub writes: u64,
    pub manifests: u64,
    pub flows: u64,
    pub evidence_paused: bool,
    pub held_bytes: u64,
    pub rows_lost: u64,
}

impl Snapshot {
    /// Every drop, wherever it happened.
    pub fn drops(&self) -> u64 {
        self.queue_drops
            .saturating_add(self.kernel_drops)
            .saturating_add(self.if_drops)
    }
}

/// The status line for the `seconds` between two snapshots: rates over the interval, totals
/// since the start, and the process's resident memory when the system tells.
pub fn status_line(
    interface: &str,
    before: &Snapshot,
    now: &Snapshot,
    seconds: f64,
    rss_bytes: Option<u64>,
) -> String {
    let seconds = seconds.max(1e-3);
    let packets = now.packets.saturating_sub(before.packets) as f64 / seconds;
    let mbits = now.bytes.saturating_sub(before.bytes) as f64 * 8.0 / seconds / 1e6;
    let memory = rss_bytes.map_or_else(
        || "?".to_owned(),
        |b| format!("{:.0} MiB", b as f64 / 1048576.0),
    );
    let mut line = format!(
        "capture {interface}: {packets:.0} packets/s, {mbits:.2} Mbit/s, drops {} (kernel {}, \
         interface {}, queues {}), {} writes, {} flows, memory {memory}",
        now.drops(),
        now.kernel_drops,
        now.if_drops,
        now.queue_drops,
        now.writes,
        now.flows,
    );
    if now.evidence_paused {
        line.push_str(&format!(
            "; EVIDENCE WRITING PAUSED (disk full): {:.1} MiB held, {} rows lost",
            now.held_bytes as f64 / 1048576.0,
            now.rows_lost,
        ));
    }
    line
}

/// Resident memory of this process now (Linux `VmRSS`).
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_gives_rates_over_the_interval() {
        let before = Snapshot {
            packets: 1000,
            bytes: 1_000_000,
            ..Snapshot::default()
        };
        let now = Snapshot {
            packets: 3000,
            bytes: 3_500_000,
            kernel_drops: 4,
            queue_drops: 1,
            writes: 17,
            flows: 3,
            ..Snapshot::default()
        };

        let line = status_line("eth1", &before, &now, 2.0, Some(64 * 1048576));

        assert_eq!(
            line,
            "capture eth1: 1000 packets/s, 10.00 Mbit/s, drops 5 (kernel 4, interface 0, \
             queues 1), 17 writes, 3 flows, memory 64 MiB"
        );
    }
}
