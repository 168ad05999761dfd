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
//! A write refused for lack of space (ENOSPC, EDQUOT), wherever it happens (appending, syncing,
//! closing a file, committing a manifest), pauses writing instead of stopping the capture:
//! every open file is given up, its spool cut back to the rows synced before the failure and
//! its temporary Parquet file removed, files published by a failed rotation are removed again,
//! and an `evidence_paused` alert (the error, naming the file, and the bytes free) is held.
//! Capture and analysis go on; rows are held in memory up to `hold_bytes` and counted as lost
//! beyond it ([`super::pause`]), also in `capture_stats`. Every [`SPACE_CHECK_EVERY`] the free
//! space is compared with what resuming needs; then the spools are rebuilt whole under their
//! own names (as at a start after a crash), the held rows and an `evidence_resumed` alert
//! (rows held, rows lost per table, since when) are written, and one manifest whose `pause`
//! records the interval commits them all. A resumption that runs out of space again undoes what
//! it published and keeps the pause. Any other write error stops the capture as before.
//!
//! Known shortcomings, with their consequence:
//! - any error writing evidence other than a lack of space (a removed folder, a read-only file
//!   system) stops the capture with that error; a supervisor (the systemd unit restarts it)
//!   brings it back, and the restart recovers the spools. Packets that arrive while it is down
//!   are not seen.
//! - rows held during a pause live only in memory: a kill -9 or a stop before space returns
//!   loses them (a stop says how many); rows spooled before the pause are recovered either way.
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

use super::pause::{dir_bytes, free_bytes, no_space, Hold};
use super::retention::{remove_files, Limits, Retention};
use super::stats::{rss_bytes, Shared, Snapshot};
use super::workers::Rows;
use crate::evidence::rfc3339_us;
use crate::evidence::{
    self, date_of, recover_spools, remove_spools, CaptureStatsRow, EvidenceWriter, FileEntry,
    InputInfo, InputKind, Manifest, PauseRecord, RunInfo, SpooledWriter, TableRow, MANIFEST,
};
use crate::signing::SigningKey;

/// How often a `capture_stats` row is written and drops are looked at (and alerted on, when
/// they grew).
pub const DROP_CHECK_EVERY: Duration = Duration::from_secs(10);

/// How often, while evidence writing is paused, free space is looked at.
pub const SPACE_CHECK_EVERY: Duration = Duration::from_secs(3);

/// Writing resumes once the free space exceeds the spools to rebuild and the rows held by at
/// least this much.
const RESUME_MARGIN: u64 = 1 << 20;

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
    /// Most bytes of rows held in memory while evidence writing is paused (a full disk).
    pub hold_bytes: u64,
    /// How much committed evidence to keep (`--keep-days`, `--keep-size`).
    pub retention: Limits,
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
    sink.finish()
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
    /// Set while evidence writing is paused for lack of space.
    pause: Option<Pause>,
    /// The committed files, when a retention limit is set.
    retention: Option<Retention>,
}

/// A pause of evidence writing (see [`super::pause`]).
struct Pause {
    started_us: i64,
    cause: String,
    hold: Hold,
    checked: Instant,
}

impl Sink {
    fn new(options: SinkOptions, shared: Arc<Shared>) -> Result<Sink> {
        let writer = options.writer()?;
        let now = Instant::now();
        let start = shared.snapshot();
        let retention = if options.retention.any() {
            Some(Retention::load(&options.out, options.retention)?)
        } else {
            None
        };
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
            pause: None,
            retention,
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
                    self.store(alerts, None)?;
                }
                return Ok(next);
            }

            if self.drops_checked.elapsed() >= DROP_CHECK_EVERY {
                self.check_drops()?;
            }
            if self.pause.is_some() {
                let due = self
                    .pause
                    .as_ref()
                    .is_some_and(|p| p.checked.elapsed() >= SPACE_CHECK_EVERY);
                if due {
                    self.try_resume(false)?;
                }
                continue;
            }
            let size = self.files.bytes();
            if self.rotation_started.elapsed() >= self.options.rotate_every
                || size >= self.options.rotate_bytes
            {
                self.rotate()?;
            }
        }
    }

    /// Checks one hand-over of a worker and stores it.
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
        self.store(evidence, None)
    }

    /// Appends rows to the open files and syncs their spools, so they survive a kill -9; while
    /// writing is paused, holds them instead. A write refused for lack of space pauses writing
    /// (the rows are then held); any other failure is returned and stops the capture.
    fn store(&mut self, evidence: Evidence, stats: Option<CaptureStatsRow>) -> Result<()> {
        let writes = evidence.writes.len() as u64;
        let alerts = evidence.alerts.len() as u64;
        if self.pause.is_some() {
            self.hold(evidence, stats);
            return Ok(());
        }

        match self.write_synced(&evidence, stats.as_ref()) {
            Ok(()) => {
                self.shared.writes.fetch_add(writes, Ordering::Relaxed);
                self.shared.alerts.fetch_add(alerts, Ordering::Relaxed);
                Ok(())
            }
            Err(error) if no_space(&error) => {
                self.begin_pause(&error)?;
                self.hold(evidence, stats);
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    fn write_synced(&mut self, evidence: &Evidence, stats: Option<&CaptureStatsRow>) -> Result<()> {
        if let Some(stats) = stats {
            self.files
                .stats
                .write(&self.writer, std::slice::from_ref(stats))?;
        }
        self.files.write(&self.writer, evidence)?;
        self.files.sync()
    }

    fn hold(&mut self, evidence: Evidence, stats: Option<CaptureStatsRow>) {
        let Some(pause) = self.pause.as_mut() else {
            return;
        };
        let writes = evidence.writes.len() as u64;
        let alerts = evidence.alerts.len() as u64;
        let lost_before = pause.hold.lost_rows();
        if pause.hold.push(evidence, stats, now_us()) {
            self.shared.writes.fetch_add(writes, Ordering::Relaxed);
            self.shared.alerts.fetch_add(alerts, Ordering::Relaxed);
        } else if lost_before == 0 {
            log::error!(
                "capture {}: the {} bytes of memory that hold evidence during the pause are \
                 full; rows found from now until writing resumes are lost (and counted)",
                self.options.interface,
                self.options.hold_bytes,
            );
        }
        let lost = pause.hold.lost_rows() - lost_before;
        self.shared.rows_lost.fetch_add(lost, Ordering::Relaxed);
        self.shared
            .held_bytes
            .store(pause.hold.bytes(), Ordering::Relaxed);
    }

    /// Stops writing after `error` (a lack of space): every open file is given up, its spool
    /// cut back to the rows synced before the failure (so no file is left half written and
    /// the rows of the failed step are not kept twice), and an `evidence_paused` alert is held.
    fn begin_pause(&mut self, error: &anyhow::Error) -> Result<()> {
        self.files.abandon()?;
        self.writer = self.options.writer()?;

        let cause = format!("{error:#}");
        let free = free_bytes(&self.options.out).unwrap_or(0);
        let started_us = now_us();
        log::error!(
            "capture {}: evidence writing paused: {cause}; {free} bytes free in {}. Capture \
             and analysis go on; rows are held in memory (up to {} bytes) and the space is \
             checked every {} s",
            self.options.interface,
            self.options.out.display(),
            self.options.hold_bytes,
            SPACE_CHECK_EVERY.as_secs(),
        );
        let detail = format!(
            "evidence writing paused at {}: {cause}; {free} bytes free in {}; rows found \
             from now on are held in memory up to {} bytes, and counted when lost",
            rfc3339(started_us),
            self.options.out.display(),
            self.options.hold_bytes,
        );
        let mut hold = Hold::new(self.options.hold_bytes);
        hold.push_alert(self.alert(AlertKind::EvidencePaused, started_us, detail));
        self.pause = Some(Pause {
            started_us,
            cause,
            hold,
            checked: Instant::now(),
        });
        self.shared.evidence_paused.store(1, Ordering::Relaxed);
        Ok(())
    }

    /// Resumes writing when there is room again (always tries when `force`): rebuilds the
    /// files that were open when writing stopped from their spools, writes the held rows and
    /// an `evidence_resumed` alert, and commits them in a manifest whose `pause` records the
    /// interval. A lack of space on the way undoes what was published and keeps the pause.
    fn try_resume(&mut self, force: bool) -> Result<()> {
        let out = self.options.out.clone();
        let Some(pause) = self.pause.as_mut() else {
            return Ok(());
        };
        pause.checked = Instant::now();
        let free = free_bytes(&out).unwrap_or(0);
        let needed = dir_bytes(&out.join(evidence::SPOOL))
            .saturating_add(pause.hold.bytes())
            .saturating_add(RESUME_MARGIN);
        if !force && free < needed {
            return Ok(());
        }

        match self.resume() {
            Ok(()) => Ok(()),
            Err(error) if no_space(&error) => {
                log::warn!(
                    "capture {}: evidence writing still paused, resuming failed: {error:#}",
                    self.options.interface
                );
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    fn resume(&mut self) -> Result<()> {
        let now = self.shared.snapshot();
        let ended_us = now_us();
        let Some(pause) = self.pause.as_mut() else {
            return Ok(());
        };
        let out = self.options.out.clone();
        let lost = pause.hold.lost_rows();
        let held_rows = pause.hold.rows();
        let detail = format!(
            "evidence writing resumed at {} after a pause from {} ({}): {held_rows} rows held \
             in memory are written; {lost} rows were lost (writes {}, sessions {}, alerts {}, \
             credentials {}, assets {}){}",
            rfc3339(ended_us),
            rfc3339(pause.started_us),
            pause.cause,
            pause.hold.lost.writes,
            pause.hold.lost.sessions,
            pause.hold.lost.alerts,
            pause.hold.lost.credentials,
            pause.hold.lost.assets,
            pause
                .hold
                .lost_since_us
                .map_or_else(String::new, |t| format!(
                    ", every row found from {} on",
                    rfc3339(t)
                )),
        );
        let resumed = self.alert(AlertKind::EvidenceResumed, ended_us, detail);
        let Some(pause) = self.pause.as_mut() else {
            return Ok(());
        };

        let listed = current_files(&out)?;
        let mut writer = self.options.writer()?;
        let published = |writer: &EvidenceWriter| writer.files().to_vec();
        let recovered = match recover_spools(&mut writer, &listed) {
            Ok(recovered) => recovered,
            Err(error) => {
                remove_published(&out, &published(&writer));
                return Err(error.into());
            }
        };
        let rebuilt_files = writer.files().len() as u64;

        pause.hold.evidence.sort();
        pause.hold.evidence.alerts.push(resumed);
        let written = write_held(&mut writer, &pause.hold);
        pause
            .hold
            .evidence
            .alerts
            .retain(|a| a.kind != AlertKind::EvidenceResumed);
        if let Err(error) = written {
            remove_published(&out, &published(&writer));
            return Err(error);
        }

        let record = PauseRecord {
            started: rfc3339_us(pause.started_us).unwrap_or_default(),
            ended: rfc3339_us(ended_us).unwrap_or_default(),
            cause: pause.cause.clone(),
            held_rows,
            lost_rows: pause.hold.lost,
            lost_since: pause.hold.lost_since_us.and_then(rfc3339_us),
            rebuilt_files,
        };
        let before = self.at_rotation;
        let mut run = self.run_info(&before, &now);
        run.counters.insert("evidence_rows_lost".to_owned(), lost);
        let files = published(&writer);
        writer.set_pause(Some(record));
        let committed = writer
            .commit(&run)
            .with_context(|| format!("committing a manifest in {}", out.display()));
        let manifest = match committed {
            Ok(manifest) => manifest,
            Err(error) => {
                remove_published(&out, &files);
                return Err(error);
            }
        };
        remove_spools(&recovered.spools)?;
        if let Some(retention) = self.retention.as_mut() {
            retention.add(&manifest);
        }

        log::info!(
            "capture {}: evidence writing resumed after {:.0} s: {rebuilt_files} files \
             rebuilt from their spools, {held_rows} held rows written, {lost} rows lost; \
             manifest {} committed",
            self.options.interface,
            (ended_us - self.pause.as_ref().map_or(ended_us, |p| p.started_us)) as f64 / 1e6,
            manifest.sequence,
        );
        self.pause = None;
        self.at_rotation = now;
        self.rotation_started = Instant::now();
        self.shared.manifests.fetch_add(1, Ordering::Relaxed);
        self.shared.evidence_paused.store(0, Ordering::Relaxed);
        self.shared.held_bytes.store(0, Ordering::Relaxed);
        Ok(())
    }

    /// The last step of a capture: commits what is open, or, while writing is paused, tries
    /// once more to resume and otherwise says what is lost.
    fn finish(&mut self) -> Result<()> {
        if self.pause.is_some() {
            self.try_resume(true)?;
        }
        if let Some(pause) = &self.pause {
            anyhow::bail!(
                "evidence writing was still paused when the capture stopped ({}): the {} rows \
                 held in memory are lost; rows spooled before the pause are recovered at the \
                 next start",
                pause.cause,
                pause.hold.rows(),
            );
        }
        self.rotate()
    }

    fn alert(&self, kind: AlertKind, ts_us: i64, detail: String) -> AlertRow {
        AlertRow {
            at: FrameRef {
                source: 0,
                frame: self.shared.packets.load(Ordering::Relaxed),
                ts_us,
            },
            kind,
            severity: Severity::High,
            session_id: None,
            protocol: None,
            client_ip: None,
            server_ip: None,
            detail,
        }
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
            rows_lost: now.rows_lost.saturating_sub(before.rows_lost),
        };
        if kernel + interface + queues == 0 {
            return self.store(Evidence::default(), Some(stats));
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
        self.store(evidence, Some(stats))
    }

    /// Closes every open file, commits their manifest and removes their spools; a lack of
    /// space on the way pauses writing instead of failing.
    fn rotate(&mut self) -> Result<()> {
        match self.try_rotate() {
            Err(error) if no_space(&error) => self.begin_pause(&error),
            result => result,
        }
    }

    fn try_rotate(&mut self) -> Result<()> {
        let now = self.shared.snapshot();
        let out = self.options.out.clone();

        let mut spools = Vec::new();
        let mut closed = Vec::new();
        // Files published before a failure are removed again: their spools stay, and the
        // resumption (or the next start) rebuilds them.
        if let Err(error) = self.files.close(&mut closed, &mut spools) {
            remove_published(&out, &closed);
            return Err(error);
        }
        let mut writer = self.options.writer()?;
        for entry in &closed {
            writer.add_file(entry.clone());
        }

        let before = self.at_rotation;
        let run = self.run_info(&before, &now);
        if let Err(error) = writer.fill_empty_tables(&run) {
            remove_published(&out, writer.files());
            return Err(error.into());
        }
        let files = writer.files().to_vec();
        let retired = match &self.retention {
            Some(retention) => retention.select(now_us(), files.iter().map(|f| f.bytes).sum()),
            None => Vec::new(),
        };
        writer.set_retired(retired.clone());
        let manifest = match writer.commit(&run) {
            Ok(manifest) => manifest,
            Err(error) => {
                remove_published(&out, &files);
                return Err(anyhow::Error::new(error)
                    .context(format!("committing a manifest in {}", out.display())));
            }
        };
        remove_spools(&spools)?;
        if let Some(retention) = self.retention.as_mut() {
            retention.add(&manifest);
            if !retired.is_empty() {
                remove_files(&out, retired.iter().map(|r| r.path.as_str()));
                log::info!(
                    "capture {}: retention retired {} files ({} bytes; {}), {} bytes kept",
                    self.options.interface,
                    retired.len(),
                    retired.iter().map(|r| r.bytes).sum::<u64>(),
                    retired[0].why,
                    retention.bytes(),
                );
            }
        }

        self.at_rotation = now;
        self.rotation_started = Instant::now();
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

    /// Closes every file; `entries` gets those published, even when a later one fails.
    fn close(&mut self, entries: &mut Vec<FileEntry>, spools: &mut Vec<PathBuf>) -> Result<()> {
        self.stats.close(entries, spools)?;
        self.writes.close(entries, spools)?;
        self.sessions.close(entries, spools)?;
        self.assets.close(entries, spools)?;
        self.alerts.close(entries, spools)?;
        self.credentials.close(entries, spools)
    }

    /// Gives up every open file (see [`SpooledWriter::abandon`]).
    fn abandon(&mut self) -> Result<()> {
        self.stats.abandon()?;
        self.writes.abandon()?;
        self.sessions.abandon()?;
        self.assets.abandon()?;
        self.alerts.abandon()?;
        self.credentials.abandon()
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
        while let Some((_, file)) = self.by_date.pop_first() {
            let (entry, spool) = file.close()?;
            entries.push(entry);
            spools.push(spool);
        }
        Ok(())
    }

    fn abandon(&mut self) -> Result<()> {
        while let Some((_, file)) = self.by_date.pop_first() {
            file.abandon()?;
        }
        Ok(())
    }
}

/// Removes files published but not committed (a rotation or resumption that failed); their
/// rows are still in their spools, or held in memory. Failures are logged: a file left behind
/// is rebuilt from its spool (or reported by `verify` as added) later.
fn remove_published(out: &Path, files: &[FileEntry]) {
    for entry in files {
        let path = out.join(&entry.path);
        if let Err(error) = std::fs::remove_file(&path) {
            log::warn!(
                "cannot remove {} after a failed commit: {error}",
                path.display()
            );
        }
    }
}

/// Writes the rows held during a pause as new files of `writer`, without spools: they are in
/// memory until the manifest that lists them is committed.
fn write_held(writer: &mut EvidenceWriter, hold: &Hold) -> Result<()> {
    let held = &hold.evidence;
    writer.write_table(&hold.stats)?;
    writer.write_table(&held.writes)?;
    writer.write_table(&held.sessions)?;
    writer.write_table(&held.assets)?;
    writer.write_table(&held.alerts)?;
    writer.write_table(&held.credentials)?;
    Ok(())
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}
