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
    let expected = support::truth::readable_writes(&truth, "enip");
    let ours: Vec<&WriteRow> = evidence
        .writes
        .iter()
        .filter(|w| w.protocol == Protocol::Enip)
        .collect();
    assert_eq!(ours.len(), 16);
    support::truth::assert_writes("enip-basic", &ours, &expected);

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
