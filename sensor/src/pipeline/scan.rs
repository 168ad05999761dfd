//! Reading the inputs once, in capture order, and sorting decoded frames out to the shards.
//!
//! The [`Scanner`] walks every input as one continuous capture and decodes each frame's link,
//! network and transport headers once. A frame of some flow goes to the [`Chunk`] list of the
//! shard its direction-free flow hash picks; a frame of no flow (not IP, unsupported link type,
//! undecodable) is only counted. Along the way it learns what the manifest needs of each input
//! (packets, first and last time, where it is damaged) and reports progress.
//!
//! The scanner also keeps the one capture-time clock of idle sweeps ([`SweepClock`]) over the
//! frames of every shard, and puts a sweep into every shard's list where a single engine would
//! have swept, so that each flow ends as it would with one shard.
//!
//! Frames are handed over a chunk at a time, so the caller can analyse one chunk while the next
//! is being read. A chunk refers into the memory-mapped inputs; nothing is copied. What the
//! shards do with their frames is not this module's business.

use std::sync::atomic::Ordering;
use std::time::Instant;

use analytics::engine::shard_of;
use analytics::evidence::FrameRef;
use analytics::latency::{Latency, Sampler, Stage};
use analytics::sweep::SweepClock;
use dissectors::link::{decode, Packet};

use super::{FrameCounts, Progress};
use crate::capture::{CaptureFile, Damage, Packets};

/// Frames read per chunk: enough that handing a chunk over costs little next to analysing it,
/// few enough that a chunk's list (about 130 bytes a frame) stays in the processor's cache.
pub const CHUNK_FRAMES: usize = 2048;

/// What a shard is to do next, in capture order.
pub enum Step<'a> {
    Frame(Frame<'a>),
    /// Look for idle flows as of this capture time (µs), before the frames after it.
    Sweep(i64),
}

/// One decoded frame, waiting for its shard.
pub struct Frame<'a> {
    pub at: FrameRef,
    pub packet: Packet<'a>,
    /// Length on the wire, as the capture record states it.
    pub wire_len: u64,
}

/// The frames of one chunk of the capture, and the sweeps between them, listed per shard in
/// capture order.
pub struct Chunk<'a> {
    pub shards: Vec<Vec<Step<'a>>>,
}

impl<'a> Chunk<'a> {
    pub fn new(shards: usize) -> Chunk<'a> {
        Chunk {
            shards: (0..shards).map(|_| Vec::new()).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(Vec::is_empty)
    }
}

/// What the scan learns about each input.
#[derive(Clone, Debug, Default)]
pub struct InputScan {
    pub packets: u64,
    pub first_ts_us: Option<i64>,
    pub last_ts_us: Option<i64>,
    pub damage: Option<Damage>,
}

/// Reads the inputs in order, a chunk at a time.
pub struct Scanner<'a> {
    files: &'a [(String, CaptureFile)],
    /// The input being read and its packets; `None` once every input is read.
    current: Option<(usize, Packets<'a>)>,
    progress: &'a Progress,
    /// Bytes of the inputs before the current one.
    scanned_before: u64,
    pub inputs: Vec<InputScan>,
    pub frames: FrameCounts,
    /// Sampled decode time.
    pub latency: Latency,
    sampler: Sampler,
    /// Capture time over the frames of every shard, and when to sweep.
    clock: SweepClock,
}

impl<'a> Scanner<'a> {
    pub fn new(files: &'a [(String, CaptureFile)], progress: &'a Progress) -> Scanner<'a> {
        Scanner {
            files,
            current: files.first().map(|(_, file)| (0, file.packets())),
            progress,
            scanned_before: 0,
            inputs: vec![InputScan::default(); files.len()],
            frames: FrameCounts::default(),
            latency: Latency::default(),
            sampler: Sampler::default(),
            clock: SweepClock::default(),
        }
    }

    /// Fills `chunk` (whose lists must be empty) with the next [`CHUNK_FRAMES`] frames, fewer at
    /// the end of the inputs, and leaves it empty once everything was read.
    pub fn fill(&mut self, chunk: &mut Chunk<'a>) {
        let shards = chunk.shards.len();
        let mut read = 0;

        while read < CHUNK_FRAMES {
            let Some((source, packets)) = self.current.as_mut() else {
                return;
            };
            let source = *source;
            let Some(raw) = packets.next() else {
                self.next_input(source);
                continue;
            };
            read += 1;

            let scan = &mut self.inputs[source];
            scan.packets += 1;
            scan.first_ts_us.get_or_insert(raw.ts_us);
            scan.last_ts_us = Some(raw.ts_us);
            self.frames.frames += 1;
            self.frames.bytes += u64::from(raw.orig_len);

            let start = self.sampler.sample().then(Instant::now);
            let decoded = decode(raw.link, raw.data);
            if let Some(start) = start {
                self.latency.record_since(Stage::Decode, start);
            }
            let packet = match decoded {
                Ok(packet) => packet,
                Err(error) => {
                    self.frames.count_undecoded(&error);
                    continue;
                }
            };

            let at = FrameRef {
                source: source as u32,
                frame: raw.frame,
                ts_us: raw.ts_us,
            };
            if self.clock.tick(raw.ts_us).sweep_due {
                let now_us = self.clock.now_us();
                for steps in &mut chunk.shards {
                    steps.push(Step::Sweep(now_us));
                }
            }
            chunk.shards[shard_of(&packet, shards)].push(Step::Frame(Frame {
                at,
                packet,
                wire_len: u64::from(raw.orig_len),
            }));
        }

        if let Some((_, packets)) = &self.current {
            let at = self.scanned_before + packets.offset();
            self.progress.scanned.store(at, Ordering::Relaxed);
        }
    }

    /// Closes input `source` (noting where it is damaged) and moves on to the next one.
    fn next_input(&mut self, source: usize) {
        if let Some((_, packets)) = self.current.take() {
            self.inputs[source].damage = packets.damage().cloned();
        }
        self.scanned_before += self.files[source].1.len();
        self.progress
            .scanned
            .store(self.scanned_before, Ordering::Relaxed);

        let next = source + 1;
        self.current = self.files.get(next).map(|(_, file)| (next, file.packets()));
    }
}
