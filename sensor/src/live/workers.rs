//! The analysis workers of a live capture and the bounded queues that feed them.
//!
//! The capture thread decodes each frame only far enough to pick its worker by
//! [`analytics::engine::shard_of`] (the direction-free flow hash the offline pipeline uses), and
//! copies it into that worker's [`Batch`]: one buffer of packet bytes plus a small record per
//! packet, so a packet costs a copy and no allocation. A full batch, or any batch older than
//! [`BATCH_AGE`], goes into the worker's queue with `try_send`; when the queue is full the batch
//! is dropped and its packets counted in `queue_drops`, so memory stays bounded whatever the
//! rate. Each worker owns an [`Engine`] (its flows, sessions and attribution) exactly as an
//! offline worker does, and every [`FLUSH_EVERY`] hands the rows produced so far, with its
//! counters, to the evidence thread, which spools them to disk.
//!
//! Not done here: writing evidence, delegation checks (they need every write in time order,
//! so the evidence thread does them), statistics of frames of no flow (the capture thread's).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use analytics::attribution::Attributor;
use analytics::engine::{Counters, Engine, EngineConfig};
use analytics::evidence::{Evidence, FrameRef};
use dissectors::link::{decode, LinkType};

/// Packets per batch.
pub const BATCH_PACKETS: usize = 256;

/// A batch waits at most this long for more packets before it is sent.
pub const BATCH_AGE: Duration = Duration::from_millis(50);

/// How often a worker hands its rows to the evidence thread. Together with the evidence thread's
/// sync this bounds what a kill -9 loses (rows of complete operations in the last second).
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// One packet in a [`Batch`].
#[derive(Clone, Copy, Debug)]
struct Record {
    frame: u64,
    ts_us: i64,
    orig_len: u32,
    start: usize,
    end: usize,
}

/// Packets bound for one worker.
#[derive(Debug, Default)]
pub struct Batch {
    data: Vec<u8>,
    records: Vec<Record>,
    started: Option<Instant>,
}

impl Batch {
    fn with_capacity() -> Batch {
        Batch {
            data: Vec::with_capacity(BATCH_PACKETS * 256),
            records: Vec::with_capacity(BATCH_PACKETS),
            started: None,
        }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn push(&mut self, frame: u64, ts_us: i64, orig_len: u32, data: &[u8], now: Instant) {
        let start = self.data.len();
        self.data.extend_from_slice(data);
        self.records.push(Record {
            frame,
            ts_us,
            orig_len,
            start,
            end: self.data.len(),
        });
        self.started.get_or_insert(now);
    }
}

/// What the capture thread sends a worker.
pub enum Work {
    Packets(Batch),
    /// Attribute writes with this identity map from now on.
    Reload(Attributor),
}

/// What a worker sends the evidence thread.
pub struct Rows {
    pub worker: usize,
    pub evidence: Evidence,
    /// The worker's counters since the capture started.
    pub counters: Counters,
    /// Flows the worker holds now.
    pub open_flows: usize,
}

/// The capture thread's end of the workers' queues.
pub struct Dispatcher {
    queues: Vec<SyncSender<Work>>,
    pending: Vec<Batch>,
    queue_drops: Arc<AtomicU64>,
}

impl Dispatcher {
    pub fn new(queues: Vec<SyncSender<Work>>, queue_drops: Arc<AtomicU64>) -> Dispatcher {
        let pending = queues.iter().map(|_| Batch::with_capacity()).collect();
        Dispatcher {
            queues,
            pending,
            queue_drops,
        }
    }

    pub fn workers(&self) -> usize {
        self.queues.len()
    }

    /// Adds a packet to `worker`'s batch, sending the batch when it is full.
    pub fn push(&mut self, worker: usize, frame: u64, ts_us: i64, orig_len: u32, data: &[u8]) {
        let now = Instant::now();
        let Some(batch) = self.pending.get_mut(worker) else {
            return;
        };
        batch.push(frame, ts_us, orig_len, data, now);
        if batch.len() >= BATCH_PACKETS {
            self.send(worker);
        }
    }

    /// Sends every batch that has waited [`BATCH_AGE`] (all of them when `all`).
    pub fn flush(&mut self, all: bool) {
        let now = Instant::now();
        for worker in 0..self.pending.len() {
            let due = self.pending[worker]
                .started
                .is_some_and(|t| all || now.duration_since(t) >= BATCH_AGE);
            if due {
                self.send(worker);
            }
        }
    }

    /// Sends a new identity map to every worker, waiting for room in the queues (a reload must
    /// not be lost; packets keep arriving in the kernel buffer meanwhile).
    pub fn reload(&mut self, attributor: &Attributor) {
        self.flush(true);
        for queue in &self.queues {
            if queue.send(Work::Reload(attributor.clone())).is_err() {
                log::error!("a worker has stopped; it did not get the new identity map");
            }
        }
    }

    fn send(&mut self, worker: usize) {
        let batch = std::mem::replace(&mut self.pending[worker], Batch::with_capacity());
        let packets = batch.len() as u64;
        match self.queues[worker].try_send(Work::Packets(batch)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.queue_drops.fetch_add(packets, Ordering::Relaxed);
            }
        }
    }
}

/// Runs one worker until the capture thread drops its queue, then closes every flow as
/// `capture_end` and hands over the last rows.
pub fn run_worker(
    worker: usize,
    link: LinkType,
    config: EngineConfig,
    attributor: Attributor,
    source_names: Arc<[String]>,
    queue: Receiver<Work>,
    rows: SyncSender<super::sink::Message>,
) {
    let mut engine = Engine::new(config, attributor, source_names);
    let mut next_flush = Instant::now() + FLUSH_EVERY;

    loop {
        let wait = next_flush.saturating_duration_since(Instant::now());
        match queue.recv_timeout(wait) {
            Ok(Work::Packets(batch)) => analyse(&mut engine, link, &batch),
            Ok(Work::Reload(attributor)) => engine.set_attributor(attributor),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if Instant::now() >= next_flush {
            if !hand_over(worker, &mut engine, &rows) {
                return;
            }
            next_flush = Instant::now() + FLUSH_EVERY;
        }
    }

    engine.finish();
    hand_over(worker, &mut engine, &rows);
}

fn analyse(engine: &mut Engine, link: LinkType, batch: &Batch) {
    for record in &batch.records {
        let data = &batch.data[record.start..record.end];
        // The capture thread decoded this frame already; frames of no flow never get here.
        let Ok(packet) = decode(link, data) else {
            continue;
        };
        let at = FrameRef {
            source: 0,
            frame: record.frame,
            ts_us: record.ts_us,
        };
        engine.process(at, &packet, u64::from(record.orig_len));
    }
}

/// Sends the rows produced so far; `false` when the evidence thread is gone.
fn hand_over(worker: usize, engine: &mut Engine, rows: &SyncSender<super::sink::Message>) -> bool {
    let message = super::sink::Message::Rows(Box::new(Rows {
        worker,
        evidence: engine.take_evidence(),
        counters: engine.counters().clone(),
        open_flows: engine.open_flows(),
    }));
    if rows.send(message).is_err() {
        log::error!("worker {worker}: the evidence thread has stopped; rows are lost");
        return false;
    }
    true
}
