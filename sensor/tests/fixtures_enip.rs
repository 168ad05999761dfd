//! The EtherNet/IP + CIP scenario of `fixtures-pcap` (cpppo simulator, cpppo and pycomm3
//! clients, ground truth recorded by the clients) reproduced exactly: every write with its
//! frame, service, target, value, outcome, credential, identity, attribution and delegation
//! status, and the Forward Open originators as credentials.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use analytics::attribution::Attributor;
use analytics::delegation::Delegations;
use analytics::evidence::{CredentialKind, Evidence, Protocol, WriteRow};
use analytics::identity::IdentityMap;
use serde_json::Value;

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures-pcap")
        .join(name)
}

fn truth(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("truth.json")).expect("truth.json");
    serde_json::from_str(&text).expect("truth is JSON")
}

fn analyse(dir: &Path) -> Evidence {
    let ids_path = dir.join("identities.toml");
    let text = std::fs::read_to_string(&ids_path).expect("identities.toml");
    let map = IdentityMap::parse(&ids_path.display().to_string(), &text).expect("valid map");
    let attributor = Attributor::new(Some(Arc::new(map)));
    let grants_path = dir.join("delegations.toml");
    let text = std::fs::read_to_string(&grants_path).expect("delegations.toml");
    let grants = Delegations::parse(&grants_path.display().to_string(), &text).expect("valid");
    let outcome = support::run_full(
        &[dir.join("capture.pcap")],
        2,
        attributor,
        Some(Arc::new(grants)),
    );
    outcome.evidence
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

#[test]
fn enip_basic_reproduces_its_ground_truth() {
    let dir = scenario("enip-basic");
    let truth = truth(&dir);
    let evidence = analyse(&dir);
    let expected: Vec<&Value> = truth["writes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["readable"].as_bool() == Some(true) && w["protocol"] == "enip")
        .collect();
    let ours: Vec<&WriteRow> = evidence
        .writes
        .iter()
        .filter(|w| w.protocol == Protocol::Enip)
        .collect();
    let frames = |v: &[&WriteRow]| v.iter().map(|w| w.at.frame).collect::<Vec<_>>();
    let truth_frames: Vec<u64> = expected
        .iter()
        .map(|w| w["frame"].as_u64().unwrap())
        .collect();
    assert_eq!(frames(&ours), truth_frames, "frames of the writes");
    assert_eq!(ours.len(), 16);

    for (got, want) in ours.iter().zip(&expected) {
        let at = format!("enip-basic frame {}", got.at.frame);
        assert_eq!(
            u64::from(got.function_code),
            want["function_code"].as_u64().unwrap(),
            "{at}"
        );
        assert_eq!(got.category.as_str(), want["category"], "{at}");
        assert_eq!(got.operation, want["operation"], "{at}");
        assert_eq!(got.target, want["target"].as_str().unwrap(), "{at}");
        assert_eq!(got.value, text(&want["value"]), "{at}");
        assert_eq!(
            got.outcome.text(),
            want["outcome"].as_str().unwrap(),
            "{at}"
        );
        assert_eq!(got.at.ts_us, ts_us(&want["ts"]), "{at}");
        assert_eq!(
            got.endpoints.client_ip.to_string(),
            want["client_ip"],
            "{at}"
        );
        assert_eq!(
            u64::from(got.endpoints.client_port),
            want["client_port"],
            "{at}"
        );
        assert_eq!(
            got.endpoints.server_ip.to_string(),
            want["server_ip"],
            "{at}"
        );
        assert_eq!(
            got.credential.as_ref().map(|c| c.kind.as_str().to_owned()),
            text(&want["credential_kind"]),
            "{at}"
        );
        assert_eq!(
            got.credential.as_ref().map(|c| c.id.clone()),
            text(&want["credential_id"]),
            "{at}"
        );
        assert_eq!(got.device_id, text(&want["device_id"]), "{at}");
        assert_eq!(
            got.identity,
            text(&want["principal"]),
            "{at}: {}",
            want["why"]
        );
        assert_eq!(
            got.attribution.as_str(),
            want["attribution"],
            "{at}: {}",
            want["why"]
        );
        assert_eq!(
            got.delegation,
            text(&want["delegation"]),
            "{at}: {}",
            want["why"]
        );
        assert_eq!(
            got.delegation_status.as_str(),
            want["delegation_status"],
            "{at}: {}",
            want["why"]
        );
    }

    // One credentials row per Forward Open, at its frame, with its originator.
    let ours: Vec<(u64, String)> = evidence
        .credentials
        .iter()
        .filter(|c| c.kind == CredentialKind::CipOriginator)
        .map(|c| (c.at.frame, c.id.clone()))
        .collect();
    let theirs: Vec<(u64, String)> = truth["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "cip_originator")
        .map(|c| (c["frame"].as_u64().unwrap(), text(&c["id"]).unwrap()))
        .collect();
    assert_eq!(ours, theirs, "cip_originator credentials");
}

/// `2026-12-03T19:18:16.872537Z` → µs since the epoch.
fn ts_us(v: &Value) -> i64 {
    let s = v.as_str().expect("ts");
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("RFC 3339")
        .timestamp_micros()
}
