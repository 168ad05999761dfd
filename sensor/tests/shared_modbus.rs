//! Modbus/TCP over the shared real captures: the write-class requests of every file equal
//! tshark's ground truth (`ground_truth.json`), and each write agrees with tshark's own
//! dissection on frame, function, unit, address and quantity.

mod support;

use std::collections::BTreeMap;
use std::process::Command;

use analytics::evidence::{Category, Protocol};

const WRITE_FCS: &[u32] = &[5, 6, 15, 16, 21, 22, 23];
const READ_FCS: &[u32] = &[1, 2, 3, 4, 20, 24];

/// Differences from tshark that were investigated, with how many more requests we count.
const EXPLAINED_READS: &[(&str, u64, &str)] = &[(
    "mixed-modbus-s7-enip-plant.pcap",
    4,
    "frame 1131 of 141.81.0.10:60689 retransmits 12 bytes and carries 48 new ones (four FC 4 \
     requests, sent again in frame 2992); tshark marks both frames as retransmissions and does \
     not dissect them, but the server answers all four in frame 3008",
)];

#[test]
fn write_and_read_requests_per_file_equal_ground_truth() {
    let Some(pcaps) = support::shared_pcaps() else {
        return;
    };
    let truth = support::ground_truth(&pcaps);
    let entries = support::entries(&truth, &["modbus", "mixed"]);
    assert!(
        entries.len() >= 15,
        "expected the 12 Modbus and 3 mixed captures"
    );

    let mut failures = Vec::new();
    for entry in entries {
        let path = support::entry_path(&pcaps, entry);
        let outcome = support::run(std::slice::from_ref(&path), 2);
        let name = path.file_name().unwrap().to_string_lossy().to_string();

        let mut ours: BTreeMap<u32, u64> = BTreeMap::new();
        for w in &outcome.evidence.writes {
            if w.protocol == Protocol::Modbus && w.category == Category::Write {
                *ours.entry(w.function_code).or_default() += 1;
            }
        }
        let by_fc = &entry["modbus"]["requests_by_fc"];
        let theirs: BTreeMap<u32, u64> = WRITE_FCS
            .iter()
            .filter_map(|fc| Some((*fc, by_fc[fc.to_string()].as_u64()?)))
            .collect();
        if ours != theirs {
            failures.push(format!(
                "{name}: writes by FC ours {ours:?}, tshark {theirs:?}"
            ));
        }

        let reads: u64 = outcome
            .evidence
            .sessions
            .iter()
            .filter(|s| s.protocol == Protocol::Modbus)
            .map(|s| s.reads)
            .sum();
        let truth_reads: u64 = READ_FCS
            .iter()
            .filter_map(|fc| by_fc[fc.to_string()].as_u64())
            .sum();
        let explained = EXPLAINED_READS
            .iter()
            .find(|(file, _, _)| *file == name)
            .map_or(0, |(_, more, _)| *more);
        if reads != truth_reads + explained {
            failures.push(format!(
                "{name}: read requests ours {reads}, tshark {truth_reads}"
            ));
        }
    }
    assert!(failures.is_empty(), "differences:\n{}", failures.join("\n"));
}

/// One write as both sides describe it: frame, function, unit, address, quantity.
type Key = (u64, u32, u32, u32, u32);

#[test]
fn every_write_agrees_with_tshark_field_by_field() {
    let Some(pcaps) = support::shared_pcaps() else {
        return;
    };
    if !support::have_tool("tshark", &["--version"]) {
        return;
    }
    let truth = support::ground_truth(&pcaps);

    let mut compared = 0;
    for entry in support::entries(&truth, &["modbus", "mixed"]) {
        let path = support::entry_path(&pcaps, entry);
        let decode_as: Vec<String> = entry["decode_as"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|d| d.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let theirs = tshark_writes(&path, &decode_as);

        let outcome = support::run(std::slice::from_ref(&path), 1);
        let ours: Vec<Key> = outcome
            .evidence
            .writes
            .iter()
            .filter(|w| w.protocol == Protocol::Modbus && w.category == Category::Write)
            .filter_map(|w| {
                let (unit, address, quantity) = parse_target(&w.target)?;
                Some((w.at.frame, w.function_code, unit, address, quantity))
            })
            .collect();
        let malformed_rows = outcome
            .evidence
            .writes
            .iter()
            .filter(|w| w.target.ends_with("(malformed request)"))
            .count();

        // tshark leaves out fields of a request it finds malformed and gives FC 21 no single
        // address; only writes tshark describes completely are compared one by one, and the
        // rest must be our malformed or file-record rows.
        let complete: Vec<&Key> = theirs
            .iter()
            .filter(|k| k.1 != 21 && k.3 != u32::MAX && k.4 != u32::MAX)
            .collect();
        for key in &complete {
            assert!(
                ours.contains(key),
                "{}: tshark write {key:?} (frame, fc, unit, address, quantity) is missing \
                 from ours",
                path.display()
            );
        }
        let fc21 = theirs.len() - complete.len();
        assert!(
            ours.len() + malformed_rows >= theirs.len() && ours.len() <= theirs.len() + fc21,
            "{}: {} writes of ours, {} of tshark",
            path.display(),
            ours.len(),
            theirs.len()
        );
        compared += complete.len();
    }
    assert!(compared > 4000, "only {compared} writes compared");
}

/// tshark's write-class requests, one key per ADU; `decode_as` as in the ground truth.
fn tshark_writes(path: &std::path::Path, decode_as: &[String]) -> Vec<Key> {
    let mut command = Command::new("tshark");
    command.arg("-n").arg("-r").arg(path);
    for d in decode_as {
        command.arg("-d").arg(d);
    }
    let ports: Vec<String> = std::iter::once("502".to_owned())
        .chain(decode_as.iter().filter_map(|d| {
            let port = d.strip_prefix("tcp.port==")?.split(',').next()?;
            Some(port.to_owned())
        }))
        .collect();
    let filter = format!(
        "modbus.func_code in {{5, 6, 15, 16, 21, 22, 23}} && tcp.dstport in {{{}}}",
        ports.join(", ")
    );
    command.args([
        "-Y",
        &filter,
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for field in [
        "frame.number",
        "mbtcp.unit_id",
        "modbus.func_code",
        "modbus.reference_num",
        "modbus.word_cnt",
        "modbus.bit_cnt",
        "modbus.write_reference_num",
        "modbus.write_word_cnt",
    ] {
        command.args(["-e", field]);
    }
    let output = command.output().expect("tshark runs");
    assert!(
        output.status.success(),
        "tshark failed on {}",
        path.display()
    );

    let mut keys = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let cols: Vec<Vec<u32>> = line
            .split('\t')
            .map(|c| c.split(',').filter_map(|v| v.parse().ok()).collect())
            .collect();
        let get = |i: usize| cols.get(i).cloned().unwrap_or_default();
        let frame = u64::from(get(0).first().copied().unwrap_or(0));
        let (units, fcs) = (get(1), get(2));
        let (refs, words, bits) = (get(3), get(4), get(5));
        let (wrefs, wwords) = (get(6), get(7));
        let (mut r, mut w, mut b, mut wr, mut ww) = (0, 0, 0, 0, 0);
        for (i, fc) in fcs.iter().enumerate() {
            let unit = units.get(i).or(units.last()).copied().unwrap_or(0);
            // Every request in the frame uses up its fields, reads included.
            let (address, quantity) = match fc {
                1 | 2 | 15 => (take(&refs, &mut r), take(&bits, &mut b)),
                3 | 4 | 16 => (take(&refs, &mut r), take(&words, &mut w)),
                5 | 6 | 22 => (take(&refs, &mut r), 1),
                23 => (take(&wrefs, &mut wr), take(&wwords, &mut ww)),
                _ => (0, 0),
            };
            if !WRITE_FCS.contains(fc) {
                continue;
            }
            keys.push((frame, *fc, unit, address, quantity));
        }
    }
    keys
}

fn take(values: &[u32], index: &mut usize) -> u32 {
    let v = values.get(*index).copied().unwrap_or(u32::MAX);
    *index += 1;
    v
}

/// `unit U TABLE A` or `unit U TABLE A..E` → (U, A, E - A + 1).
fn parse_target(target: &str) -> Option<(u32, u32, u32)> {
    let mut words = target.split_whitespace();
    if words.next()? != "unit" {
        return None;
    }
    let unit = words.next()?.parse().ok()?;
    let _table = words.next()?;
    let range = words.next()?;
    if words.next() == Some("(quantity") && words.next() == Some("0,") {
        return Some((unit, range.parse().ok()?, 0));
    }
    let (first, last) = match range.split_once("..") {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let a: u32 = range.parse().ok()?;
            (a, a)
        }
    };
    Some((unit, first, last - first + 1))
}
