//! The Modbus/TCP Security scenarios of `fixtures-pcap` (pymodbus TLS client and server, ground
//! truth recorded by the clients) reproduced: under TLS_RSA_WITH_NULL_SHA256 every write with
//! its frame (the frame completing its TLS record), target, value, outcome, `tls_client_cert`
//! credential, identity (by thumbprint, by subject, or none), delegation and status; under
//! ECDHE-RSA-AES128-GCM the certificates but no write, four opaque sessions; under TLS 1.3
//! not even the certificates. The key log beside each capture never reaches the evidence.

mod support;

use analytics::engine::EngineConfig;
use analytics::evidence::{Attribution, Evidence, Protocol, WriteRow};
use serde_json::Value;
use support::fixture::{
    analyse, analyse_with, check_tls_credentials, check_tls_sessions, scenario, truth,
    tshark_client_certificates,
};

/// The Modbus sessions on 802: exactly one per client connection of the truth, each as
/// `support::fixture::check_tls_sessions` wants it.
fn check_sessions(name: &str, evidence: &Evidence, policy: &str, mode: &str) {
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
    check_tls_sessions(name, evidence, &sessions, Protocol::Modbus, (policy, mode));
}

#[test]
fn tls12_null_cipher_writes_reproduce_their_ground_truth() {
    let name = "modbus-tls12-null";
    let evidence = analyse(name);
    let truth = truth(name);
    check_sessions(name, &evidence, "TLSv1.2 TLS_RSA_WITH_NULL_SHA256", "Sign");
    check_tls_credentials(name, &evidence, Protocol::Modbus);

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
    let evidence = analyse_with(name, Some(&map), EngineConfig::default());
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
    );
    check_tls_credentials(name, &evidence, Protocol::Modbus);
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
    );
    check_tls_credentials(name, &evidence, Protocol::Modbus);
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
    let Some(certificates) = tshark_client_certificates(name, 802, "x509sat.uTF8String") else {
        return;
    };
    let mut theirs: Vec<(u64, String)> = certificates
        .into_iter()
        .map(|(frame, names)| {
            // The leaf's names in DER order: issuer O and CN, then subject O and CN.
            let cn = names.split(',').nth(3).unwrap_or_default().to_owned();
            (frame, cn)
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
