//! The CIP Security scenarios of `fixtures-pcap` (EtherNet/IP over TLS on 2221: cpppo client
//! and simulator, socat adding TLS 1.2 with client certificates on each side, ground truth
//! recorded by the clients) reproduced. Under TLS_RSA_WITH_NULL_SHA256 every write with its
//! frame (the frame completing the TLS record carrying it), target, value, outcome,
//! `tls_client_cert` credential, identity (by thumbprint, by subject, or none), delegation and
//! status; under ECDHE-RSA-AES128-GCM the certificates but no write, one opaque session per
//! connection. Expected values all come from each capture's `truth.json`.

mod support;

use analytics::evidence::{Evidence, Protocol, SessionRow, WriteRow};
use serde_json::Value;
use support::fixture::{
    analyse, check_tls_credentials, check_tls_sessions, scenario, truth, tshark_client_certificates,
};

const PORT: u16 = 2221;

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
    check_tls_sessions(name, evidence, &sessions, Protocol::Enip, (&policy, mode));
    sessions
}

/// Every certificate of the truth is the credential row of its connection, and nothing else
/// is a credential: these runs open no CIP connection, so no `cip_originator` appears.
fn check_credentials(name: &str, evidence: &Evidence) {
    check_tls_credentials(name, evidence, Protocol::Enip);
    let rows = evidence.credentials.len();
    assert_eq!(
        rows,
        truth_credentials(&truth(name)).len(),
        "{name}: no other credential"
    );
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
        let Some(certificates) = tshark_client_certificates(name, PORT, "tcp.srcport") else {
            return;
        };
        let theirs: Vec<(u64, u16)> = certificates
            .into_iter()
            .map(|(frame, port)| (frame, port.parse().expect("a port")))
            .collect();
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
