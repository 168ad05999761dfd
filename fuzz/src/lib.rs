//! The bodies of the fuzz targets, as plain functions: `cargo fuzz` calls them from
//! `fuzz_targets/`, and `cargo test` replays the committed corpus through them
//! (`tests/corpus.rs`), so every target runs in CI on stable Rust.
//!
//! Three levels are fuzzed:
//! - **streams** ([`stream`], [`modbus`], [`s7`], [`enip`], [`opcua`], [`tls`]): the input is a
//!   script of TCP segments (and UDP datagrams) between one client and one server, with
//!   directions, sequence jumps (holes, overlaps, retransmissions), FIN/RST and idle gaps, fed
//!   to an analysis engine as decoded packets. This drives TCP reassembly, recognition, every
//!   dissector and every protocol session as real traffic does;
//! - **parsers** ([`dissect`]): the dissectors' entry points called directly on the input;
//! - **reassembly** ([`reassembly::run`]): the TCP reassembler alone on arbitrary segment
//!   sequences, every delivered byte checked against the stream the segments were cut from;
//! - **captures** ([`capture`], [`pipeline`]): the input is a capture file, read by the pcap
//!   and pcapng readers, and for `pipeline` decoded, analysed, attributed and checked against
//!   delegations as `otwitness analyze` does (everything but the Parquet files).
//!
//! A target fails by panicking (or by libFuzzer's time and memory limits). The harness itself
//! asserts invariants that must hold for any input: frame numbers that only grow, payloads
//! inside their frames, rows that point at frames that were read.

#![forbid(unsafe_code)]

pub mod conversation;
pub mod reassembly;
pub mod streams;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use analytics::attribution::Attributor;
use analytics::delegation::{DelegationChecker, Delegations};
use analytics::engine::{shard_of, Engine, EngineConfig};
use analytics::evidence::{Evidence, FrameRef};
use analytics::identity::IdentityMap;
use analytics::sweep::SweepClock;
use dissectors::link::{decode, Packet, TcpFlags, TcpSegment, Transport};
use sensor::capture::CaptureFile;

/// Server ports the generic [`stream`] target picks from by its first byte; the last is no
/// known port, so only content recognition can claim the conversation.
pub const PORTS: [u16; 8] = [502, 102, 44818, 4840, 802, 2221, 2222, 20_000];

/// Header of one record of a stream script: control byte, 16-bit sequence jump, length.
pub const RECORD_HEADER: usize = 4;

/// Control bits of a record.
pub mod ctl {
    /// Sent by the server (else by the client).
    pub const FROM_SERVER: u8 = 0x01;
    pub const FIN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    /// The sequence jump goes back (retransmission, overlap) instead of forward (a hole).
    pub const BACK: u8 = 0x08;
    /// A UDP datagram instead of a TCP segment.
    pub const UDP: u8 = 0x10;
    /// Sent after 15 minutes of silence, past every idle timeout.
    pub const IDLE: u8 = 0x20;
}

/// One record of a stream script, for building seeds.
pub struct Record<'a> {
    pub ctl: u8,
    pub jump: u16,
    pub payload: &'a [u8],
}

/// Appends `record` to a script; payloads longer than 255 bytes become several records.
pub fn push_record(script: &mut Vec<u8>, record: &Record<'_>) {
    let mut chunks = record.payload.chunks(255).peekable();
    if chunks.peek().is_none() {
        script.extend_from_slice(&[record.ctl, (record.jump >> 8) as u8, record.jump as u8, 0]);
    }
    let mut first = true;
    for chunk in chunks {
        let jump = if first { record.jump } else { 0 };
        first = false;
        script.extend_from_slice(&[record.ctl, (jump >> 8) as u8, jump as u8, chunk.len() as u8]);
        script.extend_from_slice(chunk);
    }
}

/// Any protocol: the first byte picks the server port from [`PORTS`].
pub fn stream(data: &[u8]) {
    if let Some((&pick, script)) = data.split_first() {
        run_stream(PORTS[usize::from(pick) % PORTS.len()], script);
    }
}

pub fn modbus(data: &[u8]) {
    run_stream(502, data);
}

pub fn s7(data: &[u8]) {
    run_stream(102, data);
}

pub fn enip(data: &[u8]) {
    run_stream(44818, data);
}

pub fn opcua(data: &[u8]) {
    run_stream(4840, data);
}

pub fn tls(data: &[u8]) {
    run_stream(802, data);
}

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 9, 0, 1));
const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 9, 0, 2));
const CLIENT_PORT: u16 = 40_000;

/// Plays a stream script against an engine: a handshake, then every record.
fn run_stream(port: u16, script: &[u8]) {
    let mut engine = Engine::new(
        EngineConfig::default(),
        Attributor::default(),
        Arc::from(vec!["fuzz".to_owned()]),
    );
    let mut frame = 0u64;
    let mut ts_us = 1_800_000_000_000_000i64;
    // Next sequence number of each direction (client, server).
    let mut next = [1_000u32, 50_000u32];

    let mut send = |engine: &mut Engine, ctl: u8, seq: u32, flags: TcpFlags, payload: &[u8]| {
        frame += 1;
        ts_us += if ctl & ctl::IDLE != 0 {
            900_000_000
        } else {
            1_000
        };
        let from_server = ctl & ctl::FROM_SERVER != 0;
        let (src, dst) = if from_server {
            ((SERVER, port), (CLIENT, CLIENT_PORT))
        } else {
            ((CLIENT, CLIENT_PORT), (SERVER, port))
        };
        let transport = if ctl & ctl::UDP != 0 {
            Transport::Udp {
                src_port: src.1,
                dst_port: dst.1,
                payload,
            }
        } else {
            Transport::Tcp(TcpSegment {
                src_port: src.1,
                dst_port: dst.1,
                seq,
                ack: 0,
                flags,
                payload,
            })
        };
        let packet = Packet::between(src.0, dst.0, transport);
        let at = FrameRef {
            source: 0,
            frame,
            ts_us,
        };
        engine.process(at, &packet, 54 + payload.len() as u64);
    };

    let syn = TcpFlags::SYN;
    let syn_ack = TcpFlags::SYN_ACK;
    send(&mut engine, 0, next[0] - 1, syn, &[]);
    send(&mut engine, ctl::FROM_SERVER, next[1] - 1, syn_ack, &[]);

    let mut rest = script;
    while rest.len() >= RECORD_HEADER {
        let (header, tail) = rest.split_at(RECORD_HEADER);
        let control = header[0];
        let jump = u32::from(u16::from_be_bytes([header[1], header[2]]));
        let len = usize::from(header[3]).min(tail.len());
        let (payload, tail) = tail.split_at(len);
        rest = tail;

        let side = usize::from(control & ctl::FROM_SERVER);
        let seq = if control & ctl::BACK != 0 {
            next[side].wrapping_sub(jump)
        } else {
            next[side].wrapping_add(jump)
        };
        let flags = TcpFlags {
            ack: true,
            fin: control & ctl::FIN != 0,
            rst: control & ctl::RST != 0,
            syn: false,
        };
        send(&mut engine, control, seq, flags, payload);
        let end = seq.wrapping_add(payload.len() as u32);
        // Keep the furthest point sent, modulo wrap-around.
        if end.wrapping_sub(next[side]) < 1 << 31 {
            next[side] = end;
        }
    }

    engine.finish();
    let evidence = engine.take_evidence();
    for write in &evidence.writes {
        assert!(
            write.at.frame >= 1 && write.at.frame <= frame,
            "a write points at a frame"
        );
    }
}

/// The dissectors' entry points, called directly; the first byte picks one.
pub fn dissect(data: &[u8]) {
    use dissectors::{cip, enip, modbus, opcua, s7comm, s7plus, tls, tpkt};

    let Some((&pick, input)) = data.split_first() else {
        return;
    };
    match pick % 12 {
        0 => drop(modbus::parse_request(input)),
        1 => drop(modbus::parse_response(input)),
        2 => {
            if let Ok(pdu) = s7comm::parse_pdu(input) {
                let specs = s7comm::var_specs(pdu.param).count();
                let _ = s7comm::data_items(pdu.data, specs).count();
                let _ = s7comm::return_codes(pdu.param, pdu.data);
            }
        }
        3 => {
            let _ = s7comm::parse_userdata(input);
            let _ = s7comm::userdata_item(input);
            let _ = s7comm::parse_szl(input).map(|s| s.records().count());
            let _ = s7comm::parse_vartab_write(input);
            let _ = s7comm::parse_clock(input);
            let _ = s7comm::parse_pi_service(input);
            let _ = s7comm::parse_block_transfer(input);
            let _ = s7comm::decode_password(input);
        }
        4 => {
            if let Ok(frame) = s7plus::parse_frame(input) {
                let _ = frame;
            }
            let _ = s7plus::vlq_u32(input);
            let _ = s7plus::create_object_ids(input);
            for code in [0x04f2, 0x0542, 0x057c] {
                let _ = s7plus::set_address(code, input);
            }
        }
        5 => {
            let _ = tpkt::frame_tpkt(input);
            let _ = tpkt::parse_cotp(input);
        }
        6 => {
            let _ = enip::frame(input);
            let _ = enip::Cpf::parse(input).map(|c| c.items().count());
            let _ = enip::Cpf::parse_list(input).map(|c| c.items().count());
        }
        7 => {
            if let Ok(request) = cip::parse_request(input) {
                let _ = cip::path::segments(request.path).count();
                let _ = cip::path::summarize(request.path);
            }
            let _ = cip::parse_response(input);
        }
        8 => {
            let _ = cip::cm::parse_forward_open(input, false);
            let _ = cip::cm::parse_forward_open(input, true);
            let _ = cip::cm::parse_forward_open_reply(input);
            let _ = cip::cm::parse_forward_close(input);
            let _ = cip::cm::parse_unconnected_send(input);
            if let Some(multiple) = cip::cm::parse_multiple(input) {
                for i in 0..8 {
                    let _ = multiple.get(i);
                }
            }
        }
        9 => {
            let _ = cip::logix::parse_write_tag(input, false);
            let _ = cip::logix::parse_write_tag(input, true);
            let _ = cip::logix::parse_read_modify_write(input);
            if let Some(command) = cip::pccc::parse_execute_pccc(input) {
                let _ = cip::pccc::action(&command);
            }
        }
        10 => {
            let _ = opcua::transport::frame_message(input);
            let _ = opcua::transport::parse_hello(input);
            let _ = opcua::transport::parse_reverse_hello(input);
            if let Ok((_, mut reader)) = opcua::services::type_id(input) {
                let mut copy = reader.clone();
                let _ = opcua::services::request_header(&mut reader);
                let _ = opcua::services::write_request(&mut reader);
                let _ = opcua::services::activate_session_request(&mut copy);
            }
            let mut reader = opcua::binary::Reader::new(input);
            let _ = reader.variant();
            let _ = reader.data_value();
            let _ = reader.extension_object();
            let _ = reader.diagnostic_info();
        }
        _ => {
            let _ = tls::frame_record(input);
            let _ = tls::frame_handshake(input);
            let _ = tls::parse_client_hello(input).map(|h| h.suites().count());
            let _ = tls::parse_server_hello(input);
            let _ = tls::parse_certificate(input).map(|c| c.certificates().count());
            let _ = tls::parse_alert(input);
        }
    }
}

/// The capture readers alone: every record of a pcap or pcapng file.
pub fn capture(data: &[u8]) {
    let Ok(file) = CaptureFile::from_bytes("fuzz", data.to_vec()) else {
        return;
    };
    let mut last = 0u64;
    let mut packets = file.packets();
    for raw in packets.by_ref() {
        assert!(raw.frame > last, "frame numbers only grow");
        last = raw.frame;
        assert!(
            raw.offset < data.len() as u64,
            "a record starts inside the file"
        );
    }
    let _ = packets.damage();
}

const IDENTITIES: &str = r#"
[[principal]]
id = "service:scada"
addresses = ["10.0.0.0/8"]
opcua_users = ["bob"]
"#;

const GRANTS: &str = r#"
[[delegation]]
id = "CHG-1"
principal = "service:scada"
approved_by = "fuzz"
valid_from = 1970-01-01T00:00:00Z
valid_until = 2100-01-01T00:00:00Z
protocol = "modbus"
targets = ["unit * holding 0..99", "*"]
categories = ["write", "control"]
value_max = 100.0
max_writes = 5
"#;

/// A capture file analysed as `otwitness analyze` does, up to the evidence rows: reading,
/// link decoding, attribution and delegations. It is analysed twice, by one engine and by three
/// shards that sweep by one shared clock and whose sorted evidence is merged, as `analyze` does,
/// and the two must agree row for row (when neither had to evict a flow: the shards have three
/// times the room).
pub fn pipeline(data: &[u8]) {
    let Ok(file) = CaptureFile::from_bytes("fuzz", data.to_vec()) else {
        return;
    };
    let map = IdentityMap::parse("fuzz.toml", IDENTITIES).expect("the fixed map is valid");
    let grants = Delegations::parse("fuzz.toml", GRANTS).expect("the fixed grants are valid");
    let config = EngineConfig {
        max_flows: 64,
        ..EngineConfig::default()
    };
    let attributor = Attributor::new(Some(Arc::new(map)));
    let names: Arc<[String]> = Arc::from(vec!["fuzz".to_owned()]);
    let new_engine = |config| Engine::new(config, attributor.clone(), names.clone());
    let mut engine = new_engine(config.clone());
    let shared = EngineConfig {
        shared_sweeps: true,
        ..config
    };
    let mut shards: Vec<Engine> = (0..3).map(|_| new_engine(shared.clone())).collect();
    let mut clock = SweepClock::default();

    let mut frames = 0u64;
    for raw in file.packets() {
        frames = raw.frame;
        let Ok(packet) = decode(raw.link, raw.data) else {
            continue;
        };
        let at = FrameRef {
            source: 0,
            frame: raw.frame,
            ts_us: raw.ts_us,
        };
        engine.process(at, &packet, u64::from(raw.orig_len));
        if clock.tick(raw.ts_us).sweep_due {
            shards.iter_mut().for_each(|s| s.sweep(clock.now_us()));
        }
        let shard = shard_of(&packet, shards.len());
        shards[shard].process(at, &packet, u64::from(raw.orig_len));
    }
    engine.finish();
    shards.iter_mut().for_each(Engine::finish);

    let mut evidence = engine.take_evidence();
    let evicted = |e: &Engine| e.counters().flows_evicted > 0;
    if !evicted(&engine) && !shards.iter().any(evicted) {
        let mut single = evidence.clone();
        single.sort();
        let parts = shards
            .iter_mut()
            .map(|shard| {
                let mut part = shard.take_evidence();
                part.sort();
                part
            })
            .collect();
        let merged = Evidence::merge_sorted(parts);
        assert_eq!(merged.writes, single.writes, "writes of 3 shards and of 1");
        assert_eq!(
            merged.sessions, single.sessions,
            "sessions of 3 shards and of 1"
        );
        assert_eq!(merged.alerts, single.alerts, "alerts of 3 shards and of 1");
        assert_eq!(merged.assets, single.assets, "assets of 3 shards and of 1");
        assert_eq!(
            merged.credentials, single.credentials,
            "credentials of 3 shards and of 1"
        );
    }

    evidence
        .writes
        .sort_by_key(|w| (w.at.ts_us, w.at.source, w.at.frame, w.item));
    let mut checker = DelegationChecker::new(&grants);
    for write in &mut evidence.writes {
        assert!(
            write.at.frame <= frames,
            "a write points at a frame that was read"
        );
        checker.check(write);
    }
    evidence.alerts.extend(checker.finish());
    evidence.sort();
}
