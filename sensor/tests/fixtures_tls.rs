//! The Modbus/TCP Security scenarios of `fixtures-pcap` (pymodbus TLS client and server, ground
//! truth recorded by the clients) reproduced: under TLS_RSA_WITH_NULL_SHA256 every write with
//! its frame (the frame completing its TLS record), target, value, outcome, `tls_client_cert`
//! credential, identity (by thumbprint, by subject, or none), delegation and status; under
//! ECDHE-RSA-AES128-GCM the certificates but no write, four opaque sessions; under TLS 1.3
//! not even the certificates. The key log beside each capture never reaches the evidence.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use analytics::attribution::Attributor;
use analytics::delegation::Delegations;
use analytics::engine::EngineConfig;
use analytics::evidence::{AlertKind, Attribution, CredentialKind, Evidence, Protocol, WriteRow};
use analytics::identity::IdentityMap;
use sensor::pipeline::{analyze, AnalyzeOptions, Progress};
use serde_json::Value;

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures-pcap")
        .join(name)
}

fn truth(name: &str) -> Value {
    let text = std::fs::read_to_string(scenario(name).join("truth.json")).expect("truth.json");
    serde_json::from_str(&text).expect("truth is JSON")
}

/// Runs the scenario with `identities` (its own map when `None`) and its delegations.
fn analyse_with(name: &str, identities: Option<&str>) -> Evidence {
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
        engine: EngineConfig::default(),
        attributor: Attributor::new(Some(Arc::new(map))),
        delegations: Some(Arc::new(grants)),
    };
    analyze(&options, &Progress::default()).evidence
}

fn analyse(name: &str) -> Evidence {
    analyse_with(name, None)
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// The Modbus sessions on 802: exactly one per client connection of the truth.
fn check_sessions(name: &str, evidence: &Evidence, policy: &str, mode: &str, opaque: bool) {
    let truth = truth(name);
    let sessions: Vec<_> = evidence
        .sessions
        .iter()
        .filter(|s| s.endpoints.server_port == 802)
        .collect();
    let mut ports: Vec<u64> = truth["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_port"].as_u64().unwrap())
        .collect();
    ports.sort();
    let mut ours: Vec<u64> = sessions
        .iter()
        .map(|s| u64::from(s.endpoints.client_port))
        .collect();
    ours.sort();
    assert_eq!(ours, ports, "{name}: one session per TLS connection");
    for s in &sessions {
        assert_eq!(s.protocol, Protocol::Modbus, "{name}: inner protocol named");
        assert_eq!(s.security_policy.as_deref(), Some(policy), "{name}");
        assert_eq!(s.security_mode.as_deref(), Some(mode), "{name}");
        assert_eq!(s.opaque, opaque, "{name}: opaque flag");
        assert_eq!(s.malformed, 0, "{name}: nothing malformed");
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
            "{name}: TLS 1.2+ and certificates valid at the time: no {kind}"
        );
    }
}

/// Every observable certificate of the truth is a credential row of its connection, with
/// its SHA-256 thumbprint, subject and issuer; unobservable ones (TLS 1.3) are absent.
fn check_credentials(name: &str, evidence: &Evidence) {
    let truth = truth(name);
    let rows: Vec<_> = evidence
        .credentials
        .iter()
        .filter(|c| c.kind == CredentialKind::TlsClientCert)
        .collect();
    let observable: Vec<&Value> = truth["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["observable"].as_bool() == Some(true))
        .collect();
    assert_eq!(rows.len(), observable.len(), "{name}: certificate rows");
    for want in observable {
        let port = want["client_port"].as_u64().unwrap();
        let session = evidence
            .sessions
            .iter()
            .find(|s| u64::from(s.endpoints.client_port) == port)
            .unwrap_or_else(|| panic!("{name}: session of port {port}"));
        let row = rows
            .iter()
            .find(|r| r.session_id == Some(session.session_id))
            .unwrap_or_else(|| panic!("{name}: no certificate on {port}"));
        assert_eq!(row.id, want["sha256"].as_str().unwrap(), "{name} {port}");
        assert_eq!(row.subject, text(&want["subject"]), "{name} {port}");
        assert_eq!(row.issuer, text(&want["issuer"]), "{name} {port}");
        assert_eq!(row.role, text(&want["role"]), "{name} {port}: Modbus role");
        assert_eq!(row.protocol, Protocol::Modbus);
        assert_eq!(
            row.client_ip.map(|ip| ip.to_string()),
            text(&want["client_ip"])
        );
        let listed = format!("tls_client_cert:{}", want["sha256"].as_str().unwrap());
        assert_eq!(
            session.credentials,
            [listed],
            "{name} {port}: session credentials"
        );
    }
}

#[test]
fn tls12_null_cipher_writes_reproduce_their_ground_truth() {
    let name = "modbus-tls12-null";
    let evidence = analyse(name);
    let truth = truth(name);
    check_sessions(
        name,
        &evidence,
        "TLSv1.2 TLS_RSA_WITH_NULL_SHA256",
        "Sign",
        false,
    );
    check_credentials(name, &evidence);

    let expected: Vec<&Value> = truth["writes"].as_array().unwrap().iter().collect();
    assert!(expected.iter().all(|w| w["readable"] == true));
    let ours: Vec<&WriteRow> = evidence.writes.iter().collect();
    support::truth::assert_writes(name, &ours, &expected);
}

#[test]
fn a_certificate_listed_by_sha1_thumbprint_attributes_too() {
    // The scenario's map knows carol by SHA-256 and dave by subject; edge-gw-9 is in no
    // entry. Listing edge-gw-9 by its SHA-1 thumbprint (from the truth) must attribute its
    // two writes, which are credential_only with the scenario's own map.
    let name = "modbus-tls12-null";
    let truth = truth(name);
    let gw = truth["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject"] == "CN=edge-gw-9,O=Contractor")
        .unwrap();
    let map = format!(
        "[[principal]]\nid = \"device:edge-gw-9\"\nkind = \"device\"\ncertificates = [\"{}\"]\n",
        gw["sha1"].as_str().unwrap()
    );
    let evidence = analyse_with(name, Some(&map));
    let gw_writes: Vec<_> = evidence
        .writes
        .iter()
        .filter(|w| w.endpoints.client_ip.to_string() == "10.77.0.23")
        .collect();
    assert_eq!(gw_writes.len(), 2);
    for w in gw_writes {
        assert_eq!(w.identity.as_deref(), Some("device:edge-gw-9"));
        assert_eq!(w.attribution, Attribution::Attributed);
        assert_eq!(w.client_certificate.as_deref(), gw["sha256"].as_str());
    }
    // carol is in this map by nothing: her certificate is still her writes' credential.
    let carol = evidence
        .writes
        .iter()
        .find(|w| w.endpoints.client_ip.to_string() == "10.77.0.21")
        .unwrap();
    assert_eq!(carol.attribution, Attribution::CredentialOnly);
}

#[test]
fn tls12_encrypted_sessions_are_opaque_with_their_certificates() {
    let name = "modbus-tls12";
    let evidence = analyse(name);
    check_sessions(
        name,
        &evidence,
        "TLSv1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "SignAndEncrypt",
        true,
    );
    check_credentials(name, &evidence);
    assert!(evidence.writes.is_empty(), "no write row from ciphertext");
}

#[test]
fn tls13_sessions_are_opaque_and_show_no_certificate() {
    let name = "modbus-tls13";
    let evidence = analyse(name);
    check_sessions(
        name,
        &evidence,
        "TLSv1.3 TLS_AES_256_GCM_SHA384",
        "SignAndEncrypt",
        true,
    );
    check_credentials(name, &evidence);
    assert!(evidence.writes.is_empty(), "no write row from ciphertext");
    assert!(
        evidence.credentials.is_empty(),
        "the certificate is encrypted"
    );
}

#[test]
fn no_key_log_material_reaches_the_evidence() {
    for name in ["modbus-tls12-null", "modbus-tls12", "modbus-tls13"] {
        let log = std::fs::read_to_string(scenario(name).join("sslkeys.log")).expect("key log");
        // NSS key log lines: LABEL <client random hex> <secret hex>.
        let values: Vec<String> = log
            .lines()
            .filter(|l| !l.starts_with('#'))
            .flat_map(|l| l.split_whitespace().skip(1).map(str::to_lowercase))
            .collect();
        assert!(
            values.len() >= 8,
            "{name}: the key log has secrets to look for"
        );
        let evidence = analyse(name);
        let texts = support::leaks::evidence_texts(&evidence);
        assert!(!texts.is_empty());
        for value in &values {
            // 16 hex digits of a 32- or 48-byte value are already far too much to show.
            let piece = &value[..16];
            for t in &texts {
                assert!(!t.to_lowercase().contains(piece), "{name}: {piece} in {t}");
            }
        }
    }
}

/// tshark, when installed, independently finds the client Certificate messages: their frames
/// and subjects must be those of the credential rows.
#[test]
fn client_certificates_agree_with_tshark() {
    let name = "modbus-tls12";
    let capture = scenario(name).join("capture.pcap");
    let output = std::process::Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&capture)
        .args(["-d", "tcp.port==802,tls", "-Y"])
        .arg("tls.handshake.type == 11 && tcp.dstport == 802")
        .args([
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "x509sat.uTF8String",
        ])
        .output();
    let output = match output {
        Ok(o) if o.status.success() => o,
        _ if std::env::var_os("CI").is_some() => panic!("tshark is required on CI"),
        _ => {
            eprintln!("skipping: tshark not installed");
            return;
        }
    };
    let mut theirs: Vec<(u64, String)> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| {
            let (frame, names) = l.split_once('\t').expect("two fields");
            // The leaf's names in DER order: issuer O and CN, then subject O and CN.
            let cn = names.split(',').nth(3).unwrap_or_default().to_owned();
            (frame.parse().unwrap(), cn)
        })
        .collect();
    theirs.sort();
    let evidence = analyse(name);
    let mut ours: Vec<(u64, String)> = evidence
        .credentials
        .iter()
        .map(|c| {
            let subject = c.subject.clone().unwrap_or_default();
            let cn = subject.split(',').next().unwrap().trim_start_matches("CN=");
            (c.at.frame, cn.to_owned())
        })
        .collect();
    ours.sort();
    assert_eq!(ours.len(), 4);
    assert_eq!(ours, theirs);
}
