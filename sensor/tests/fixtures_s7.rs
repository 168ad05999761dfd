//! The S7 scenario of `fixtures-pcap` (python-snap7 clients against a native libsnap7 server,
//! ground truth recorded by the clients) reproduced exactly: every write with its frame,
//! function, target, value, outcome, credential, identity, attribution and delegation, and no
//! write that did not happen. The session password is the interesting part: the write sent
//! while it is in force carries the `s7_password` credential (and so is `credential_only`),
//! the writes after "clear password" do not, and the password itself never reaches the
//! evidence.

mod support;

use std::sync::Arc;

use analytics::attribution::Attributor;
use analytics::evidence::{AlertKind, CredentialKind, Protocol, WriteRow};
use serde_json::Value;
use support::fixture::{analyse, scenario, truth};

#[test]
fn s7comm_basic_reproduces_its_ground_truth() {
    let truth = truth("s7comm-basic");
    let evidence = analyse("s7comm-basic");
    let expected: Vec<&Value> = truth["writes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["protocol"] == "s7comm")
        .collect();
    let ours: Vec<&WriteRow> = evidence
        .writes
        .iter()
        .filter(|w| w.protocol == Protocol::S7comm)
        .collect();
    assert_eq!(ours.len(), 23);
    support::truth::assert_writes("s7comm-basic", &ours, &expected);
    for got in &ours {
        // The truth leaves credential_id null (it is the sensor's keyed fingerprint); this
        // run has no site key, so the row says that no fingerprint was made.
        if let Some(c) = &got.credential {
            assert_eq!(
                c.id,
                analytics::s7::NO_SITE_KEY_ID,
                "frame {}",
                got.at.frame
            );
        }
    }
}

#[test]
fn the_password_is_observed_once_and_never_stored() {
    let truth = truth("s7comm-basic");
    let evidence = analyse("s7comm-basic");

    let set: Vec<&Value> = truth["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["event"] == "set")
        .collect();
    let rows: Vec<_> = evidence
        .credentials
        .iter()
        .filter(|c| c.kind == CredentialKind::S7Password)
        .collect();
    assert_eq!(rows.len(), set.len());
    for (row, want) in rows.iter().zip(&set) {
        assert_eq!(row.at.frame, want["frame"].as_u64().unwrap());
        assert!(row.plaintext);
        assert_eq!(row.secret_fingerprint, None, "no site key, no fingerprint");
    }
    let alerts = evidence
        .alerts
        .iter()
        .filter(|a| a.kind == AlertKind::PlaintextPassword)
        .count();
    assert_eq!(
        alerts,
        set.len(),
        "one plaintext-password alert per request"
    );

    // Neither the secret nor an unkeyed hash of it appears anywhere in the evidence.
    let all = format!("{evidence:?}");
    for want in &set {
        let secret = want["secret_for_leak_tests"].as_str().unwrap();
        assert!(
            !all.contains(secret),
            "the password leaked into the evidence"
        );
        use sha2::Digest;
        let plain = hex::encode(sha2::Sha256::digest(secret.as_bytes()));
        assert!(!all.contains(&plain[..16]), "an unkeyed hash leaked");
    }
}

#[test]
fn with_a_site_key_the_credential_is_a_keyed_fingerprint() {
    use analytics::engine::EngineConfig;
    use analytics::secrets::SiteKey;
    use sensor::pipeline::{analyze, AnalyzeOptions, Progress};

    let dir = scenario("s7comm-basic");
    let truth = truth("s7comm-basic");
    let key = SiteKey::from_bytes([7; 32]);
    let options = AnalyzeOptions {
        inputs: vec![dir.join("capture.pcap")],
        threads: 1,
        engine: EngineConfig {
            site_key: Some(Arc::new(key.clone())),
            ..EngineConfig::default()
        },
        attributor: Attributor::default(),
        delegations: None,
    };
    let evidence = analyze(&options, &Progress::default()).evidence;
    let secret = truth["credentials"][0]["secret_for_leak_tests"]
        .as_str()
        .unwrap();
    let expected = key.fingerprint(secret.as_bytes());
    let row = evidence
        .credentials
        .iter()
        .find(|c| c.kind == CredentialKind::S7Password)
        .expect("a credential row");
    assert_eq!(row.secret_fingerprint.as_deref(), Some(expected.as_str()));
    assert_eq!(row.id, expected);
    let under: Vec<_> = evidence
        .writes
        .iter()
        .filter(|w| w.credential.is_some())
        .map(|w| (w.at.frame, w.credential.clone().unwrap().id))
        .collect();
    assert_eq!(
        under,
        vec![(73, expected)],
        "only the write under the password carries it"
    );
}
