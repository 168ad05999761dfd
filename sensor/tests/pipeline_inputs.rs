//! The offline pipeline over the bundled fixture captures: the evidence does not depend on the
//! thread count, a capture split into two files (given in either order) reads as one, and a
//! damaged capture is analysed up to the damage with the damage reported.

mod support;

use std::path::{Path, PathBuf};

use analytics::evidence::{AlertKind, Evidence};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures-pcap")
        .join(name)
        .join("capture.pcap")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("otw-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Everything of a write but where it was read from.
fn writes(evidence: &Evidence) -> Vec<String> {
    evidence
        .writes
        .iter()
        .map(|w| {
            format!(
                "{} {:?} {} {} {:?} {} {}",
                w.at.ts_us,
                w.endpoints,
                w.function_code,
                w.target,
                w.value,
                w.outcome.text(),
                w.attribution
            )
        })
        .collect()
}

/// Splits a classic pcap after `records` records into two files.
fn split_pcap(bytes: &[u8], records: usize, first: &Path, second: &Path) {
    let little = bytes[0] == 0xd4;
    let read = |at: usize| {
        let b = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let mut offset = 24;
    for _ in 0..records {
        offset += 16 + read(offset + 8) as usize;
    }
    let one = bytes[..offset].to_vec();
    let mut two = bytes[..24].to_vec();
    two.extend_from_slice(&bytes[offset..]);
    std::fs::write(first, &one).unwrap();
    std::fs::write(second, &two).unwrap();
}

#[test]
fn evidence_is_the_same_whatever_the_thread_count() {
    let inputs: Vec<PathBuf> = ["modbus-basic", "modbus-tls12-null"]
        .iter()
        .map(|n| fixture(n))
        .filter(|p| p.is_file())
        .collect();
    assert!(
        !inputs.is_empty(),
        "fixtures-pcap captures are part of the repository"
    );
    let one = support::run(&inputs, 1).evidence;
    for threads in [2, 3, 8] {
        let many = support::run(&inputs, threads).evidence;
        assert_eq!(many.writes, one.writes, "{threads} threads");
        assert_eq!(many.sessions, one.sessions, "{threads} threads");
        assert_eq!(many.alerts, one.alerts, "{threads} threads");
        assert_eq!(many.assets, one.assets, "{threads} threads");
        assert_eq!(many.credentials, one.credentials, "{threads} threads");
    }
    assert!(one.writes.len() >= 30);
}

#[test]
fn a_capture_split_in_two_files_reads_as_one_in_either_order() {
    let whole = fixture("modbus-basic");
    let bytes = std::fs::read(&whole).unwrap();
    let dir = temp_dir("split");
    let (first, second) = (dir.join("a-first.pcap"), dir.join("b-second.pcap"));
    // Record 60 lies inside the busiest client's connection, so its flow spans both files.
    split_pcap(&bytes, 60, &first, &second);

    let reference = support::run(&[whole], 2);
    let split = support::run(&[second.clone(), first.clone()], 2);
    assert_eq!(writes(&split.evidence), writes(&reference.evidence));
    assert_eq!(
        split.evidence.sessions.len(),
        reference.evidence.sessions.len()
    );
    assert_eq!(split.inputs.len(), 2);
    assert_eq!(
        split.inputs.iter().map(|i| i.packets).sum::<u64>(),
        reference.frames.frames
    );

    // Frames are numbered per file: a write of the second file restarts from 1.
    let in_second = split
        .evidence
        .writes
        .iter()
        .filter(|w| w.at.source == 1)
        .count();
    assert!(
        in_second > 0,
        "the split must leave writes in the second file"
    );
}

#[test]
fn a_truncated_capture_keeps_everything_before_the_damage() {
    let whole = fixture("modbus-basic");
    let bytes = std::fs::read(&whole).unwrap();
    let dir = temp_dir("truncated");
    let (head, tail, cut) = (
        dir.join("head.pcap"),
        dir.join("tail.pcap"),
        dir.join("cut.pcap"),
    );
    split_pcap(&bytes, 100, &head, &tail);
    // The first 100 records, then 5 bytes of the 101st record's header.
    let mut damaged = std::fs::read(&head).unwrap();
    let good_len = damaged.len();
    damaged.extend_from_slice(&bytes[good_len..good_len + 5]);
    std::fs::write(&cut, &damaged).unwrap();

    let reference = support::run(&[whole], 1);
    let outcome = support::run(&[cut], 1);
    let input = &outcome.inputs[0];
    assert_eq!(input.packets, 100);
    let damage = input.damage.as_ref().expect("damage reported");
    assert_eq!((damage.frame, damage.offset), (101, good_len as u64));
    let alert = outcome
        .evidence
        .alerts
        .iter()
        .find(|a| a.kind == AlertKind::CaptureDamaged);
    assert!(alert.expect("damage alert").detail.contains("cut.pcap"));

    // Every write sent in the first 100 frames is there with the same content; its outcome is
    // the same when the answer came before the damage, else unknown.
    let last_ts = input.last_ts_us.unwrap();
    let expected: Vec<_> = reference
        .evidence
        .writes
        .iter()
        .filter(|w| w.at.frame <= 100)
        .collect();
    assert_eq!(outcome.evidence.writes.len(), expected.len());
    for (got, want) in outcome.evidence.writes.iter().zip(expected) {
        assert_eq!(
            (got.at, &got.target, &got.value),
            (want.at, &want.target, &want.value)
        );
        if want.response_ts_us.is_some_and(|ts| ts <= last_ts) {
            assert_eq!(got.outcome, want.outcome, "frame {}", want.at.frame);
        } else {
            assert_eq!(got.outcome.text(), "unknown", "frame {}", want.at.frame);
        }
    }
}
