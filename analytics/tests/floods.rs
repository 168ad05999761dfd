//! Floods stay within the configured bounds and are alerted: a client that never reads the
//! answers (the pending-request cap), a million tiny flows (the flow table), and a PDU that
//! claims to be huge (the reassembly buffer and the protocol's own size limit). Each test
//! counts what the engine reports; none measures time.

mod support;

use std::net::Ipv4Addr;

use analytics::engine::EngineConfig;
use analytics::evidence::{AlertKind, Evidence, Outcome};
use analytics::reassembly::Limits;
use dissectors::link::TcpFlags;
use support::Feeder;

fn alerts(evidence: &Evidence, kind: AlertKind) -> usize {
    evidence.alerts.iter().filter(|a| a.kind == kind).count()
}

const CLIENT: (Ipv4Addr, u16) = (Ipv4Addr::new(10, 0, 0, 1), 40000);

/// A Modbus client sends 3000 single-register writes and the server never answers: every
/// write is in the evidence, the session holds at most `MAX_PENDING` unanswered requests, the
/// flood is alerted once, and the requests pushed out of the bound end `unknown`.
#[test]
fn modbus_client_that_never_reads_answers() {
    const REQUESTS: u16 = 3000;
    let server = (Ipv4Addr::new(10, 0, 0, 2), 502);
    let mut feed = Feeder::new(EngineConfig::default(), "flood");
    let syn = TcpFlags::SYN;
    feed.send(CLIENT, server, 99, 0, syn, &[]);
    feed.send(server, CLIENT, 499, 100, TcpFlags::SYN_ACK, &[]);
    let mut seq = 100u32;
    for tid in 0..REQUESTS {
        let [t0, t1] = tid.to_be_bytes();
        let [v0, v1] = tid.to_be_bytes();
        // MBAP (tid, protocol 0, length 6, unit 1), FC 6, register 9 := tid.
        let adu = [t0, t1, 0, 0, 0, 6, 1, 6, 0, 9, v0, v1];
        feed.send(CLIENT, server, seq, 500, TcpFlags::ACK, &adu);
        seq += adu.len() as u32;
    }
    let (evidence, _) = feed.finish();

    assert_eq!(evidence.writes.len(), usize::from(REQUESTS));
    assert_eq!(alerts(&evidence, AlertKind::RequestFlood), 1);
    let pushed_out = usize::from(REQUESTS) - analytics::modbus::MAX_PENDING;
    let unknown = evidence
        .writes
        .iter()
        .take(pushed_out)
        .filter(|w| w.outcome == Outcome::Unknown)
        .count();
    assert_eq!(unknown, pushed_out, "the oldest writes close as unknown");
    let values: Vec<String> = evidence
        .writes
        .iter()
        .map(|w| w.value.clone().unwrap_or_default())
        .collect();
    let expected: Vec<String> = (0..REQUESTS).map(|v| v.to_string()).collect();
    assert_eq!(values, expected, "no write lost or altered by the bound");
}

/// A million flows of one SYN each, from distinct clients, against a table of 1000 flows:
/// the table never holds more than its bound, every flow beyond it evicts an older one (all
/// counted), and the table-full condition is alerted once.
#[test]
fn a_million_tiny_flows_keep_the_table_bounded() {
    const FLOWS: u32 = 1_000_000;
    const BOUND: usize = 1000;
    let config = EngineConfig {
        max_flows: BOUND,
        ..EngineConfig::default()
    };
    let server = (Ipv4Addr::new(10, 9, 0, 1), 502);
    let syn = TcpFlags::SYN;
    let mut feed = Feeder::new(config, "flood");
    for i in 0..FLOWS {
        let ip = Ipv4Addr::from(0x0a00_0000 | (i >> 8));
        let port = 20_000 + (i & 0xff) as u16;
        feed.send((ip, port), server, i, 0, syn, &[]);
    }
    let (evidence, counters) = feed.finish();

    assert_eq!(counters.flows, u64::from(FLOWS));
    assert!(
        counters.peak_flows <= BOUND as u64,
        "peak {}",
        counters.peak_flows
    );
    assert_eq!(counters.peak_flows, BOUND as u64, "the table filled up");
    // Every flow was closed once: evicted, or still in the table at the end of the capture.
    assert!(counters.flows_evicted >= u64::from(FLOWS) - BOUND as u64);
    assert!(counters.flows_evicted <= u64::from(FLOWS));
    assert_eq!(alerts(&evidence, AlertKind::FlowTableFull), 1);
}

/// An OPC UA client whose chunk header claims a gigabyte: refused by the chunk size limit
/// (malformed, alerted), and the bytes that follow are scanned, not buffered.
#[test]
fn opcua_chunk_claiming_a_gigabyte_is_refused() {
    let (evidence, counters) = opcua_after_hello(1 << 30, 4 << 20);
    assert!(alerts(&evidence, AlertKind::MalformedPdu) >= 1);
    assert!(counters.malformed_pdus >= 1);
    assert_eq!(
        counters.gaps, 0,
        "nothing was held back: the garbage was scanned"
    );
}

/// A chunk claiming the largest size OPC UA allows here (16 MiB) whose bytes keep coming: the
/// reassembly buffer stops at its bound, drops what it held as a counted gap, and the gap is
/// alerted.
#[test]
fn opcua_chunk_larger_than_the_reassembly_bound_is_dropped() {
    let max_pending = Limits::default().max_pending;
    let (evidence, counters) =
        opcua_after_hello(dissectors::opcua::transport::MAX_CHUNK_LEN as u32, 4 << 20);
    assert!(counters.gaps >= 1, "the oversized chunk ends in a gap");
    assert!(counters.gap_bytes > max_pending as u64);
    assert!(alerts(&evidence, AlertKind::ReassemblyGap) >= 1);
}

/// 64 OPC UA messages joined at once from 200 KiB continuation chunks, 18 MB in all: each is
/// below the 16 MiB message limit, but together they pass the bound on bytes held per side,
/// which drops them (alerted) instead of holding up to a gigabyte per direction.
#[test]
fn opcua_continuation_chunks_of_many_requests_stay_bounded() {
    let server = (Ipv4Addr::new(10, 0, 0, 3), 4840);
    let mut stream = hello();
    const CHUNK: usize = 200 * 1024;
    for n in 0..90u32 {
        let request_id = n % 64 + 1;
        let mut body = Vec::with_capacity(CHUNK);
        if n < 64 {
            body.extend_from_slice(&[0x01, 0x00, 0xa1, 0x02]); // WriteRequest type id
        }
        body.resize(CHUNK, 0x11);
        stream.extend_from_slice(b"MSGC");
        stream.extend_from_slice(&(24 + body.len() as u32).to_le_bytes());
        for field in [1u32, 1, n + 1, request_id] {
            // channel id, token id, sequence number, request id
            stream.extend_from_slice(&field.to_le_bytes());
        }
        stream.extend_from_slice(&body);
    }
    let (evidence, counters) = send_opcua(server, &stream);
    let held_alerts = evidence
        .alerts
        .iter()
        .filter(|a| a.kind == AlertKind::MalformedPdu && a.detail.contains("in all"))
        .count();
    assert!(held_alerts >= 1, "alerts: {:?}", evidence.alerts);
    assert_eq!(counters.gaps, 0, "every chunk was framed");
}

fn hello() -> Vec<u8> {
    let url = b"opc.tcp://10.0.0.3:4840";
    let mut hello = b"HELF".to_vec();
    hello.extend_from_slice(&(32 + url.len() as u32).to_le_bytes());
    for v in [0u32, 65_536, 65_536, 0, 0] {
        hello.extend_from_slice(&v.to_le_bytes());
    }
    hello.extend_from_slice(&(url.len() as i32).to_le_bytes());
    hello.extend_from_slice(url);
    hello
}

/// Sends the client bytes `stream` after a handshake, in 1460-byte segments.
fn send_opcua(server: (Ipv4Addr, u16), stream: &[u8]) -> (Evidence, analytics::engine::Counters) {
    let syn = TcpFlags::SYN;
    let mut feed = Feeder::new(EngineConfig::default(), "flood");
    feed.send(CLIENT, server, 0, 0, syn, &[]);
    feed.send(server, CLIENT, 0, 1, TcpFlags::SYN_ACK, &[]);
    let mut seq = 1u32;
    for segment in stream.chunks(1460) {
        feed.send(CLIENT, server, seq, 1, TcpFlags::ACK, segment);
        seq += segment.len() as u32;
    }
    feed.finish()
}

/// Sends a HEL, then a MSG chunk header claiming `claimed` bytes followed by `follow` bytes of
/// filler in 1460-byte segments.
fn opcua_after_hello(claimed: u32, follow: usize) -> (Evidence, analytics::engine::Counters) {
    let server = (Ipv4Addr::new(10, 0, 0, 3), 4840);
    let mut stream = hello();
    stream.extend_from_slice(b"MSGF");
    stream.extend_from_slice(&claimed.to_le_bytes());
    stream.extend_from_slice(&1u32.to_le_bytes()); // channel id
    stream.resize(stream.len() + follow, 0x5a);
    send_opcua(server, &stream)
}
