//! OPC UA over the shared real captures (`../shared/pcaps/opcua`): per file, the Write and
//! Call requests, the other node-changing requests, the user token types and user names, the
//! plaintext-password flag, the security policies, the presence of OpenSecureChannel sender
//! certificates and the opaque (encrypted) channels equal tshark's ground truth
//! (`ground_truth.json`); and each write agrees with tshark's own dissection on frame,
//! NodeId and attribute. Captures without a handshake or with TCP gaps are read from their
//! first recognisable message.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use analytics::evidence::{CredentialKind, Evidence, Protocol};

/// Requests of a service in our rows: distinct (session, frame) pairs of its function code.
fn requests(evidence: &Evidence, function_code: u32) -> u64 {
    evidence
        .writes
        .iter()
        .filter(|w| w.protocol == Protocol::Opcua && w.function_code == function_code)
        .map(|w| (w.session_id, w.at.frame))
        .collect::<BTreeSet<_>>()
        .len() as u64
}

fn strings(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn opcua_facts_per_file_equal_ground_truth() {
    let Some(pcaps) = support::shared_pcaps() else {
        return;
    };
    let truth = support::ground_truth(&pcaps);
    let entries = support::entries(&truth, &["opcua"]);
    assert!(entries.len() >= 16, "expected the 16 OPC UA captures");

    let mut failures = Vec::new();
    for entry in entries {
        let path = support::entry_path(&pcaps, entry);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let evidence = support::run(std::slice::from_ref(&path), 2).evidence;
        let gt = &entry["opcua"];
        let mut check = |what: &str, ours: String, theirs: String| {
            if ours != theirs {
                failures.push(format!("{name}: {what}: ours {ours}, tshark {theirs}"));
            }
        };

        check(
            "WriteRequests",
            requests(&evidence, 673).to_string(),
            gt["write_requests"].to_string(),
        );
        check(
            "CallRequests",
            requests(&evidence, 712).to_string(),
            gt["call_requests"].to_string(),
        );
        let mut modifying = BTreeMap::new();
        for (fc, service) in [
            (488, "AddNodesRequest"),
            (494, "AddReferencesRequest"),
            (500, "DeleteNodesRequest"),
            (506, "DeleteReferencesRequest"),
            (700, "HistoryUpdateRequest"),
        ] {
            let n = requests(&evidence, fc);
            if n > 0 {
                modifying.insert(service.to_owned(), n);
            }
        }
        let theirs: BTreeMap<String, u64> = gt["other_modifying_requests"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default();
        check(
            "other modifying requests",
            format!("{modifying:?}"),
            format!("{theirs:?}"),
        );

        let creds = |kind: CredentialKind| -> Vec<&analytics::evidence::CredentialRow> {
            evidence
                .credentials
                .iter()
                .filter(|c| c.kind == kind)
                .collect()
        };
        let users: BTreeSet<String> = creds(CredentialKind::OpcuaUser)
            .iter()
            .map(|c| c.id.clone())
            .collect();
        check(
            "user names",
            format!("{users:?}"),
            format!("{:?}", strings(&gt["usernames"])),
        );

        // Token types that are credentials (anonymous ones are not).
        let mut types = BTreeSet::new();
        for (kind, token) in [
            (CredentialKind::OpcuaUser, "UserNameIdentityToken"),
            (CredentialKind::OpcuaX509User, "X509IdentityToken"),
            (CredentialKind::OpcuaIssued, "IssuedIdentityToken"),
        ] {
            if !creds(kind).is_empty() {
                types.insert(token.to_owned());
            }
        }
        let their_types: BTreeSet<String> = gt["activate_session_token_types"]
            .as_object()
            .map(|o| {
                o.keys()
                    .filter(|k| *k != "AnonymousIdentityToken")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        check(
            "token types",
            format!("{types:?}"),
            format!("{their_types:?}"),
        );

        let plaintext = creds(CredentialKind::OpcuaUser).iter().any(|c| c.plaintext);
        let their_plaintext = strings(&gt["username_token_encryption_algorithms"])
            .iter()
            .any(|a| a.contains("plaintext"));
        check(
            "plaintext password",
            plaintext.to_string(),
            their_plaintext.to_string(),
        );

        let policies: BTreeSet<String> = evidence
            .sessions
            .iter()
            .filter(|s| s.protocol == Protocol::Opcua)
            .filter_map(|s| s.security_policy.clone())
            .collect();
        let their_policies: BTreeSet<String> = gt["opn_security_policy_uris"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        check(
            "security policies",
            format!("{policies:?}"),
            format!("{their_policies:?}"),
        );

        let certs = !creds(CredentialKind::OpcuaChannelCert).is_empty();
        let their_certs = gt["opn_with_sender_certificate"].as_u64().unwrap_or(0) > 0;
        check(
            "channel certificate present",
            certs.to_string(),
            their_certs.to_string(),
        );

        let opaque = evidence
            .sessions
            .iter()
            .any(|s| s.protocol == Protocol::Opcua && s.opaque);
        let their_opaque = gt["msg_without_decoded_service(encrypted_or_partial)"]
            .as_u64()
            .unwrap_or(0)
            > 0
            || gt["opn_request_security_modes"]["SignAndEncrypt"]
                .as_u64()
                .unwrap_or(0)
                > 0
                && gt["message_types"]["MSG"].as_u64().unwrap_or(0)
                    > gt["services"].as_object().map_or(0, |s| s.len() as u64);
        check(
            "opaque channel",
            opaque.to_string(),
            their_opaque.to_string(),
        );
    }
    assert!(failures.is_empty(), "differences:\n{}", failures.join("\n"));
}

/// One write as both sides describe it: frame, NodeId text, attribute.
type Key = (u64, String, u32);

#[test]
fn every_opcua_write_agrees_with_tshark() {
    let Some(pcaps) = support::shared_pcaps() else {
        return;
    };
    if !support::have_tool("tshark", &["--version"]) {
        return;
    }
    let truth = support::ground_truth(&pcaps);
    let mut compared = 0;
    for entry in support::entries(&truth, &["opcua"]) {
        let path = support::entry_path(&pcaps, entry);
        let decode_as = strings(&entry["decode_as"]);
        let theirs = tshark_writes(&path, &decode_as);
        let evidence = support::run(std::slice::from_ref(&path), 1).evidence;
        let ours: Vec<Key> = evidence
            .writes
            .iter()
            .filter(|w| w.protocol == Protocol::Opcua && w.function_code == 673)
            .map(|w| {
                let (node, attr) = match w.target.split_once(" attr ") {
                    Some((n, a)) => (n.to_owned(), a.parse().unwrap_or(0)),
                    None => (w.target.clone(), 13),
                };
                (w.at.frame, node, attr)
            })
            .collect();
        assert_eq!(
            ours,
            theirs,
            "{}: writes (frame, NodeId, attribute)",
            path.display()
        );
        compared += ours.len();
    }
    assert!(compared >= 6, "only {compared} writes compared");
}

/// tshark's WriteValues: frame, NodeId rendered like ours, attribute id.
fn tshark_writes(path: &std::path::Path, decode_as: &BTreeSet<String>) -> Vec<Key> {
    let mut command = Command::new("tshark");
    command.arg("-n").arg("-r").arg(path);
    for d in decode_as {
        command.arg("-d").arg(d);
    }
    command.args(["-Y", "opcua.servicenodeid.numeric == 673", "-V"]);
    let output = command.output().expect("tshark runs");
    assert!(
        output.status.success(),
        "tshark failed on {}",
        path.display()
    );
    parse_tshark_writes(&String::from_utf8_lossy(&output.stdout))
}

/// Reads tshark's verbose tree: each `WriteValue` (in `NodesToWrite`) holds a NodeId
/// (`EncodingMask`, `Namespace Index`, `Identifier Numeric`/`String`/…) and an `AttributeId`.
fn parse_tshark_writes(text: &str) -> Vec<Key> {
    let mut keys = Vec::new();
    let mut frame = 0u64;
    let mut in_value = false;
    let mut ns = 0u32;
    let mut id: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("Frame ") {
            if let Some(n) = rest.split(':').next().and_then(|n| n.parse().ok()) {
                frame = n;
            }
        }
        if t.ends_with(": WriteValue") || t.starts_with("WriteValue") {
            in_value = true;
            ns = 0;
            id = None;
            continue;
        }
        if !in_value {
            continue;
        }
        if let Some(v) = t.strip_prefix("Namespace Index: ") {
            ns = v.parse().unwrap_or(0);
        } else if let Some(v) = t.strip_prefix("Identifier Numeric: ") {
            id.get_or_insert(format!("i={}", v.trim()));
        } else if let Some(v) = t.strip_prefix("Identifier String: ") {
            id.get_or_insert(format!("s={v}"));
        } else if let Some(v) = t.strip_prefix("Identifier Guid: ") {
            id.get_or_insert(format!("g={}", v.to_lowercase()));
        } else if let Some(v) = t.strip_prefix("AttributeId: ") {
            // `Value (0x0000000d)`
            let attr = v
                .split_once("(0x")
                .and_then(|(_, h)| u32::from_str_radix(h.trim_end_matches(')'), 16).ok())
                .unwrap_or(u32::MAX);
            let node = match (ns, id.take()) {
                (0, Some(i)) => i,
                (n, Some(i)) => format!("ns={n};{i}"),
                (_, None) => "?".to_owned(),
            };
            keys.push((frame, node, attr));
            in_value = false;
        }
    }
    keys
}

/// Plaintext passwords as tshark reads them from ActivateSession, hex-decoded.
fn tshark_passwords(path: &std::path::Path, decode_as: &BTreeSet<String>) -> BTreeSet<Vec<u8>> {
    let mut command = Command::new("tshark");
    command.arg("-n").arg("-r").arg(path);
    for d in decode_as {
        command.arg("-d").arg(d);
    }
    command.args([
        "-Y",
        "opcua.Password",
        "-T",
        "fields",
        "-e",
        "opcua.Password",
    ]);
    let output = command.output().expect("tshark runs");
    String::from_utf8_lossy(&output.stdout)
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|h| !h.is_empty())
        .filter_map(|h| hex::decode(h).ok())
        .collect()
}

#[test]
fn no_password_of_any_capture_reaches_the_evidence() {
    use std::sync::Arc;

    use analytics::engine::EngineConfig;
    use analytics::evidence::AlertKind;
    use analytics::secrets::SiteKey;
    use sensor::pipeline::{analyze, AnalyzeOptions, Progress};

    let Some(pcaps) = support::shared_pcaps() else {
        return;
    };
    if !support::have_tool("tshark", &["--version"]) {
        return;
    }
    let truth = support::ground_truth(&pcaps);
    let mut checked = 0;
    for entry in support::entries(&truth, &["opcua"]) {
        let path = support::entry_path(&pcaps, entry);
        let passwords = tshark_passwords(&path, &strings(&entry["decode_as"]));
        if passwords.is_empty() {
            continue;
        }
        let options = AnalyzeOptions {
            inputs: vec![path.clone()],
            threads: 1,
            engine: EngineConfig {
                site_key: Some(Arc::new(SiteKey::from_bytes([3; 32]))),
                ..EngineConfig::default()
            },
            attributor: Default::default(),
            delegations: None,
        };
        let evidence = analyze(&options, &Progress::default()).evidence;
        let texts = support::leaks::evidence_texts(&evidence);
        for password in &passwords {
            for form in support::leaks::leak_forms(password) {
                for text in &texts {
                    assert!(
                        !text.contains(&form),
                        "{}: a password leaks as {form} in {text}",
                        path.display()
                    );
                }
            }
        }
        // Each plaintext password is alerted and fingerprinted under the site key.
        assert!(evidence
            .alerts
            .iter()
            .any(|a| a.kind == AlertKind::PlaintextPassword));
        assert!(evidence
            .credentials
            .iter()
            .filter(|c| c.plaintext)
            .all(|c| c
                .secret_fingerprint
                .as_deref()
                .is_some_and(|f| f.starts_with("hmac-sha256:"))));
        checked += passwords.len();
    }
    assert!(checked >= 7, "only {checked} passwords checked");
}

#[test]
fn no_other_capture_is_taken_for_opcua() {
    let Some(pcaps) = support::shared_pcaps() else {
        return;
    };
    let truth = support::ground_truth(&pcaps);
    let mut failures = Vec::new();
    let entries = support::entries(&truth, &["modbus", "s7comm", "enip", "mixed"]);
    assert!(entries.len() >= 30, "only {} other captures", entries.len());
    for entry in entries {
        let path = support::entry_path(&pcaps, entry);
        let evidence = support::run(std::slice::from_ref(&path), 2).evidence;
        let ours = evidence
            .sessions
            .iter()
            .filter(|s| s.protocol == Protocol::Opcua)
            .count();
        if ours > 0 && entry["proto_packets"]["opcua"].as_u64().unwrap_or(0) == 0 {
            failures.push(format!("{}: {ours} OPC UA session(s)", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
