//! The CIP Security scenarios of `fixtures-pcap` (EtherNet/IP over TLS on 2221: cpppo client
//! and simulator, socat adding TLS 1.2 with client certificates on each side, ground truth
//! recorded by the clients) reproduced. Under TLS_RSA_WITH_NULL_SHA256 every write with its
//! frame (the frame completing the TLS record carrying it), target, value, outcome,
//! `tls_client_cert` credential, identity (by thumbprint, by subject, or none), delegation and
//! status; under ECDHE-RSA-AES128-GCM the certificates but no write, one opaque session per
//! connection. Expected values all come from each capture's `truth.json`.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use analytics::attribution::Attributor;
use analytics::delegation::Delegations;
use analytics::engine::EngineConfig;
use analytics::evidence::{AlertKind, CredentialKind, Evidence, Protocol, SessionRow, WriteRow};
use analytics::identity::IdentityMap;
use sensor::pipeline::{analyze, AnalyzeOptions, Progress};
use serde_json::Value;
use support::truth::{text, ts_us};

const PORT: u16 = 2221;

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures-pcap")
        .join(name)
}

fn truth(name: &str) -> Value {
    let text = std::fs::read_to_string(scenario(name).join("truth.json")).expect("truth.json");
    serde_json::from_str(&text).expect("truth is JSON")
}

/// Runs the scenario with its own identity map and delegations.
fn analyse(name: &str) -> Evidence {
    let dir = scenario(name);
    let ids_path = dir.join("identities.toml");
    let text = std::fs::read_to_string(&ids_path).expect("identities.toml");
    let map = IdentityMap::parse(&ids_path.display().to_string(), &text).expect("valid map");
    let grants_path = dir.join("delegations.toml");
    let text = std::fs::read_to_string(&grants_path).expect("delegations.toml");
    let grants = Delegations::parse(&grants_path.display().to_string(), &text).expect("valid");
    let options = AnalyzeOptions {
        inputs: vec![dir.join("capture.pcap")],
        threads: 2,
        engine: EngineConfig::default(),
        attributor: Attributor::new(Some(Arc::new(map))),
        delegations: Some(Arc::new(grants)),
    };
    analyze(&options, &Progress::default()).evidence
}

/// `2029-03-08T08:45:38Z` (a certificate's validity bound in the truth) → µs.
fn validity_us(v: &Value) -> Option<i64> {
    v.as_str().map(|_| ts_us(v))
}

fn truth_credentials(truth: &Value) -> &Vec<Value> {
    truth["credentials"].as_array().expect("credentials")
}

/// One EtherNet/IP session on 2221 per TLS connection of the truth, each with the policy
/// and mode of the truth's suite, and as many opaque sessions (and alerts) as the truth says.
fn check_sessions<'a>(name: &str, evidence: &'a Evidence, mode: &str) -> Vec<&'a SessionRow> {
    let truth = truth(name);
    let sessions: Vec<&SessionRow> = evidence
        .sessions
        .iter()
        .filter(|s| s.endpoints.server_port == PORT)
        .collect();
    let mut want: Vec<(String, u64)> = truth_credentials(&truth)
        .iter()
        .map(|c| {
            let ip = c["client_ip"].as_str().unwrap().to_owned();
            (ip, c["client_port"].as_u64().unwrap())
        })
        .collect();
    want.sort();
    let mut ours: Vec<(String, u64)> = sessions
        .iter()
        .map(|s| {
            let e = &s.endpoints;
            (e.client_ip.to_string(), u64::from(e.client_port))
        })
        .collect();
    ours.sort();
    assert_eq!(ours, want, "{name}: one session per TLS connection");
    assert_eq!(
        evidence.sessions.len(),
        sessions.len(),
        "{name}: nothing but CIP Security in the capture"
    );

    let tls = &truth["tls"];
    let policy = format!(
        "{} {}",
        tls["version"].as_str().unwrap(),
        tls["cipher_iana"].as_str().unwrap()
    );
    let opaque = truth["opaque_sessions"].as_u64().unwrap() > 0;
    for s in &sessions {
        assert_eq!(s.protocol, Protocol::Enip, "{name}: inner protocol named");
        assert_eq!(
            s.security_policy.as_deref(),
            Some(policy.as_str()),
            "{name}"
        );
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
            "{name}: TLS 1.2 and certificates valid at the time: no {kind}"
        );
    }
    sessions
}

/// Every certificate of the truth is the credential row of its connection: SHA-256 thumbprint,
/// subject, issuer, validity, no Modbus role; and it is the session's only credential.
fn check_credentials(name: &str, evidence: &Evidence) {
    let truth = truth(name);
    let rows: Vec<_> = evidence
        .credentials
        .iter()
        .filter(|c| c.kind == CredentialKind::TlsClientCert)
        .collect();
    let want = truth_credentials(&truth);
    assert_eq!(rows.len(), want.len(), "{name}: certificate rows");
    assert_eq!(
        evidence.credentials.len(),
        rows.len(),
        "{name}: no other credential (no Forward Open in these runs)"
    );
    for c in want {
        let port = c["client_port"].as_u64().unwrap();
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
        assert_eq!(row.id, c["sha256"].as_str().unwrap(), "{at}");
        assert_eq!(row.subject, text(&c["subject"]), "{at}: subject");
        assert_eq!(row.issuer, text(&c["issuer"]), "{at}: issuer");
        assert_eq!(row.not_before_us, validity_us(&c["not_before"]), "{at}");
        assert_eq!(row.not_after_us, validity_us(&c["not_after"]), "{at}");
        assert!(row.not_before_us.is_some() && row.not_after_us.is_some());
        assert_eq!(row.role, text(&c["role"]), "{at}: no Modbus role here");
        assert_eq!(row.protocol, Protocol::Enip, "{at}");
        assert!(!row.weak_policy && !row.plaintext, "{at}");
        assert_eq!(row.secret_fingerprint, None, "{at}");
        assert_eq!(
            row.client_ip.map(|ip| ip.to_string()),
            text(&c["client_ip"]),
            "{at}"
        );
        let listed = format!("tls_client_cert:{}", c["sha256"].as_str().unwrap());
        assert_eq!(session.credentials, [listed], "{at}: session credentials");
    }
}

#[test]
fn null_cipher_cip_writes_reproduce_their_ground_truth() {
    let name = "enip-tls12-null";
    let truth = truth(name);
    let evidence = analyse(name);
    let sessions = check_sessions(name, &evidence, "Sign");
    check_credentials(name, &evidence);

    let expected: Vec<&Value> = support::truth::readable_writes(&truth, "enip");
    assert_eq!(
        expected.len(),
        truth["writes"].as_array().unwrap().len(),
        "every write of this scenario is readable"
    );
    let ours: Vec<&WriteRow> = evidence.writes.iter().collect();
    support::truth::assert_writes(name, &ours, &expected);
    // Writes sharing a frame (the Multiple Service Packet) keep the truth's order: the row's
    // `item` is its position among the frame's writes (the truth's `item` is the MSP index,
    // which also counts the read in that packet).
    for (i, got) in ours.iter().enumerate() {
        let earlier = expected[..i]
            .iter()
            .filter(|w| w["frame"] == expected[i]["frame"])
            .count();
        assert_eq!(got.item as usize, earlier, "{name} frame {}", got.at.frame);
    }
    assert!(
        ours.iter().any(|w| w.item == 1),
        "{name}: two writes in one frame"
    );

    // Each session counts the writes its connection carried.
    for s in sessions {
        let port = u64::from(s.endpoints.client_port);
        let n = expected
            .iter()
            .filter(|w| w["client_port"].as_u64() == Some(port))
            .count();
        assert_eq!(s.writes, n as u64, "{name} port {port}: writes counted");
    }
}

/// The fixture exercises what it claims: each attribution and delegation status the README
/// names, and a write carried in a TLS record that spans TCP segments.
#[test]
fn the_null_cipher_truth_covers_every_case_it_claims() {
    let truth = truth("enip-tls12-null");
    let writes = truth["writes"].as_array().unwrap();
    let has = |key: &str, value: &str| writes.iter().any(|w| w[key] == value);
    for a in ["attributed", "credential_only"] {
        assert!(has("attribution", a), "no {a} write");
    }
    for s in [
        "delegated",
        "undelegated",
        "expired",
        "out_of_bounds",
        "over_budget",
    ] {
        assert!(has("delegation_status", s), "no {s} write");
    }
    assert!(has("credential_kind", "tls_client_cert"));
    assert!(writes
        .iter()
        .all(|w| w["credential_kind"] == "tls_client_cert"));
    assert!(has("operation", "Set_Attribute_Single"));
    assert!(writes.iter().any(|w| w["item"].as_u64() == Some(2)), "MSP");
}

#[test]
fn encrypted_cip_sessions_are_opaque_with_their_certificates() {
    let name = "enip-tls12";
    let truth = truth(name);
    let evidence = analyse(name);
    check_sessions(name, &evidence, "SignAndEncrypt");
    check_credentials(name, &evidence);
    assert!(
        truth["writes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["readable"] == false),
        "the truth calls every write unreadable"
    );
    assert!(!truth["writes"].as_array().unwrap().is_empty());
    assert!(evidence.writes.is_empty(), "no write row from ciphertext");
}

/// The certificates beside the captures are for people and tshark; no private key ships.
#[test]
fn no_private_key_ships_beside_the_captures() {
    for name in ["enip-tls12-null", "enip-tls12"] {
        let dir = scenario(name).join("certs");
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).expect("certs/") {
            let text = std::fs::read_to_string(entry.expect("entry").path()).expect("PEM");
            assert!(text.contains("BEGIN CERTIFICATE"), "{name}: a certificate");
            assert!(!text.contains("PRIVATE KEY"), "{name}: no private key");
            files += 1;
        }
        // The CA, the server and the three clients of the truth.
        assert_eq!(files, 2 + truth(name)["clients"].as_array().unwrap().len());
    }
}

/// tshark, when installed, independently finds the client Certificate messages: their frames
/// and connections must be those of the credential rows, in both scenarios.
#[test]
fn client_certificate_frames_agree_with_tshark() {
    for name in ["enip-tls12-null", "enip-tls12"] {
        let capture = scenario(name).join("capture.pcap");
        let output = std::process::Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&capture)
            .args(["-d", "tcp.port==2221,tls", "-Y"])
            .arg("tls.handshake.type == 11 && tcp.dstport == 2221")
            .args(["-T", "fields", "-e", "frame.number", "-e", "tcp.srcport"])
            .output();
        let output = match output {
            Ok(o) if o.status.success() => o,
            _ if std::env::var_os("CI").is_some() => panic!("tshark is required on CI"),
            _ => {
                eprintln!("skipping: tshark not installed");
                return;
            }
        };
        let mut theirs: Vec<(u64, u16)> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|l| {
                let (frame, port) = l.split_once('\t').expect("two fields");
                (frame.parse().unwrap(), port.parse().unwrap())
            })
            .collect();
        theirs.sort();
        let evidence = analyse(name);
        let mut ours: Vec<(u64, u16)> = evidence
            .credentials
            .iter()
            .map(|c| {
                let session = evidence
                    .sessions
                    .iter()
                    .find(|s| Some(s.session_id) == c.session_id)
                    .expect("the credential's session");
                (c.at.frame, session.endpoints.client_port)
            })
            .collect();
        ours.sort();
        assert_eq!(ours.len(), truth_credentials(&truth(name)).len(), "{name}");
        assert_eq!(ours, theirs, "{name}");
    }
}
