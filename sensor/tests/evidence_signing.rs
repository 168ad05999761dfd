//! Signed manifests: a signed folder verifies, with and without a pinned key; an edited manifest,
//! another key, a missing signature and an altered chain are each named; `keygen` never
//! overwrites and keeps the key private; the binary end to end; and the Python check of
//! `sensor::signing`'s documentation, run for real when `cryptography` is installed.

mod evidence_fixture;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use evidence_fixture::*;
use sensor::evidence::{
    sha256_hex, verify, verify_with_key, write_evidence, write_evidence_signed, LinkFault,
    Manifest, Problem, SignatureFault, SignatureState, VerifyReport,
};
use sensor::signing::{self, PublicKey, SigningError, SigningKey};

const TOP: &str = "manifest.json";
const FIRST: &str = "manifests/manifest-000001.json";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed(&[seed; 32])
}

/// One signed run (or unsigned, with `None`) added to `dir`.
fn run_into(dir: &Path, key: Option<&SigningKey>) -> Manifest {
    write_evidence_signed(
        dir,
        &sample_run(sample_inputs()),
        &sources(),
        &sample_evidence(),
        key.map(|k| Arc::new(k.clone())),
        2,
    )
    .expect("write evidence")
}

fn checked(dir: &Path, pinned: Option<&PublicKey>) -> VerifyReport {
    verify_with_key(dir, pinned).expect("verify runs")
}

fn states(report: &VerifyReport) -> Vec<(&str, &SignatureState)> {
    let checks = report.signatures.iter();
    checks.map(|c| (c.manifest.as_str(), &c.state)).collect()
}

fn valid(key: &SigningKey, pinned: bool) -> SignatureState {
    SignatureState::Valid {
        public_key: key.public_key().to_hex(),
        pinned,
    }
}

#[test]
fn signed_evidence_verifies_pinned_or_not() {
    let scratch = Scratch::new("sign-ok");
    let signer = key(1);
    let manifest = run_into(&scratch.path, Some(&signer));

    let signature = manifest.signature.clone().expect("signed");
    assert_eq!(signature.algorithm, "ed25519");
    assert_eq!(signature.public_key, signer.public_key().to_hex());
    assert_eq!(signature.value.len(), 128);

    let unpinned = checked(&scratch.path, None);
    assert!(unpinned.is_ok(), "{unpinned}");
    assert_eq!(states(&unpinned), [(TOP, &valid(&signer, false))]);
    let line = format!(
        "signature ok: {TOP} (key {}, not pinned: the key the manifest names)",
        signer.public_key()
    );
    assert!(
        unpinned.to_string().lines().any(|l| l == line),
        "{unpinned}"
    );

    let pinned = checked(&scratch.path, Some(&signer.public_key()));
    assert!(pinned.is_ok(), "{pinned}");
    assert_eq!(states(&pinned), [(TOP, &valid(&signer, true))]);
    assert!(pinned.to_string().contains(", pinned)\n"), "{pinned}");
}

#[test]
fn edited_row_count_is_an_invalid_signature() {
    let scratch = Scratch::new("sign-edited");
    let signer = key(2);
    run_into(&scratch.path, Some(&signer));
    let path = scratch.join(TOP);
    let text = String::from_utf8(read(&path)).expect("utf-8");
    assert_eq!(text.matches("\"writes\": 3,").count(), 1, "{text}");
    std::fs::write(&path, text.replace("\"writes\": 3,", "\"writes\": 4,")).expect("edit");

    for pinned in [None, Some(signer.public_key())] {
        let report = checked(&scratch.path, pinned.as_ref());

        let expected = Problem::SignatureInvalid {
            manifest: TOP.to_owned(),
            fault: SignatureFault::Mismatch,
        };
        assert_eq!(report.problems, [expected]);
        assert_eq!(states(&report), [(TOP, &SignatureState::Invalid)]);
        let line = "signature invalid: manifest.json (does not match the manifest's content: the \
                    manifest was edited after signing)";
        assert!(report.to_string().lines().any(|l| l == line), "{report}");
    }
}

#[test]
fn an_added_member_is_covered_too() {
    let scratch = Scratch::new("sign-added-member");
    run_into(&scratch.path, Some(&key(3)));
    let path = scratch.join(TOP);
    let text = String::from_utf8(read(&path)).expect("utf-8");
    std::fs::write(&path, text.replacen('{', "{\"note\": \"ok\",", 1)).expect("edit");

    let report = checked(&scratch.path, None);

    assert_eq!(
        report.problems,
        [Problem::SignatureInvalid {
            manifest: TOP.to_owned(),
            fault: SignatureFault::Mismatch,
        }]
    );
}

#[test]
fn another_pinned_key_is_named() {
    let scratch = Scratch::new("sign-wrong-key");
    let signer = key(4);
    let other = key(5);
    run_into(&scratch.path, Some(&signer));

    let report = checked(&scratch.path, Some(&other.public_key()));

    let expected = Problem::WrongKey {
        manifest: TOP.to_owned(),
        expected: other.public_key().to_hex(),
        found: signer.public_key().to_hex(),
    };
    assert_eq!(report.problems, [expected]);
    let line = format!(
        "wrong key: {TOP} (signed by {}, expected {})",
        signer.public_key(),
        other.public_key()
    );
    assert!(report.to_string().lines().any(|l| l == line), "{report}");
}

#[test]
fn a_key_swapped_in_without_re_signing_is_invalid() {
    let scratch = Scratch::new("sign-swapped-key");
    let signer = key(6);
    let forger = key(7);
    run_into(&scratch.path, Some(&signer));
    let path = scratch.join(TOP);
    let text = String::from_utf8(read(&path)).expect("utf-8");
    let swapped = text.replace(&signer.public_key().to_hex(), &forger.public_key().to_hex());
    std::fs::write(&path, swapped).expect("edit");

    let report = checked(&scratch.path, Some(&forger.public_key()));

    assert_eq!(
        report.problems,
        [Problem::SignatureInvalid {
            manifest: TOP.to_owned(),
            fault: SignatureFault::Mismatch,
        }]
    );
}

#[test]
fn unsigned_evidence_with_a_key_is_named() {
    let scratch = Scratch::new("sign-unsigned");
    write_evidence(
        &scratch.path,
        &sample_run(sample_inputs()),
        &sources(),
        &sample_evidence(),
    )
    .expect("write evidence");

    let report = checked(&scratch.path, Some(&key(8).public_key()));
    assert_eq!(
        report.problems,
        [Problem::Unsigned {
            manifest: TOP.to_owned(),
            pinned: true
        }]
    );
    assert!(report
        .to_string()
        .starts_with("unsigned: manifest.json (a public key was given)\n"));

    // Without a key, an unsigned folder verifies and says it is not signed.
    let report = verify(&scratch.path).expect("verify runs");
    assert!(report.is_ok(), "{report}");
    assert_eq!(states(&report), [(TOP, &SignatureState::Unsigned)]);
    assert!(report.to_string().contains("not signed: manifest.json\n"));
}

#[test]
fn altered_first_of_two_signed_manifests_is_named() {
    let scratch = Scratch::new("sign-chain");
    let signer = key(9);
    run_into(&scratch.path, Some(&signer));
    let second = run_into(&scratch.path, Some(&signer));
    let report = checked(&scratch.path, Some(&signer.public_key()));
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        states(&report),
        [(TOP, &valid(&signer, true)), (FIRST, &valid(&signer, true))]
    );

    let path = scratch.join(FIRST);
    let edited = String::from_utf8(read(&path))
        .expect("utf-8")
        .replace("\"packets\": 120,", "\"packets\": 121,");
    std::fs::write(&path, &edited).expect("edit");

    let report = checked(&scratch.path, Some(&signer.public_key()));

    let broken = Problem::BrokenLink {
        manifest: TOP.to_owned(),
        previous: FIRST.to_owned(),
        fault: LinkFault::HashMismatch {
            expected: second.previous.map(|p| p.sha256).expect("link"),
            found: sha256_hex(edited.as_bytes()),
        },
    };
    let invalid = Problem::SignatureInvalid {
        manifest: FIRST.to_owned(),
        fault: SignatureFault::Mismatch,
    };
    assert_eq!(report.problems, [broken, invalid]);
}

#[test]
fn a_dropped_signature_on_top_of_a_signed_chain_is_named() {
    let scratch = Scratch::new("sign-dropped");
    let signer = key(10);
    run_into(&scratch.path, Some(&signer));
    run_into(&scratch.path, None);

    let report = checked(&scratch.path, None);

    assert_eq!(
        report.problems,
        [Problem::Unsigned {
            manifest: TOP.to_owned(),
            pinned: false
        }]
    );
    assert!(report
        .to_string()
        .starts_with("unsigned: manifest.json (an earlier manifest of the chain is signed)\n"));
}

#[test]
fn unsigned_manifests_before_a_signed_one_are_covered_by_it() {
    let scratch = Scratch::new("sign-covered");
    let signer = key(11);
    run_into(&scratch.path, None);
    run_into(&scratch.path, Some(&signer));

    let report = checked(&scratch.path, Some(&signer.public_key()));

    assert!(report.is_ok(), "{report}");
    let covered = SignatureState::Covered { by: TOP.to_owned() };
    assert_eq!(
        states(&report),
        [(TOP, &valid(&signer, true)), (FIRST, &covered)]
    );
    assert!(report.to_string().contains(
        "not signed: manifests/manifest-000001.json (covered by the signature of manifest.json)\n"
    ));
}

#[test]
fn keygen_makes_a_private_key_and_never_overwrites() {
    let scratch = Scratch::new("keygen");
    let path = scratch.join("keys/site-a");
    let public = scratch.join("keys/site-a.pub");

    let made = signing::generate(&path).expect("keygen");

    let mode = std::fs::metadata(&path).expect("key").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let public_text = String::from_utf8(read(&public)).expect("utf-8");
    assert_eq!(public_text, format!("{}\n", made.public_key()));
    let again = SigningKey::read(&path).expect("read key");
    assert_eq!(again.public_key(), made.public_key());
    let arg = public.display().to_string();
    assert_eq!(PublicKey::from_arg(&arg).ok(), Some(made.public_key()));

    let before = read(&path);
    let refused = signing::generate(&path);
    assert!(matches!(refused, Err(SigningError::Exists { .. })));
    assert_eq!(read(&path), before);
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.ends_with("already exists; keys are never overwritten"),
        "{message}"
    );

    // A stray public key file alone also stops keygen, before anything is written.
    let lone = scratch.join("keys/lone");
    std::fs::write(scratch.join("keys/lone.pub"), "x\n").expect("write");
    assert!(matches!(
        signing::generate(&lone),
        Err(SigningError::Exists { .. })
    ));
    assert!(!lone.exists());

    // Two keys differ; the site key's format is not a signing key.
    let other = signing::generate(&scratch.join("keys/other")).expect("keygen");
    assert_ne!(other.public_key(), made.public_key());
    let site_like = scratch.join("keys/site-key");
    std::fs::write(&site_like, format!("{}\n", "ab".repeat(32))).expect("write");
    assert!(matches!(
        SigningKey::read(&site_like),
        Err(SigningError::BadSigningKey { .. })
    ));
}

fn otwitness(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otwitness"))
        .env("XDG_CONFIG_HOME", config)
        .args(args)
        .output()
        .expect("otwitness runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn capture() -> String {
    let rel = "../fixtures-pcap/modbus-basic/capture.pcap";
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn cli_keygen_analyze_verify() {
    let scratch = Scratch::new("sign-cli");
    let config = scratch.join("config");
    let key_path = scratch.join("signing-key");
    let key_arg = key_path.display().to_string();
    let pub_arg = format!("{key_arg}.pub");
    let out = scratch.join("evidence");
    let out_arg = out.display().to_string();

    let made = otwitness(&config, &["keygen", "--out", &key_arg]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    let public = text(&read(Path::new(&pub_arg))).trim().to_owned();
    let stdout = text(&made.stdout);
    assert!(
        stdout.contains(&format!("public key: {public}\n")),
        "{stdout}"
    );
    assert!(stdout.contains(&key_arg), "{stdout}");

    let again = otwitness(&config, &["keygen", "--out", &key_arg]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("already exists"),
        "{}",
        text(&again.stderr)
    );

    let analyzed = otwitness(
        &config,
        &[
            "analyze",
            "--signing-key",
            &key_arg,
            "--out",
            &out_arg,
            &capture(),
        ],
    );
    assert!(analyzed.status.success(), "{}", text(&analyzed.stderr));
    assert!(text(&analyzed.stdout).contains(&format!("public key {public}")));

    let pinned = otwitness(&config, &["verify", "--public-key", &pub_arg, &out_arg]);
    assert!(pinned.status.success(), "{}", text(&pinned.stdout));
    assert!(text(&pinned.stdout).contains(&format!(
        "signature ok: manifest.json (key {public}, pinned)"
    )));

    let unpinned = otwitness(&config, &["verify", &out_arg]);
    assert!(unpinned.status.success(), "{}", text(&unpinned.stdout));
    assert!(text(&unpinned.stdout).contains("not pinned"));

    let other = key(12).public_key().to_hex();
    let wrong = otwitness(&config, &["verify", "--public-key", &other, &out_arg]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        text(&wrong.stdout).contains("wrong key: manifest.json"),
        "{}",
        text(&wrong.stdout)
    );

    let bad = otwitness(&config, &["verify", "--public-key", "nonsense", &out_arg]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("cannot read nonsense"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn cli_signs_with_the_default_key_once_keygen_made_it() {
    let scratch = Scratch::new("sign-cli-default");
    let config = scratch.join("config");
    let out = scratch.join("evidence");
    let out_arg = out.display().to_string();

    let unsigned = otwitness(&config, &["analyze", "--out", &out_arg, &capture()]);
    assert!(unsigned.status.success(), "{}", text(&unsigned.stderr));
    assert!(text(&unsigned.stdout).contains("Manifest not signed"));

    let made = otwitness(&config, &["keygen"]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    let key_path = config.join("otwitness/signing-key");
    let mode = std::fs::metadata(&key_path)
        .expect("key")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);

    let signed = otwitness(&config, &["analyze", "--out", &out_arg, &capture()]);
    assert!(signed.status.success(), "{}", text(&signed.stderr));
    let pub_arg = format!("{}.pub", key_path.display());
    let report = otwitness(&config, &["verify", "--public-key", &pub_arg, &out_arg]);
    let stdout = text(&report.stdout);
    assert!(report.status.success(), "{stdout}");
    assert!(stdout.contains("signature ok: manifest.json"), "{stdout}");
    assert!(
        stdout.contains("not signed: manifests/manifest-000001.json (covered"),
        "{stdout}"
    );
}

/// The Python snippet of `sensor::signing`'s documentation, as written there.
fn documented_python() -> String {
    let source = include_str!("../src/signing.rs");
    let mut lines = source
        .lines()
        .map(|l| l.strip_prefix("//!").unwrap_or(l))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .skip_while(|l| *l != "```python")
        .skip(1);
    let code: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
    assert!(!code.is_empty(), "no python block in signing.rs");
    code.join("\n") + "\n"
}

#[test]
fn documented_python_check_agrees() {
    let have = Command::new("python3")
        .args(["-c", "import cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!("skipped: python3 with `cryptography` is not installed");
        return;
    }
    let scratch = Scratch::new("sign-python");
    let script = scratch.join("check.py");
    std::fs::write(&script, documented_python()).expect("write script");
    let signer = key(13);
    let mut run = sample_run(sample_inputs());
    // Strings that need escaping, and non-ASCII, so both encoders are really compared.
    run.sensor = "Zürich \"hall\" 3\\4\t\u{1}\u{7f}\u{2028}😀".to_owned();
    run.counters.insert("émis".to_owned(), 1);
    run.counters.insert("Z".to_owned(), 2);
    write_evidence_signed(
        &scratch.path,
        &run,
        &sources(),
        &sample_evidence(),
        Some(Arc::new(signer.clone())),
        1,
    )
    .expect("write evidence");
    let manifest = scratch.join(TOP).display().to_string();
    let script = script.display().to_string();
    let python = |args: &[&str]| {
        let o = Command::new("python3")
            .args(args)
            .output()
            .expect("python3 runs");
        (o.status.success(), text(&o.stdout), text(&o.stderr))
    };

    let (ok, stdout, stderr) = python(&[&script, &manifest]);
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(
        stdout,
        format!("signature ok, key {}\n", signer.public_key())
    );
    let pinned = signer.public_key().to_hex();
    assert!(python(&[&script, &manifest, &pinned]).0);

    let other = key(14).public_key().to_hex();
    let (ok, _, stderr) = python(&[&script, &manifest, &other]);
    assert!(!ok);
    assert!(stderr.contains("InvalidSignature"), "{stderr}");

    let path = scratch.join(TOP);
    let edited = text(&read(&path)).replace("\"packets\": 120,", "\"packets\": 12,");
    std::fs::write(&path, edited).expect("edit");
    let (ok, _, stderr) = python(&[&script, &manifest]);
    assert!(!ok);
    assert!(stderr.contains("InvalidSignature"), "{stderr}");
}
