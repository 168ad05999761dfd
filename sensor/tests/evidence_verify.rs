//! `verify` on intact and tampered evidence: each tampering is reported as exactly one problem
//! of the right kind, naming the right file.

mod evidence_fixture;

use std::path::Path;

use evidence_fixture::*;
use sensor::evidence::{
    sha256_file, sha256_hex, verify, write_evidence, InputInfo, InputKind, InputState, LinkFault,
    Manifest, Problem, VerifyReport,
};

const WRITES_A: &str = "writes/date=2026-12-03/part-00000.parquet";

fn written(name: &str) -> (Scratch, Manifest) {
    let scratch = Scratch::new(name);
    let manifest = write_evidence(
        &scratch.path,
        &sample_run(sample_inputs()),
        &sources(),
        &sample_evidence(),
    )
    .expect("write evidence");
    (scratch, manifest)
}

fn checked(dir: &Path) -> VerifyReport {
    verify(dir).expect("verify runs")
}

fn listed_sha256(manifest: &Manifest, path: &str) -> String {
    let entry = manifest.files.iter().find(|f| f.path == path);
    entry.map(|f| f.sha256.clone()).expect("file listed")
}

#[test]
fn intact_evidence_passes() {
    let (scratch, _) = written("verify-ok");

    let report = checked(&scratch.path);

    assert!(report.is_ok(), "{report}");
    assert_eq!(report.manifests, ["manifest.json"]);
    assert_eq!(report.files_checked, 10);
    assert!(report
        .to_string()
        .ends_with("ok: 1 manifests, 10 files checked, 0 problems\n"));
    // The sample inputs are not on disk.
    assert!(report.inputs.iter().all(|i| i.state == InputState::Absent));
}

#[test]
fn flipped_byte_is_reported_altered() {
    let (scratch, manifest) = written("verify-altered");
    let path = scratch.join(WRITES_A);
    let mut bytes = read(&path);
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, &bytes).expect("tamper");

    let report = checked(&scratch.path);

    let expected = Problem::Altered {
        path: WRITES_A.to_owned(),
        expected_sha256: listed_sha256(&manifest, WRITES_A),
        found_sha256: sha256_hex(&bytes),
        expected_bytes: bytes.len() as u64,
        found_bytes: bytes.len() as u64,
    };
    assert_eq!(report.problems, [expected]);
    assert!(!report.is_ok());
    let line = format!(
        "altered: {WRITES_A} (sha256 expected {}, found {})",
        listed_sha256(&manifest, WRITES_A),
        sha256_hex(&bytes)
    );
    assert!(report.to_string().lines().any(|l| l == line), "{report}");
}

#[test]
fn deleted_file_is_reported_missing() {
    let (scratch, _) = written("verify-missing");
    std::fs::remove_file(scratch.join(WRITES_A)).expect("delete");

    let report = checked(&scratch.path);

    assert_eq!(
        report.problems,
        [Problem::Missing {
            path: WRITES_A.to_owned()
        }]
    );
    assert!(report
        .to_string()
        .starts_with(&format!("missing: {WRITES_A}\n")));
}

#[test]
fn stray_file_is_reported_added() {
    let (scratch, _) = written("verify-added");
    let stray = "alerts/date=2026-12-03/part-99999.parquet";
    std::fs::copy(scratch.join(WRITES_A), scratch.join(stray)).expect("copy");

    let report = checked(&scratch.path);

    assert_eq!(
        report.problems,
        [Problem::Added {
            path: stray.to_owned()
        }]
    );
}

#[test]
fn edited_previous_manifest_breaks_the_link() {
    let (scratch, _) = written("verify-chain");
    let second = write_evidence(
        &scratch.path,
        &sample_run(sample_inputs()),
        &sources(),
        &sample_evidence(),
    )
    .expect("second run");
    assert!(checked(&scratch.path).is_ok());

    let previous = "manifests/manifest-000001.json";
    let path = scratch.join(previous);
    let edited = String::from_utf8(read(&path))
        .expect("utf-8")
        .replace("plant-a-span1", "plant-b-span1");
    std::fs::write(&path, &edited).expect("edit");

    let report = checked(&scratch.path);

    let expected = Problem::BrokenLink {
        manifest: "manifest.json".to_owned(),
        previous: previous.to_owned(),
        fault: LinkFault::HashMismatch {
            expected: second.previous.map(|p| p.sha256).expect("link"),
            found: sha256_hex(edited.as_bytes()),
        },
    };
    assert_eq!(report.problems, [expected]);
    assert_eq!(report.manifests, ["manifest.json", previous]);
    assert_eq!(report.files_checked, 20);
}

#[test]
fn deleted_previous_manifest_breaks_the_link() {
    let (scratch, _) = written("verify-chain-gone");
    write_evidence(
        &scratch.path,
        &sample_run(sample_inputs()),
        &sources(),
        &sample_evidence(),
    )
    .expect("second run");
    std::fs::remove_file(scratch.join("manifests/manifest-000001.json")).expect("delete");

    let report = checked(&scratch.path);

    let broken = Problem::BrokenLink {
        manifest: "manifest.json".to_owned(),
        previous: "manifests/manifest-000001.json".to_owned(),
        fault: LinkFault::Missing,
    };
    assert_eq!(report.problems.first(), Some(&broken));
    // The first run's files are now listed by no reachable manifest.
    let added = report
        .problems
        .iter()
        .filter(|p| matches!(p, Problem::Added { .. }))
        .count();
    assert_eq!(added, 10);
}

#[test]
fn inputs_on_disk_are_rehashed() {
    let scratch = Scratch::new("verify-inputs");
    let capture = scratch.join("capture.pcap");
    std::fs::write(&capture, b"\xd4\xc3\xb2\xa1 pretend capture").expect("write capture");
    let (sha256, bytes) = sha256_file(&capture).expect("hash capture");
    let input = InputInfo {
        name: capture.display().to_string(),
        kind: InputKind::File,
        sha256: Some(sha256.clone()),
        bytes,
        packets: 0,
        first_ts_us: Some(DAY_A),
        last_ts_us: Some(DAY_B),
        damage: None,
    };
    let out = scratch.join("evidence");
    let mut inputs = sample_inputs();
    inputs[0] = input;
    write_evidence(&out, &sample_run(inputs), &sources(), &sample_evidence()).expect("write");

    let report = checked(&out);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.inputs[0].state, InputState::Matches);
    assert_eq!(report.inputs[1].state, InputState::Absent);
    assert!(report
        .to_string()
        .contains("input not checked: site/line2.pcap (absent)"));

    std::fs::write(&capture, b"another capture").expect("alter capture");
    let report = checked(&out);
    assert_eq!(
        report.problems,
        [Problem::InputAltered {
            name: capture.display().to_string(),
            expected_sha256: sha256,
            found_sha256: sha256_hex(b"another capture"),
        }]
    );

    std::fs::remove_file(&capture).expect("remove capture");
    let report = checked(&out);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.inputs[0].state, InputState::Absent);
}
