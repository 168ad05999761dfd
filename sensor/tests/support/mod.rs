//! Helpers the integration tests share: where the shared captures and their ground truth are,
//! whether an external tool is present, and running the analysis in-process.
//!
//! A fresh clone has no `../shared`: tests that need it print why they skip. On CI (the `CI`
//! variable set) a missing tool is a failure, not a skip, so CI cannot pass by skipping.

#![allow(dead_code)]

pub mod fixture;
pub mod leaks;
pub mod truth;

use std::path::{Path, PathBuf};
use std::process::Command;

use std::sync::Arc;

use analytics::attribution::Attributor;
use analytics::delegation::Delegations;
use analytics::engine::EngineConfig;
use sensor::pipeline::{analyze, AnalyzeOptions, AnalyzeOutcome, Progress};

/// The shared captures folder, when this checkout has one beside it.
pub fn shared_pcaps() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/pcaps");
    if dir.join("ground_truth.json").is_file() {
        Some(dir)
    } else {
        eprintln!("skipped: ../shared/pcaps not present (fresh clone); fixtures-pcap covers it");
        None
    }
}

/// The parsed `ground_truth.json`.
pub fn ground_truth(pcaps: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(pcaps.join("ground_truth.json")).expect("ground truth");
    serde_json::from_str(&text).expect("ground truth is JSON")
}

/// Ground-truth entries of the shared captures whose path contains one of `folders`.
pub fn entries<'a>(truth: &'a serde_json::Value, folders: &[&str]) -> Vec<&'a serde_json::Value> {
    truth["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter(|f| {
            let path = f["file"].as_str().unwrap_or("");
            folders.iter().any(|d| path.contains(&format!("/{d}/")))
        })
        .collect()
}

/// The local path of a ground-truth entry (`shared/pcaps/x/y.pcap`).
pub fn entry_path(pcaps: &Path, entry: &serde_json::Value) -> PathBuf {
    let rel = entry["file"].as_str().expect("file");
    pcaps.join(rel.trim_start_matches("shared/pcaps/"))
}

/// Whether `tool` runs; when it does not, skips (or fails on CI) with a reason.
pub fn have_tool(tool: &str, probe: &[&str]) -> bool {
    let ok = Command::new(tool)
        .args(probe)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is required on CI (run ./setup)"
        );
        eprintln!("skipped: {tool} is not installed (run ./setup)");
    }
    ok
}

/// Analyses `inputs` in-process with `threads` workers and no identity map.
pub fn run(inputs: &[PathBuf], threads: usize) -> AnalyzeOutcome {
    run_with(inputs, threads, Attributor::default())
}

pub fn run_with(inputs: &[PathBuf], threads: usize, attributor: Attributor) -> AnalyzeOutcome {
    run_full(inputs, threads, attributor, None)
}

pub fn run_full(
    inputs: &[PathBuf],
    threads: usize,
    attributor: Attributor,
    delegations: Option<Arc<Delegations>>,
) -> AnalyzeOutcome {
    let options = AnalyzeOptions {
        inputs: inputs.to_vec(),
        threads,
        engine: EngineConfig::default(),
        attributor,
        delegations,
    };
    analyze(&options, &Progress::default())
}
