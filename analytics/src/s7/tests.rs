//! The S7 session fed by hand: a segmented download, a stream joined mid-way, the password
//! binding and header errors.

use std::net::IpAddr;

use super::S7Session;
use crate::attribution::Attributor;
use crate::evidence::{
    Category, CredentialKind, Endpoints, Evidence, FrameRef, Outcome, Protocol, SessionEnd,
    SessionId,
};
use crate::flow::Direction;
use crate::reassembly::Chunk;
use crate::secrets::SiteKey;
use crate::session::{ProtocolSession, SessionCx, SessionMeta, SessionStats};

struct Harness {
    session: S7Session,
    meta: SessionMeta,
    stats: SessionStats,
    out: Evidence,
    attributor: Attributor,
    key: Option<SiteKey>,
    frame: u64,
    /// Bytes offered but not used yet, per direction (as the engine keeps them).
    held: [Vec<u8>; 2],
}

impl Harness {
    fn new() -> Harness {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        Harness {
            session: S7Session::default(),
            meta: SessionMeta {
                id: SessionId(9),
                protocol: Protocol::S7comm,
                endpoints: Endpoints {
                    client_ip: ip("10.0.0.1"),
                    client_port: 40000,
                    client_mac: None,
                    server_ip: ip("10.0.0.2"),
                    server_port: 102,
                    server_mac: None,
                    vlan: None,
                },
                first: FrameRef::default(),
            },
            stats: SessionStats::default(),
            out: Evidence::default(),
            attributor: Attributor::default(),
            key: None,
            frame: 0,
            held: [Vec::new(), Vec::new()],
        }
    }

    fn send(&mut self, dir: Direction, bytes: &[u8]) {
        self.frame += 1;
        let held = &mut self.held[dir.index()];
        held.extend_from_slice(bytes);
        let mut cx = SessionCx {
            at: FrameRef {
                source: 0,
                frame: self.frame,
                ts_us: self.frame as i64,
            },
            meta: &self.meta,
            stats: &mut self.stats,
            out: &mut self.out,
            attributor: &self.attributor,
            site_key: self.key.as_ref(),
            clock: None,
        };
        let used = self.session.on_chunk(dir, Chunk::Data(held), &mut cx);
        held.drain(..used.min(held.len()));
    }

    fn end(&mut self) {
        let mut cx = SessionCx {
            at: FrameRef::default(),
            meta: &self.meta,
            stats: &mut self.stats,
            out: &mut self.out,
            attributor: &self.attributor,
            site_key: None,
            clock: None,
        };
        self.session.on_end(SessionEnd::Fin, &mut cx);
    }
}

/// TPKT + COTP DT around `payload`; `eot` marks the last segment.
fn dt(payload: &[u8], eot: bool) -> Vec<u8> {
    let len = (payload.len() + 7) as u16;
    let mut v = vec![0x03, 0x00];
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(&[0x02, 0xf0, if eot { 0x80 } else { 0x00 }]);
    v.extend_from_slice(payload);
    v
}

/// An S7 PDU: header (with error class/code for acks), parameter, data.
fn pdu(rosctr: u8, pdu_ref: u16, param: &[u8], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0x32, rosctr, 0x00, 0x00];
    v.extend_from_slice(&pdu_ref.to_be_bytes());
    v.extend_from_slice(&(param.len() as u16).to_be_bytes());
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    if rosctr == 2 || rosctr == 3 {
        v.extend_from_slice(&[0x00, 0x00]);
    }
    v.extend_from_slice(param);
    v.extend_from_slice(data);
    v
}

/// Parameter of a download/upload function naming block `_0A00005P` (DB5).
fn transfer(function: u8) -> Vec<u8> {
    let mut p = vec![function, 0x00, 0x01, 0x00, 0, 0, 0, 0, 9];
    p.extend_from_slice(b"_0A00005P");
    p
}

/// Write Var job of one item, DB1.DBW4 = 1234.
fn write_db1_dbw4(pdu_ref: u16) -> Vec<u8> {
    let param = [
        0x05, 0x01, 0x12, 0x0a, 0x10, 0x02, 0x00, 0x02, 0x00, 0x01, 0x84, 0x00, 0x00, 0x20,
    ];
    let data = [0x00, 0x04, 0x00, 0x10, 0x04, 0xd2];
    dt(&pdu(1, pdu_ref, &param, &data), true)
}

fn write_ack(pdu_ref: u16, code: u8) -> Vec<u8> {
    dt(&pdu(3, pdu_ref, &[0x05, 0x01], &[code]), true)
}

#[test]
fn a_segmented_download_is_attributed_to_the_engineering_station() {
    let mut h = Harness::new();
    // The engineering station asks to download DB5; the PLC acknowledges.
    h.send(
        Direction::ToServer,
        &dt(&pdu(1, 1, &transfer(0x1a), &[]), true),
    );
    h.send(Direction::ToClient, &dt(&pdu(3, 1, &[0x1a], &[]), true));
    // The PLC asks for the block; its job comes in two COTP segments, the second split over
    // two TCP segments.
    let job = pdu(1, 0x200, &transfer(0x1b), &[]);
    let (a, b) = job.split_at(10);
    h.send(Direction::ToClient, &dt(a, false));
    let last = dt(b, true);
    h.send(Direction::ToClient, &last[..5]);
    h.send(Direction::ToClient, &last[5..]);
    let block_frame = h.frame;
    // The engineering station sends the block, then the PLC says the download ended.
    h.send(
        Direction::ToServer,
        &dt(
            &pdu(3, 0x200, &[0x1b, 0x00], &[0, 4, 0, 0xfb, 1, 2, 3, 4]),
            true,
        ),
    );
    h.send(
        Direction::ToClient,
        &dt(&pdu(1, 0x201, &transfer(0x1c), &[]), true),
    );
    h.send(Direction::ToServer, &dt(&pdu(3, 0x201, &[0x1c], &[]), true));
    h.end();

    let rows: Vec<_> = h
        .out
        .writes
        .iter()
        .map(|w| (w.function_code, w.operation, w.target.as_str(), w.category))
        .collect();
    assert_eq!(
        rows,
        vec![
            (0x1a, "Request Download", "DB5", Category::Program),
            (0x1b, "Download Block", "DB5", Category::Program),
            (0x1c, "Download Ended", "DB5", Category::Program),
        ]
    );
    let block = &h.out.writes[1];
    assert_eq!(
        block.at.frame, block_frame,
        "the frame that completed the job"
    );
    assert_eq!(block.endpoints.client_ip.to_string(), "10.0.0.1");
    assert!(h.out.writes.iter().all(|w| w.outcome == Outcome::Ok));
}

#[test]
fn a_stream_joined_mid_way_finds_the_next_packet() {
    let mut h = Harness::new();
    h.session.resync(Direction::ToServer);
    h.session.resync(Direction::ToClient);
    let mut client = write_db1_dbw4(1)[9..].to_vec();
    client.extend_from_slice(&write_db1_dbw4(2));
    h.send(Direction::ToServer, &client);
    let mut server = write_ack(1, 0xff)[3..].to_vec();
    server.extend_from_slice(&write_ack(2, 0x0a));
    h.send(Direction::ToClient, &server);
    assert_eq!(h.out.writes.len(), 1);
    let w = &h.out.writes[0];
    assert_eq!(
        (w.target.as_str(), w.value.as_deref()),
        ("DB1.DBW4", Some("1234"))
    );
    assert_eq!(w.outcome, Outcome::Exception("10".into()));
}

#[test]
fn a_password_binds_until_cleared_and_a_header_error_fails_every_item() {
    let mut h = Harness::new();
    h.key = Some(SiteKey::from_bytes([3; 32]));
    // Password "s3cret" obfuscated.
    let plain = b"s3cret  ";
    let mut enc = [0u8; 8];
    for i in 0..8 {
        enc[i] = plain[i] ^ 0x55 ^ if i >= 2 { enc[i - 2] } else { 0 };
    }
    let ud_param = |sub: u8| [0x00, 0x01, 0x12, 0x04, 0x11, 0x45, sub, 0x00];
    let mut data = vec![0xff, 0x09, 0x00, 0x08];
    data.extend_from_slice(&enc);
    h.send(
        Direction::ToServer,
        &dt(&pdu(7, 5, &ud_param(1), &data), true),
    );
    let resp = [
        0x00, 0x01, 0x12, 0x08, 0x12, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    h.send(
        Direction::ToClient,
        &dt(&pdu(7, 5, &resp, &[0x0a, 0x00, 0x00, 0x00]), true),
    );
    h.send(Direction::ToServer, &write_db1_dbw4(6));
    // Header error class 0x85 code 0x00 on the answer.
    let mut ack = pdu(3, 6, &[0x05, 0x01], &[0xff]);
    ack[10] = 0x85;
    h.send(Direction::ToClient, &dt(&ack, true));
    h.send(
        Direction::ToServer,
        &dt(&pdu(7, 7, &ud_param(2), &[0x0a, 0, 0, 0]), true),
    );
    h.send(Direction::ToServer, &write_db1_dbw4(8));
    h.send(Direction::ToClient, &write_ack(8, 0xff));

    let fingerprint = SiteKey::from_bytes([3; 32]).fingerprint(b"s3cret");
    let w = &h.out.writes;
    assert_eq!(w.len(), 2);
    let c = w[0].credential.as_ref().unwrap();
    assert_eq!(
        (c.kind, c.id.as_str()),
        (CredentialKind::S7Password, fingerprint.as_str())
    );
    assert_eq!(w[0].outcome, Outcome::Exception((0x85u16 << 8).to_string()));
    assert_eq!(w[1].credential, None, "cleared");
    assert_eq!(h.out.credentials.len(), 1);
    assert_eq!(
        h.out.credentials[0].secret_fingerprint.as_deref(),
        Some(fingerprint.as_str())
    );
    assert!(!format!("{:?}", h.out).contains("s3cret"));
}

#[test]
fn garbage_never_panics() {
    let mut h = Harness::new();
    let mut seed: u32 = 1;
    for round in 0..200 {
        let mut bytes = write_db1_dbw4(round as u16);
        for b in bytes.iter_mut() {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            if seed.is_multiple_of(7) {
                *b = (seed >> 16) as u8;
            }
        }
        let dir = if round % 2 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        h.send(dir, &bytes);
    }
    h.end();
}

#[test]
fn tls_inside_cotp_is_opaque() {
    let mut h = Harness::new();
    h.meta.protocol = Protocol::S7commPlus;
    // A TLS ClientHello record head carried in a COTP data unit.
    h.send(
        Direction::ToServer,
        &dt(&[0x16, 0x03, 0x01, 0x00, 0x05, 1, 0, 0, 1, 0], true),
    );
    h.send(
        Direction::ToClient,
        &dt(&[0x17, 0x03, 0x03, 0x00, 0x02, 9, 9], true),
    );
    assert!(h.stats.opaque);
    let opaque = h
        .out
        .alerts
        .iter()
        .filter(|a| a.kind == crate::evidence::AlertKind::OpaqueSession)
        .count();
    assert_eq!(opaque, 1);
    assert!(h.out.writes.is_empty());
}

#[test]
fn s7comm_plus_cpu_stop_is_matched_by_sequence() {
    let mut h = Harness::new();
    h.meta.protocol = Protocol::S7commPlus;
    // V1 request SetVariable (0x04f2), sequence 7, session 0x380, flags 0x34; object 0x34,
    // one attribute 2167, flags 0, datatype 4 (UDInt), value 1 (stop); then the trailer.
    let mut req = vec![
        0x72, 0x01, 0x00, 0x1b, 0x31, 0x00, 0x00, 0x04, 0xf2, 0x00, 0x00,
    ];
    req.extend_from_slice(&[0x00, 0x07, 0x00, 0x00, 0x03, 0x80, 0x34]);
    req.extend_from_slice(&[0x00, 0x00, 0x00, 0x34, 0x01, 0x90, 0x77, 0x00, 0x04, 0x01]);
    req.extend_from_slice(&[0x72, 0x01, 0x00, 0x00]);
    h.send(Direction::ToServer, &dt(&req, true));
    // Response: opcode 0x32, same function and sequence, flags, return value 0.
    let mut resp = vec![
        0x72, 0x01, 0x00, 0x0c, 0x32, 0x00, 0x00, 0x04, 0xf2, 0x00, 0x00,
    ];
    resp.extend_from_slice(&[0x00, 0x07, 0x00, 0x00, 0x72, 0x01, 0x00, 0x00]);
    h.send(Direction::ToClient, &dt(&resp, true));
    let w = &h.out.writes;
    assert_eq!(w.len(), 1);
    assert_eq!((w[0].operation, w[0].target.as_str()), ("CPU Stop", "cpu"));
    assert_eq!(
        (w[0].category, w[0].protocol),
        (Category::Control, Protocol::S7commPlus)
    );
    assert_eq!(w[0].outcome, Outcome::Ok);
}
