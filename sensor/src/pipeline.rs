//! Offline analysis: capture files in, evidence rows and counters out.
//!
//! Inputs are opened (memory-mapped), ordered by their first timestamp, and read as one
//! continuous capture, so a flow that continues from one file into the next stays one session.
//! The work is split across `threads` workers by a direction-free flow hash: every worker scans
//! the inputs and analyses only the packets of its own flows, so workers share nothing and the
//! merged evidence does not depend on the thread count. Worker 0 also counts what belongs to no
//! flow (non-IP frames, unsupported link types). Input hashes (SHA-256) are computed alongside.
//!
//! The cost of this design is that every worker reads and decodes every frame header; on two
//! cores that scan is a small part of the work, and it buys freedom from locks and channels.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use analytics::attribution::Attributor;
use analytics::delegation::{DelegationChecker, Delegations};
use analytics::engine::{shard_of, Counters, Engine, EngineConfig};
use analytics::evidence::{AlertKind, AlertRow, Evidence, FrameRef, Severity};
use analytics::latency::{Latency, Sampler, Stage};
use dissectors::link::{decode, DecodeError};
use sha2::{Digest, Sha256};

use crate::capture::{CaptureFile, Damage};
use crate::evidence::{self, InputInfo, InputKind};

/// What to analyse and how.
pub struct AnalyzeOptions {
    pub inputs: Vec<PathBuf>,
    pub threads: usize,
    pub engine: EngineConfig,
    pub attributor: Attributor,
    /// Grants to check every write against; `None` leaves writes `no_policy`.
    pub delegations: Option<Arc<Delegations>>,
}

/// An input that could not be read at all.
#[derive(Clone, Debug)]
pub struct Unreadable {
    /// The path as given on the command line.
    pub name: String,
    /// Why, naming the file.
    pub error: String,
}

/// Frames of no flow: why they were not analysed.
#[derive(Clone, Debug, Default)]
pub struct FrameCounts {
    pub frames: u64,
    pub bytes: u64,
    pub non_ip: u64,
    pub unsupported_link: u64,
    pub undecodable: u64,
}

impl FrameCounts {
    /// Counts a frame that could not be decoded into a packet of some flow, by why.
    pub fn count_undecoded(&mut self, error: &DecodeError) {
        match error {
            DecodeError::NotIp(_) | DecodeError::NotIpFamily(_) => self.non_ip += 1,
            DecodeError::UnsupportedLink(_) => self.unsupported_link += 1,
            _ => self.undecodable += 1,
        }
    }
}

/// Everything an offline run produced.
pub struct AnalyzeOutcome {
    /// The inputs read, in the order they were analysed (capture time).
    pub inputs: Vec<InputInfo>,
    pub unreadable: Vec<Unreadable>,
    pub evidence: Evidence,
    pub counters: Counters,
    pub frames: FrameCounts,
    /// The process's peak resident memory so far (Linux `VmHWM`), when the system tells.
    pub peak_rss_bytes: Option<u64>,
    /// Sampled per-stage latency of all workers (decode, reassembly, dissect, attribute); the
    /// caller adds `write` when it writes the evidence.
    pub latency: Latency,
}

impl AnalyzeOutcome {
    /// Whether anything at all could be read.
    pub fn read_anything(&self) -> bool {
        self.inputs.iter().any(|i| i.packets > 0)
    }
}

/// Progress shared with the terminal: bytes of input scanned by worker 0.
#[derive(Default)]
pub struct Progress {
    pub scanned: AtomicU64,
    pub total: AtomicU64,
    pub done: AtomicBool,
}

/// Runs the analysis to completion.
pub fn analyze(options: &AnalyzeOptions, progress: &Progress) -> AnalyzeOutcome {
    let mut unreadable = Vec::new();
    let mut files = Vec::new();
    for path in &options.inputs {
        let name = path.display().to_string();
        match CaptureFile::open(path) {
            Ok(file) => files.push((name, file)),
            Err(error) => unreadable.push(Unreadable {
                name,
                error: error.to_string(),
            }),
        }
    }
    // Time order; files with no readable packet go last, in command-line order.
    files.sort_by_key(|(_, f)| f.first_timestamp().unwrap_or(i64::MAX));
    let total: u64 = files.iter().map(|(_, f)| f.len()).sum();
    progress.total.store(total, Ordering::Relaxed);

    let names: Arc<[String]> = files.iter().map(|(n, _)| n.clone()).collect();
    let threads = options.threads.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("otwitness-worker-{i}"))
        .build();
    let work = || {
        let mut results: Vec<Option<WorkerResult>> = (0..threads).map(|_| None).collect();
        let mut hashes: Vec<Option<String>> = vec![None; files.len()];
        rayon::scope(|scope| {
            for (shard, slot) in results.iter_mut().enumerate() {
                let files = &files;
                let names = names.clone();
                scope.spawn(move |_| {
                    *slot = Some(run_worker(shard, threads, files, names, options, progress));
                });
            }
            for (slot, (_, file)) in hashes.iter_mut().zip(&files) {
                scope.spawn(move |_| *slot = Some(hex::encode(Sha256::digest(file.bytes()))));
            }
        });
        (results, hashes)
    };
    let (results, hashes) = match &pool {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    };
    progress.done.store(true, Ordering::Relaxed);

    let mut evidence = Evidence::default();
    let mut counters = Counters::default();
    let mut frames = FrameCounts::default();
    let mut latency = Latency::default();
    let mut per_input = Vec::new();
    let mut inputs = Vec::with_capacity(files.len());
    for (shard, result) in results.into_iter().flatten().enumerate() {
        let mut result = result;
        evidence.append(&mut result.evidence);
        counters.add(&result.counters);
        latency.merge(&result.latency);
        if shard == 0 {
            frames = result.frames;
            per_input = result.inputs;
        }
    }

    for (index, ((name, file), hash)) in files.iter().zip(hashes).enumerate() {
        let seen = per_input.get(index).cloned().unwrap_or_default();
        if let Some(damage) = &seen.damage {
            evidence.alerts.push(AlertRow {
                at: FrameRef {
                    source: index as u32,
                    frame: damage.frame,
                    ts_us: seen.last_ts_us.unwrap_or(0),
                },
                kind: AlertKind::CaptureDamaged,
                severity: Severity::High,
                session_id: None,
                protocol: None,
                client_ip: None,
                server_ip: None,
                detail: format!("{name}: {damage}; nothing after it was analysed"),
            });
        }
        inputs.push(InputInfo {
            name: name.clone(),
            kind: InputKind::File,
            sha256: hash,
            bytes: file.len(),
            packets: seen.packets,
            first_ts_us: seen.first_ts_us,
            last_ts_us: seen.last_ts_us,
            damage: seen.damage.map(|d| evidence::Damage {
                offset: d.offset,
                frame: d.frame,
                what: d.what,
            }),
        });
    }
    if let Some(delegations) = &options.delegations {
        check_delegations(&mut evidence, delegations);
    }
    evidence.sort();

    AnalyzeOutcome {
        peak_rss_bytes: peak_rss_bytes(),
        latency,
        inputs,
        unreadable,
        evidence,
        counters,
        frames,
    }
}

/// Checks every write against the grants, in capture-time order: budgets are counted over the
/// whole run, whichever worker saw the write.
fn check_delegations(evidence: &mut Evidence, delegations: &Delegations) {
    evidence
        .writes
        .sort_by_key(|w| (w.at.ts_us, w.at.source, w.at.frame, w.item));
    let mut checker = DelegationChecker::new(delegations);
    for write in &mut evidence.writes {
        checker.check(write);
    }
    evidence.alerts.extend(checker.finish());
}

/// What worker 0 learns about each input while scanning it.
#[derive(Clone, Debug, Default)]
struct InputScan {
    packets: u64,
    first_ts_us: Option<i64>,
    last_ts_us: Option<i64>,
    damage: Option<Damage>,
}

struct WorkerResult {
    evidence: Evidence,
    counters: Counters,
    frames: FrameCounts,
    inputs: Vec<InputScan>,
    latency: Latency,
}

fn run_worker(
    shard: usize,
    shards: usize,
    files: &[(String, CaptureFile)],
    names: Arc<[String]>,
    options: &AnalyzeOptions,
    progress: &Progress,
) -> WorkerResult {
    let mut engine = Engine::new(options.engine.clone(), options.attributor.clone(), names);
    let mut frames = FrameCounts::default();
    let mut inputs = Vec::with_capacity(files.len());
    let mut scanned_before = 0u64;
    let mut sampler = Sampler::default();

    for (source, (_, file)) in files.iter().enumerate() {
        let mut scan = InputScan::default();
        let mut packets = file.packets();
        let mut since_progress = 0u32;
        for raw in packets.by_ref() {
            if shard == 0 {
                scan.packets += 1;
                scan.first_ts_us.get_or_insert(raw.ts_us);
                scan.last_ts_us = Some(raw.ts_us);
                frames.frames += 1;
                frames.bytes += u64::from(raw.orig_len);
                since_progress += 1;
                if since_progress == 4096 {
                    since_progress = 0;
                    let at = scanned_before + raw.offset;
                    progress.scanned.store(at, Ordering::Relaxed);
                }
            }
            let start = sampler.sample().then(std::time::Instant::now);
            let decoded_packet = decode(raw.link, raw.data);
            if let Some(start) = start {
                engine.latency_mut().record_since(Stage::Decode, start);
            }
            let packet = match decoded_packet {
                Ok(packet) => packet,
                Err(error) => {
                    if shard == 0 {
                        frames.count_undecoded(&error);
                    }
                    continue;
                }
            };
            if shard_of(&packet, shards) != shard {
                continue;
            }
            let at = FrameRef {
                source: source as u32,
                frame: raw.frame,
                ts_us: raw.ts_us,
            };
            engine.process(at, &packet, u64::from(raw.orig_len));
        }
        scan.damage = packets.damage().cloned();
        scanned_before += file.len();
        if shard == 0 {
            progress.scanned.store(scanned_before, Ordering::Relaxed);
        }
        inputs.push(scan);
    }

    engine.finish();
    WorkerResult {
        evidence: engine.take_evidence(),
        counters: engine.counters().clone(),
        latency: engine.latency().clone(),
        frames,
        inputs,
    }
}

/// Peak resident set size of this process, from `/proc/self/status` (Linux only).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
