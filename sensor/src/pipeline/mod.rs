//! Offline analysis: capture files in, evidence rows and counters out.
//!
//! Inputs are opened (memory-mapped), ordered by their first timestamp, and read as one
//! continuous capture, so a flow that continues from one file into the next stays one session.
//! One scanner (`scan`) reads and decodes every frame once and sorts the frames out to
//! `threads` shards by a direction-free flow hash; each shard has its own analysis engine, so
//! shards share nothing and the merged evidence does not depend on the thread count. The work
//! runs on a rayon pool of `threads` threads: while the shards analyse one chunk of frames, the
//! next chunk is read, and the inputs' SHA-256 are computed alongside.
//!
//! A single very busy flow stays on one shard: one thread does all of its work, however many
//! there are.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use analytics::attribution::Attributor;
use analytics::delegation::{DelegationChecker, Delegations};
mod scan;

use analytics::engine::{Counters, Engine, EngineConfig};
use analytics::evidence::{AlertKind, AlertRow, Evidence, FrameRef, Severity};
use analytics::latency::Latency;
use dissectors::link::DecodeError;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use self::scan::{Chunk, InputScan, Scanner, Step};
use crate::capture::CaptureFile;
use crate::evidence::{self, InputInfo, InputKind};

/// What to analyse and how.
pub struct AnalyzeOptions {
    pub inputs: Vec<PathBuf>,
    pub threads: usize,
    /// Settings of the run's analysis; `max_flows` is shared out evenly between the shards.
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

/// Progress shared with the terminal: bytes of input read so far, of `total`.
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
        let mut hashes: Vec<Option<String>> = vec![None; files.len()];
        let analysed = rayon::scope(|scope| {
            for (slot, (_, file)) in hashes.iter_mut().zip(&files) {
                scope.spawn(move |_| *slot = Some(hex::encode(Sha256::digest(file.bytes()))));
            }
            run_shards(&files, names, options, progress, shards_for(threads))
        });
        (analysed, hashes)
    };
    let (analysed, hashes) = match &pool {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    };
    progress.done.store(true, Ordering::Relaxed);
    let Analysed {
        mut evidence,
        counters,
        frames,
        inputs: per_input,
        latency,
    } = analysed;

    let mut inputs = Vec::with_capacity(files.len());
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

/// What the shards found, merged, and what the scan learnt about the inputs.
struct Analysed {
    evidence: Evidence,
    counters: Counters,
    frames: FrameCounts,
    inputs: Vec<InputScan>,
    latency: Latency,
}

/// How many shards `threads` threads analyse: one for one thread; otherwise four per thread, so
/// that when one shard has more of a chunk's work than the others, the threads that finished
/// theirs take over whole shards instead of waiting for it.
fn shards_for(threads: usize) -> usize {
    if threads <= 1 {
        1
    } else {
        threads * 4
    }
}

/// Reads the inputs chunk by chunk, analysing each chunk on `shards` engines in parallel while
/// the next one is read, and merges what the engines found into one sorted evidence.
fn run_shards(
    files: &[(String, CaptureFile)],
    names: Arc<[String]>,
    options: &AnalyzeOptions,
    progress: &Progress,
    shards: usize,
) -> Analysed {
    let mut engines: Vec<Engine> = (0..shards)
        .map(|_| {
            let mut config = options.engine.clone();
            config.max_flows = (config.max_flows / shards).max(1);
            config.shared_sweeps = true;
            Engine::new(config, options.attributor.clone(), names.clone())
        })
        .collect();
    let mut scanner = Scanner::new(files, progress);
    let mut current = Chunk::new(shards);
    let mut next = Chunk::new(shards);

    scanner.fill(&mut current);
    while !current.is_empty() {
        rayon::join(
            || scanner.fill(&mut next),
            || analyse_chunk(&mut engines, &mut current),
        );
        std::mem::swap(&mut current, &mut next);
    }
    engines.par_iter_mut().for_each(Engine::finish);

    let parts: Vec<Evidence> = engines
        .par_iter_mut()
        .map(|engine| {
            let mut evidence = engine.take_evidence();
            evidence.sort();
            evidence
        })
        .collect();
    let evidence = Evidence::merge_sorted(parts);
    let mut counters = Counters::default();
    let mut latency = scanner.latency.clone();
    for engine in &engines {
        counters.add(engine.counters());
        latency.merge(engine.latency());
    }
    Analysed {
        evidence,
        counters,
        latency,
        frames: scanner.frames,
        inputs: scanner.inputs,
    }
}

/// Each shard's engine analyses its frames of the chunk and sweeps where the scanner said, in
/// capture order; the chunk's lists are left empty, keeping their room for the next chunk.
fn analyse_chunk(engines: &mut [Engine], chunk: &mut Chunk<'_>) {
    engines
        .par_iter_mut()
        .zip(chunk.shards.par_iter_mut())
        .for_each(|(engine, steps)| {
            for step in steps.drain(..) {
                match step {
                    Step::Frame(frame) => engine.process(frame.at, &frame.packet, frame.wire_len),
                    Step::Sweep(now_us) => engine.sweep(now_us),
                }
            }
        });
}

/// Peak resident set size of this process, from `/proc/self/status` (Linux only).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
