//! Properties of every protocol's stream handling, on real conversations from the bundled
//! fixture captures (Modbus, S7comm, EtherNet/IP + CIP, OPC UA, and Modbus/TCP Security and
//! CIP Security with a NULL cipher):
//!
//! - every proper prefix of a whole frame (MBAP ADU, TPKT packet, encapsulation message, OPC
//!   UA chunk, TLS record) frames as incomplete, never as a frame or as garbage;
//! - the conversation cut anywhere and the capture ended there yields only writes the whole
//!   conversation yields (same target, value and function code), never a wrong one;
//! - the conversation cut into random segments, delivered out of order within each turn and
//!   with random retransmissions of bytes already sent, yields the same writes, with the same
//!   outcomes, credentials and attributions, as one segment per turn.
//!
//! The expected writes are those of the unsegmented conversation, which the fixture tests
//! (`sensor/tests/fixtures_*.rs`) check against each generator's truth.json.

use std::path::{Path, PathBuf};

use analytics::engine::EngineConfig;
use analytics::evidence::Evidence;
use dissectors::{enip, modbus, opcua, tls, tpkt};
use fuzz::conversation::Conversation;
use fuzz::streams::{conversations, Stream};
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures-pcap")
        .join(name)
        .join("capture.pcap")
}

/// (fixture, server port) of each protocol.
const FIXTURES: &[(&str, u16)] = &[
    ("modbus-basic", 502),
    ("s7comm-basic", 102),
    ("enip-basic", 44818),
    ("opcua-none", 4840),
    ("modbus-tls12-null", 802),
    ("enip-tls12-null", 2221),
];

/// The conversation of a fixture with the most writes.
fn busiest(name: &str, port: u16) -> (Stream, Vec<String>) {
    let streams = conversations(&fixture(name), &[port]).expect("fixture reads");
    streams
        .into_iter()
        .map(|s| {
            let writes = full_writes(&s);
            (s, writes)
        })
        .max_by_key(|(_, w)| w.len())
        .filter(|(_, w)| !w.is_empty())
        .unwrap_or_else(|| panic!("{name}: no conversation with writes"))
}

/// Everything of a write but where and when it was read.
fn full_key(evidence: &Evidence) -> Vec<String> {
    let mut keys: Vec<String> = evidence
        .writes
        .iter()
        .map(|w| {
            format!(
                "{} {} {:?} {} {:?} {:?} {:?} {:?} {:?}",
                w.function_code,
                w.target,
                w.value,
                w.outcome.text(),
                w.credential,
                w.client_certificate,
                w.device_id,
                w.attribution,
                w.operation
            )
        })
        .collect();
    keys.sort();
    keys
}

/// What the request alone fixes: function, target and value.
fn request_keys(evidence: &Evidence) -> Vec<String> {
    let mut keys: Vec<String> = evidence
        .writes
        .iter()
        .map(|w| format!("{} {} {:?}", w.function_code, w.target, w.value))
        .collect();
    keys.sort();
    keys
}

fn full_writes(stream: &Stream) -> Vec<String> {
    full_key(&play_whole(stream))
}

fn play_whole(stream: &Stream) -> Evidence {
    let mut c = Conversation::open(stream.server_port, EngineConfig::default());
    let mut offset = [0u32; 2];
    for turn in &stream.turns {
        let side = usize::from(turn.from_server);
        c.send(turn.from_server, offset[side], &turn.bytes);
        offset[side] += turn.bytes.len() as u32;
    }
    c.close();
    c.finish()
}

/// A small deterministic generator driven by the proptest seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Plays `stream` with each turn cut into random segments, shuffled within the turn, with
/// random retransmissions of bytes the same side sent before (in this turn or earlier ones).
fn play_mangled(stream: &Stream, seed: u64) -> Evidence {
    let mut rng = Rng(seed | 1);
    let mut c = Conversation::open(stream.server_port, EngineConfig::default());
    let mut sent: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    for turn in &stream.turns {
        let side = usize::from(turn.from_server);
        let base = sent[side].len();
        let len = turn.bytes.len();
        let mut cuts: Vec<usize> = (0..rng.below(6)).map(|_| rng.below(len)).collect();
        cuts.extend([0, len]);
        cuts.sort_unstable();
        cuts.dedup();
        let mut pieces: Vec<(usize, usize)> = cuts.windows(2).map(|w| (w[0], w[1])).collect();
        for i in (1..pieces.len()).rev() {
            if rng.below(3) == 0 {
                pieces.swap(i, rng.below(i + 1));
            }
        }
        sent[side].extend_from_slice(&turn.bytes);
        for (start, end) in pieces {
            let offset = (base + start) as u32;
            c.send(turn.from_server, offset, &turn.bytes[start..end]);
            if rng.below(4) == 0 && base + end > 0 {
                // A retransmission of bytes already sent: any range before this piece's end.
                let to = base + end;
                let from = rng.below(to);
                let to = from + 1 + rng.below(to - from);
                c.send(turn.from_server, from as u32, &sent[side][from..to]);
            }
        }
    }
    c.close();
    c.finish()
}

/// Plays `stream` up to byte `cut` of its turns joined, then ends the capture.
fn play_truncated(stream: &Stream, mut cut: usize) -> Evidence {
    let mut c = Conversation::open(stream.server_port, EngineConfig::default());
    let mut offset = [0u32; 2];
    for turn in &stream.turns {
        let side = usize::from(turn.from_server);
        let take = cut.min(turn.bytes.len());
        if take > 0 {
            c.send(turn.from_server, offset[side], &turn.bytes[..take]);
        }
        offset[side] += take as u32;
        cut -= take;
        if cut == 0 {
            break;
        }
    }
    c.finish()
}

/// Whether every element of `part` is in `whole`, counting repeats.
fn is_sub_multiset(part: &[String], whole: &[String]) -> bool {
    let mut rest = whole.to_vec();
    part.iter().all(|p| match rest.iter().position(|w| w == p) {
        Some(i) => {
            rest.swap_remove(i);
            true
        }
        None => false,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn segmentation_and_retransmission_give_the_same_writes(
        which in 0..FIXTURES.len(),
        seed in any::<u64>(),
    ) {
        let (name, port) = FIXTURES[which];
        let (stream, expected) = busiest(name, port);
        let got = full_key(&play_mangled(&stream, seed));
        prop_assert_eq!(got, expected, "{} seed {}", name, seed);
    }

    #[test]
    fn a_truncated_conversation_never_gives_a_wrong_write(
        which in 0..FIXTURES.len(),
        at in any::<u32>(),
    ) {
        let (name, port) = FIXTURES[which];
        let (stream, _) = busiest(name, port);
        let whole = request_keys(&play_whole(&stream));
        let total: usize = stream.turns.iter().map(|t| t.bytes.len()).sum();
        let cut = at as usize % (total + 1);
        let got = request_keys(&play_truncated(&stream, cut));
        prop_assert!(
            is_sub_multiset(&got, &whole),
            "{} cut at {}: {:?} not among {:?}", name, cut, got, whole
        );
    }
}

/// A framer's verdict reduced to what the property needs.
enum Verdict {
    Frame(usize),
    Incomplete,
    Invalid,
}

fn frame_with(port: u16, bytes: &[u8]) -> Verdict {
    match port {
        502 => match modbus::frame_adu(bytes) {
            modbus::Framing::Adu { consumed, .. } => Verdict::Frame(consumed),
            modbus::Framing::Incomplete { .. } => Verdict::Incomplete,
            modbus::Framing::Invalid(_) => Verdict::Invalid,
        },
        102 => match tpkt::frame_tpkt(bytes) {
            tpkt::TpktFraming::Packet { consumed, .. } => Verdict::Frame(consumed),
            tpkt::TpktFraming::Incomplete { .. } => Verdict::Incomplete,
            tpkt::TpktFraming::Invalid(_) => Verdict::Invalid,
        },
        44818 => match enip::frame(bytes) {
            enip::Framing::Message { consumed, .. } => Verdict::Frame(consumed),
            enip::Framing::Incomplete { .. } => Verdict::Incomplete,
            enip::Framing::Invalid => Verdict::Invalid,
        },
        4840 => match opcua::transport::frame_message(bytes) {
            opcua::transport::Framing::Chunk { consumed, .. } => Verdict::Frame(consumed),
            opcua::transport::Framing::Incomplete { .. } => Verdict::Incomplete,
            opcua::transport::Framing::Invalid(_) => Verdict::Invalid,
        },
        _ => match tls::frame_record(bytes) {
            tls::RecordFraming::Record { consumed, .. } => Verdict::Frame(consumed),
            tls::RecordFraming::Incomplete { .. } => Verdict::Incomplete,
            tls::RecordFraming::Invalid(_) => Verdict::Invalid,
        },
    }
}

#[test]
fn every_prefix_of_a_whole_frame_is_incomplete() {
    for &(name, port) in FIXTURES {
        let (stream, _) = busiest(name, port);
        let mut frames = 0;
        for turn in &stream.turns {
            let mut rest = turn.bytes.as_slice();
            while let Verdict::Frame(len) = frame_with(port, rest) {
                frames += 1;
                for cut in 0..len {
                    assert!(
                        matches!(frame_with(port, &rest[..cut]), Verdict::Incomplete),
                        "{name}: frame {frames} cut at {cut} of {len} is not incomplete"
                    );
                }
                rest = &rest[len..];
            }
            assert!(rest.is_empty(), "{name}: a turn ends inside a frame");
        }
        assert!(frames >= 4, "{name}: only {frames} frames");
    }
}
