//! Retention of a live capture's evidence: `--keep-days N` and `--keep-size SIZE`.
//!
//! [`Retention`] knows every committed evidence file still kept, oldest first, with the time
//! its manifest was committed; it is read from the manifest chain once at the start and kept up
//! to date after each commit. At each rotation the evidence thread asks it which files to
//! retire: those committed more than `keep_days` ago, then, oldest first, as many as needed for
//! the kept files and the files being committed to fit in `keep_size`. The files being
//! committed are never retired, so the newest evidence always stays, even when it alone passes
//! the limit; open files are not committed yet and so never candidates. The retirements go
//! into the manifest being committed (path, hash, when, why), and only once it is committed
//! are the files deleted, so `verify` accepts them as absent; a crash between the two leaves
//! retired files present, which [`Retention::load`] deletes at the next start.
//!
//! Not done here: deleting manifests or spools (the chain must stay whole to verify), and
//! counting the manifests' own bytes in `keep_size` (they are small beside the Parquet files).

use std::collections::{BTreeSet, VecDeque};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::evidence::{rfc3339_us, Manifest, RetiredFile, ARCHIVE, MANIFEST};

/// The limits the operator gave; both `None`: keep everything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub keep_days: Option<u32>,
    pub keep_bytes: Option<u64>,
}

impl Limits {
    pub fn any(&self) -> bool {
        self.keep_days.is_some() || self.keep_bytes.is_some()
    }
}

/// A committed file still kept.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Kept {
    path: String,
    sha256: String,
    bytes: u64,
    /// When its manifest was committed (µs since the epoch).
    committed_us: i64,
}

/// The kept files, oldest first.
#[derive(Debug, Default)]
pub struct Retention {
    limits: Limits,
    kept: VecDeque<Kept>,
    bytes: u64,
}

impl Retention {
    /// Reads the chain of `out` (none yet: nothing kept) and deletes files that a committed
    /// manifest retired but a crash left in place.
    ///
    /// # Errors
    ///
    /// A manifest of the chain cannot be read or decoded.
    pub fn load(out: &Path, limits: Limits) -> Result<Retention> {
        let mut chain = Vec::new();
        let mut next = out.join(MANIFEST);
        loop {
            let bytes = match std::fs::read(&next) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && chain.is_empty() => break,
                Err(e) => return Err(e).with_context(|| format!("reading {}", next.display())),
            };
            let manifest = Manifest::from_json(&next, &bytes)?;
            // Only back in sequence, so a forged loop cannot keep this going.
            let goes_back = chain
                .last()
                .is_none_or(|last: &Manifest| manifest.sequence < last.sequence);
            if !goes_back {
                break;
            }
            let previous = manifest.previous.as_ref().map(|p| p.path.clone());
            chain.push(manifest);
            match previous {
                Some(rel) if rel.starts_with(&format!("{ARCHIVE}/")) && !rel.contains("..") => {
                    next = out.join(rel);
                }
                _ => break,
            }
        }

        let retired: BTreeSet<String> = chain
            .iter()
            .flat_map(|m| m.retired.iter().map(|r| r.path.clone()))
            .collect();
        let mut retention = Retention {
            limits,
            ..Retention::default()
        };
        for manifest in chain.iter().rev() {
            retention.add(manifest);
        }
        // A retired name may have been given to a newer file since (its folder was emptied).
        let kept: BTreeSet<&str> = retention.kept.iter().map(|k| k.path.as_str()).collect();
        let leftovers: Vec<&str> = retired
            .iter()
            .map(String::as_str)
            .filter(|path| !kept.contains(path))
            .collect();
        remove_files(out, leftovers);
        Ok(retention)
    }

    /// Takes note of a committed manifest: its files are kept, those it retired are not.
    pub fn add(&mut self, manifest: &Manifest) {
        let committed_us = chrono::DateTime::parse_from_rfc3339(&manifest.created)
            .map_or(0, |t| t.timestamp_micros());
        let retired: BTreeSet<&str> = manifest.retired.iter().map(|r| r.path.as_str()).collect();
        if !retired.is_empty() {
            self.kept.retain(|k| !retired.contains(k.path.as_str()));
        }
        for file in &manifest.files {
            self.kept.push_back(Kept {
                path: file.path.clone(),
                sha256: file.sha256.clone(),
                bytes: file.bytes,
                committed_us,
            });
        }
        self.bytes = self.kept.iter().map(|k| k.bytes).sum();
    }

    /// Bytes of the kept files.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The files to retire at `now_us` when files of `new_bytes` are about to be committed.
    pub fn select(&self, now_us: i64, new_bytes: u64) -> Vec<RetiredFile> {
        let when = rfc3339_us(now_us).unwrap_or_default();
        let mut retired = Vec::new();
        let mut total = self.bytes.saturating_add(new_bytes);

        for file in &self.kept {
            let why = match (self.limits.keep_days, self.limits.keep_bytes) {
                (Some(days), _) if too_old(file.committed_us, now_us, days) => {
                    format!("committed more than {days} days ago (--keep-days {days})")
                }
                (_, Some(limit)) if total > limit => format!(
                    "the evidence weighed {total} bytes, over the limit of {limit} \
                     (--keep-size)"
                ),
                _ => continue,
            };
            total = total.saturating_sub(file.bytes);
            retired.push(RetiredFile {
                path: file.path.clone(),
                sha256: file.sha256.clone(),
                bytes: file.bytes,
                retired: when.clone(),
                why,
            });
        }
        retired
    }
}

fn too_old(committed_us: i64, now_us: i64, days: u32) -> bool {
    let age = Duration::from_secs(u64::from(days) * 86_400).as_micros();
    i128::from(now_us) - i128::from(committed_us) > age as i128
}

/// Deletes files (relative to `out`) a committed manifest retired; missing ones are fine,
/// other failures are logged (the file then stays, present and still verifiable).
pub fn remove_files<'a>(out: &Path, paths: impl IntoIterator<Item = &'a str>) {
    for rel in paths {
        let path = out.join(rel);
        match std::fs::remove_file(&path) {
            Ok(()) => log::info!("retention: removed {}", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => log::warn!("retention: cannot remove {}: {e}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{FileEntry, RunInfo};

    const DAY_US: i64 = 86_400_000_000;

    fn manifest(created_us: i64, files: &[(&str, u64)]) -> Manifest {
        let files = files
            .iter()
            .map(|(path, bytes)| FileEntry {
                path: (*path).to_owned(),
                table: "writes".to_owned(),
                rows: 1,
                bytes: *bytes,
                sha256: format!("sha-{path}"),
            })
            .collect();
        let mut manifest = Manifest::new(&RunInfo::default(), files);
        manifest.created = rfc3339_us(created_us).unwrap_or_default();
        manifest
    }

    fn paths(retired: &[RetiredFile]) -> Vec<&str> {
        retired.iter().map(|r| r.path.as_str()).collect()
    }

    /// Over the size limit, the oldest files go first until the kept and the new files fit;
    /// a retired file leaves the kept ones once the manifest retiring it is committed.
    #[test]
    fn retires_the_oldest_files_beyond_the_size() {
        let limits = Limits {
            keep_days: None,
            keep_bytes: Some(100),
        };
        let mut retention = Retention {
            limits,
            ..Retention::default()
        };
        retention.add(&manifest(0, &[("a", 40), ("b", 30)]));
        retention.add(&manifest(DAY_US, &[("c", 20)]));

        assert!(retention.select(2 * DAY_US, 10).is_empty());
        let retired = retention.select(2 * DAY_US, 50);
        assert_eq!(paths(&retired), ["a"]);
        assert_eq!(retired[0].sha256, "sha-a");
        assert!(retired[0].why.contains("140 bytes"), "{}", retired[0].why);
        assert_eq!(paths(&retention.select(2 * DAY_US, 80)), ["a", "b"]);

        let mut next = manifest(2 * DAY_US, &[("d", 50)]);
        next.retired = retired;
        retention.add(&next);
        assert_eq!(retention.bytes(), 100);
    }

    #[test]
    fn retires_files_committed_before_the_days() {
        let limits = Limits {
            keep_days: Some(2),
            keep_bytes: None,
        };
        let mut retention = Retention {
            limits,
            ..Retention::default()
        };
        retention.add(&manifest(0, &[("a", 1)]));
        retention.add(&manifest(DAY_US, &[("b", 1)]));
        retention.add(&manifest(2 * DAY_US, &[("c", 1)]));

        let retired = retention.select(3 * DAY_US - 1, 0);

        assert_eq!(paths(&retired), ["a"]);
        assert!(retired[0].why.contains("--keep-days 2"));
    }
}
