//! Comparing write rows with a `fixtures-pcap` scenario's `truth.json`, field by field.
//!
//! The truth is what the generator's clients did (see `fixtures-pcap/README.md`); every field
//! it fixes for a write is compared here, for every protocol, so the scenario tests differ
//! only in what is particular to their protocol.

use analytics::evidence::{mac_text, WriteRow};
use serde_json::Value;

/// A JSON string as an owned string; `None` for null or any other type.
pub fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// `2026-12-03T19:18:16.872537Z` → µs since the epoch.
pub fn ts_us(v: &Value) -> i64 {
    let text = v.as_str().expect("ts is a string");
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("ts is RFC 3339")
        .timestamp_micros()
}

/// The truth's readable writes of `protocol`, in truth order (frame, then item).
pub fn readable_writes<'a>(truth: &'a Value, protocol: &str) -> Vec<&'a Value> {
    truth["writes"]
        .as_array()
        .expect("writes")
        .iter()
        .filter(|w| w["readable"].as_bool() == Some(true) && w["protocol"] == protocol)
        .collect()
}

/// Asserts that `ours` are exactly the writes `expected`, frame by frame, then field by field.
pub fn assert_writes(scenario: &str, ours: &[&WriteRow], expected: &[&Value]) {
    let frames: Vec<u64> = ours.iter().map(|w| w.at.frame).collect();
    let truth_frames: Vec<u64> = expected
        .iter()
        .map(|w| w["frame"].as_u64().expect("frame"))
        .collect();
    assert_eq!(frames, truth_frames, "{scenario}: frames of the writes");

    for (got, want) in ours.iter().zip(expected) {
        let at = format!(
            "{scenario} frame {} item {} ({}): {}",
            got.at.frame, got.item, got.target, want["why"]
        );
        assert_write(got, want, &at);
    }
}

/// Asserts every field the truth fixes for one write. `credential_id` is compared when the
/// truth names one; it is null for credentials whose id only the sensor can make (the keyed
/// fingerprint of an S7 password), which the caller checks itself.
pub fn assert_write(got: &WriteRow, want: &Value, at: &str) {
    assert_eq!(got.at.ts_us, ts_us(&want["ts"]), "{at}: ts");
    assert_eq!(got.protocol.as_str(), want["protocol"], "{at}: protocol");
    assert_eq!(
        u64::from(got.function_code),
        want["function_code"].as_u64().expect("function_code"),
        "{at}: function_code"
    );
    assert_eq!(got.category.as_str(), want["category"], "{at}: category");
    assert_eq!(got.operation, want["operation"], "{at}: operation");
    assert_eq!(
        Some(got.target.clone()),
        text(&want["target"]),
        "{at}: target"
    );
    assert_eq!(got.value, text(&want["value"]), "{at}: value");
    assert_eq!(
        Some(got.outcome.text()),
        text(&want["outcome"]),
        "{at}: outcome"
    );

    let e = &got.endpoints;
    assert_eq!(
        e.client_ip.to_string(),
        want["client_ip"],
        "{at}: client_ip"
    );
    assert_eq!(
        u64::from(e.client_port),
        want["client_port"],
        "{at}: client_port"
    );
    assert_eq!(
        e.server_ip.to_string(),
        want["server_ip"],
        "{at}: server_ip"
    );
    assert_eq!(
        u64::from(e.server_port),
        want["server_port"],
        "{at}: server_port"
    );
    if !want["client_mac"].is_null() {
        assert_eq!(
            e.client_mac.as_ref().map(mac_text),
            text(&want["client_mac"]),
            "{at}"
        );
        assert_eq!(
            e.server_mac.as_ref().map(mac_text),
            text(&want["server_mac"]),
            "{at}"
        );
    }

    assert_eq!(
        got.credential.as_ref().map(|c| c.kind.as_str().to_owned()),
        text(&want["credential_kind"]),
        "{at}: credential_kind"
    );
    if !want["credential_id"].is_null() {
        assert_eq!(
            got.credential.as_ref().map(|c| c.id.clone()),
            text(&want["credential_id"]),
            "{at}: credential_id"
        );
    }
    assert_eq!(
        got.client_certificate,
        text(&want["client_certificate"]),
        "{at}: client_certificate"
    );
    assert_eq!(got.device_id, text(&want["device_id"]), "{at}: device_id");
    assert_eq!(got.identity, text(&want["principal"]), "{at}: identity");
    assert_eq!(
        got.attribution.as_str(),
        want["attribution"],
        "{at}: attribution"
    );
    assert_eq!(
        got.delegation,
        text(&want["delegation"]),
        "{at}: delegation"
    );
    assert_eq!(
        got.delegation_status.as_str(),
        want["delegation_status"],
        "{at}: delegation_status"
    );
}
