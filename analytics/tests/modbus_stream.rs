//! Modbus writes survive whatever TCP does to them: the same conversation cut at every byte
//! boundary, reordered, duplicated, or with a lost segment gives the same writes (minus those
//! lost in the gap, which is reported). Packets are built here, not read from a capture, so
//! every segmentation can be tried.

mod support;

use std::net::Ipv4Addr;

use analytics::engine::EngineConfig;
use analytics::evidence::{AlertKind, Evidence, Outcome};
use dissectors::link::TcpFlags;
use support::Feeder;

const CLIENT: (Ipv4Addr, u16) = (Ipv4Addr::new(10, 0, 0, 1), 40000);
const SERVER: (Ipv4Addr, u16) = (Ipv4Addr::new(10, 0, 0, 2), 502);

/// FC 16, unit 1, 3 registers at 100 (tid 1); FC 6, unit 1, register 7 = 42 (tid 2); FC 5,
/// unit 2, coil 3 on (tid 3).
#[rustfmt::skip]
const REQUESTS: &[u8] = &[
    0x00, 0x01, 0x00, 0x00, 0x00, 0x0d, 0x01,       // MBAP: tid 1, length 13, unit 1
    0x10, 0x00, 0x64, 0x00, 0x03, 0x06,             // FC 16, address 100, quantity 3, 6 bytes
    0x00, 0x0a, 0x00, 0x0b, 0x00, 0x0c,             // 10, 11, 12
    0x00, 0x02, 0x00, 0x00, 0x00, 0x06, 0x01,       // MBAP: tid 2, length 6, unit 1
    0x06, 0x00, 0x07, 0x00, 0x2a,                   // FC 6, address 7, value 42
    0x00, 0x03, 0x00, 0x00, 0x00, 0x06, 0x02,       // MBAP: tid 3, length 6, unit 2
    0x05, 0x00, 0x03, 0xff, 0x00,                   // FC 5, coil 3, on
];

#[rustfmt::skip]
const RESPONSES: &[u8] = &[
    0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x10, 0x00, 0x64, 0x00, 0x03, // FC 16 echo
    0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x01, 0x86, 0x02,                   // FC 6 exception 2
    0x00, 0x03, 0x00, 0x00, 0x00, 0x06, 0x02, 0x05, 0x00, 0x03, 0xff, 0x00, // FC 5 echo
];

const CLIENT_ISN: u32 = 1000;
const SERVER_ISN: u32 = 5000;

/// The client–server conversation of these tests, fed to one engine.
struct Conversation {
    feed: Feeder,
}

impl Conversation {
    fn new() -> Conversation {
        Conversation {
            feed: Feeder::new(EngineConfig::default(), "test"),
        }
    }

    fn send(&mut self, from_client: bool, seq: u32, ack: u32, flags: TcpFlags, payload: &[u8]) {
        let (src, dst) = if from_client {
            (CLIENT, SERVER)
        } else {
            (SERVER, CLIENT)
        };
        self.feed.send(src, dst, seq, ack, flags, payload);
    }

    /// Ends the capture here: the evidence, sorted.
    fn finish(self) -> Evidence {
        let (mut evidence, _) = self.feed.finish();
        evidence.sort();
        evidence
    }

    fn handshake(&mut self) {
        let syn = TcpFlags::SYN;
        let syn_ack = TcpFlags::SYN_ACK;
        self.send(true, CLIENT_ISN, 0, syn, &[]);
        self.send(false, SERVER_ISN, CLIENT_ISN + 1, syn_ack, &[]);
    }

    /// Client segments as (offset into REQUESTS, length); then the server answers in one.
    fn run(mut self, segments: &[(usize, usize)], server_ack_all: bool) -> Evidence {
        let ack = TcpFlags::ACK;
        self.handshake();
        for &(offset, len) in segments {
            let seq = CLIENT_ISN + 1 + offset as u32;
            self.send(
                true,
                seq,
                SERVER_ISN + 1,
                ack,
                &REQUESTS[offset..offset + len],
            );
        }
        let acked = if server_ack_all {
            REQUESTS.len() as u32
        } else {
            0
        };
        self.send(
            false,
            SERVER_ISN + 1,
            CLIENT_ISN + 1 + acked,
            ack,
            RESPONSES,
        );
        let fin = TcpFlags::FIN_ACK;
        let client_end = CLIENT_ISN + 1 + REQUESTS.len() as u32;
        let server_end = SERVER_ISN + 1 + RESPONSES.len() as u32;
        self.send(true, client_end, server_end, fin, &[]);
        self.send(false, server_end, client_end + 1, fin, &[]);
        self.finish()
    }
}

/// (target, value, outcome) of each write, in order.
fn writes(evidence: &Evidence) -> Vec<(String, String, String)> {
    evidence
        .writes
        .iter()
        .map(|w| {
            (
                w.target.clone(),
                w.value.clone().unwrap_or_default(),
                w.outcome.text(),
            )
        })
        .collect()
}

fn expected() -> Vec<(String, String, String)> {
    vec![
        (
            "unit 1 holding 100..102".into(),
            "10,11,12".into(),
            "ok".into(),
        ),
        ("unit 1 holding 7".into(), "42".into(), "exception:2".into()),
        ("unit 2 coil 3".into(), "on".into(), "ok".into()),
    ]
}

#[test]
fn one_segment() {
    let evidence = Conversation::new().run(&[(0, REQUESTS.len())], true);
    assert_eq!(writes(&evidence), expected());
    assert_eq!(evidence.sessions.len(), 1);
    let session = &evidence.sessions[0];
    assert_eq!((session.writes, session.responses, session.gaps), (3, 3, 0));
    assert!(evidence.writes.iter().all(|w| w.at.frame == 3));
}

#[test]
fn cut_at_every_byte_boundary_across_two_segments() {
    for cut in 1..REQUESTS.len() {
        let segments = [(0, cut), (cut, REQUESTS.len() - cut)];
        let evidence = Conversation::new().run(&segments, true);
        assert_eq!(writes(&evidence), expected(), "cut at byte {cut}");

        // The frame that completes each request: the first segment when the request ends in
        // it, else the second (frames 1-2 are the handshake).
        let ends = [19, 31, 43];
        let frames: Vec<u64> = evidence.writes.iter().map(|w| w.at.frame).collect();
        let want: Vec<u64> = ends.iter().map(|&e| if e <= cut { 3 } else { 4 }).collect();
        assert_eq!(frames, want, "cut at byte {cut}");
    }
}

#[test]
fn reordered_and_duplicated_segments() {
    let segments = [(25, 18), (10, 15), (10, 15), (0, 10), (0, 25), (25, 18)];
    let evidence = Conversation::new().run(&segments, true);
    assert_eq!(writes(&evidence), expected());
    assert_eq!(evidence.sessions[0].gaps, 0);
}

#[test]
fn a_lost_segment_loses_only_its_writes_and_is_reported() {
    // The 2nd request (bytes 19..31) never reaches the capture; the server's ACK proves it
    // was sent.
    let segments = [(0, 19), (31, 12)];
    let evidence = Conversation::new().run(&segments, true);
    let got = writes(&evidence);
    assert_eq!(got, vec![expected()[0].clone(), expected()[2].clone()]);
    let session = &evidence.sessions[0];
    assert_eq!((session.gaps, session.gap_bytes), (1, 12));
    assert!(evidence
        .alerts
        .iter()
        .any(|a| a.kind == AlertKind::ReassemblyGap));
}

#[test]
fn a_request_without_answer_is_no_response_after_fin() {
    let mut c = Conversation::new();
    let ack = TcpFlags::ACK;
    c.handshake();
    c.send(true, CLIENT_ISN + 1, SERVER_ISN + 1, ack, &REQUESTS[19..31]);
    let fin = TcpFlags::FIN_ACK;
    c.send(true, CLIENT_ISN + 13, SERVER_ISN + 1, fin, &[]);
    c.send(false, SERVER_ISN + 1, CLIENT_ISN + 14, fin, &[]);
    let evidence = c.finish();
    assert_eq!(evidence.writes.len(), 1);
    assert_eq!(evidence.writes[0].outcome, Outcome::NoResponse);
}

#[test]
fn a_capture_ending_before_the_answer_leaves_the_outcome_unknown() {
    let mut c = Conversation::new();
    let ack = TcpFlags::ACK;
    c.handshake();
    c.send(true, CLIENT_ISN + 1, SERVER_ISN + 1, ack, &REQUESTS[19..31]);
    let evidence = c.finish();
    assert_eq!(evidence.writes[0].outcome, Outcome::Unknown);
}

#[test]
fn a_stream_joined_mid_way_resynchronises_on_the_next_adu() {
    // No handshake: the capture starts 5 bytes into the first request.
    let mut c = Conversation::new();
    let ack = TcpFlags::ACK;
    c.send(
        true,
        CLIENT_ISN + 1 + 5,
        SERVER_ISN + 1,
        ack,
        &REQUESTS[5..],
    );
    c.send(false, SERVER_ISN + 1, CLIENT_ISN + 44, ack, RESPONSES);
    let evidence = c.finish();
    assert_eq!(writes(&evidence), expected()[1..].to_vec());
}
