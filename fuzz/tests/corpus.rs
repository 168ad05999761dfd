//! Every committed corpus file and every regression input, replayed through its target's
//! harness on stable Rust: what the fuzzers once reached without failing must keep passing,
//! and every crash they found stays fixed. `cargo fuzz run TARGET` explores further.

use std::path::Path;

type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("modbus", fuzz::modbus),
    ("s7", fuzz::s7),
    ("enip", fuzz::enip),
    ("opcua", fuzz::opcua),
    ("tls", fuzz::tls),
    ("stream", fuzz::stream),
    ("reassembly", fuzz::reassembly::run),
    ("dissect", fuzz::dissect),
    ("capture", fuzz::capture),
    ("pipeline", fuzz::pipeline),
];

fn replay(folder: &str, require: bool) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let mut total = 0;
    for (name, target) in TARGETS {
        let dir = root.join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            assert!(!require, "{} is missing", dir.display());
            continue;
        };
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        assert!(!require || !files.is_empty(), "{} is empty", dir.display());
        for file in files {
            let data = std::fs::read(&file).expect("readable corpus file");
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name} fails on {}", file.display());
            total += 1;
        }
    }
    total
}

#[test]
fn every_corpus_input_runs_through_its_target() {
    let n = replay("corpus", true);
    eprintln!("{n} corpus inputs replayed");
}

#[test]
fn every_crash_found_stays_fixed() {
    let n = replay("regressions", false);
    eprintln!("{n} regression inputs replayed");
}
