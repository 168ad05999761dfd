//! TLS session behaviour on hand-built streams: a certificate spanning records and frames,
//! NULL-cipher Modbus with its MAC cut off, the weak-version and certificate-validity alerts,
//! opaque encrypted sessions, and no panic on garbage.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::attribution::Attributor;
use crate::evidence::{Endpoints, Evidence, FrameRef, Outcome, SessionId};
use crate::session::{SessionMeta, SessionStats};

/// openssl-made, valid 2026-12-04T06:19:26Z .. 2027-01-03T06:19:26Z, role `engineer`; the
/// thumbprint is what `openssl x509 -fingerprint -sha256` printed.
const HMI7: &[u8] = include_bytes!("../../../dissectors/src/tls/testdata/hmi-7.der");
const HMI7_SHA256: &str = "3632cf54a233b4805248ef92ff14725134cbc7fdd10666351d760b8b6ee09fff";

/// 2026-12-10T00:00:00Z, inside HMI7's validity.
const VALID_TS: i64 = 1_796_860_800_000_000;

struct Harness {
    session: TlsSession,
    meta: SessionMeta,
    stats: SessionStats,
    out: Evidence,
    frame: u64,
    ts_base: i64,
}

impl Harness {
    fn new(ts_base: i64) -> Harness {
        let ip = |d| IpAddr::V4(Ipv4Addr::new(10, 0, 0, d));
        Harness {
            session: TlsSession::new(Protocol::Modbus),
            meta: SessionMeta {
                id: SessionId(1),
                protocol: Protocol::Modbus,
                endpoints: Endpoints {
                    client_ip: ip(1),
                    client_port: 50000,
                    client_mac: None,
                    server_ip: ip(2),
                    server_port: 802,
                    server_mac: None,
                    vlan: None,
                },
                first: FrameRef::default(),
            },
            stats: SessionStats::default(),
            out: Evidence::default(),
            frame: 0,
            ts_base,
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
                ts_us: self.ts_base + self.frame as i64,
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

    fn alerts(&self, kind: AlertKind) -> usize {
        self.out.alerts.iter().filter(|a| a.kind == kind).count()
    }
}

fn record(content_type: u8, fragment: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type, 0x03, 0x03];
    r.extend_from_slice(&(fragment.len() as u16).to_be_bytes());
    r.extend_from_slice(fragment);
    r
}

fn message(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![msg_type];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

/// ClientHello: legacy_version 3.3, random, empty session id, one suite, null compression.
fn client_hello(suite: u16) -> Vec<u8> {
    let mut b = vec![0x03, 0x03];
    b.extend_from_slice(&[0x11; 32]);
    b.push(0);
    b.extend_from_slice(&[0x00, 0x02]);
    b.extend_from_slice(&suite.to_be_bytes());
    b.extend_from_slice(&[0x01, 0x00]);
    record(content::HANDSHAKE, &message(handshake::CLIENT_HELLO, &b))
}

/// ServerHello with `legacy_version` and `suite`, no extensions.
fn server_hello(legacy_version: u16, suite: u16) -> Vec<u8> {
    let mut b = legacy_version.to_be_bytes().to_vec();
    b.extend_from_slice(&[0x22; 32]);
    b.push(0);
    b.extend_from_slice(&suite.to_be_bytes());
    b.push(0);
    record(content::HANDSHAKE, &message(handshake::SERVER_HELLO, &b))
}

/// The client's Certificate message carrying HMI7.
fn certificate() -> Vec<u8> {
    let mut b = ((HMI7.len() + 3) as u32).to_be_bytes()[1..].to_vec();
    b.extend_from_slice(&(HMI7.len() as u32).to_be_bytes()[1..]);
    b.extend_from_slice(HMI7);
    message(handshake::CERTIFICATE, &b)
}

const CCS: &[u8] = &[0x14, 0x03, 0x03, 0x00, 0x01, 0x01];

/// Modbus FC 6 write of 42 to holding 16, unit 1, transaction 1 (and its echo as answer).
const WRITE: &[u8] = &[0, 1, 0, 0, 0, 6, 1, 6, 0, 16, 0, 42];

/// A NULL-cipher application record: plaintext then a MAC of `mac` bytes.
fn null_record(plain: &[u8], mac: usize) -> Vec<u8> {
    let mut f = plain.to_vec();
    f.extend(std::iter::repeat_n(0xee, mac));
    record(content::APPLICATION_DATA, &f)
}

/// Handshake up to both ChangeCipherSpecs, the certificate split over two records that come
/// in two frames (frames 3 and 4).
fn handshake_to_protected(h: &mut Harness, legacy_version: u16, suite: u16) {
    let hello = client_hello(suite);
    assert_eq!(h.feed(Direction::ToServer, &hello), hello.len());
    let sh = server_hello(legacy_version, suite);
    assert_eq!(h.feed(Direction::ToClient, &sh), sh.len());
    let cert = certificate();
    let (a, b) = cert.split_at(200);
    let (ra, rb) = (record(content::HANDSHAKE, a), record(content::HANDSHAKE, b));
    assert_eq!(h.feed(Direction::ToServer, &ra), ra.len());
    assert!(
        h.out.credentials.is_empty(),
        "half a certificate is not one"
    );
    let mut rest = rb.clone();
    rest.extend_from_slice(CCS);
    assert_eq!(h.feed(Direction::ToServer, &rest), rest.len());
    assert_eq!(h.feed(Direction::ToClient, CCS), CCS.len());
}

#[test]
fn null_sha_modbus_is_read_and_carries_the_certificate() {
    let mut h = Harness::new(VALID_TS);
    handshake_to_protected(&mut h, version::TLS_1_1, 0x0002); // TLS_RSA_WITH_NULL_SHA
    let cred = &h.out.credentials[0];
    assert_eq!(cred.at.frame, 4, "the frame completing the Certificate");
    assert_eq!(cred.id, HMI7_SHA256);
    assert_eq!(cred.subject.as_deref(), Some("CN=hmi-7,O=Plant"));
    assert_eq!(cred.role.as_deref(), Some("engineer"));
    assert!(cred.weak_policy, "TLS 1.1");
    assert_eq!(h.alerts(AlertKind::WeakSecurity), 1);
    assert_eq!(h.alerts(AlertKind::CertificateExpired), 0);
    assert_eq!(
        h.stats.security_policy(),
        Some("TLSv1.1 TLS_RSA_WITH_NULL_SHA")
    );
    assert_eq!(h.stats.security_mode(), Some("Sign"));

    // The request's record comes in two frames: the write belongs to the second.
    let req = null_record(WRITE, 20);
    assert_eq!(h.feed(Direction::ToServer, &req[..10]), 0);
    assert_eq!(h.feed(Direction::ToServer, &req), req.len());
    let answer = null_record(WRITE, 20);
    assert_eq!(h.feed(Direction::ToClient, &answer), answer.len());

    assert_eq!(h.out.writes.len(), 1);
    let w = &h.out.writes[0];
    assert_eq!(w.at.frame, 7, "frame 6 held only part of the record");
    assert_eq!(w.target, "unit 1 holding 16");
    assert_eq!(w.value.as_deref(), Some("42"));
    assert_eq!(w.outcome, Outcome::Ok);
    let credential = w.credential.as_ref().unwrap();
    assert_eq!(credential.kind, CredentialKind::TlsClientCert);
    assert_eq!(credential.id, HMI7_SHA256);
    assert_eq!(w.client_certificate.as_deref(), Some(HMI7_SHA256));
    assert!(!h.stats.opaque);
    assert_eq!(h.alerts(AlertKind::OpaqueSession), 0);
}

#[test]
fn a_certificate_outside_its_validity_is_alerted() {
    let mut h = Harness::new(0); // 1970: not yet valid
    handshake_to_protected(&mut h, version::TLS_1_2, 0x003b);
    assert_eq!(h.alerts(AlertKind::CertificateExpired), 1);
    assert_eq!(h.alerts(AlertKind::WeakSecurity), 0);
    let detail = &h.out.alerts[0].detail;
    assert!(detail.contains("not yet valid"), "{detail}");

    let mut h = Harness::new(VALID_TS + 40 * 86_400 * 1_000_000); // after notAfter
    handshake_to_protected(&mut h, version::TLS_1_2, 0x003b);
    assert_eq!(h.alerts(AlertKind::CertificateExpired), 1);
}

#[test]
fn an_encrypting_suite_makes_the_session_opaque() {
    let mut h = Harness::new(VALID_TS);
    handshake_to_protected(&mut h, version::TLS_1_2, 0xc02f);
    assert!(h.stats.opaque);
    assert_eq!(h.out.credentials.len(), 1, "the certificate was in clear");
    for _ in 0..3 {
        let ciphertext = null_record(WRITE, 24);
        h.feed(Direction::ToServer, &ciphertext);
    }
    h.feed(Direction::ToClient, &null_record(WRITE, 24));
    assert!(
        h.out.writes.is_empty(),
        "ciphertext is never read as Modbus"
    );
    assert_eq!(h.stats.other_requests, 3);
    assert_eq!(h.stats.responses, 1);
    assert_eq!(h.alerts(AlertKind::OpaqueSession), 1);
    assert_eq!(h.stats.security_mode(), Some("SignAndEncrypt"));
}

#[test]
fn garbage_is_counted_not_panicked_on() {
    let mut h = Harness::new(VALID_TS);
    let mut junk = b"GET / HTTP/1.1\r\n".to_vec();
    junk.extend(record(content::APPLICATION_DATA, &[1, 2, 3]));
    junk.extend(record(content::APPLICATION_DATA, &[4, 5, 6]));
    let used = h.feed(Direction::ToServer, &junk);
    assert_eq!(used, junk.len());
    assert_eq!(h.stats.malformed, 1);
    assert_eq!(
        h.stats.other_requests, 2,
        "records after the junk are found again"
    );

    // Every prefix of a handshake, and a handshake with a broken Certificate, end cleanly.
    let mut stream = client_hello(0x003b);
    stream.extend(record(content::HANDSHAKE, &certificate()[..60]));
    stream.extend(record(
        content::HANDSHAKE,
        &[handshake::CERTIFICATE, 0xff, 0xff, 0xff],
    ));
    for n in 0..stream.len() {
        let mut h = Harness::new(VALID_TS);
        h.feed(Direction::ToServer, &stream[..n]);
    }
    let mut broken = certificate();
    broken[7] ^= 0x40; // the first certificate's length no longer fits the list
    let mut h = Harness::new(VALID_TS);
    h.feed(Direction::ToServer, &record(content::HANDSHAKE, &broken));
    assert!(h.out.credentials.is_empty());
    assert_eq!(h.stats.malformed, 1);
}
