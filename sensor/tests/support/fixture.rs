//! The scenarios of `fixtures-pcap`: where each one lives, its ground truth, and its analysis
//! with the identity map and delegations written for it; plus the session checks the TLS
//! scenarios (Modbus/TCP Security, CIP Security) share. Expected values always come from the
//! scenario's `truth.json`, never from this module.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use analytics::attribution::Attributor;
use analytics::delegation::Delegations;
use analytics::engine::EngineConfig;
use analytics::evidence::{AlertKind, CredentialKind, Evidence, Protocol, SessionRow};
use analytics::identity::IdentityMap;
use sensor::pipeline::{analyze, AnalyzeOptions, Progress};
use serde_json::Value;

use super::truth::{text, ts_us};

/// The folder of scenario `name`.
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures-pcap")
        .join(name)
}

/// The scenario's `truth.json`.
pub fn truth(name: &str) -> Value {
    let path = scenario(name).join("truth.json");
    let text = std::fs::read_to_string(&path).expect("truth.json");
    serde_json::from_str(&text).expect("truth is JSON")
}

/// Analyses the scenario's capture with its own identity map and delegations.
pub fn analyse(name: &str) -> Evidence {
    analyse_with(name, None, EngineConfig::default())
}

/// Analyses the scenario's capture with `identities` (its own map when `None`), its own
/// delegations and `engine`, on two threads.
pub fn analyse_with(name: &str, identities: Option<&str>, engine: EngineConfig) -> Evidence {
    let dir = scenario(name);
    let ids_path = dir.join("identities.toml");
    let text = match identities {
        Some(text) => text.to_owned(),
        None => std::fs::read_to_string(&ids_path).expect("identities.toml"),
    };
    let map = IdentityMap::parse(&ids_path.display().to_string(), &text).expect("valid map");

    let grants_path = dir.join("delegations.toml");
    let text = std::fs::read_to_string(&grants_path).expect("delegations.toml");
    let grants = Delegations::parse(&grants_path.display().to_string(), &text).expect("valid");

    let options = AnalyzeOptions {
        inputs: vec![dir.join("capture.pcap")],
        threads: 2,
        engine,
        attributor: Attributor::new(Some(Arc::new(map))),
        delegations: Some(Arc::new(grants)),
    };
    analyze(&options, &Progress::default()).evidence
}

/// What every session of a TLS scenario must show: the inner protocol, the policy (version and
/// suite) and mode of the truth, the opaque flag, nothing malformed and no reassembly gap; as
/// many opaque sessions, and opaque_session alerts, as the truth counts; and neither a weak
/// security nor an expired certificate alert, since every scenario uses TLS 1.2 or later with
/// certificates valid at the time.
pub fn check_tls_sessions(
    name: &str,
    evidence: &Evidence,
    sessions: &[&SessionRow],
    protocol: Protocol,
    (policy, mode): (&str, &str),
) {
    let truth = truth(name);
    let opaque = truth["opaque_sessions"].as_u64().expect("opaque_sessions") > 0;
    for s in sessions {
        assert_eq!(s.protocol, protocol, "{name}: inner protocol named");
        assert_eq!(s.security_policy.as_deref(), Some(policy), "{name}");
        assert_eq!(s.security_mode.as_deref(), Some(mode), "{name}");
        assert_eq!(s.opaque, opaque, "{name}: opaque flag");
        assert_eq!(s.malformed, 0, "{name}: nothing malformed");
        assert_eq!(s.gaps, 0, "{name}: no reassembly gap");
    }

    let opaque_sessions = sessions.iter().filter(|s| s.opaque).count();
    assert_eq!(
        opaque_sessions as u64,
        truth["opaque_sessions"].as_u64().unwrap(),
        "{name}: opaque sessions"
    );
    let alerts = evidence
        .alerts
        .iter()
        .filter(|a| a.kind == AlertKind::OpaqueSession)
        .count();
    assert_eq!(
        alerts, opaque_sessions,
        "{name}: one opaque_session alert each"
    );

    for kind in [AlertKind::WeakSecurity, AlertKind::CertificateExpired] {
        assert!(
            !evidence.alerts.iter().any(|a| a.kind == kind),
            "{name}: TLS 1.2 or later, certificates valid at the time: no {kind}"
        );
    }
}

/// Each client certificate the truth calls observable is the `tls_client_cert` row of its
/// connection (SHA-256 thumbprint, subject, issuer, Modbus role or none, validity when the
/// truth records it, never weak, plaintext or a secret) and that session's only credential;
/// unobservable ones (TLS 1.3) have no row.
pub fn check_tls_credentials(name: &str, evidence: &Evidence, protocol: Protocol) {
    let truth = truth(name);
    let rows: Vec<_> = evidence
        .credentials
        .iter()
        .filter(|c| c.kind == CredentialKind::TlsClientCert)
        .collect();
    let observable: Vec<&Value> = truth["credentials"]
        .as_array()
        .expect("credentials")
        .iter()
        .filter(|c| c["observable"].as_bool() == Some(true))
        .collect();
    assert_eq!(rows.len(), observable.len(), "{name}: certificate rows");

    for want in observable {
        let port = want["client_port"].as_u64().unwrap();
        let at = format!("{name} port {port}");
        let session = evidence
            .sessions
            .iter()
            .find(|s| u64::from(s.endpoints.client_port) == port)
            .unwrap_or_else(|| panic!("{at}: no session"));
        let row = rows
            .iter()
            .find(|r| r.session_id == Some(session.session_id))
            .unwrap_or_else(|| panic!("{at}: no certificate"));

        assert_eq!(row.id, want["sha256"].as_str().unwrap(), "{at}");
        assert_eq!(row.subject, text(&want["subject"]), "{at}: subject");
        assert_eq!(row.issuer, text(&want["issuer"]), "{at}: issuer");
        assert_eq!(row.role, text(&want["role"]), "{at}: Modbus role");
        assert_eq!(row.protocol, protocol, "{at}");
        assert!(!row.weak_policy && !row.plaintext, "{at}");
        assert_eq!(row.secret_fingerprint, None, "{at}");
        assert_eq!(
            row.client_ip.map(|ip| ip.to_string()),
            text(&want["client_ip"]),
            "{at}"
        );
        if want.get("not_before").is_some() {
            assert_eq!(row.not_before_us, Some(ts_us(&want["not_before"])), "{at}");
            assert_eq!(row.not_after_us, Some(ts_us(&want["not_after"])), "{at}");
        }

        let listed = format!("tls_client_cert:{}", want["sha256"].as_str().unwrap());
        assert_eq!(session.credentials, [listed], "{at}: session credentials");
    }
}

/// The client Certificate messages tshark finds in scenario `name`, with TLS decoded on
/// `port`: each one's frame and the value of tshark field `field`, as tshark prints it. `None`
/// when tshark is not installed (a failure on CI).
pub fn tshark_client_certificates(
    name: &str,
    port: u16,
    field: &str,
) -> Option<Vec<(u64, String)>> {
    if !super::have_tool("tshark", &["--version"]) {
        return None;
    }
    let capture = scenario(name).join("capture.pcap");
    let output = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&capture)
        .arg("-d")
        .arg(format!("tcp.port=={port},tls"))
        .arg("-Y")
        .arg(format!("tls.handshake.type == 11 && tcp.dstport == {port}"))
        .args(["-T", "fields", "-e", "frame.number", "-e", field])
        .output()
        .expect("tshark runs");
    assert!(
        output.status.success(),
        "tshark on {name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let mut rows: Vec<(u64, String)> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let (frame, value) = line.split_once('\t').expect("two fields");
            (frame.parse().expect("a frame number"), value.to_owned())
        })
        .collect();
    rows.sort();
    Some(rows)
}
