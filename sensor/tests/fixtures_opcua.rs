//! The OPC UA scenarios of `fixtures-pcap` (asyncua clients and server, ground truth recorded
//! by the clients) reproduced: every readable write with its frame, service, target, value,
//! outcome, credential, client certificate, identity and attribution; the credentials seen
//! (users, X509 users, audit entries, channel certificates); re-activation changing the user;
//! SignAndEncrypt sessions opaque with no write rows; and no password from any scenario in
//! any evidence row, alert or credential, in clear, hex, base64 or as an unkeyed hash.

mod support;

use std::sync::Arc;

use analytics::engine::EngineConfig;
use analytics::evidence::{AlertKind, CredentialKind, Evidence, Protocol, WriteRow};
use analytics::secrets::SiteKey;
use serde_json::Value;
use support::fixture::{scenario, truth};

/// Analyses the scenario as `support::fixture::analyse` does, with a site key so that
/// secrets are keyed fingerprints.
fn analyse(name: &str) -> Evidence {
    let engine = EngineConfig {
        site_key: Some(Arc::new(SiteKey::from_bytes([7; 32]))),
        ..EngineConfig::default()
    };
    support::fixture::analyse_with(name, None, engine)
}

/// Compares every field the truth fixes, write by write, in frame order.
fn check_readable_writes(name: &str, evidence: &Evidence) -> usize {
    let truth = truth(name);
    let expected: Vec<&Value> = truth["writes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["readable"].as_bool() == Some(true) && w["protocol"] == "opcua")
        .collect();
    let ours: Vec<&WriteRow> = evidence
        .writes
        .iter()
        .filter(|w| w.protocol == Protocol::Opcua)
        .collect();
    support::truth::assert_writes(name, &ours, &expected);
    ours.len()
}

/// Every observable credential of the truth is in the credentials table, with its kind,
/// id, frame and (for certificates) subject.
fn check_credentials(name: &str, evidence: &Evidence) {
    let truth = truth(name);
    for want in truth["credentials"].as_array().unwrap() {
        if want["observable"].as_bool() != Some(true) {
            continue;
        }
        let frame = want["frame"].as_u64().unwrap();
        let found = evidence
            .credentials
            .iter()
            .find(|c| c.kind.as_str() == want["kind"] && c.id == want["id"].as_str().unwrap());
        let found = found.unwrap_or_else(|| panic!("{name}: credential {want} missing"));
        if want["kind"] != "opcua_channel_cert" {
            assert_eq!(found.at.frame, frame, "{name}: frame of {want}");
        }
        if let Some(subject) = want["subject"].as_str() {
            assert_eq!(
                found.subject.as_deref(),
                Some(subject),
                "{name}: subject of {want}"
            );
        }
        if let Some(plaintext) = want["plaintext_password"].as_bool() {
            assert_eq!(
                found.plaintext, plaintext,
                "{name}: plaintext flag of {want}"
            );
            assert_eq!(
                found.secret_fingerprint.is_some(),
                plaintext,
                "{name}: {want}"
            );
        }
    }
    // Channel certificates are read from every OpenSecureChannel that carries one.
    let channel: Vec<&str> = truth["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "opcua_channel_cert")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let ours: Vec<&str> = evidence
        .credentials
        .iter()
        .filter(|c| c.kind == CredentialKind::OpcuaChannelCert)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(ours, channel, "{name}: channel certificates");
}

/// The secrets of a scenario's truth.
fn secrets(name: &str) -> Vec<String> {
    truth(name)["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["secret_for_leak_tests"].as_str().map(str::to_owned))
        .collect()
}

/// No secret of the scenario appears in any evidence text, in any of the leak forms.
fn check_no_password_leaks(name: &str, evidence: &Evidence) {
    let texts = support::leaks::evidence_texts(evidence);
    let secrets = secrets(name);
    assert!(!secrets.is_empty(), "{name}: no secret to check");
    for secret in &secrets {
        for form in support::leaks::leak_forms(secret.as_bytes()) {
            for text in &texts {
                assert!(
                    !text.contains(&form),
                    "{name}: {secret} leaks as {form} in {text}"
                );
            }
        }
    }
}

#[test]
fn no_password_reaches_files_or_logs_of_the_cli() {
    let name = "opcua-none";
    let dir = scenario(name);
    let out = std::env::temp_dir().join(format!("otw-opcua-leak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let config = out.with_extension("config");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_otwitness"))
        .env("XDG_CONFIG_HOME", &config)
        .env("RUST_LOG", "trace")
        .args(["analyze", "--out"])
        .arg(&out)
        .arg("--identities")
        .arg(dir.join("identities.toml"))
        .arg(dir.join("capture.pcap"))
        .output()
        .expect("otwitness runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut blobs = vec![output.stdout, output.stderr];
    let mut folders = vec![out.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("evidence folder") {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                blobs.push(std::fs::read(&path).unwrap());
            }
        }
    }
    assert!(blobs.len() > 3, "evidence files were written");
    for secret in secrets(name) {
        for form in support::leaks::leak_forms(secret.as_bytes()) {
            for blob in &blobs {
                let found = blob.windows(form.len()).any(|w| w == form.as_bytes());
                assert!(
                    !found,
                    "{secret} leaks as {form} in the CLI's output or files"
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&config);
}

#[test]
fn opcua_none_reproduces_its_ground_truth() {
    let evidence = analyse("opcua-none");
    assert_eq!(check_readable_writes("opcua-none", &evidence), 10);
    check_credentials("opcua-none", &evidence);
    check_no_password_leaks("opcua-none", &evidence);
    // Two plaintext passwords (alice, bob), each alerted.
    let plaintext = evidence
        .alerts
        .iter()
        .filter(|a| a.kind == AlertKind::PlaintextPassword)
        .count();
    assert_eq!(plaintext, 2);
    let sessions: Vec<_> = evidence
        .sessions
        .iter()
        .filter(|s| s.protocol == Protocol::Opcua)
        .collect();
    assert!(sessions.iter().all(|s| !s.opaque));
    assert!(sessions
        .iter()
        .any(|s| s.security_policy.as_deref()
            == Some("http://opcfoundation.org/UA/SecurityPolicy#None")));
}

#[test]
fn opcua_sign_reproduces_its_ground_truth() {
    let evidence = analyse("opcua-sign");
    assert_eq!(check_readable_writes("opcua-sign", &evidence), 9);
    check_credentials("opcua-sign", &evidence);
    check_no_password_leaks("opcua-sign", &evidence);
    let modes: Vec<_> = evidence
        .sessions
        .iter()
        .filter(|s| s.protocol == Protocol::Opcua && s.writes > 0)
        .map(|s| s.security_mode.clone())
        .collect();
    assert!(
        modes.iter().all(|m| m.as_deref() == Some("Sign")),
        "{modes:?}"
    );
}

#[test]
fn opcua_encrypt_is_opaque() {
    let name = "opcua-encrypt";
    let evidence = analyse(name);
    let truth = truth(name);
    assert!(
        evidence
            .writes
            .iter()
            .all(|w| w.protocol != Protocol::Opcua),
        "no write row from a SignAndEncrypt session"
    );
    let opaque: Vec<_> = evidence
        .sessions
        .iter()
        .filter(|s| s.protocol == Protocol::Opcua && s.opaque)
        .collect();
    assert_eq!(
        opaque.len() as u64,
        truth["opaque_sessions"].as_u64().unwrap()
    );
    assert!(opaque
        .iter()
        .all(|s| s.security_mode.as_deref() == Some("SignAndEncrypt")));
    let alerts = evidence
        .alerts
        .iter()
        .filter(|a| a.kind == AlertKind::OpaqueSession)
        .count();
    assert_eq!(alerts, opaque.len());
    check_credentials(name, &evidence);
    check_no_password_leaks(name, &evidence);
}
