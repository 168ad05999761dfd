//! Session behaviour on hand-built streams: chunk joining and aborts, Sign and
//! SignAndEncrypt channels, user tokens, ServiceFault outcomes, and no panic on garbage.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::attribution::Attributor;
use crate::evidence::{Endpoints, Evidence, FrameRef, SessionId};
use crate::session::{SessionMeta, SessionStats};

struct Harness {
    session: OpcuaSession,
    meta: SessionMeta,
    stats: SessionStats,
    out: Evidence,
    frame: u64,
}

impl Harness {
    fn new() -> Harness {
        let ip = |d| IpAddr::V4(Ipv4Addr::new(10, 0, 0, d));
        Harness {
            session: OpcuaSession::default(),
            meta: SessionMeta {
                id: SessionId(1),
                protocol: Protocol::Opcua,
                endpoints: Endpoints {
                    client_ip: ip(1),
                    client_port: 50000,
                    client_mac: None,
                    server_ip: ip(2),
                    server_port: 4840,
                    server_mac: None,
                    vlan: None,
                },
                first: FrameRef::default(),
            },
            stats: SessionStats::default(),
            out: Evidence::default(),
            frame: 0,
        }
    }

    /// Feeds `data` as one frame of `dir`; returns bytes used.
    fn feed(&mut self, dir: Direction, data: &[u8]) -> usize {
        self.frame += 1;
        let attributor = Attributor::default();
        let mut cx = SessionCx {
            at: FrameRef {
                source: 0,
                frame: self.frame,
                ts_us: self.frame as i64,
            },
            meta: &self.meta,
            stats: &mut self.stats,
            out: &mut self.out,
            attributor: &attributor,
            site_key: None,
            clock: None,
        };
        self.session.on_chunk(dir, Chunk::Data(data), &mut cx)
    }
}

/// A transport chunk: type, chunk type, size, then `body`.
fn chunk(kind: &[u8; 3], chunk_type: u8, body: &[u8]) -> Vec<u8> {
    let mut v = kind.to_vec();
    v.push(chunk_type);
    v.extend_from_slice(&((body.len() + 8) as u32).to_le_bytes());
    v.extend_from_slice(body);
    v
}

/// A MSG chunk on channel 1, token 1, with a sequence header and `payload`.
fn msg(chunk_type: u8, request_id: u32, payload: &[u8]) -> Vec<u8> {
    let mut body = vec![1, 0, 0, 0, 1, 0, 0, 0];
    body.extend_from_slice(&request_id.to_le_bytes()); // sequence number
    body.extend_from_slice(&request_id.to_le_bytes()); // request id
    body.extend_from_slice(payload);
    chunk(b"MSG", chunk_type, &body)
}

/// An OPN chunk with `policy`, no certificates, and `rest` (sequence header and body, or
/// cipher text).
fn opn(policy: &str, rest: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 0, 0, 0];
    body.extend_from_slice(&(policy.len() as u32).to_le_bytes());
    body.extend_from_slice(policy.as_bytes());
    body.extend_from_slice(&[0xff; 8]); // null certificate and thumbprint
    body.extend_from_slice(rest);
    chunk(b"OPN", b'F', &body)
}

fn string(s: &[u8]) -> Vec<u8> {
    let mut v = (s.len() as u32).to_le_bytes().to_vec();
    v.extend_from_slice(s);
    v
}

/// Type id (four-byte NodeId) and a RequestHeader with token i=`token` and `audit`.
fn request_start(type_id: u16, token: u8, audit: Option<&[u8]>) -> Vec<u8> {
    let mut v = vec![0x01, 0x00];
    v.extend_from_slice(&type_id.to_le_bytes());
    v.extend_from_slice(&[0x00, token]); // authentication token, two-byte NodeId
    v.extend_from_slice(&[0; 16]); // timestamp, handle, return diagnostics
    match audit {
        Some(a) => v.extend_from_slice(&string(a)),
        None => v.extend_from_slice(&[0xff; 4]),
    }
    v.extend_from_slice(&[0; 4]); // timeout hint
    v.extend_from_slice(&[0, 0, 0]); // additional header
    v
}

/// Type id and a ResponseHeader with `result`.
fn response_start(type_id: u16, result: u32) -> Vec<u8> {
    let mut v = vec![0x01, 0x00];
    v.extend_from_slice(&type_id.to_le_bytes());
    v.extend_from_slice(&[0; 12]); // timestamp, handle
    v.extend_from_slice(&result.to_le_bytes());
    v.push(0); // diagnostic info mask
    v.extend_from_slice(&[0xff; 4]); // string table null
    v.extend_from_slice(&[0, 0, 0]); // additional header
    v
}

/// A WriteRequest of `n` WriteValues of ns=2;s=SP, Double 1.5.
fn write_request(token: u8, n: u32, audit: Option<&[u8]>) -> Vec<u8> {
    let mut v = request_start(673, token, audit);
    v.extend_from_slice(&n.to_le_bytes());
    for _ in 0..n {
        v.extend_from_slice(&[0x03, 0x02, 0x00]);
        v.extend_from_slice(&string(b"SP"));
        v.extend_from_slice(&13u32.to_le_bytes());
        v.extend_from_slice(&[0xff; 4]);
        v.extend_from_slice(&[0x01, 0x0b]);
        v.extend_from_slice(&1.5f64.to_le_bytes());
    }
    v
}

fn write_response(statuses: &[u32]) -> Vec<u8> {
    let mut v = response_start(676, 0);
    v.extend_from_slice(&(statuses.len() as u32).to_le_bytes());
    for s in statuses {
        v.extend_from_slice(&s.to_le_bytes());
    }
    v.extend_from_slice(&[0xff; 4]);
    v
}

/// ActivateSession with a UserNameIdentityToken (`user`, password "pw", no algorithm).
fn activate_user(token: u8, user: &[u8]) -> Vec<u8> {
    let mut v = request_start(467, token, None);
    v.extend_from_slice(&[0xff; 8]); // client signature
    v.extend_from_slice(&[0xff; 4]); // software certificates
    v.extend_from_slice(&[0xff; 4]); // locale ids
    let mut body = string(b"p");
    body.extend_from_slice(&string(user));
    body.extend_from_slice(&string(b"pw"));
    body.extend_from_slice(&[0xff; 4]);
    v.extend_from_slice(&[0x01, 0x00, 0x44, 0x01, 0x01]); // i=324, binary body
    v.extend_from_slice(&string(&body));
    v.extend_from_slice(&[0xff; 8]); // user token signature
    v
}

#[test]
fn chunks_join_per_request_and_aborts_drop() {
    let mut h = Harness::new();
    let request = write_request(1, 3, None);
    let (a, b) = request.split_at(30);
    let mut stream = msg(b'C', 7, a);
    stream.extend_from_slice(&msg(b'C', 8, &request[..10])); // another request, aborted
    assert_eq!(h.feed(Direction::ToServer, &stream), stream.len());
    assert!(h.out.writes.is_empty());
    let abort = msg(b'A', 8, &[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    h.feed(Direction::ToServer, &abort);
    let last = msg(b'F', 7, b);
    h.feed(Direction::ToServer, &last);
    let response = msg(b'F', 7, &write_response(&[0, 0x8034_0000, 0]));
    h.feed(Direction::ToClient, &response);
    let rows = &h.out.writes;
    assert_eq!(rows.len(), 3);
    assert!(rows
        .iter()
        .all(|w| w.at.frame == 3 && w.target == "ns=2;s=SP"));
    assert_eq!(rows[0].value.as_deref(), Some("1.5"));
    assert_eq!(rows[1].outcome, Outcome::Exception("2150891520".into()));
    assert_eq!(rows[2].outcome, Outcome::Ok);
    assert!(h.session.partial[0].is_empty());
}

#[test]
fn users_reactivation_and_audit_entries() {
    let mut h = Harness::new();
    h.feed(
        Direction::ToServer,
        &msg(b'F', 1, &write_request(5, 1, Some(b"run-1"))),
    );
    h.feed(
        Direction::ToServer,
        &msg(b'F', 2, &activate_user(5, b"alice")),
    );
    h.feed(Direction::ToClient, &msg(b'F', 2, &response_start(470, 0)));
    h.feed(
        Direction::ToServer,
        &msg(b'F', 3, &write_request(5, 1, Some(b"run-1"))),
    );
    h.feed(
        Direction::ToServer,
        &msg(b'F', 4, &activate_user(5, b"bob")),
    );
    h.feed(
        Direction::ToClient,
        &msg(b'F', 4, &response_start(397, 0x8000_0000)),
    );
    h.feed(
        Direction::ToServer,
        &msg(b'F', 5, &write_request(5, 1, None)),
    );
    h.feed(
        Direction::ToServer,
        &msg(b'F', 6, &activate_user(5, b"bob")),
    );
    h.feed(Direction::ToClient, &msg(b'F', 6, &response_start(470, 0)));
    h.feed(
        Direction::ToServer,
        &msg(b'F', 7, &write_request(5, 1, None)),
    );
    for id in [1, 3, 5, 7] {
        h.feed(Direction::ToClient, &msg(b'F', id, &write_response(&[0])));
    }
    let creds: Vec<_> = h
        .out
        .writes
        .iter()
        .map(|w| w.credential.as_ref().map(|c| c.id.as_str()))
        .collect();
    // The refused re-activation (ServiceFault) leaves alice in force.
    assert_eq!(
        creds,
        [Some("run-1"), Some("alice"), Some("alice"), Some("bob")]
    );
    assert_eq!(
        h.out
            .alerts
            .iter()
            .filter(|a| a.kind == AlertKind::PlaintextPassword)
            .count(),
        3
    );
    let shown = format!("{:?}", h.out);
    assert!(!shown.contains("pw\"") && !shown.contains("7077"));
}

#[test]
fn sign_channels_are_read_and_encrypted_ones_are_opaque() {
    let policy = "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256";
    // Sign: the OPN body is cipher text, the MSG is clear with a 32-byte signature.
    let mut h = Harness::new();
    h.feed(Direction::ToServer, &opn(policy, &[0x5a; 256]));
    let mut signed = write_request(1, 1, None);
    signed.extend_from_slice(&[0xee; 32]);
    h.feed(Direction::ToServer, &msg(b'F', 9, &signed));
    let mut answer = write_response(&[0]);
    answer.extend_from_slice(&[0xee; 32]);
    h.feed(Direction::ToClient, &msg(b'F', 9, &answer));
    assert_eq!(h.out.writes.len(), 1);
    assert_eq!(h.out.writes[0].outcome, Outcome::Ok);
    assert_eq!(h.stats.security_mode(), Some("Sign"));
    assert!(!h.stats.opaque);

    // SignAndEncrypt: everything after the token id is cipher text, even when it happens
    // to hold bytes that look like a chunk.
    let mut h = Harness::new();
    h.feed(Direction::ToServer, &opn(policy, &[0x5a; 256]));
    let mut cipher: Vec<u8> = (0..200u32).map(|i| (i * 97 % 251) as u8).collect();
    cipher.splice(20..20, write_request(1, 1, None));
    for id in 0..5 {
        h.feed(Direction::ToServer, &msg(b'F', id, &cipher));
        h.feed(Direction::ToClient, &msg(b'F', id, &cipher));
    }
    assert!(h.out.writes.is_empty());
    assert!(h.stats.opaque);
    assert_eq!(h.stats.security_mode(), Some("SignAndEncrypt"));
    assert_eq!(h.session.opaque_messages, [5, 5]);
    // Under policy None, messages that read as no service are malformed, never cipher text.
    let mut none = Harness::new();
    none.feed(
        Direction::ToServer,
        &opn("http://opcfoundation.org/UA/SecurityPolicy#None", &[0; 8]),
    );
    for id in 0..5 {
        none.feed(Direction::ToServer, &msg(b'F', id, &cipher));
    }
    assert!(!none.stats.opaque);
    assert_eq!(none.stats.malformed, 5);

    let opaque = h
        .out
        .alerts
        .iter()
        .filter(|a| a.kind == AlertKind::OpaqueSession)
        .count();
    assert_eq!(opaque, 1);
}

#[test]
fn garbage_and_truncations_never_panic() {
    let mut stream = msg(b'F', 1, &write_request(1, 2, Some(b"x")));
    stream.extend_from_slice(&msg(b'F', 1, &write_response(&[0, 0])));
    stream.extend_from_slice(&msg(b'F', 2, &activate_user(1, b"u")));
    for cut in 0..stream.len() {
        let mut h = Harness::new();
        h.feed(Direction::ToServer, &stream[..cut]);
        let mut corrupted = stream.clone();
        corrupted[cut] ^= 0xff;
        h.feed(Direction::ToServer, &corrupted);
        h.feed(Direction::ToClient, &corrupted[cut..]);
    }
    let mut h = Harness::new();
    let noise: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 256) as u8).collect();
    h.session.resync(Direction::ToServer);
    h.feed(Direction::ToServer, &noise);
}
