//! Damaged and odd captures through the whole offline pipeline: each is analysed as far as it
//! can be, the damage is reported with file, offset, frame and what was wrong, and nothing
//! read before the damage is missing from the evidence. The reference is the same fixture
//! undamaged (its writes are checked against the generator's truth in `fixtures_modbus.rs`).
//!
//! The reader's own handling of each kind of damage, record by record, is in
//! `capture_files.rs`; this file checks what reaches the evidence.

mod support;

use std::path::{Path, PathBuf};

use analytics::evidence::{AlertKind, Evidence, WriteRow};

fn fixture_bytes() -> Vec<u8> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures-pcap/modbus-basic/capture.pcap");
    std::fs::read(path).expect("fixture")
}

fn reference() -> Evidence {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures-pcap/modbus-basic/capture.pcap");
    support::run(&[path], 1).evidence
}

fn scratch(test: &str, name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("otw-damaged-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("scratch file");
    path
}

/// (offset, captured length) of each record of the little-endian classic pcap `bytes`.
fn records(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        out.push((at, caplen));
        at += 16 + caplen;
    }
    out
}

/// What a write says, without the frame it came from.
fn content(w: &WriteRow) -> String {
    format!(
        "{} {:?} {} {} {:?} {}",
        w.at.ts_us,
        w.endpoints,
        w.function_code,
        w.target,
        w.value,
        w.outcome.text()
    )
}

fn contents<'a>(writes: impl IntoIterator<Item = &'a WriteRow>) -> Vec<String> {
    writes.into_iter().map(content).collect()
}

#[test]
fn garbage_length_in_the_middle_keeps_everything_before_it() {
    let mut bytes = fixture_bytes();
    let recs = records(&bytes);
    let (offset, _) = recs[59];
    bytes[offset + 8..offset + 12].copy_from_slice(&0xfff0_0000u32.to_le_bytes());
    let path = scratch("middle", "middle.pcap", &bytes);

    let outcome = support::run(&[path], 1);
    let input = &outcome.inputs[0];
    assert_eq!(input.packets, 59);
    let damage = input.damage.as_ref().expect("damage reported");
    assert_eq!((damage.frame, damage.offset), (60, offset as u64));
    assert!(
        damage.what.contains("captured length 4293918720"),
        "{}",
        damage.what
    );
    let alert = outcome
        .evidence
        .alerts
        .iter()
        .find(|a| a.kind == AlertKind::CaptureDamaged)
        .expect("damage alert");
    assert!(alert.detail.contains("middle.pcap"), "{}", alert.detail);
    assert!(alert.detail.contains("frame 60"), "{}", alert.detail);

    // Writes requested before frame 60 are all there, with their content; an answer after the
    // damage was never read, so only the request side is compared for those.
    let reference = reference();
    let before: Vec<&WriteRow> = reference
        .writes
        .iter()
        .filter(|w| w.at.frame < 60)
        .collect();
    assert!(!before.is_empty() && before.len() < reference.writes.len());
    let got: Vec<String> = outcome
        .evidence
        .writes
        .iter()
        .map(|w| format!("{} {} {:?}", w.at.frame, w.target, w.value))
        .collect();
    let want: Vec<String> = before
        .iter()
        .map(|w| format!("{} {} {:?}", w.at.frame, w.target, w.value))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn unreadable_inputs_beside_a_good_one_are_named_and_skipped() {
    let mut random = Vec::with_capacity(4096);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..4096 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        random.push(x as u8);
    }
    let mut bad_header = fixture_bytes();
    bad_header[4..6].copy_from_slice(&9u16.to_le_bytes()); // pcap version 9.4
    let good =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures-pcap/modbus-basic/capture.pcap");
    let inputs = vec![
        scratch("unreadable", "empty.pcap", &[]),
        scratch("unreadable", "random.pcap", &random),
        scratch("unreadable", "version.pcap", &bad_header),
        good,
    ];

    let outcome = support::run(&inputs, 1);
    let names: Vec<(&str, &str)> = outcome
        .unreadable
        .iter()
        .map(|u| (u.name.rsplit('/').next().unwrap(), u.error.as_str()))
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(
        names[0].0 == "empty.pcap" && names[0].1.contains("empty"),
        "{names:?}"
    );
    assert!(
        names[1].0 == "random.pcap" && names[1].1.contains("not a pcap"),
        "{names:?}"
    );
    assert!(
        names[2].0 == "version.pcap" && names[2].1.contains("version"),
        "{names:?}"
    );
    assert_eq!(outcome.inputs.len(), 1);
    assert_eq!(
        contents(&outcome.evidence.writes),
        contents(&reference().writes)
    );
}

#[test]
fn timestamps_going_backwards_are_counted_and_the_writes_kept() {
    let mut bytes = fixture_bytes();
    let recs = records(&bytes);
    let (offset, _) = recs[49];
    let secs = u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap());
    bytes[offset..offset + 4].copy_from_slice(&(secs - 3600).to_le_bytes());
    let path = scratch("backwards", "backwards.pcap", &bytes);

    let outcome = support::run(&[path], 1);
    assert_eq!(outcome.counters.timestamps_backwards, 1);
    assert!(outcome.inputs[0].damage.is_none());
    let target = |e: &Evidence| -> Vec<String> {
        e.writes
            .iter()
            .map(|w| format!("{} {} {:?}", w.at.frame, w.target, w.value))
            .collect()
    };
    assert_eq!(target(&outcome.evidence), target(&reference()));
}

#[test]
fn zero_length_records_are_counted_and_take_their_frame_numbers() {
    let bytes = fixture_bytes();
    let recs = records(&bytes);
    let (offset, _) = recs[10];
    let mut edited = bytes[..offset].to_vec();
    let ts = bytes[offset..offset + 8].to_vec();
    for _ in 0..3 {
        edited.extend_from_slice(&ts);
        edited.extend_from_slice(&[0; 8]); // captured 0, original 0
    }
    edited.extend_from_slice(&bytes[offset..]);
    let path = scratch("zero", "zero.pcap", &edited);

    let reference_outcome =
        support::run(
            &[Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../fixtures-pcap/modbus-basic/capture.pcap")],
            1,
        );
    let outcome = support::run(&[path], 1);
    assert!(outcome.inputs[0].damage.is_none());
    assert_eq!(outcome.inputs[0].packets, recs.len() as u64 + 3);
    assert_eq!(
        outcome.frames.undecodable + outcome.frames.non_ip,
        reference_outcome.frames.undecodable + reference_outcome.frames.non_ip + 3
    );
    // The same writes; those after the inserted records three frames later.
    let shifted: Vec<String> = reference_outcome
        .evidence
        .writes
        .iter()
        .map(|w| {
            let frame = if w.at.frame > 10 {
                w.at.frame + 3
            } else {
                w.at.frame
            };
            format!("{frame} {} {:?} {}", w.target, w.value, w.outcome.text())
        })
        .collect();
    let got: Vec<String> = outcome
        .evidence
        .writes
        .iter()
        .map(|w| {
            format!(
                "{} {} {:?} {}",
                w.at.frame,
                w.target,
                w.value,
                w.outcome.text()
            )
        })
        .collect();
    assert_eq!(got, shifted);
}

/// One pcapng block: type, body padded to 32 bits, total length at both ends.
fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.resize(out.len() + padded - body.len(), 0);
    out.extend_from_slice(&total.to_le_bytes());
}

#[test]
fn mixed_link_types_in_one_pcapng_give_the_same_writes() {
    // The fixture rewritten as pcapng with two interfaces: Ethernet (0) and raw IPv4 (1, link
    // type 101). Even-numbered IPv4 frames lose their Ethernet header to interface 1; the
    // others (odd frames, ARP) stay on interface 0.
    let bytes = fixture_bytes();
    let mut ng = Vec::new();
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&[1, 0, 0, 0]); // version 1.0
    shb.extend_from_slice(&u64::MAX.to_le_bytes()); // section length unknown
    block(&mut ng, 0x0a0d_0d0a, &shb);
    for link in [1u16, 101] {
        let mut idb = link.to_le_bytes().to_vec();
        idb.extend_from_slice(&[0, 0]);
        idb.extend_from_slice(&262_144u32.to_le_bytes());
        block(&mut ng, 1, &idb);
    }
    let mut moved = 0;
    for (i, (offset, caplen)) in records(&bytes).into_iter().enumerate() {
        let field =
            |at: usize| u32::from_le_bytes(bytes[offset + at..offset + at + 4].try_into().unwrap());
        let ts = u64::from(field(0)) * 1_000_000 + u64::from(field(4));
        let mut data = &bytes[offset + 16..offset + 16 + caplen];
        let mut orig = field(12);
        let ipv4 = data.get(12..14) == Some(&[0x08, 0x00][..]);
        let interface = u32::from(i % 2 == 1 && ipv4);
        if interface == 1 {
            data = &data[14..];
            orig -= 14;
            moved += 1;
        }
        let mut epb = interface.to_le_bytes().to_vec();
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&orig.to_le_bytes());
        epb.extend_from_slice(data);
        block(&mut ng, 6, &epb);
    }
    let path = scratch("mixed", "mixed.pcapng", &ng);

    let outcome = support::run(&[path], 1);
    assert!(outcome.inputs[0].damage.is_none());
    assert!(moved >= 50, "only {moved} frames moved to raw IP");
    assert_eq!(outcome.frames.unsupported_link, 0);
    let frames = |e: &Evidence| -> Vec<String> {
        e.writes
            .iter()
            .map(|w| format!("{} {}", w.at.frame, content(w)))
            .collect()
    };
    assert_eq!(frames(&outcome.evidence), frames(&reference()));
}
