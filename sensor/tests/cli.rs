//! The `otwitness` binary as a user runs it: one-line errors for a missing file, a file that
//! is no capture and a broken identity map; `analyze` then `verify` on a bundled capture; the
//! evidence read back by DuckDB exactly as DESIGN.md tells auditors to read it; the same files,
//! byte for byte, whatever `--threads` says.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn otwitness(args: &[&str]) -> Output {
    // The site key is made under this folder, not in the user's configuration.
    let config = std::env::temp_dir().join(format!("otw-cli-config-{}", std::process::id()));
    Command::new(env!("CARGO_BIN_EXE_otwitness"))
        .env("XDG_CONFIG_HOME", config)
        .args(args)
        .output()
        .expect("otwitness runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn repo(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
        .display()
        .to_string()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("otw-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn a_missing_capture_is_one_clear_line() {
    let out = temp_dir("missing");
    let o = otwitness(&[
        "analyze",
        "--out",
        out.to_str().unwrap(),
        "/nonexistent/x.pcap",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("/nonexistent/x.pcap"), "{err}");
    assert!(err.contains("No such file"), "{err}");
    assert!(
        !out.exists(),
        "no evidence is written when nothing was read"
    );
}

#[test]
fn a_file_that_is_no_capture_is_named() {
    let out = temp_dir("notcap");
    let readme = repo("Cargo.toml");
    let o = otwitness(&["analyze", "--out", out.to_str().unwrap(), &readme]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("Cargo.toml") && err.contains("not a pcap or pcapng"),
        "{err}"
    );
}

#[test]
fn a_broken_identity_map_names_line_and_column() {
    let dir = temp_dir("ids");
    std::fs::create_dir_all(&dir).unwrap();
    let ids = dir.join("ids.toml");
    std::fs::write(
        &ids,
        "[[principal]]\nid = \"a\"\naddresses = [\"10.0.0.300\"]\n",
    )
    .unwrap();
    let capture = repo("fixtures-pcap/modbus-basic/capture.pcap");
    let out = dir.join("evidence");
    let o = otwitness(&[
        "analyze",
        "--identities",
        ids.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        &capture,
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("ids.toml:3:14:"), "{err}");
    assert!(err.contains("10.0.0.300"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn analyze_then_verify_then_tamper() {
    let dir = temp_dir("e2e");
    let out = dir.join("evidence");
    let capture = repo("fixtures-pcap/modbus-basic/capture.pcap");
    let ids = repo("fixtures-pcap/modbus-basic/identities.toml");
    let o = otwitness(&[
        "analyze",
        "--identities",
        &ids,
        "--sensor-id",
        "test-sensor",
        "--out",
        out.to_str().unwrap(),
        &capture,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = String::from_utf8_lossy(&o.stdout);
    assert!(summary.contains("Writes: 32"), "{summary}");
    assert!(summary.contains("human:alice"), "{summary}");

    let v = otwitness(&["verify", out.to_str().unwrap()]);
    assert!(
        v.status.success(),
        "{}{}",
        String::from_utf8_lossy(&v.stdout),
        stderr(&v)
    );

    if support::have_tool("python3", &["-c", "import duckdb"]) {
        let query = format!(
            "import duckdb; r = duckdb.sql(\"select count(*), count(distinct session_id), \
             min(sensor), sum(case when attribution = 'unattributed' then 1 else 0 end), \
             min(date) from read_parquet('{}/writes/**/*.parquet', hive_partitioning=true)\")\
             .fetchall()[0]; print(*r, sep='|')",
            out.display()
        );
        let py = Command::new("python3")
            .args(["-c", &query])
            .output()
            .unwrap();
        let got = String::from_utf8_lossy(&py.stdout).trim().to_owned();

        // Expected from the scenario's ground truth: its writes, its client connections and
        // those attributed to nobody.
        let truth = repo("fixtures-pcap/modbus-basic/truth.json");
        let truth: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(truth).unwrap()).unwrap();
        let writes = truth["writes"].as_array().unwrap();
        let connections: std::collections::BTreeSet<_> =
            writes.iter().map(|w| w["client_port"].as_u64()).collect();
        let nobody = writes
            .iter()
            .filter(|w| w["attribution"] == "unattributed")
            .count();
        let want = format!(
            "{}|{}|test-sensor|{nobody}|2026-12-03",
            writes.len(),
            connections.len()
        );
        assert_eq!(got, want, "{}", stderr(&py));
    }

    // One byte of one Parquet file changed: verify names it and fails.
    let part = std::fs::read_dir(out.join("writes"))
        .unwrap()
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    let mut bytes = std::fs::read(&part).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&part, bytes).unwrap();
    let v = otwitness(&["verify", out.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(1));
    let report = String::from_utf8_lossy(&v.stdout);
    assert!(
        report.contains("altered") && report.contains("writes/date="),
        "{report}"
    );
}

#[test]
fn stats_prints_every_stage_after_the_summary() {
    let out = temp_dir("stats");
    let capture = repo("fixtures-pcap/modbus-basic/capture.pcap");
    let o = otwitness(&[
        "analyze",
        "--stats",
        "--out",
        out.to_str().unwrap(),
        &capture,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);

    let table = text
        .find("Per-stage latency")
        .unwrap_or_else(|| panic!("no latency table in:\n{text}"));
    assert!(text
        .find("OT Witness")
        .is_some_and(|summary| summary < table));
    let lines: Vec<&str> = text[table..].lines().collect();
    for stage in ["decode", "reassembly", "dissect", "attribute", "write"] {
        let line = lines
            .iter()
            .find(|l| l.trim_start().starts_with(stage))
            .unwrap_or_else(|| panic!("{stage} missing from:\n{text}"));
        // Decode and write always have samples here: every frame is decoded and the run writes
        // five tables.
        if stage == "decode" || stage == "write" {
            let count: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
            assert!(count >= 1, "{line}");
            assert!(
                line.contains("ns") || line.contains("µs") || line.contains("ms"),
                "{line}"
            );
        }
    }

    // Without the flag, no table.
    let quiet_out = temp_dir("stats-off");
    let o = otwitness(&["analyze", "--out", quiet_out.to_str().unwrap(), &capture]);
    assert!(o.status.success());
    assert!(!String::from_utf8_lossy(&o.stdout).contains("Per-stage latency"));
}

/// The files of every table, by path, SHA-256 and rows, as the manifest in `out` lists them.
fn manifest_files(out: &Path) -> Vec<(String, String, u64)> {
    let text = std::fs::read_to_string(out.join("manifest.json")).expect("a manifest");
    let manifest: serde_json::Value = serde_json::from_str(&text).expect("manifest is JSON");
    let files = manifest["files"].as_array().expect("a file list");
    files
        .iter()
        .map(|f| {
            let text = |key: &str| f[key].as_str().unwrap_or_default().to_owned();
            (
                text("path"),
                text("sha256"),
                f["rows"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn the_evidence_files_are_the_same_whatever_the_thread_count() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures-pcap");
    let mut captures: Vec<String> = std::fs::read_dir(&fixtures)
        .expect("fixtures-pcap is part of the repository")
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("capture.pcap"))
        .filter(|p| p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    captures.sort();
    assert!(captures.len() >= 5, "{captures:?}");
    let dir = temp_dir("threads");

    let mut runs = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = dir.join(format!("evidence-{threads}"));
        let mut args = vec![
            "analyze",
            "--quiet",
            "--threads",
            threads,
            "--sensor-id",
            "s1",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(captures.iter().map(String::as_str));
        let o = otwitness(&args);
        assert!(o.status.success(), "{threads} threads: {}", stderr(&o));
        runs.push((threads, manifest_files(&out)));
    }

    let (_, one) = &runs[0];
    let writes: u64 = one
        .iter()
        .filter(|(path, _, _)| path.starts_with("writes/"))
        .map(|(_, _, rows)| rows)
        .sum();
    assert!(writes >= 100, "{one:?}");
    for (threads, files) in &runs[1..] {
        assert_eq!(files, one, "{threads} threads against 1");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
