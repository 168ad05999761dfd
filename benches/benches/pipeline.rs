//! The whole offline pipeline, `sensor::pipeline::analyze`, on real captures, next to two
//! baselines that only read them, so the cost of analysis over reading is visible.
//!
//! Per capture, in group `pipeline/<capture>` (bytes/s of capture file) and again in
//! `pipeline_frames/<capture>` (frames/s):
//!
//! - `raw_read`: `CaptureFile::packets()` over the already opened file, summing the lengths;
//! - `raw_read_libpcap`: libpcap (through the `pcap` crate) reading the same files from
//!   disk, summing the lengths: the reader OT Witness did not pick, for comparison;
//! - `raw_read_decode`: the same, plus `dissectors::link::decode` on every frame;
//! - `analyze_1_thread`, `analyze_2_threads`: `analyze` as `otwitness` runs it, from opening
//!   and mapping the files to the sorted evidence, SHA-256 of every input included.
//!
//! Captures: the two large ones of the shared corpus when `../shared/pcaps` is there
//! (`modbus-fc15-fc16-polling-large.pcap`, `mixed-modbus-s7-enip-plant.pcap`); otherwise the
//! bundled `fixtures-pcap/*/capture.pcap`, analysed together as one run; otherwise nothing is
//! measured and the reason is printed.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use analytics::attribution::Attributor;
use analytics::engine::EngineConfig;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use criterion::{SamplingMode, Throughput};
use dissectors::link::decode;
use sensor::capture::CaptureFile;
use sensor::pipeline::{analyze, AnalyzeOptions, Progress};

/// Shared-corpus captures measured when the corpus is present, relative to `pcaps/`.
const SHARED_CAPTURES: [&str; 2] = [
    "modbus/modbus-fc15-fc16-polling-large.pcap",
    "mixed/mixed-modbus-s7-enip-plant.pcap",
];

/// Samples per bench: one `analyze` run takes milliseconds, so the default 100 would stretch
/// a short measurement time far beyond what was asked. Sampling is flat (the same number of
/// iterations in every sample) for the same reason.
const SAMPLES: usize = 20;

/// One run's inputs, opened once, and their size.
struct Case {
    name: String,
    files: Vec<CaptureFile>,
    bytes: u64,
    frames: u64,
}

impl Case {
    /// Opens `paths`; `None` (with the reason printed) when one of them cannot be read.
    fn open(name: String, paths: Vec<PathBuf>) -> Option<Case> {
        let mut files = Vec::with_capacity(paths.len());
        for path in &paths {
            match CaptureFile::open(path) {
                Ok(file) => files.push(file),
                Err(error) => {
                    eprintln!("pipeline bench: skipping {name}: {error}");
                    return None;
                }
            }
        }
        let bytes = files.iter().map(CaptureFile::len).sum();
        let frames = files.iter().map(|f| f.packets().count() as u64).sum();
        Some(Case {
            name,
            files,
            bytes,
            frames,
        })
    }

    fn paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|f| f.path().to_path_buf()).collect()
    }
}

/// The captures to measure, or why there are none.
fn cases() -> Result<Vec<Case>, String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));

    let shared = manifest.join("../../shared/pcaps");
    if shared.is_dir() {
        let cases: Vec<Case> = SHARED_CAPTURES
            .iter()
            .map(|relative| shared.join(relative))
            .filter_map(|path| {
                let stem = path.file_stem()?.to_string_lossy().into_owned();
                Case::open(stem, vec![path])
            })
            .collect();
        if !cases.is_empty() {
            return Ok(cases);
        }
        eprintln!(
            "pipeline bench: none of {SHARED_CAPTURES:?} in {}",
            shared.display()
        );
    }

    let fixtures = manifest.join("../fixtures-pcap");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .map_err(|e| format!("no shared corpus, and {}: {e}", fixtures.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("capture.pcap"))
        .filter(|path| path.is_file())
        .collect();
    if paths.is_empty() {
        return Err(format!(
            "no shared corpus at {}, and no {}/*/capture.pcap",
            shared.display(),
            fixtures.display()
        ));
    }
    paths.sort();
    let name = format!("fixtures-{}-captures", paths.len());
    Case::open(name, paths)
        .map(|case| vec![case])
        .ok_or_else(|| "the bundled fixtures could not be opened".to_string())
}

/// Iterates every packet record, summing the captured lengths.
fn raw_read(files: &[CaptureFile]) -> u64 {
    let mut bytes = 0;
    for file in files {
        for raw in file.packets() {
            bytes += raw.data.len() as u64;
        }
    }
    bytes
}

/// Reads every packet of the files with libpcap, summing the captured lengths.
fn raw_read_libpcap(paths: &[PathBuf]) -> u64 {
    let mut bytes = 0;
    for path in paths {
        let Ok(mut capture) = pcap::Capture::from_file(path) else {
            continue;
        };
        while let Ok(packet) = capture.next_packet() {
            bytes += packet.data.len() as u64;
        }
    }
    bytes
}

/// As [`raw_read`], and decodes the link, IP and transport headers of every frame.
fn raw_read_decode(files: &[CaptureFile]) -> (u64, u64) {
    let (mut bytes, mut decoded) = (0, 0);
    for file in files {
        for raw in file.packets() {
            bytes += raw.data.len() as u64;
            decoded += u64::from(black_box(decode(raw.link, raw.data)).is_ok());
        }
    }
    (bytes, decoded)
}

fn options(case: &Case, threads: usize) -> AnalyzeOptions {
    AnalyzeOptions {
        inputs: case.paths(),
        threads,
        engine: EngineConfig::default(),
        attributor: Attributor::default(),
        // No delegation policy: writes stay `no_policy`, as in a run without --delegations.
        delegations: None,
    }
}

/// Adds the four benches of `case` to `group`.
fn bench_case(group: &mut BenchmarkGroup<'_, WallTime>, case: &Case) {
    group.sample_size(SAMPLES).sampling_mode(SamplingMode::Flat);
    group.bench_function("raw_read", |b| b.iter(|| raw_read(black_box(&case.files))));
    let paths = case.paths();
    group.bench_function("raw_read_libpcap", |b| {
        b.iter(|| raw_read_libpcap(black_box(&paths)))
    });
    group.bench_function("raw_read_decode", |b| {
        b.iter(|| raw_read_decode(black_box(&case.files)))
    });
    for threads in [1, 2] {
        let options = options(case, threads);
        let id = if threads == 1 {
            "analyze_1_thread".to_string()
        } else {
            format!("analyze_{threads}_threads")
        };
        group.bench_function(id, |b| {
            b.iter(|| analyze(black_box(&options), &Progress::default()))
        });
    }
}

fn pipeline(c: &mut Criterion) {
    let cases = match cases() {
        Ok(cases) => cases,
        Err(why) => {
            eprintln!("pipeline bench: nothing to measure: {why}");
            return;
        }
    };

    for case in &cases {
        // Say what one run finds, so the figures can be put next to the work they stand for.
        let outcome = analyze(&options(case, 1), &Progress::default());
        let (counters, evidence) = (&outcome.counters, &outcome.evidence);
        eprintln!(
            "pipeline bench: {}: {} bytes, {} frames, {} sessions, {} writes, {} alerts",
            case.name,
            case.bytes,
            case.frames,
            counters.sessions,
            evidence.writes.len(),
            evidence.alerts.len()
        );
        assert!(
            outcome.read_anything(),
            "{}: nothing could be read",
            case.name
        );

        let mut group = c.benchmark_group(format!("pipeline/{}", case.name));
        group.throughput(Throughput::Bytes(case.bytes));
        bench_case(&mut group, case);
        group.finish();

        let mut group = c.benchmark_group(format!("pipeline_frames/{}", case.name));
        group.throughput(Throughput::Elements(case.frames));
        bench_case(&mut group, case);
        group.finish();
    }
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
