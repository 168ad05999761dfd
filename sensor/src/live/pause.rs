//! What a live capture does while its disk is full: tell a lack of space from other write
//! errors, hold the rows found meanwhile in memory up to a bound, count what does not fit, and
//! measure the free space that decides when writing may resume.
//!
//! The evidence thread ([`super::sink`]) decides when to pause and resume; this module only
//! keeps the held rows and the counts. Held rows are kept as the workers produced them; their
//! size is an estimate (each row's own size plus [`TEXT_BYTES`] for its text), so a bound of
//! 256 MiB may hold somewhat more or fewer bytes than that when rows carry long values. Once a
//! row has been lost, every later one is lost too until writing resumes, so the incomplete
//! interval is one stretch of time, from [`Hold::lost_since_us`] to the resumption.
//!
//! Not done here: writing anything (the evidence thread's job), and telling apart a quota from
//! a full file system (both pause alike).

use std::io;
use std::path::Path;

use analytics::evidence::{AlertRow, AssetRow, CredentialRow, Evidence, SessionRow, WriteRow};
use nix::errno::Errno;

use crate::evidence::{CaptureStatsRow, EvidenceError, RowCounts, Table};

/// Bytes of text (targets, values, names, details) counted per held row on top of its size.
pub const TEXT_BYTES: u64 = 160;

/// Whether `error` (anywhere in its chain) is a write refused for lack of space or quota
/// (ENOSPC, EDQUOT), however the evidence writers wrapped it.
pub fn no_space(error: &anyhow::Error) -> bool {
    error.chain().any(is_no_space)
}

fn is_no_space(error: &(dyn std::error::Error + 'static)) -> bool {
    if let Some(evidence) = error.downcast_ref::<EvidenceError>() {
        return match evidence {
            EvidenceError::Io { error, .. } => io_no_space(error),
            EvidenceError::Parquet { error, .. } => parquet_no_space(error),
            _ => false,
        };
    }
    if let Some(error) = error.downcast_ref::<io::Error>() {
        return io_no_space(error);
    }
    if let Some(error) = error.downcast_ref::<parquet::errors::ParquetError>() {
        return parquet_no_space(error);
    }
    if let Some(arrow_schema::ArrowError::IoError(_, error)) =
        error.downcast_ref::<arrow_schema::ArrowError>()
    {
        return io_no_space(error);
    }
    false
}

fn io_no_space(error: &io::Error) -> bool {
    let full = [Errno::ENOSPC as i32, Errno::EDQUOT as i32];
    if error
        .raw_os_error()
        .is_some_and(|code| full.contains(&code))
    {
        return true;
    }
    // The spool wraps Arrow's error, which wraps the system's, in an `io::Error`.
    error.get_ref().is_some_and(|inner| is_no_space(inner))
}

fn parquet_no_space(error: &parquet::errors::ParquetError) -> bool {
    match error {
        parquet::errors::ParquetError::External(inner) => is_no_space(inner.as_ref()),
        _ => false,
    }
}

/// Bytes an unprivileged process may still write on the file system holding `path`.
// `fsblkcnt_t` and the block size are not 64-bit on every system.
#[allow(clippy::useless_conversion)]
pub fn free_bytes(path: &Path) -> Option<u64> {
    let stats = nix::sys::statvfs::statvfs(path).ok()?;
    let blocks = u64::from(stats.blocks_available());
    Some(blocks.saturating_mul(u64::from(stats.fragment_size())))
}

/// Bytes of the files under `dir` (three levels deep at most, as the spool folder is laid out);
/// 0 when it does not exist.
pub fn dir_bytes(dir: &Path) -> u64 {
    fn walk(dir: &Path, depth: usize) -> u64 {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        let mut total = 0u64;
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && depth < 3 {
                total = total.saturating_add(walk(&entry.path(), depth + 1));
            } else if kind.is_file() {
                let len = entry.metadata().map_or(0, |m| m.len());
                total = total.saturating_add(len);
            }
        }
        total
    }
    walk(dir, 0)
}

/// Rows found while writing is paused, held up to a bound; beyond it, counted and dropped.
#[derive(Debug)]
pub struct Hold {
    limit: u64,
    bytes: u64,
    /// Rows held, in the order they were found (each hand-over sorted).
    pub evidence: Evidence,
    pub stats: Vec<CaptureStatsRow>,
    /// Rows lost, per table, and when the first was lost (wall clock, µs).
    pub lost: RowCounts,
    pub lost_since_us: Option<i64>,
}

impl Hold {
    pub fn new(limit: u64) -> Hold {
        Hold {
            limit,
            bytes: 0,
            evidence: Evidence::default(),
            stats: Vec::new(),
            lost: RowCounts::default(),
            lost_since_us: None,
        }
    }

    /// Estimated bytes held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Rows held, over all tables.
    pub fn rows(&self) -> u64 {
        let e = &self.evidence;
        (e.writes.len()
            + e.sessions.len()
            + e.assets.len()
            + e.alerts.len()
            + e.credentials.len()
            + self.stats.len()) as u64
    }

    /// Rows lost, over all tables.
    pub fn lost_rows(&self) -> u64 {
        Table::ALL.iter().map(|&t| self.lost.get(t)).sum()
    }

    /// Holds one hand-over whole when it fits under the bound and nothing was lost yet;
    /// otherwise counts its rows as lost at `now_us`. Returns whether it was held.
    pub fn push(
        &mut self,
        mut evidence: Evidence,
        stats: Option<CaptureStatsRow>,
        now_us: i64,
    ) -> bool {
        let size = estimate(&evidence, stats.is_some());
        let fits = self.lost_since_us.is_none() && self.bytes.saturating_add(size) <= self.limit;
        if fits {
            self.bytes = self.bytes.saturating_add(size);
            self.evidence.append(&mut evidence);
            self.stats.extend(stats);
            return true;
        }

        self.lost_since_us.get_or_insert(now_us);
        self.lost.add(Table::Writes, evidence.writes.len() as u64);
        self.lost
            .add(Table::Sessions, evidence.sessions.len() as u64);
        self.lost.add(Table::Assets, evidence.assets.len() as u64);
        self.lost.add(Table::Alerts, evidence.alerts.len() as u64);
        self.lost
            .add(Table::Credentials, evidence.credentials.len() as u64);
        self.lost
            .add(Table::CaptureStats, u64::from(stats.is_some()));
        false
    }

    /// Holds an alert whatever the bound: the alerts that say evidence is incomplete.
    pub fn push_alert(&mut self, alert: AlertRow) {
        self.bytes = self.bytes.saturating_add(row_bytes::<AlertRow>());
        self.evidence.alerts.push(alert);
    }
}

fn row_bytes<R>() -> u64 {
    std::mem::size_of::<R>() as u64 + TEXT_BYTES
}

/// Estimated memory of a hand-over's rows.
fn estimate(evidence: &Evidence, stats: bool) -> u64 {
    let count = |n: usize, each: u64| (n as u64).saturating_mul(each);
    count(evidence.writes.len(), row_bytes::<WriteRow>())
        + count(evidence.sessions.len(), row_bytes::<SessionRow>())
        + count(evidence.assets.len(), row_bytes::<AssetRow>())
        + count(evidence.alerts.len(), row_bytes::<AlertRow>())
        + count(evidence.credentials.len(), row_bytes::<CredentialRow>())
        + count(usize::from(stats), row_bytes::<CaptureStatsRow>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use analytics::evidence::{AlertKind, FrameRef, Severity};

    fn alert(frame: u64) -> AlertRow {
        AlertRow {
            at: FrameRef {
                source: 0,
                frame,
                ts_us: 1_796_342_000_000_000,
            },
            kind: AlertKind::CaptureDrops,
            severity: Severity::Medium,
            session_id: None,
            protocol: None,
            client_ip: None,
            server_ip: None,
            detail: String::new(),
        }
    }

    fn alerts(n: u64) -> Evidence {
        Evidence {
            alerts: (0..n).map(alert).collect(),
            ..Evidence::default()
        }
    }

    /// Hand-overs are held until the next would pass the bound; from then on every row is
    /// counted as lost, even one that would fit, and the first loss is dated.
    #[test]
    fn holds_up_to_the_bound_then_counts_every_later_row() {
        let each = row_bytes::<AlertRow>();
        let mut hold = Hold::new(each * 5);

        assert!(hold.push(alerts(3), None, 10));
        assert!(!hold.push(alerts(3), None, 20));
        assert!(!hold.push(alerts(1), None, 30));
        hold.push_alert(alert(99));

        assert_eq!(hold.rows(), 4);
        assert_eq!(hold.bytes(), each * 4);
        assert_eq!(hold.lost.alerts, 4);
        assert_eq!(hold.lost_rows(), 4);
        assert_eq!(hold.lost_since_us, Some(20));
    }

    #[test]
    fn tells_a_full_disk_from_other_errors() {
        let full = io::Error::from_raw_os_error(Errno::ENOSPC as i32);
        let spool = EvidenceError::Io {
            op: "append to",
            path: "/e/spool/x.spool".into(),
            error: io::Error::other(arrow_schema::ArrowError::IoError("write".to_owned(), full)),
        };
        let quota = parquet::errors::ParquetError::External(Box::new(
            io::Error::from_raw_os_error(Errno::EDQUOT as i32),
        ));
        let parquet = EvidenceError::Parquet {
            path: "/e/writes/x.parquet.tmp".into(),
            error: quota,
        };
        let gone = EvidenceError::Io {
            op: "create",
            path: "/e/writes".into(),
            error: io::Error::from_raw_os_error(Errno::ENOENT as i32),
        };

        assert!(no_space(&anyhow::Error::new(spool).context("writing")));
        assert!(no_space(&anyhow::Error::new(parquet)));
        assert!(!no_space(&anyhow::Error::new(gone)));
        assert!(!no_space(&anyhow::anyhow!("No space left on device")));
    }
}
