//! The Modbus scenarios of `fixtures-pcap` (real pymodbus clients and server, ground truth
//! recorded by the clients) reproduced exactly: every readable write with its frame, function,
//! target, value, outcome, identity and attribution, and no write that did not happen.
//!
//! The identity map and the delegations file are the scenario's own, so `delegation` and
//! `delegation_status` are compared too.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use analytics::attribution::Attributor;
use analytics::delegation::Delegations;
use analytics::evidence::{Protocol, WriteRow};
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

fn analyse(dir: &Path) -> Vec<WriteRow> {
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
    outcome.evidence.writes
}

/// Compares every field the truth fixes, write by write, in frame order.
fn check_readable_writes(name: &str) -> usize {
    let dir = scenario(name);
    let truth = truth(&dir);
    let ours = analyse(&dir);
    let expected: Vec<&Value> = truth["writes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["readable"].as_bool() == Some(true) && w["protocol"] == "modbus")
        .collect();

    let ours: Vec<&WriteRow> = ours
        .iter()
        .filter(|w| w.protocol == Protocol::Modbus)
        .collect();
    support::truth::assert_writes(name, &ours, &expected);
    ours.len()
}

#[test]
fn modbus_basic_reproduces_its_ground_truth() {
    let n = check_readable_writes("modbus-basic");
    assert_eq!(n, 32, "modbus-basic has 32 writes");
}

#[test]
fn the_capture_is_bundled_and_small() {
    let capture = scenario("modbus-basic").join("capture.pcap");
    let size = std::fs::metadata(&capture)
        .expect("bundled demo capture")
        .len();
    assert!(
        size < 100 * 1024,
        "the demo capture stays small ({size} bytes)"
    );
}
