//! Shared set-up of the evidence tests: scratch folders and a small `Evidence` covering every
//! table, two capture dates, absent optional fields and MAC addresses.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use analytics::evidence::{
    AlertKind, AlertRow, AssetRow, Attribution, Category, Credential, CredentialKind,
    CredentialRow, DelegationStatus, Endpoints, Evidence, FrameRef, Outcome, Protocol, SessionEnd,
    SessionId, SessionRow, Severity, WriteRow,
};
use sensor::evidence::{InputInfo, InputKind, RunInfo};

/// 2026-12-03T12:00:00Z in µs.
pub const DAY_A: i64 = 1_796_299_200_000_000;
/// 2026-12-04T08:30:00Z in µs.
pub const DAY_B: i64 = 1_796_373_000_000_000;

pub const DATE_A: &str = "2026-12-03";
pub const DATE_B: &str = "2026-12-04";

pub const MAC_CLIENT: [u8; 6] = [0x02, 0x00, 0x0a, 0xc8, 0x04, 0x66];
pub const MAC_SERVER: [u8; 6] = [0x00, 0x1b, 0x1b, 0x12, 0x34, 0x56];

/// A folder under the system temp folder, removed when dropped.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let unique = format!(
            "otwitness-test-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create scratch folder");
        Scratch { path }
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

pub fn sources() -> Vec<String> {
    vec!["site/line1.pcapng".to_owned(), "site/line2.pcap".to_owned()]
}

pub fn at(source: u32, frame: u64, ts_us: i64) -> FrameRef {
    FrameRef {
        source,
        frame,
        ts_us,
    }
}

pub fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

pub fn endpoints_v4() -> Endpoints {
    Endpoints {
        client_ip: ip("10.1.4.102"),
        client_port: 50123,
        client_mac: Some(MAC_CLIENT),
        server_ip: ip("10.1.4.10"),
        server_port: 4840,
        server_mac: Some(MAC_SERVER),
        vlan: Some(104),
    }
}

pub fn endpoints_v6() -> Endpoints {
    Endpoints {
        client_ip: IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x66)),
        client_port: 40000,
        client_mac: None,
        server_ip: IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x10)),
        server_port: 502,
        server_mac: None,
        vlan: None,
    }
}

pub fn write_full() -> WriteRow {
    WriteRow {
        at: at(0, 17, DAY_A + 1_500),
        item: 0,
        endpoints: endpoints_v4(),
        session_id: SessionId(0x0123_4567_89ab_cdef),
        protocol: Protocol::Opcua,
        category: Category::Write,
        operation: "Write",
        function_code: 673,
        target: "ns=2;s=Oven.SP".to_owned(),
        value: Some("185.5".to_owned()),
        outcome: Outcome::Ok,
        response_ts_us: Some(DAY_A + 2_750),
        credential: Some(Credential {
            kind: CredentialKind::OpcuaUser,
            id: "bob".to_owned(),
        }),
        client_certificate: Some("62149604".repeat(8)),
        device_id: Some("0x1009:0xacf71b98".to_owned()),
        identity: Some("human:bob".to_owned()),
        attribution: Attribution::Attributed,
        delegation: Some("CHG-2291".to_owned()),
        delegation_status: DelegationStatus::Delegated,
        approved_by: Some("j.smith, shift supervisor".to_owned()),
        numeric_values: vec![185.5],
    }
}

pub fn write_bare(frame: u64, ts_us: i64) -> WriteRow {
    WriteRow {
        at: at(1, frame, ts_us),
        item: 1,
        endpoints: endpoints_v6(),
        session_id: SessionId(7),
        protocol: Protocol::Modbus,
        category: Category::Control,
        operation: "Diagnostics: restart communications",
        function_code: 8,
        target: "unit 1".to_owned(),
        value: None,
        outcome: Outcome::Exception("0x02".to_owned()),
        response_ts_us: None,
        credential: None,
        client_certificate: None,
        device_id: None,
        identity: None,
        attribution: Attribution::Unattributed,
        delegation: None,
        delegation_status: DelegationStatus::NoPolicy,
        approved_by: None,
        numeric_values: Vec::new(),
    }
}

pub fn session(first: FrameRef, last: FrameRef, credentials: &[&str]) -> SessionRow {
    SessionRow {
        session_id: SessionId(0x0123_4567_89ab_cdef),
        protocol: Protocol::Opcua,
        endpoints: endpoints_v4(),
        first,
        last,
        end: SessionEnd::Fin,
        reads: 12,
        writes: 1,
        other_requests: 4,
        responses: 17,
        malformed: 0,
        credentials: credentials.iter().map(|c| (*c).to_owned()).collect(),
        security_policy: Some("Basic256Sha256".to_owned()),
        security_mode: None,
        opaque: false,
        gaps: 1,
        gap_bytes: 1460,
        client_bytes: 4096,
        server_bytes: 8192,
    }
}

pub fn sample_evidence() -> Evidence {
    let mut opaque = session(at(1, 3, DAY_B), at(1, 90, DAY_B + 60_000_000), &[]);
    opaque.session_id = SessionId(7);
    opaque.endpoints = endpoints_v6();
    opaque.end = SessionEnd::CaptureEnd;
    opaque.opaque = true;
    opaque.security_policy = None;

    Evidence {
        writes: vec![
            write_full(),
            write_bare(18, DAY_A + 9_000),
            write_bare(44, DAY_B),
        ],
        sessions: vec![
            session(
                at(0, 2, DAY_A),
                at(1, 40, DAY_B + 5),
                &["opcua_user:bob", "cert:6214"],
            ),
            opaque,
        ],
        assets: vec![
            AssetRow {
                ip: Some(ip("10.1.4.10")),
                mac: Some(MAC_SERVER),
                protocol: Some(Protocol::Enip),
                role: "server",
                vendor: Some("Rockwell Automation".to_owned()),
                product: Some("1756-L83E".to_owned()),
                serial: Some("0xacf71b98".to_owned()),
                firmware: Some("33.011".to_owned()),
                name: Some("Line1 PLC".to_owned()),
                first: at(0, 5, DAY_A + 100),
                last: at(1, 80, DAY_B + 100),
            },
            AssetRow {
                ip: None,
                mac: Some(MAC_CLIENT),
                protocol: None,
                role: "client",
                first: at(1, 6, DAY_B + 200),
                last: at(1, 6, DAY_B + 200),
                ..AssetRow::default()
            },
        ],
        alerts: vec![
            AlertRow {
                at: at(0, 17, DAY_A + 1_500),
                kind: AlertKind::UndelegatedWrite,
                severity: Severity::High,
                session_id: Some(SessionId(0x0123_4567_89ab_cdef)),
                protocol: Some(Protocol::Opcua),
                client_ip: Some(ip("10.1.4.102")),
                server_ip: Some(ip("10.1.4.10")),
                detail: "write to ns=2;s=Oven.SP outside CHG-2291".to_owned(),
            },
            AlertRow {
                at: at(1, 44, DAY_B),
                kind: AlertKind::CaptureDamaged,
                severity: Severity::Medium,
                session_id: None,
                protocol: None,
                client_ip: None,
                server_ip: None,
                detail: "truncated record at offset 900".to_owned(),
            },
        ],
        credentials: vec![
            CredentialRow {
                at: at(0, 9, DAY_A + 700),
                session_id: Some(SessionId(0x0123_4567_89ab_cdef)),
                protocol: Protocol::Opcua,
                kind: CredentialKind::OpcuaChannelCert,
                id: "62149604".repeat(8),
                client_ip: Some(ip("10.1.4.102")),
                subject: Some("CN=eng-ws-02,O=Plant".to_owned()),
                issuer: Some("CN=Plant CA".to_owned()),
                not_before_us: Some(1_700_000_000_000_000),
                not_after_us: Some(1_900_000_000_000_000),
                weak_policy: false,
                plaintext: false,
                secret_fingerprint: None,
                role: Some("operator".to_owned()),
            },
            CredentialRow {
                at: at(1, 50, DAY_B + 1),
                session_id: None,
                protocol: Protocol::S7comm,
                kind: CredentialKind::S7Password,
                id: "s7pw:1f2e".to_owned(),
                client_ip: None,
                subject: None,
                issuer: None,
                not_before_us: None,
                not_after_us: None,
                weak_policy: true,
                plaintext: true,
                secret_fingerprint: Some("hmac-sha256:1f2e3d".to_owned()),
                role: None,
            },
        ],
    }
}

/// A run over the two sources of [`sources`]; `inputs` lets a test point them at real files.
pub fn sample_run(inputs: Vec<InputInfo>) -> RunInfo {
    RunInfo {
        sensor: "plant-a-span1".to_owned(),
        command_line: vec!["otwitness".to_owned(), "analyze".to_owned()],
        inputs,
        packets: 120,
        bytes: 64_000,
        kernel_drops: None,
        counters: [("flows".to_owned(), 2), ("gaps".to_owned(), 1)]
            .into_iter()
            .collect(),
    }
}

/// The two inputs of [`sources`], with capture times spanning both dates, not on disk.
pub fn sample_inputs() -> Vec<InputInfo> {
    sources()
        .into_iter()
        .zip([(DAY_A, DAY_A + 10_000), (DAY_A + 1_000, DAY_B + 60_000_000)])
        .map(|(name, (first, last))| InputInfo {
            name,
            kind: InputKind::File,
            sha256: Some("00".repeat(32)),
            bytes: 32_000,
            packets: 60,
            first_ts_us: Some(first),
            last_ts_us: Some(last),
            damage: None,
        })
        .collect()
}

/// Reads a file, panicking with its name on failure (tests only).
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}
