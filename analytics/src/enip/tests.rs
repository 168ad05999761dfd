//! The session driven directly with built encapsulation messages: nesting, per-embedded
//! statuses, Forward Open originators on connected writes, encapsulation errors, bounds.

use std::net::IpAddr;

use super::*;
use crate::attribution::Attributor;
use crate::evidence::{Endpoints, Evidence, SessionId};
use crate::session::{SessionMeta, SessionStats};

/// An encapsulation message: header (session 1, sender context `ctx`) and data.
fn encap(command: u16, status: u32, ctx: u8, data: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&command.to_le_bytes());
    m.extend_from_slice(&(data.len() as u16).to_le_bytes());
    m.extend_from_slice(&1u32.to_le_bytes());
    m.extend_from_slice(&status.to_le_bytes());
    m.extend_from_slice(&[ctx, 0, 0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(&0u32.to_le_bytes());
    m.extend_from_slice(data);
    m
}

/// SendRRData with a null address and unconnected data `cip`.
fn rr(ctx: u8, status: u32, cip: &[u8]) -> Vec<u8> {
    let mut d = vec![0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0xb2, 0];
    d.extend_from_slice(&(cip.len() as u16).to_le_bytes());
    d.extend_from_slice(cip);
    encap(command::SEND_RR_DATA, status, ctx, &d)
}

/// SendUnitData on connection `id` with sequence `seq` and `cip`.
fn unit(id: u32, seq: u16, cip: &[u8]) -> Vec<u8> {
    let mut d = vec![0, 0, 0, 0, 0, 0, 2, 0, 0xa1, 0, 4, 0];
    d.extend_from_slice(&id.to_le_bytes());
    d.extend_from_slice(&[0xb1, 0]);
    d.extend_from_slice(&(cip.len() as u16 + 2).to_le_bytes());
    d.extend_from_slice(&seq.to_le_bytes());
    d.extend_from_slice(cip);
    encap(command::SEND_UNIT_DATA, 0, 0, &d)
}

/// A Multiple Service Packet body of `services`.
fn multiple(services: &[&[u8]]) -> Vec<u8> {
    let mut d = (services.len() as u16).to_le_bytes().to_vec();
    let mut offset = 2 + 2 * services.len();
    for s in services {
        d.extend_from_slice(&(offset as u16).to_le_bytes());
        offset += s.len();
    }
    for s in services {
        d.extend_from_slice(s);
    }
    d
}

/// Unconnected Send (to the Connection Manager) of `message`, route port 1 slot 0.
fn unconnected_send(message: &[u8]) -> Vec<u8> {
    let mut d = vec![0x52, 0x02, 0x20, 0x06, 0x24, 0x01, 0x0a, 0x0e];
    d.extend_from_slice(&(message.len() as u16).to_le_bytes());
    d.extend_from_slice(message);
    if message.len() % 2 == 1 {
        d.push(0);
    }
    d.extend_from_slice(&[0x01, 0x00, 0x01, 0x00]);
    d
}

struct Harness {
    session: EnipSession,
    meta: SessionMeta,
    stats: SessionStats,
    out: Evidence,
    attributor: Attributor,
    frame: u64,
}

impl Harness {
    fn new() -> Harness {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        Harness {
            session: EnipSession::default(),
            meta: SessionMeta {
                id: SessionId(7),
                protocol: Protocol::Enip,
                endpoints: Endpoints {
                    client_ip: ip("10.0.0.1"),
                    client_port: 40000,
                    client_mac: None,
                    server_ip: ip("10.0.0.2"),
                    server_port: 44818,
                    server_mac: None,
                    vlan: None,
                },
                first: FrameRef::default(),
            },
            stats: SessionStats::default(),
            out: Evidence::default(),
            attributor: Attributor::default(),
            frame: 0,
        }
    }

    fn send(&mut self, dir: Direction, bytes: &[u8]) -> usize {
        self.frame += 1;
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
            site_key: None,
            clock: None,
        };
        self.session.on_chunk(dir, Chunk::Data(bytes), &mut cx)
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

const GET_SINGLE: &[u8] = &[0x0e, 0x03, 0x20, 0x01, 0x24, 0x01, 0x30, 0x01];
const SET_SINGLE: &[u8] = &[0x10, 0x03, 0x20, 0x64, 0x24, 0x01, 0x30, 0x03, 0x07, 0x00];
/// Write Tag `Tags[5]` DINT 9.
const WRITE_TAGS5: &[u8] = &[
    0x4d, 0x04, 0x91, 0x04, b'T', b'a', b'g', b's', 0x28, 0x05, 0xc4, 0x00, 0x01, 0x00, 9, 0, 0, 0,
];

#[test]
fn a_multiple_service_packet_yields_its_writes_with_their_own_statuses() {
    let mut h = Harness::new();
    let msp = [
        &[0x0a, 0x02, 0x20, 0x02, 0x24, 0x01][..],
        &multiple(&[GET_SINGLE, SET_SINGLE, WRITE_TAGS5]),
    ]
    .concat();
    let request = rr(1, 0, &unconnected_send(&msp));
    assert_eq!(h.send(Direction::ToServer, &request), request.len());
    assert!(h.out.writes.is_empty(), "rows wait for their reply");

    let replies: [&[u8]; 3] = [
        &[0x8e, 0, 0, 0, 0x01, 0x00],
        &[0x90, 0, 0, 0],
        &[0xcd, 0, 0x05, 0x01, 0x00, 0x00],
    ];
    let reply = [&[0x8a, 0, 0x1e, 0][..], &multiple(&replies)].concat();
    let response = rr(1, 0, &reply);
    assert_eq!(h.send(Direction::ToClient, &response), response.len());

    let rows: Vec<(u32, &str, String)> = h
        .out
        .writes
        .iter()
        .map(|w| (w.function_code, w.target.as_str(), w.outcome.text()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (0x10, "class 0x64 inst 1 attr 3", "ok".to_owned()),
            (0x4d, "@tag Tags[5]", "exception:5".to_owned()),
        ]
    );
    assert_eq!(h.out.writes[0].value.as_deref(), Some("0700"));
    assert_eq!(h.out.writes[1].value.as_deref(), Some("9"));
    assert_eq!(h.out.writes[1].numeric_values, vec![9.0]);
    assert_eq!(h.stats.reads, 1);
    assert_eq!(h.out.writes[0].at.frame, 1);
    assert_eq!(h.out.writes[0].response_ts_us, Some(2));
}

#[test]
fn a_failed_unconnected_send_fails_what_it_carries() {
    let mut h = Harness::new();
    h.send(
        Direction::ToServer,
        &rr(3, 0, &unconnected_send(SET_SINGLE)),
    );
    h.send(
        Direction::ToClient,
        &rr(3, 0, &[0xd2, 0, 0x01, 0x01, 0x04, 0x01]),
    );
    assert_eq!(h.out.writes[0].outcome.text(), "exception:1");
}

#[test]
fn an_encapsulation_error_without_cip_reply_is_the_outcome() {
    let mut h = Harness::new();
    h.send(
        Direction::ToServer,
        &rr(2, 0, &unconnected_send(WRITE_TAGS5)),
    );
    h.send(
        Direction::ToClient,
        &encap(command::SEND_RR_DATA, 8, 2, &[]),
    );
    assert_eq!(h.out.writes[0].outcome.text(), "exception:8");
}

/// Large Forward Open, originator 0x1009:0xacf71b98, connection serial 0x0427.
const LARGE_FORWARD_OPEN: &[u8] = &[
    0x5b, 0x02, 0x20, 0x06, 0x24, 0x01, 0x0a, 0x0e, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, 0x27, 0x04,
    0x09, 0x10, 0x98, 0x1b, 0xf7, 0xac, 0x03, 0, 0, 0, 0x40, 0x42, 0x0f, 0x00, 0xf8, 0x0f, 0x00,
    0x42, 0x40, 0x42, 0x0f, 0x00, 0xf8, 0x0f, 0x00, 0x42, 0xa3, 0x02, 0x20, 0x02, 0x24, 0x01,
];

#[test]
fn connected_writes_carry_their_forward_open_originator() {
    let mut h = Harness::new();
    h.send(Direction::ToServer, &rr(4, 0, LARGE_FORWARD_OPEN));
    let reply = [
        0xdb, 0, 0, 0, // Large Forward Open reply, success
        0x01, 0x00, 0x00, 0x80, 0x11, 0x22, 0x33, 0x44, // O->T 0x80000001, T->O
        0x27, 0x04, 0x09, 0x10, 0x98, 0x1b, 0xf7, 0xac, // triad
        0x40, 0x42, 0x0f, 0x00, 0x40, 0x42, 0x0f, 0x00, 0x00, 0x00,
    ];
    h.send(Direction::ToClient, &rr(4, 0, &reply));
    assert_eq!(h.out.credentials.len(), 1);
    assert_eq!(h.out.credentials[0].id, "0x1009:0xacf71b98");
    assert!(h.out.writes.is_empty(), "Forward Open is not a write");

    h.send(Direction::ToServer, &unit(0x8000_0001, 2, WRITE_TAGS5));
    h.send(Direction::ToClient, &unit(0x4433_2211, 2, &[0xcd, 0, 0, 0]));
    let w = &h.out.writes[0];
    assert_eq!(w.outcome, Outcome::Ok);
    let credential = w.credential.as_ref().unwrap();
    assert_eq!(credential.kind, CredentialKind::CipOriginator);
    assert_eq!(credential.id, "0x1009:0xacf71b98");
    assert_eq!(w.device_id.as_deref(), Some("0x1009:0xacf71b98"));
    assert_eq!(h.session.connected_messages, 1);
}

#[test]
fn unanswered_writes_end_as_no_response() {
    let mut h = Harness::new();
    h.send(
        Direction::ToServer,
        &rr(5, 0, &[0x07, 0x02, 0x20, 0x8e, 0x24, 0x01]),
    );
    h.end();
    let w = &h.out.writes[0];
    assert_eq!((w.operation, w.category), ("Stop", Category::Control));
    assert_eq!(w.outcome, Outcome::NoResponse);
}

#[test]
fn nesting_is_bounded_and_garbage_never_panics() {
    let mut h = Harness::new();
    let mut cip = SET_SINGLE.to_vec();
    for _ in 0..40 {
        cip = [
            &[0x0a, 0x02, 0x20, 0x02, 0x24, 0x01][..],
            &multiple(&[&cip]),
        ]
        .concat();
    }
    h.send(Direction::ToServer, &rr(6, 0, &cip));
    assert!(h.stats.malformed > 0);
    assert!(h.out.writes.is_empty());

    let mut seed = 0x1234_5678u32;
    for len in 0..400 {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (seed >> 16) as u8
            })
            .collect();
        let mut msg = rr(7, 0, &bytes);
        h.send(Direction::ToServer, &msg);
        h.send(Direction::ToClient, &msg);
        msg.truncate(len / 2);
        h.send(Direction::ToServer, &msg);
    }
}

#[test]
fn list_identity_reply_is_an_asset() {
    let mut h = Harness::new();
    let mut item_data = vec![0x01, 0x00];
    item_data.extend_from_slice(&[0, 2, 0xaf, 0x12, 10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
    item_data.extend_from_slice(&[0x01, 0x00, 0x0c, 0x00, 0x36, 0x00, 3, 1, 0x30, 0x00]);
    item_data.extend_from_slice(&[0x98, 0x1b, 0xf7, 0xac, 4, b'E', b'N', b'B', b'T', 3]);
    let mut data = vec![1, 0, 0x0c, 0];
    data.extend_from_slice(&(item_data.len() as u16).to_le_bytes());
    data.extend_from_slice(&item_data);
    h.send(
        Direction::ToClient,
        &encap(command::LIST_IDENTITY, 0, 0, &data),
    );
    let a = &h.out.assets[0];
    assert_eq!(a.product.as_deref(), Some("ENBT"));
    assert_eq!(a.serial.as_deref(), Some("0xacf71b98"));
    assert_eq!(a.vendor.as_deref(), Some("0x0001"));
}

/// Write Tag Fragmented `Big`, INT, 6 elements, at `offset`, carrying `values`.
fn fragment(offset: u32, values: &[i16]) -> Vec<u8> {
    let mut d = vec![
        0x53, 0x03, 0x91, 0x03, b'B', b'i', b'g', 0x00, 0xc3, 0x00, 0x06, 0x00,
    ];
    d.extend_from_slice(&offset.to_le_bytes());
    for v in values {
        d.extend_from_slice(&v.to_le_bytes());
    }
    d
}

#[test]
fn write_tag_fragmented_fragments_join_into_one_write() {
    let mut h = Harness::new();
    for (i, part) in [[1i16, 2], [3, 4], [5, 6]].iter().enumerate() {
        let ctx = 10 + i as u8;
        let offset = 4 * i as u32;
        h.send(Direction::ToServer, &rr(ctx, 0, &fragment(offset, part)));
        h.send(Direction::ToClient, &rr(ctx, 0, &[0xd3, 0, 0, 0]));
    }
    assert_eq!(h.out.writes.len(), 1);
    let w = &h.out.writes[0];
    assert_eq!(w.target, "@tag Big[0..5]");
    assert_eq!(w.value.as_deref(), Some("1,2,3,4,5,6"));
    assert_eq!(w.at.frame, 5, "the frame of the last fragment");
    assert_eq!(w.outcome, Outcome::Ok);

    // A refused fragment ends the joined write with what was sent.
    h.send(Direction::ToServer, &rr(20, 0, &fragment(0, &[7, 8])));
    h.send(Direction::ToClient, &rr(20, 0, &[0xd3, 0, 0x0f, 0]));
    assert_eq!(h.out.writes.len(), 2);
    assert_eq!(h.out.writes[1].value.as_deref(), Some("7,8"));
    assert_eq!(h.out.writes[1].outcome.text(), "exception:15");
}

#[test]
fn pccc_typed_writes_are_rows() {
    let mut h = Harness::new();
    let execute = [
        0x4b, 0x02, 0x20, 0x67, 0x24, 0x01, // Execute PCCC to class 0x67 inst 1
        0x07, 0x4d, 0x00, 0xe0, 0x31, 0x2b, 0x3d, // requester id
        0x0f, 0x00, 0x34, 0x12, 0xaa, // CMD 0x0F, FNC 0xAA
        0x04, 0x07, 0x89, 0x00, 0x00, 0x05, 0x00, 0xfe, 0xff, // N7:0 = 5, -2
    ];
    h.send(Direction::ToServer, &rr(30, 0, &execute));
    h.send(Direction::ToClient, &rr(30, 0, &[0xcb, 0, 0, 0]));
    let w = &h.out.writes[0];
    assert_eq!(w.function_code, 0x4b);
    assert_eq!(w.target, "pccc N7:0");
    assert_eq!(w.value.as_deref(), Some("5,-2"));
    assert_eq!(w.outcome, Outcome::Ok);
}

#[test]
fn a_refused_pccc_command_is_an_exception() {
    let mut h = Harness::new();
    let execute = [
        0x4b, 0x02, 0x20, 0x67, 0x24, 0x01, 0x07, 0x4d, 0x00, 0xe0, 0x31, 0x2b, 0x3d, 0x08, 0x00,
        0x35, 0x12, 0x10, 0x00, 0x01, 0x00, // CMD 0x08 unprotected write, address 0x0010
    ];
    h.send(Direction::ToServer, &rr(31, 0, &execute));
    let reply = [
        0xcb, 0, 0, 0, 0x07, 0x4d, 0x00, 0xe0, 0x31, 0x2b, 0x3d, 0x48, 0x10, 0x35, 0x12,
    ];
    h.send(Direction::ToClient, &rr(31, 0, &reply));
    let w = &h.out.writes[0];
    assert_eq!(w.operation, "PCCC Unprotected Write");
    assert_eq!(w.outcome.text(), "exception:pccc-16");
}

#[test]
fn list_identity_over_udp_names_the_device_that_answers() {
    use crate::engine::{Engine, EngineConfig};
    use dissectors::link::{Packet, Transport};
    use std::sync::Arc;

    let names: Arc<[String]> = vec!["test".to_owned()].into();
    let mut engine = Engine::new(EngineConfig::default(), Attributor::default(), names);
    let mut send = |frame: u64, src: &str, dst: &str, payload: &[u8]| {
        let udp = Transport::Udp {
            src_port: 44818,
            dst_port: 44818,
            payload,
        };
        let packet = Packet::between(src.parse().unwrap(), dst.parse().unwrap(), udp);
        let at = FrameRef {
            source: 0,
            frame,
            ts_us: frame as i64,
        };
        engine.process(at, &packet, payload.len() as u64 + 42);
    };
    send(
        1,
        "10.0.0.1",
        "255.255.255.255",
        &encap(command::LIST_IDENTITY, 0, 0, &[]),
    );
    let mut item_data = vec![0x01, 0x00];
    item_data.extend_from_slice(&[0, 2, 0xaf, 0x12, 10, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0]);
    item_data.extend_from_slice(&[0x01, 0x00, 0x0c, 0x00, 0x36, 0x00, 3, 1, 0x30, 0x00]);
    item_data.extend_from_slice(&[0x98, 0x1b, 0xf7, 0xac, 4, b'E', b'N', b'B', b'T', 3]);
    let mut data = vec![1, 0, 0x0c, 0];
    data.extend_from_slice(&(item_data.len() as u16).to_le_bytes());
    data.extend_from_slice(&item_data);
    send(
        2,
        "10.0.0.9",
        "10.0.0.1",
        &encap(command::LIST_IDENTITY, 0, 0, &data),
    );
    engine.finish();
    let evidence = engine.take_evidence();
    let assets: Vec<_> = evidence
        .assets
        .iter()
        .map(|a| (a.ip.unwrap().to_string(), a.product.clone().unwrap()))
        .collect();
    assert_eq!(assets, vec![("10.0.0.9".to_owned(), "ENBT".to_owned())]);
    assert_eq!(engine.counters().udp_packets, 2);
}

#[test]
fn a_repeated_class_3_sequence_count_is_no_second_write() {
    let mut h = Harness::new();
    h.send(Direction::ToServer, &unit(0x8000_0001, 9, WRITE_TAGS5));
    h.send(Direction::ToServer, &unit(0x8000_0001, 9, WRITE_TAGS5));
    h.send(Direction::ToClient, &unit(0x4433_2211, 9, &[0xcd, 0, 0, 0]));
    h.send(Direction::ToServer, &unit(0x8000_0001, 10, WRITE_TAGS5));
    h.send(
        Direction::ToClient,
        &unit(0x4433_2211, 10, &[0xcd, 0, 0, 0]),
    );
    assert_eq!(h.out.writes.len(), 2);
    let counts: Vec<_> = h.session.connected_sequences().collect();
    assert_eq!(counts.len(), 1);
    assert_eq!((counts[0].1.messages, counts[0].1.repeats), (3, 1));
}
