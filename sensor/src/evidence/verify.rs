//! `otwitness verify DIR`: checks an evidence folder against its chain of manifests.
//!
//! Steps: read `manifest.json`, then follow `previous` links back to the first manifest,
//! checking each link's SHA-256 and sequence; recompute the SHA-256 and size of every file the
//! chain lists (a file a later manifest records as retired by a retention limit may be
//! absent); list every `*.parquet` under the table folders that no manifest lists; and for each
//! input capture still found at its recorded path, recompute its hash; and check every
//! manifest's signature.
//!
//! Verification proves the files are what the manifests say. Without a signature it cannot prove
//! the manifests themselves were not rewritten consistently; that is the signature's job. Input
//! paths are resolved as recorded (relative ones from the current folder).
//!
//! Signatures, newest manifest first: a signature must hold over the manifest's canonical bytes
//! (see [`crate::signing`]) for the key it names, and that key must be the pinned one when a
//! public key is given. An unsigned manifest older than a valid signature is covered by it
//! through the chain of `previous` hashes (the link checks above make that hold); an unsigned
//! manifest newer than every valid signature is a problem when a key is pinned, or when some
//! manifest of the chain is signed (a signature was dropped or never made). A folder nobody
//! signed verifies without a pinned key, and its report says so for each manifest.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::Path;

use super::chain::MANIFEST;
use super::digest::{sha256_file, sha256_hex};
use super::error::{EvidenceError, Result};
use super::manifest::{canonical_bytes, FileEntry, Manifest};
use super::partition::list_parquet;
use super::report::{
    InputCheck, InputState, LinkFault, Problem, SignatureCheck, SignatureFault, SignatureState,
    VerifyReport,
};
use super::run::InputKind;
use super::schema::Table;
use crate::signing::{self, PublicKey};

/// One manifest of the chain: where it is (relative to the folder), what it says, its bytes.
struct Link {
    rel: String,
    manifest: Manifest,
    bytes: Vec<u8>,
}

/// Checks the evidence folder `dir`; signed manifests are checked against the key they name.
///
/// # Errors
///
/// As [`verify_with_key`].
pub fn verify(dir: &Path) -> Result<VerifyReport> {
    verify_with_key(dir, None)
}

/// Checks the evidence folder `dir`, requiring every manifest not covered by a later signature
/// to be signed by `pinned` when it is given.
///
/// # Errors
///
/// Only when `manifest.json` itself cannot be read or decoded, or a table folder cannot be
/// listed: then nothing can be checked. Everything else found wrong is a [`Problem`] in the
/// report.
pub fn verify_with_key(dir: &Path, pinned: Option<&PublicKey>) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();

    let chain = read_chain(dir, &mut report)?;
    let listed = check_files(dir, &chain, &mut report);
    find_added(dir, &listed, &mut report)?;
    check_inputs(&chain, &mut report);
    check_signatures(dir, &chain, pinned, &mut report);

    Ok(report)
}

/// Reads `manifest.json` and its predecessors, newest first, reporting broken links. Stops at a
/// predecessor that cannot be read or decoded, and at any link that would not go back in
/// sequence (so a forged loop cannot keep it going).
fn read_chain(dir: &Path, report: &mut VerifyReport) -> Result<Vec<Link>> {
    let top_path = dir.join(MANIFEST);
    let bytes = fs::read(&top_path).map_err(|e| EvidenceError::io("read", &top_path, e))?;
    let top = Manifest::from_json(&top_path, &bytes)?;
    let mut chain = vec![Link {
        rel: MANIFEST.to_owned(),
        manifest: top,
        bytes,
    }];

    while let Some(Link {
        rel,
        manifest: current,
        ..
    }) = chain.last()
    {
        let Some(link) = current.previous.clone() else {
            if current.sequence != 1 {
                report.problems.push(broken(
                    rel,
                    "",
                    LinkFault::NoPrevious {
                        sequence: current.sequence,
                    },
                ));
            }
            break;
        };
        let (rel, sequence) = (rel.clone(), current.sequence);

        if let Err(why) = check_rel_path(&link.path) {
            report.problems.push(Problem::InvalidEntry {
                manifest: rel,
                path: link.path,
                why,
            });
            break;
        }

        let path = dir.join(&link.path);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                let fault = match e.kind() {
                    io::ErrorKind::NotFound => LinkFault::Missing,
                    _ => LinkFault::Unreadable(e.to_string()),
                };
                report.problems.push(broken(&rel, &link.path, fault));
                break;
            }
        };

        let found = sha256_hex(&bytes);
        if found != link.sha256 {
            let fault = LinkFault::HashMismatch {
                expected: link.sha256.clone(),
                found,
            };
            report.problems.push(broken(&rel, &link.path, fault));
        }

        let previous = match Manifest::from_json(&path, &bytes) {
            Ok(previous) => previous,
            Err(e) => {
                let fault = LinkFault::Unreadable(e.to_string());
                report.problems.push(broken(&rel, &link.path, fault));
                break;
            }
        };

        let expected = sequence.saturating_sub(1);
        if previous.sequence != expected {
            let fault = LinkFault::Sequence {
                expected,
                found: previous.sequence,
            };
            report.problems.push(broken(&rel, &link.path, fault));
        }
        let goes_back = previous.sequence < sequence;
        chain.push(Link {
            rel: link.path,
            manifest: previous,
            bytes,
        });
        if !goes_back {
            break;
        }
    }

    report.manifests = chain.iter().map(|link| link.rel.clone()).collect();
    Ok(chain)
}

fn broken(manifest: &str, previous: &str, fault: LinkFault) -> Problem {
    Problem::BrokenLink {
        manifest: manifest.to_owned(),
        previous: previous.to_owned(),
        fault,
    }
}

/// Checks every file the chain lists, oldest manifest first. Returns the listed paths.
///
/// Manifests are read in order. A manifest's `retired` entries take files listed by earlier
/// manifests (with the hash they recorded) out of the evidence: such a file may be absent, and
/// its name may be listed again by a later manifest (a retention limit emptied its folder, so
/// the part number was free). A retirement of a file not in the evidence at that point is a
/// problem, and so is any other missing file.
fn check_files(dir: &Path, chain: &[Link], report: &mut VerifyReport) -> BTreeSet<String> {
    let mut listed = BTreeSet::new();
    let mut current: BTreeMap<String, &FileEntry> = BTreeMap::new();
    let mut retired: BTreeMap<String, &FileEntry> = BTreeMap::new();

    for Link { rel, manifest, .. } in chain.iter().rev() {
        for file in &manifest.retired {
            match current.remove(&file.path) {
                Some(entry) if entry.sha256 == file.sha256 => {
                    retired.insert(file.path.clone(), entry);
                }
                Some(entry) => {
                    report.problems.push(Problem::InvalidEntry {
                        manifest: rel.clone(),
                        path: file.path.clone(),
                        why: format!(
                            "retired with sha256 {}, listed with {}",
                            file.sha256, entry.sha256
                        ),
                    });
                    current.insert(file.path.clone(), entry);
                }
                None => report.problems.push(Problem::InvalidEntry {
                    manifest: rel.clone(),
                    path: file.path.clone(),
                    why: "retires a file no earlier manifest lists".to_owned(),
                }),
            }
        }

        for entry in &manifest.files {
            if let Err(why) = check_table_path(&entry.path) {
                report.problems.push(Problem::InvalidEntry {
                    manifest: rel.clone(),
                    path: entry.path.clone(),
                    why,
                });
                continue;
            }
            if current.contains_key(&entry.path) {
                report.problems.push(Problem::ListedTwice {
                    path: entry.path.clone(),
                });
                continue;
            }
            retired.remove(&entry.path);
            listed.insert(entry.path.clone());
            current.insert(entry.path.clone(), entry);
        }
    }

    for (path, entry) in &retired {
        if dir.join(path).exists() {
            // Retired but still there (the sensor stopped before removing it): still checked.
            check_file(dir, entry, report);
        } else {
            report.files_retired += 1;
        }
    }
    for entry in current.values() {
        check_file(dir, entry, report);
    }
    listed
}

fn check_file(dir: &Path, entry: &FileEntry, report: &mut VerifyReport) {
    report.files_checked += 1;
    let path = dir.join(&entry.path);
    match sha256_file(&path) {
        Ok((sha256, bytes)) if sha256 == entry.sha256 && bytes == entry.bytes => {}
        Ok((found_sha256, found_bytes)) => report.problems.push(Problem::Altered {
            path: entry.path.clone(),
            expected_sha256: entry.sha256.clone(),
            found_sha256,
            expected_bytes: entry.bytes,
            found_bytes,
        }),
        Err(_) if !path.exists() => report.problems.push(Problem::Missing {
            path: entry.path.clone(),
        }),
        Err(e) => report.problems.push(Problem::Unreadable {
            path: entry.path.clone(),
            error: e.to_string(),
        }),
    }
}

/// Reports Parquet files under the table folders that no manifest lists.
fn find_added(dir: &Path, listed: &BTreeSet<String>, report: &mut VerifyReport) -> Result<()> {
    for table in Table::ALL {
        for path in list_parquet(dir, table)? {
            if !listed.contains(&path) {
                report.problems.push(Problem::Added { path });
            }
        }
    }
    Ok(())
}

/// Rehashes each distinct recorded input that is still at its path.
fn check_inputs(chain: &[Link], report: &mut VerifyReport) {
    let mut seen: BTreeSet<(String, Option<String>)> = BTreeSet::new();

    for Link { manifest, .. } in chain.iter().rev() {
        for input in &manifest.inputs {
            let key = (input.name.clone(), input.sha256.clone());
            if !seen.insert(key) {
                continue;
            }

            let state = match (&input.kind, &input.sha256) {
                (InputKind::File, Some(expected)) => {
                    check_input(&input.name, expected, &mut report.problems)
                }
                _ => InputState::NoHash,
            };
            report.inputs.push(InputCheck {
                name: input.name.clone(),
                state,
            });
        }
    }
}

/// Checks each manifest's signature, newest first (see the module documentation).
fn check_signatures(
    dir: &Path,
    chain: &[Link],
    pinned: Option<&PublicKey>,
    report: &mut VerifyReport,
) {
    let any_signed = chain.iter().any(|link| link.manifest.signature.is_some());
    let mut covered_by: Option<&str> = None;

    for link in chain {
        let manifest = link.rel.clone();
        let state = match &link.manifest.signature {
            None => match covered_by {
                Some(by) => SignatureState::Covered { by: by.to_owned() },
                None => {
                    if pinned.is_some() || any_signed {
                        report.problems.push(Problem::Unsigned {
                            manifest: manifest.clone(),
                            pinned: pinned.is_some(),
                        });
                    }
                    SignatureState::Unsigned
                }
            },
            Some(signature) => {
                let checked = canonical_bytes(&dir.join(&link.rel), &link.bytes)
                    .map_err(|e| SignatureFault::Content(e.to_string()))
                    .and_then(|message| {
                        signing::check(
                            &signature.algorithm,
                            &signature.public_key,
                            &signature.value,
                            &message,
                        )
                    });
                match (checked, pinned) {
                    (Err(fault), _) => {
                        report.problems.push(Problem::SignatureInvalid {
                            manifest: manifest.clone(),
                            fault,
                        });
                        SignatureState::Invalid
                    }
                    (Ok(key), Some(pin)) if key != *pin => {
                        report.problems.push(Problem::WrongKey {
                            manifest: manifest.clone(),
                            expected: pin.to_hex(),
                            found: key.to_hex(),
                        });
                        SignatureState::OtherKey {
                            public_key: key.to_hex(),
                        }
                    }
                    (Ok(key), pin) => {
                        covered_by = Some(&link.rel);
                        SignatureState::Valid {
                            public_key: key.to_hex(),
                            pinned: pin.is_some(),
                        }
                    }
                }
            }
        };
        report.signatures.push(SignatureCheck { manifest, state });
    }
}

fn check_input(name: &str, expected: &str, problems: &mut Vec<Problem>) -> InputState {
    let path = Path::new(name);
    if !path.is_file() {
        return InputState::Absent;
    }

    match sha256_file(path) {
        Ok((found, _)) if found.eq_ignore_ascii_case(expected) => InputState::Matches,
        Ok((found, _)) => {
            problems.push(Problem::InputAltered {
                name: name.to_owned(),
                expected_sha256: expected.to_owned(),
                found_sha256: found,
            });
            InputState::Differs
        }
        Err(e) => InputState::Unreadable(e.to_string()),
    }
}

/// A path recorded in a manifest must stay inside the evidence folder: relative, forward
/// slashes, no empty, `.` or `..` component.
fn check_rel_path(path: &str) -> std::result::Result<(), String> {
    if path.starts_with('/') || path.contains('\\') || path.contains(':') {
        return Err("not a relative path with forward slashes".to_owned());
    }
    if path
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err("empty, `.` or `..` path component".to_owned());
    }
    Ok(())
}

/// A listed file must be a `*.parquet` inside one of the table folders.
fn check_table_path(path: &str) -> std::result::Result<(), String> {
    check_rel_path(path)?;

    let table = path.split('/').next().and_then(Table::from_name);
    if table.is_none() || !path.ends_with(".parquet") || !path.contains('/') {
        return Err("not a Parquet file inside a table folder".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_paths_stay_inside_the_folder() {
        assert!(check_table_path("writes/date=2026-12-03/part-00000.parquet").is_ok());
        assert!(check_table_path("/etc/passwd").is_err());
        assert!(check_table_path("writes/../../x.parquet").is_err());
        assert!(check_table_path("writes//x.parquet").is_err());
        assert!(check_table_path("other/x.parquet").is_err());
        assert!(check_table_path("writes/x.csv").is_err());
        assert!(check_table_path("C:\\x.parquet").is_err());
        assert!(check_rel_path("manifests/manifest-000001.json").is_ok());
    }

    #[test]
    fn missing_manifest_is_an_error() {
        let dir = std::env::temp_dir().join(format!("otwitness-nomanifest-{}", std::process::id()));
        let error = verify(&dir).err().map(|e| e.to_string());

        let expected = format!("evidence: cannot read {}", dir.join(MANIFEST).display());
        assert!(
            error.as_deref().is_some_and(|e| e.starts_with(&expected)),
            "{error:?}"
        );
    }

    /// A file a later manifest retired may be absent; a retirement of a file no earlier
    /// manifest lists, or with another hash, is a problem, and so is any other missing file.
    #[test]
    fn retired_files_may_be_absent_and_nothing_else() -> Result<()> {
        use super::super::manifest::RetiredFile;
        use super::super::run::RunInfo;
        use super::super::writer::EvidenceWriter;
        use analytics::evidence::{AlertKind, AlertRow, FrameRef, Severity};

        let out = std::env::temp_dir().join(format!("otwitness-retired-{}", std::process::id()));
        let _ = fs::remove_dir_all(&out);
        // Frame 2 falls on another day than the others, so into another partition folder.
        let alert = |frame: u64| AlertRow {
            at: FrameRef {
                source: 0,
                frame,
                ts_us: 1_796_342_000_000_000 + if frame == 2 { 86_400_000_000 } else { 0 },
            },
            kind: AlertKind::CaptureDrops,
            severity: Severity::Low,
            session_id: None,
            protocol: None,
            client_ip: None,
            server_ip: None,
            detail: String::new(),
        };
        let run = RunInfo::default();
        let commit = |frame: u64, retired: Vec<RetiredFile>| -> Result<Manifest> {
            let mut writer = EvidenceWriter::create(&out, "s1", &["eth1".to_owned()])?;
            writer.write_table(&[alert(frame)])?;
            writer.set_retired(retired);
            writer.commit(&run)
        };
        let retire = |path: &str, sha256: &str| RetiredFile {
            path: path.to_owned(),
            sha256: sha256.to_owned(),
            bytes: 1,
            retired: "2026-12-04T00:00:00Z".to_owned(),
            why: "test".to_owned(),
        };

        let first = commit(1, Vec::new())?.files[0].clone();
        let second = commit(2, vec![retire(&first.path, &first.sha256)])?.files[0].clone();
        fs::remove_file(out.join(&first.path)).map_err(|e| EvidenceError::io("rm", &out, e))?;
        let report = verify(&out)?;
        assert!(report.is_ok(), "{report}");
        assert_eq!((report.files_checked, report.files_retired), (1, 1));

        // The emptied folder gives the retired file's name to the next file: not listed twice.
        let reused = commit(6, Vec::new())?.files[0].clone();
        assert_eq!(reused.path, first.path);
        let report = verify(&out)?;
        assert!(report.is_ok(), "{report}");
        assert_eq!((report.files_checked, report.files_retired), (2, 0));

        commit(
            3,
            vec![retire("alerts/date=2026-12-03/part-09999.parquet", "00")],
        )?;
        commit(4, vec![retire(&second.path, "00")])?;
        let report = verify(&out)?;
        let problems: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("no earlier manifest lists")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("retired with sha256 00")),
            "{problems:?}"
        );

        let third = commit(5, Vec::new())?.files[0].clone();
        fs::remove_file(out.join(&third.path)).map_err(|e| EvidenceError::io("rm", &out, e))?;
        let report = verify(&out)?;
        let missing = Problem::Missing { path: third.path };
        assert!(report.problems.contains(&missing), "{report}");
        let _ = fs::remove_dir_all(&out);
        Ok(())
    }
}
