//! Live capture: `otwitness capture`, a mirror-port sensor that runs for months.
//!
//! Threads: the capture thread (the caller's) reads the interface ([`source`]), counts frames of
//! no flow and hands every other packet to the worker owning its flow ([`workers`]) through a
//! bounded queue; each worker runs the same [`analytics::engine::Engine`] as an offline run; the
//! evidence thread ([`sink`]) spools, rotates and commits. Signals are only flags the capture
//! thread looks at between packets: SIGTERM and SIGINT stop the capture cleanly (every flow
//! closed, every file published, the manifest committed), SIGHUP reloads the identity map and
//! the delegations without stopping the capture (a file that fails to load keeps the old one);
//! the new map applies to packets read after the reload, which includes those still in the
//! kernel's buffer at that moment (up to 100 ms of traffic), and rows already written keep the
//! attribution they were given.
//! With `--user`, root is given up once the interface is open and the keys are read, before
//! anything else happens ([`privileges`]). Before the first packet, spools a killed process
//! left are recovered.
//!
//! A full disk pauses evidence writing without stopping the capture: rows are held in memory
//! up to `--hold`, what does not fit is counted, and writing resumes when space returns (see
//! `sink` and `pause`).
//!
//! With `--metrics`, a small HTTP server thread serves the running totals to Prometheus
//! ([`metrics`]).
//!
//! With `--keep-days` or `--keep-size`, each rotation retires the oldest committed files beyond
//! the limits and records them in its manifest ([`retention`]).
//!
//! Not done: rows held in memory during a disk-full pause survive neither a kill -9 nor a stop
//! before space returns (the stop says how many are lost); retention counts only Parquet files,
//! not manifests and spools; the metrics endpoint has no TLS and no authentication.

pub mod metrics;
pub mod pause;
pub mod privileges;
pub mod retention;
pub mod signals;
pub mod sink;
pub mod source;
pub mod stats;
pub mod units;
pub mod workers;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::{Duration, Instant};

use analytics::attribution::Attributor;
use analytics::delegation::Delegations;
use analytics::engine::{shard_of, EngineConfig};
use analytics::identity::IdentityMap;
use anyhow::{anyhow, Context, Result};
use dissectors::link::decode;

use crate::pipeline::FrameCounts;
use signals::Signals;
use sink::{Message, SinkOptions};
use source::{wrapping_add, KernelStats, Source, SourceOptions};
use stats::{Shared, Snapshot};
use workers::Dispatcher;

/// Batches a worker's queue holds before new ones are dropped (each up to
/// [`workers::BATCH_PACKETS`] packets).
pub const QUEUE_BATCHES: usize = 512;

/// After a stop request, reading ends at the first idle read once this long has passed…
const DRAIN_QUIET: Duration = Duration::from_millis(source::READ_TIMEOUT_MS as u64 * 2);

/// …or after this long, however busy the link.
const DRAIN_MAX: Duration = Duration::from_secs(2);

/// Everything `otwitness capture` was asked to do.
pub struct LiveOptions {
    pub source: SourceOptions,
    pub sink: SinkOptions,
    pub workers: usize,
    pub engine: EngineConfig,
    /// Files reread on SIGHUP.
    pub identities: Option<PathBuf>,
    pub delegations: Option<PathBuf>,
    /// How often the status line is logged; `None`: never.
    pub status_every: Option<Duration>,
    /// Who to become once the interface is open (`--user`, `--group`); `None`: stay.
    pub run_as: Option<privileges::Identity>,
    /// Where to serve Prometheus metrics; `None`: nowhere.
    pub metrics: Option<std::net::SocketAddr>,
}

/// The identity map and delegations, as loaded from their files.
#[derive(Clone, Default)]
pub struct Policy {
    pub attributor: Attributor,
    pub delegations: Option<Arc<Delegations>>,
}

impl Policy {
    /// Reads the identity map and the delegations.
    ///
    /// # Errors
    ///
    /// A file cannot be read or parsed; the error names it.
    pub fn load(
        identities: Option<&std::path::Path>,
        delegations: Option<&std::path::Path>,
    ) -> Result<Policy> {
        let identities = match identities {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read identity map {}", path.display()))?;
                Some(Arc::new(IdentityMap::parse(
                    &path.display().to_string(),
                    &text,
                )?))
            }
            None => None,
        };
        let delegations = match delegations {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read delegations {}", path.display()))?;
                Some(Arc::new(Delegations::parse(
                    &path.display().to_string(),
                    &text,
                )?))
            }
            None => None,
        };
        Ok(Policy {
            attributor: Attributor::new(identities),
            delegations,
        })
    }
}

/// How a capture ended.
#[derive(Debug)]
pub struct LiveOutcome {
    pub totals: Snapshot,
    pub recovery: Option<crate::evidence::Recovery>,
}

/// Runs a live capture until SIGTERM or SIGINT (or the interface fails).
///
/// # Errors
///
/// The interface cannot be opened, evidence cannot be written, or the interface fails while
/// capturing; in the last two cases whatever was spooled is recovered at the next start.
pub fn run(options: LiveOptions, policy: Policy) -> Result<LiveOutcome> {
    let signals = Signals::register()?;
    let mut source = Source::open(&options.source)?;
    let shared = Arc::new(Shared::new());
    // Bound before giving up root, so a port below 1024 is possible.
    let metrics = match options.metrics {
        Some(addr) => Some(metrics::MetricsServer::start(
            addr,
            shared.clone(),
            options.source.interface.clone(),
        )?),
        None => None,
    };
    if let Some(who) = &options.run_as {
        privileges::drop_to(who, &options.sink.out)?;
    }

    let recovery = sink::recover(&options.sink)?;
    if let Some(recovery) = &recovery {
        log::warn!(
            "recovered {} rows from {} spool files of an earlier capture that did not stop \
             cleanly ({} torn, {} already committed)",
            recovery.rows,
            recovery.spools,
            recovery.torn_tails,
            recovery.already_committed,
        );
    }

    let link = source.link();
    let names: Arc<[String]> = Arc::from(vec![options.source.interface.clone()]);
    let workers = options.workers.max(1);

    let (rows_tx, rows_rx) = sync_channel::<Message>(workers * 4);
    let sink_shared = shared.clone();
    let sink_options = options.sink.clone();
    let grants = policy.delegations.clone();
    let sink = std::thread::Builder::new()
        .name("otwitness-evidence".to_owned())
        .spawn(move || sink::run_sink(sink_options, grants, rows_rx, sink_shared))
        .context("starting the evidence thread")?;

    let mut queues = Vec::with_capacity(workers);
    let mut handles = Vec::with_capacity(workers);
    for worker in 0..workers {
        let (tx, rx) = sync_channel(QUEUE_BATCHES);
        queues.push(tx);
        let config = options.engine.clone();
        let attributor = policy.attributor.clone();
        let names = names.clone();
        let rows = rows_tx.clone();
        let handle = std::thread::Builder::new()
            .name(format!("otwitness-worker-{worker}"))
            .spawn(move || workers::run_worker(worker, link, config, attributor, names, rx, rows))
            .context("starting a worker thread")?;
        handles.push(handle);
    }
    let queue_drops = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut dispatcher = Dispatcher::new(queues, queue_drops.clone());

    log::info!(
        "capturing on {} ({} workers, filter {:?}), evidence in {}",
        options.source.interface,
        workers,
        options.source.filter,
        options.sink.out.display()
    );
    let captured = capture_loop(
        &options,
        &mut source,
        &mut dispatcher,
        &signals,
        &shared,
        &queue_drops,
        &rows_tx,
        &sink,
    );

    // Stop: the last batches go out, then the queues close, the workers finish their flows,
    // and the evidence thread commits once every worker is done.
    dispatcher.flush(true);
    drop(dispatcher);
    drop(rows_tx);
    for handle in handles {
        if handle.join().is_err() {
            log::error!("a worker thread panicked; its last rows are lost");
        }
    }
    let sunk = sink
        .join()
        .map_err(|_| anyhow!("the evidence thread panicked"))?;
    if let Some(server) = metrics {
        server.stop();
    }

    sunk?;
    captured?;
    Ok(LiveOutcome {
        totals: shared.snapshot(),
        recovery,
    })
}

#[allow(clippy::too_many_arguments)]
fn capture_loop(
    options: &LiveOptions,
    source: &mut Source,
    dispatcher: &mut Dispatcher,
    signals: &Signals,
    shared: &Shared,
    queue_drops: &std::sync::atomic::AtomicU64,
    rows: &std::sync::mpsc::SyncSender<Message>,
    sink: &std::thread::JoinHandle<Result<()>>,
) -> Result<()> {
    let interface = &options.source.interface;
    let link = source.link();
    let workers = dispatcher.workers();
    let mut frames = FrameCounts::default();
    let mut frame = 0u64;
    let mut kernel = KernelStats::default();
    let mut last_housekeeping = Instant::now();
    let mut status_at = (Instant::now(), shared.snapshot());

    let mut stopping: Option<Instant> = None;

    loop {
        if stopping.is_none() && signals.stop_requested() {
            log::info!("capture {interface}: stop requested, reading what the kernel holds");
            stopping = Some(Instant::now());
        }
        if signals.take_reload() {
            reload(options, dispatcher, rows);
        }

        let next = source
            .next_frame()
            .with_context(|| format!("reading from {interface}"))?;
        let idle = next.is_none();
        // After a stop request, packets already in the kernel's buffer are still read: the
        // last block is handed over at most READ_TIMEOUT_MS after its first packet.
        if let Some(since) = stopping {
            let waited = since.elapsed();
            if (idle && waited >= DRAIN_QUIET) || waited >= DRAIN_MAX {
                break;
            }
        }
        if let Some(packet) = next {
            frame += 1;
            frames.frames += 1;
            frames.bytes += u64::from(packet.orig_len);
            if frame == 1 {
                shared.first_ts_us.store(packet.ts_us, Ordering::Relaxed);
            }
            shared.last_ts_us.store(packet.ts_us, Ordering::Relaxed);
            match decode(link, packet.data) {
                Ok(decoded) => {
                    let worker = shard_of(&decoded, workers);
                    dispatcher.push(worker, frame, packet.ts_us, packet.orig_len, packet.data);
                }
                Err(error) => frames.count_undecoded(&error),
            }
        }

        if idle || last_housekeeping.elapsed() >= workers::BATCH_AGE {
            last_housekeeping = Instant::now();
            if sink.is_finished() {
                // Only an error ends the evidence thread early; `run` reports it after joining.
                log::error!("capture {interface}: evidence can no longer be written; stopping");
                break;
            }
            dispatcher.flush(false);
            publish(shared, &frames, queue_drops);
            if let Some(now) = source.stats() {
                let kernel_total = wrapping_add(
                    shared.kernel_drops.load(Ordering::Relaxed),
                    kernel.dropped,
                    now.dropped,
                );
                let if_total = wrapping_add(
                    shared.if_drops.load(Ordering::Relaxed),
                    kernel.if_dropped,
                    now.if_dropped,
                );
                shared.kernel_drops.store(kernel_total, Ordering::Relaxed);
                shared.if_drops.store(if_total, Ordering::Relaxed);
                kernel = now;
            }
            if let Some(every) = options.status_every {
                if status_at.0.elapsed() >= every {
                    let now = shared.snapshot();
                    let seconds = status_at.0.elapsed().as_secs_f64();
                    let line = stats::status_line(
                        interface,
                        &status_at.1,
                        &now,
                        seconds,
                        stats::rss_bytes(),
                    );
                    log::info!("{line}");
                    status_at = (Instant::now(), now);
                }
            }
        }
    }

    publish(shared, &frames, queue_drops);
    if let Some(now) = source.stats() {
        let total = wrapping_add(
            shared.kernel_drops.load(Ordering::Relaxed),
            kernel.dropped,
            now.dropped,
        );
        shared.kernel_drops.store(total, Ordering::Relaxed);
    }
    Ok(())
}

/// Copies the capture thread's counts where the other threads read them.
fn publish(shared: &Shared, frames: &FrameCounts, queue_drops: &std::sync::atomic::AtomicU64) {
    shared.packets.store(frames.frames, Ordering::Relaxed);
    shared.bytes.store(frames.bytes, Ordering::Relaxed);
    shared.non_ip.store(frames.non_ip, Ordering::Relaxed);
    shared
        .unsupported_link
        .store(frames.unsupported_link, Ordering::Relaxed);
    shared
        .undecodable
        .store(frames.undecodable, Ordering::Relaxed);
    shared
        .queue_drops
        .store(queue_drops.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// SIGHUP: rereads the identity map and delegations; on any error keeps the old ones.
fn reload(
    options: &LiveOptions,
    dispatcher: &mut Dispatcher,
    rows: &std::sync::mpsc::SyncSender<Message>,
) {
    let loaded = Policy::load(
        options.identities.as_deref(),
        options.delegations.as_deref(),
    );
    match loaded {
        Ok(policy) => {
            dispatcher.reload(&policy.attributor);
            if rows.send(Message::Delegations(policy.delegations)).is_err() {
                log::error!("the evidence thread has stopped; delegations not reloaded");
            }
            log::info!("reloaded the identity map and delegations");
        }
        Err(error) => log::error!("reload failed, keeping the previous ones: {error:#}"),
    }
}
