//! The evidence thread of a live capture: rows in, spooled Parquet files and chained manifests
//! out.
//!
//! Workers hand over their rows every half second. This thread checks the writes against the
//! delegations (in capture-time order within each hand-over), appends the rows to the open file
//! of their table and date partition and syncs the files' spools, so what reached it survives
//! a kill -9. It rotates when the rotation period has passed or the open files together weigh
//! `rotate_bytes`: every file is closed and published, and one manifest listing them, chained
//! to the previous one, is committed with the interval's packets, bytes and kernel drops; only
//! then are the spools removed. Every [`DROP_CHECK_EVERY`] (and at the end) it writes a
//! `capture_stats` row for the interval since the last one (packets, bytes, kernel, interface
//! and queue drops, flows, writes) and, when any drop counter grew, a `capture_drops` alert
//! naming the interval.
//!
//! [`recover`] runs before the capture starts: it rebuilds the spools an earlier process left
//! into Parquet and commits them in a manifest whose `recovery` says so.
//!
//! Known shortcomings, with their consequence:
//! - any error writing evidence (a full disk, a removed folder) stops the capture with that
//!   error; a supervisor (the systemd unit restarts it) brings it back, and the restart
//!   recovers the spools. Packets that arrive while it is down are not seen.
//! - the per-session delegation alerts (undelegated, expired, over budget, ties) are the
//!   checker's summary, written when the capture stops or the delegations are reloaded; a
//!   kill -9 loses them (each write row still carries its own `delegation_status`). Grant
//!   budgets count from the start of the capture or the last reload.
//! - asset rows are merged within one hand-over only, so a device seen over a long capture may
//!   have several rows; merge them by (ip, mac, protocol, role) when querying.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use analytics::delegation::{DelegationChecker, Delegations};
use analytics::engine::Counters;
use analytics::evidence::{AlertKind, AlertRow, Evidence, FrameRef, Severity};
use anyhow::{Context, Result};
use chrono::NaiveDate;

use super::stats::{rss_bytes, Shared, Snapshot};
use super::workers::Rows;
use crate::evidence::{
    self, date_of, recover_spools, remove_spools, CaptureStatsRow, EvidenceWriter, FileEntry,
    InputInfo, InputKind, Manifest, RunInfo, SpooledWriter, TableRow, MANIFEST,
};
use crate::signing::SigningKey;

/// How often a `capture_stats` row is written and drops are looked at (and alerted on, when
/// they grew).
pub const DROP_CHECK_EVERY: Duration = Duration::from_secs(10);

/// How long the thread waits for rows before looking at the clock.
const TICK: Duration = Duration::from_millis(200);

/// What the evidence thread receives.
pub enum Message {
    Rows(Box<Rows>),
    /// Check writes against these delegations from now on (`None`: no policy).
    Delegations(Option<Arc<Delegations>>),
}

/// Where and how evidence is written.
#[derive(Clone)]
pub struct SinkOptions {
    pub out: PathBuf,
    pub sensor: String,
    pub interface: String,
    pub command_line: Vec<String>,
    pub rotate_every: Duration,
    pub rotate_bytes: u64,
    pub signing_key: Option<Arc<SigningKey>>,
}

impl SinkOptions {
    fn writer(&self) -> Result<EvidenceWriter> {
        let names = [self.interface.clone()];
        let mut writer = EvidenceWriter::create(&self.out, &self.sensor, &names)
            .with_context(|| format!("evidence folder {}", self.out.display()))?;
        writer.set_signing_key(self.signing_key.clone());
        Ok(writer)
    }
}

/// What a recovery at start found; `None` when there was no spool.
pub fn recover(options: &SinkOptions) -> Result<Option<evidence::Recovery>> {
    let listed = current_files(&options.out)?;
    let mut writer = options.writer()?;
    let recovered = recover_spools(&mut writer, &listed)
        .with_context(|| format!("recovering the spools of {}", options.out.display()))?;
    if recovered.recovery.spools == 0 {
        return Ok(None);
    }

    let mut counters = BTreeMap::new();
    counters.insert("recovered_rows".to_owned(), recovered.recovery.rows);
    let run = RunInfo {
        sensor: options.sensor.clone(),
        command_line: options.command_line.clone(),
        counters,
        ..RunInfo::default()
    };
    writer.set_recovery(Some(recovered.recovery.clone()));
    writer.commit(&run).with_context(|| {
        format!(
            "committing the recovered spools in {}",
            options.out.display()
        )
    })?;
    remove_spools(&recovered.spools)?;
    Ok(Some(recovered.recovery))
}

/// Paths the folder's current manifest lists (none when there is no manifest yet).
fn current_files(out: &Path) -> Result<BTreeSet<String>> {
    let path = out.join(MANIFEST);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let manifest = Manifest::from_json(&path, &bytes)?;
    Ok(manifest.files.into_iter().map(|f| f.path).collect())
}

/// Runs the evidence thread until every sender is gone, then rotates one last time.
pub fn run_sink(
    options: SinkOptions,
    delegations: Option<Arc<Delegations>>,
    messages: Receiver<Message>,
    shared: Arc<Shared>,
) -> Result<()> {
    let mut sink = Sink::new(options, shared)?;
    let mut grants = delegations;

    loop {
        let checker = grants.as_deref().map(DelegationChecker::new);
        match sink.serve(&messages, checker)? {
            Next::Reload(new) => grants = new,
            Next::Stop => break,
        }
    }
    sink.check_drops()?;
    sink.rotate()
}

enum Next {
    Reload(Option<Arc<Delegations>>),
    Stop,
}

struct Sink {
    options: SinkOptions,
    shared: Arc<Shared>,
    writer: EvidenceWriter,
    files: OpenFiles,
    counters: BTreeMap<usize, Counters>,
    flows: BTreeMap<usize, usize>,
    rotation_started: Instant,
    at_rotation: Snapshot,
    drops_checked: Instant,
    at_drop_check: Snapshot,
}

impl Sink {
    fn new(options: SinkOptions, shared: Arc<Shared>) -> Result<Sink> {
        let writer = options.writer()?;
        let now = Instant::now();
        let start = shared.snapshot();
        Ok(Sink {
            options,
            shared,
            writer,
            files: OpenFiles::default(),
            counters: BTreeMap::new(),
            flows: BTreeMap::new(),
            rotation_started: now,
            at_rotation: start,
            drops_checked: now,
            at_drop_check: start,
        })
    }

    fn serve(
        &mut self,
        messages: &Receiver<Message>,
        mut checker: Option<DelegationChecker<'_>>,
    ) -> Result<Next> {
        loop {
            let next = match messages.recv_timeout(TICK) {
                Ok(Message::Rows(rows)) => {
                    self.take(*rows, checker.as_mut())?;
                    None
                }
                Ok(Message::Delegations(new)) => Some(Next::Reload(new)),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(Next::Stop),
            };
            if let Some(next) = next {
                if let Some(checker) = checker.take() {
                    let mut alerts = Evidence {
                        alerts: checker.finish(),
                        ..Evidence::default()
                    };
                    alerts.sort();
                    self.files.write(&self.writer, &alerts)?;
                }
                return Ok(next);
            }

            if self.drops_checked.elapsed() >= DROP_CHECK_EVERY {
                self.check_drops()?;
            }
            let size = self.files.bytes();
            if self.rotation_started.elapsed() >= self.options.rotate_every
                || size >= self.options.rotate_bytes
            {
                self.rotate()?;
            }
        }
    }

    /// Checks, spools and syncs one hand-over of a worker.
    fn take(&mut self, rows: Rows, checker: Option<&mut DelegationChecker<'_>>) -> Result<()> {
        self.counters.insert(rows.worker, rows.counters);
        self.flows.insert(rows.worker, rows.open_flows);
        let flows: usize = self.flows.values().sum();
        self.shared.flows.store(flows as u64, Ordering::Relaxed);

        let mut evidence = rows.evidence;
        if evidence.is_empty() {
            return Ok(());
        }
        if let Some(checker) = checker {
            evidence
                .writes
                .sort_by_key(|w| (w.at.ts_us, w.at.source, w.at.frame, w.item));
            for write in &mut evidence.writes {
                checker.check(write);
            }
        }
        evidence.sort();

        self.files.write(&self.writer, &evidence)?;
        self.files.sync()?;
        let writes = evidence.writes.len() as u64;
        self.shared.writes.fetch_add(writes, Ordering::Relaxed);
        Ok(())
    }

    /// Writes the `capture_stats` row of the interval since the last check, and a
    /// `capture_drops` alert when packets were dropped in it.
    fn check_drops(&mut self) -> Result<()> {
        let now = self.shared.snapshot();
        let before = std::mem::replace(&mut self.at_drop_check, now);
        let seconds = self.drops_checked.elapsed().as_secs_f64();
        self.drops_checked = Instant::now();
        let end_us = chrono::Utc::now().timestamp_micros();
        let start_us = end_us.saturating_sub((seconds * 1e6) as i64);

        let kernel = now.kernel_drops.saturating_sub(before.kernel_drops);
        let interface = now.if_drops.saturating_sub(before.if_drops);
        let queues = now.queue_drops.saturating_sub(before.queue_drops);
        let at = FrameRef {
            source: 0,
            frame: now.packets,
            ts_us: end_us,
        };
        let stats = CaptureStatsRow {
            at,
            start_ts_us: start_us,
            packets: now.packets.saturating_sub(before.packets),
            bytes: now.bytes.saturating_sub(before.bytes),
            kernel_drops: kernel,
            interface_drops: interface,
            queue_drops: queues,
            open_flows: now.flows,
            writes: now.writes.saturating_sub(before.writes),
        };
        self.files.stats.write(&self.writer, &[stats])?;
        if kernel + interface + queues == 0 {
            return self.files.sync();
        }

        log::warn!(
            "capture {}: {} packets dropped in the last {seconds:.0} s (kernel {kernel}, \
             interface {interface}, queues {queues}); evidence of that interval is incomplete",
            self.options.interface,
            kernel + interface + queues,
        );
        let alert = AlertRow {
            at,
            kind: AlertKind::CaptureDrops,
            severity: Severity::High,
            session_id: None,
            protocol: None,
            client_ip: None,
            server_ip: None,
            detail: format!(
                "{} packets dropped on {} between {} and {} (kernel {kernel}, interface \
                 {interface}, worker queues {queues}; frames {} to {}); evidence of that \
                 interval is incomplete",
                kernel + interface + queues,
                self.options.interface,
                rfc3339(start_us),
                rfc3339(end_us),
                before.packets + 1,
                now.packets,
            ),
        };
        let evidence = Evidence {
            alerts: vec![alert],
            ..Evidence::default()
        };
        self.files.write(&self.writer, &evidence)?;
        self.files.sync()
    }

    /// Closes every open file, commits their manifest and removes their spools.
    fn rotate(&mut self) -> Result<()> {
        let now = self.shared.snapshot();
        let before = std::mem::replace(&mut self.at_rotation, now);
        self.rotation_started = Instant::now();

        let mut spools = Vec::new();
        let closed = self.files.close(&mut spools)?;
        let next = self.options.writer()?;
        let mut writer = std::mem::replace(&mut self.writer, next);
        for entry in closed {
            writer.add_file(entry);
        }

        let run = self.run_info(&before, &now);
        writer.fill_empty_tables(&run)?;
        let manifest = writer
            .commit(&run)
            .with_context(|| format!("committing a manifest in {}", self.options.out.display()))?;
        remove_spools(&spools)?;
        self.shared.manifests.fetch_add(1, Ordering::Relaxed);
        log::info!(
            "capture {}: manifest {} committed, {} files, {} writes, {} packets",
            self.options.interface,
            manifest.sequence,
            manifest.files.len(),
            manifest.row_counts.writes,
            run.packets,
        );
        Ok(())
    }

    /// The facts of the interval between two snapshots, for its manifest.
    fn run_info(&self, before: &Snapshot, now: &Snapshot) -> RunInfo {
        let packets = now.packets.saturating_sub(before.packets);
        let bytes = now.bytes.saturating_sub(before.bytes);
        let (first, last) = if packets == 0 {
            (None, None)
        } else {
            (before.last_ts_us.or(now.first_ts_us), now.last_ts_us)
        };

        let mut total = Counters::default();
        for counters in self.counters.values() {
            total.add(counters);
        }
        let mut counters: BTreeMap<String, u64> = total
            .entries()
            .into_iter()
            .map(|(k, v)| (format!("{k}_since_start"), v))
            .collect();
        let extra = [
            (
                "queue_drops",
                now.queue_drops.saturating_sub(before.queue_drops),
            ),
            (
                "interface_drops",
                now.if_drops.saturating_sub(before.if_drops),
            ),
            ("frames_non_ip", now.non_ip.saturating_sub(before.non_ip)),
            (
                "frames_undecodable",
                now.undecodable.saturating_sub(before.undecodable),
            ),
            (
                "frames_unsupported_link",
                now.unsupported_link.saturating_sub(before.unsupported_link),
            ),
        ];
        for (name, value) in extra {
            counters.insert(name.to_owned(), value);
        }
        if let Some(rss) = rss_bytes() {
            counters.insert("rss_bytes".to_owned(), rss);
        }

        RunInfo {
            sensor: self.options.sensor.clone(),
            command_line: self.options.command_line.clone(),
            inputs: vec![InputInfo {
                name: self.options.interface.clone(),
                kind: InputKind::Interface,
                sha256: None,
                bytes,
                packets,
                first_ts_us: first,
                last_ts_us: last,
                damage: None,
            }],
            packets,
            bytes,
            kernel_drops: Some(now.kernel_drops.saturating_sub(before.kernel_drops)),
            counters,
        }
    }
}

fn rfc3339(ts_us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(ts_us).map_or_else(
        || ts_us.to_string(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    )
}

/// The open files of every table, one per date partition that has rows.
#[derive(Default)]
struct OpenFiles {
    stats: Open<CaptureStatsRow>,
    writes: Open<analytics::evidence::WriteRow>,
    sessions: Open<analytics::evidence::SessionRow>,
    assets: Open<analytics::evidence::AssetRow>,
    alerts: Open<AlertRow>,
    credentials: Open<analytics::evidence::CredentialRow>,
}

impl OpenFiles {
    fn write(&mut self, writer: &EvidenceWriter, evidence: &Evidence) -> Result<()> {
        self.writes.write(writer, &evidence.writes)?;
        self.sessions.write(writer, &evidence.sessions)?;
        self.assets.write(writer, &evidence.assets)?;
        self.alerts.write(writer, &evidence.alerts)?;
        self.credentials.write(writer, &evidence.credentials)
    }

    fn sync(&mut self) -> Result<()> {
        self.stats.sync()?;
        self.writes.sync()?;
        self.sessions.sync()?;
        self.assets.sync()?;
        self.alerts.sync()?;
        self.credentials.sync()
    }

    fn bytes(&self) -> u64 {
        [
            self.stats.bytes(),
            self.writes.bytes(),
            self.sessions.bytes(),
            self.assets.bytes(),
            self.alerts.bytes(),
            self.credentials.bytes(),
        ]
        .iter()
        .sum()
    }

    fn close(&mut self, spools: &mut Vec<PathBuf>) -> Result<Vec<FileEntry>> {
        let mut entries = Vec::new();
        self.stats.close(&mut entries, spools)?;
        self.writes.close(&mut entries, spools)?;
        self.sessions.close(&mut entries, spools)?;
        self.assets.close(&mut entries, spools)?;
        self.alerts.close(&mut entries, spools)?;
        self.credentials.close(&mut entries, spools)?;
        Ok(entries)
    }
}

/// The open files of one table.
struct Open<R: TableRow> {
    by_date: BTreeMap<NaiveDate, SpooledWriter<R>>,
}

impl<R: TableRow> Default for Open<R> {
    fn default() -> Self {
        Open {
            by_date: BTreeMap::new(),
        }
    }
}

impl<R: TableRow> Open<R> {
    fn write(&mut self, writer: &EvidenceWriter, rows: &[R]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let dates: BTreeSet<NaiveDate> =
            rows.iter().map(|r| date_of(r.partition_ts_us())).collect();
        for date in dates {
            let file = match self.by_date.entry(date) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(SpooledWriter::create(writer, date)?)
                }
            };
            file.write(rows.iter().filter(|r| date_of(r.partition_ts_us()) == date))?;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        for file in self.by_date.values_mut() {
            file.sync()?;
        }
        Ok(())
    }

    fn bytes(&self) -> u64 {
        self.by_date.values().map(SpooledWriter::bytes).sum()
    }

    fn close(&mut self, entries: &mut Vec<FileEntry>, spools: &mut Vec<PathBuf>) -> Result<()> {
        for (_, file) in std::mem::take(&mut self.by_date) {
            let (entry, spool) = file.close()?;
            entries.push(entry);
            spools.push(spool);
        }
        Ok(())
    }
}
