//! The Modbus scenarios of `fixtures-pcap` (real pymodbus clients and server, ground truth
//! recorded by the clients) reproduced exactly: every readable write with its frame, function,
//! target, value, outcome, identity and attribution, and no write that did not happen.
//!
//! The identity map and the delegations file are the scenario's own, so `delegation` and
//! `delegation_status` are compared too.

mod support;

use analytics::evidence::{Protocol, WriteRow};
use serde_json::Value;
use support::fixture::{analyse, scenario, truth};

/// Compares every field the truth fixes, write by write, in frame order.
fn check_readable_writes(name: &str) -> usize {
    let truth = truth(name);
    let ours = analyse(name).writes;
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
