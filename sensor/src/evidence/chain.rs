//! Storing manifests as a hash chain: `manifest.json` is the newest, `manifests/` the older ones.
//!
//! Committing a new manifest when one exists: the current `manifest.json` is copied, byte for
//! byte, to `manifests/manifest-<its sequence:06>.json`; the new manifest points at that copy
//! (path and SHA-256) and takes the next sequence number; then it atomically replaces
//! `manifest.json`. The order makes every crash point safe: before the replace the old chain is
//! intact (at worst with a spare identical copy, which the next commit accepts), after it the new
//! one is. Checking the chain is `verify`'s job.
//!
//! With a signing key, the new manifest is signed once its `sequence` and `previous` are set,
//! so the signature covers the link; archiving copies signed manifests byte for byte.

use std::fs;
use std::io;
use std::path::Path;

use super::digest::sha256_hex;
use super::durable::{create_dirs, publish_new, replace, write_tmp};
use super::error::{EvidenceError, Result};
use super::manifest::{Manifest, PreviousManifest};
use crate::signing::SigningKey;

/// The newest manifest, at the top of the evidence folder.
pub const MANIFEST: &str = "manifest.json";

/// The folder of older manifests.
pub const ARCHIVE: &str = "manifests";

/// `manifests/manifest-NNNNNN.json`, relative to the evidence folder.
pub fn archive_rel(sequence: u64) -> String {
    format!("{ARCHIVE}/manifest-{sequence:06}.json")
}

/// Links `manifest` after the folder's current manifest, if there is one, and makes it the
/// current one, signed with `key` when one is given. Returns the manifest as written (with
/// `sequence`, `previous` and `signature` set).
///
/// # Errors
///
/// The current manifest cannot be read or decoded (a chain is never silently restarted), an
/// archived copy with the same name but other bytes exists, or a write fails.
pub fn commit(out: &Path, mut manifest: Manifest, key: Option<&SigningKey>) -> Result<Manifest> {
    let current_path = out.join(MANIFEST);

    match read_if_exists(&current_path)? {
        None => {
            manifest.sequence = 1;
            manifest.previous = None;
        }
        Some(bytes) => {
            let current = Manifest::from_json(&current_path, &bytes)?;
            let rel = archive_rel(current.sequence);
            archive(out, &rel, &bytes)?;

            manifest.sequence =
                current
                    .sequence
                    .checked_add(1)
                    .ok_or_else(|| EvidenceError::ManifestContent {
                        path: current_path.clone(),
                        what: "sequence cannot grow any further".to_owned(),
                    })?;
            manifest.previous = Some(PreviousManifest {
                path: rel,
                sha256: sha256_hex(&bytes),
            });
        }
    }

    manifest.signature = None;
    if let Some(key) = key {
        manifest.sign(key, &current_path)?;
    }
    let json = manifest.to_json(&current_path)?;
    let tmp = write_tmp(&current_path, &json)?;
    replace(&tmp, &current_path)?;
    Ok(manifest)
}

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EvidenceError::io("read", path, e)),
    }
}

/// Stores `bytes` at `<out>/<rel>` unless an identical copy is already there.
fn archive(out: &Path, rel: &str, bytes: &[u8]) -> Result<()> {
    let path = out.join(rel);
    create_dirs(&out.join(ARCHIVE))?;

    if let Some(existing) = read_if_exists(&path)? {
        if existing == bytes {
            return Ok(());
        }
        return Err(EvidenceError::Exists { path });
    }

    let tmp = write_tmp(&path, bytes)?;
    publish_new(&tmp, &path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::run::RunInfo;

    #[test]
    fn second_commit_links_to_the_first() -> Result<()> {
        let out = std::env::temp_dir().join(format!("otwitness-chain-{}", std::process::id()));
        let _ = fs::remove_dir_all(&out);
        create_dirs(&out)?;
        let run = RunInfo::default();

        let first = commit(&out, Manifest::new(&run, Vec::new()), None)?;
        let first_bytes = fs::read(out.join(MANIFEST)).map_err(|e| EvidenceError::io("r", &out, e));
        let second = commit(&out, Manifest::new(&run, Vec::new()), None)?;
        let archived =
            fs::read(out.join(archive_rel(1))).map_err(|e| EvidenceError::io("r", &out, e));

        assert_eq!(first.sequence, 1);
        assert_eq!(second.sequence, 2);
        assert_eq!(archived?, first_bytes?);
        let previous = second.previous.clone();
        assert_eq!(
            previous.as_ref().map(|p| p.path.as_str()),
            Some("manifests/manifest-000001.json")
        );
        let _ = fs::remove_dir_all(&out);
        Ok(())
    }
}
