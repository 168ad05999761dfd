//! The `manifest.json` format: what a run read, what it wrote, and the hash of each file.
//!
//! A manifest lists only the files its own run added; the evidence folder's content is the
//! union over the chain of manifests (see `chain`). Field names and spellings are part of the
//! evidence contract (`format` = `otwitness-evidence/1`); times are RFC 3339 UTC strings.
//! This module defines and encodes the format; storing and chaining manifests is `chain`'s job.
//!
//! `signature` is `null`, or an Ed25519 signature over the manifest's canonical bytes: the
//! manifest as JSON with `signature` set to `null`, compact, object members sorted by key,
//! minimal string escaping. [`crate::signing`] defines those bytes exactly and shows how to
//! check a signature with other tools.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::error::{EvidenceError, Result};
use super::run::{Damage, InputInfo, InputKind, RunInfo};
use super::schema::Table;
use crate::signing::{canonical_json, SigningKey, ALGORITHM};

/// The value of `format` this code writes and reads.
pub const FORMAT: &str = "otwitness-evidence/1";

/// The tool name written into every manifest.
pub const TOOL_NAME: &str = "otwitness";

/// One evidence manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub tool: Tool,
    pub sensor: String,
    pub command_line: Vec<String>,
    /// When the manifest was written (wall clock, RFC 3339).
    pub created: String,
    /// 1 for the first manifest of a folder, one more for each following one.
    pub sequence: u64,
    /// The manifest this one follows, `None` for the first.
    pub previous: Option<PreviousManifest>,
    pub inputs: Vec<InputEntry>,
    pub time_span: TimeSpan,
    pub packets: u64,
    pub bytes: u64,
    pub kernel_drops: Option<u64>,
    pub counters: BTreeMap<String, u64>,
    /// Rows added by this manifest's files, per table.
    pub row_counts: RowCounts,
    /// Files added by this manifest.
    pub files: Vec<FileEntry>,
    /// The signature over the manifest's canonical bytes, when a key was configured.
    pub signature: Option<ManifestSignature>,
    /// Set when this manifest lists files rebuilt from the spool of a live capture that stopped
    /// without committing them (a crash, a kill -9, a power cut). Absent otherwise, so
    /// manifests without a recovery encode (and are signed) exactly as before this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<Recovery>,
    /// Set when a live capture paused writing evidence for lack of disk space and this
    /// manifest is the one of its resumption. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<PauseRecord>,
    /// Files listed by earlier manifests of the chain that a retention limit removed when this
    /// manifest was committed. Absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<RetiredFile>,
}

/// One file a retention limit removed: which, with the hash its manifest recorded, when and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredFile {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    /// Wall clock, RFC 3339.
    pub retired: String,
    pub why: String,
}

/// `pause`: an interval in which a live capture could not write evidence (the disk was full),
/// and what became of the rows found meanwhile.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseRecord {
    /// When writing stopped and when it resumed (wall clock, RFC 3339).
    pub started: String,
    pub ended: String,
    /// The error that paused writing; it names the file.
    pub cause: String,
    /// Rows found during the pause and held in memory, now written in this manifest's files.
    pub held_rows: u64,
    /// Rows found during the pause and lost because the memory bound was reached, per table,
    /// and when the first of them was lost (every row after it, until `ended`, was lost too).
    pub lost_rows: RowCounts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_since: Option<String>,
    /// Files that were open when writing stopped, rebuilt whole from their spools.
    pub rebuilt_files: u64,
}

/// `recovery`: what was rebuilt from spool files at the start of a live capture.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    /// Spool files found.
    pub spools: u64,
    /// Rows rebuilt into the files this manifest lists.
    pub rows: u64,
    /// Spool files whose last record was cut short (written while the process died); the cut
    /// record is lost, everything before it is kept.
    pub torn_tails: u64,
    /// Spool files whose Parquet file the current manifest already listed (the process died
    /// after committing, before removing the spool); their rows were not written twice.
    pub already_committed: u64,
    /// Spool files that could not be read at all, with why; their rows are lost.
    pub unreadable: Vec<String>,
}

/// `signature`: who signed the manifest and the signature itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestSignature {
    /// Always `ed25519`.
    pub algorithm: String,
    /// The signer's 32-byte public key, lowercase hex.
    pub public_key: String,
    /// The 64-byte signature of the canonical bytes, lowercase hex.
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// Link to the previous manifest of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousManifest {
    /// Relative to the evidence folder: `manifests/manifest-000001.json`.
    pub path: String,
    /// SHA-256 (hex) of that file's bytes.
    pub sha256: String,
}

/// One input as the manifest records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputEntry {
    pub name: String,
    pub kind: InputKind,
    #[serde(default)]
    pub sha256: Option<String>,
    pub bytes: u64,
    pub packets: u64,
    pub first_ts: Option<String>,
    pub last_ts: Option<String>,
    pub damage: Option<Damage>,
}

/// First and last capture time over all inputs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeSpan {
    pub first: Option<String>,
    pub last: Option<String>,
}

/// Rows per table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowCounts {
    pub writes: u64,
    pub sessions: u64,
    pub assets: u64,
    pub alerts: u64,
    pub credentials: u64,
    /// Absent when zero, so manifests of offline runs encode (and are signed) as before.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub capture_stats: u64,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

impl RowCounts {
    pub fn get(&self, table: Table) -> u64 {
        match table {
            Table::Writes => self.writes,
            Table::Sessions => self.sessions,
            Table::Assets => self.assets,
            Table::Alerts => self.alerts,
            Table::Credentials => self.credentials,
            Table::CaptureStats => self.capture_stats,
        }
    }

    pub fn add(&mut self, table: Table, rows: u64) {
        let count = match table {
            Table::Writes => &mut self.writes,
            Table::Sessions => &mut self.sessions,
            Table::Assets => &mut self.assets,
            Table::Alerts => &mut self.alerts,
            Table::Credentials => &mut self.credentials,
            Table::CaptureStats => &mut self.capture_stats,
        };
        *count = count.saturating_add(rows);
    }
}

/// One Parquet file a manifest vouches for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the evidence folder, forward slashes.
    pub path: String,
    pub table: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// RFC 3339 with microseconds (`2026-12-03T10:15:00.000000Z`); `None` outside chrono's range.
pub fn rfc3339_us(ts_us: i64) -> Option<String> {
    DateTime::from_timestamp_micros(ts_us).map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true))
}

impl InputEntry {
    pub fn from_info(info: &InputInfo) -> InputEntry {
        InputEntry {
            name: info.name.clone(),
            kind: info.kind,
            sha256: info.sha256.clone(),
            bytes: info.bytes,
            packets: info.packets,
            first_ts: info.first_ts_us.and_then(rfc3339_us),
            last_ts: info.last_ts_us.and_then(rfc3339_us),
            damage: info.damage.clone(),
        }
    }
}

impl Manifest {
    /// The manifest of a run that added `files`, as the first of a chain; `chain::commit` sets
    /// `sequence` and `previous` when it links it to an existing one.
    pub fn new(run: &RunInfo, files: Vec<FileEntry>) -> Manifest {
        let (first, last) = run.time_span_us();
        let mut row_counts = RowCounts::default();
        for file in &files {
            if let Some(table) = Table::from_name(&file.table) {
                row_counts.add(table, file.rows);
            }
        }

        Manifest {
            format: FORMAT.to_owned(),
            tool: Tool {
                name: TOOL_NAME.to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
            sensor: run.sensor.clone(),
            command_line: run.command_line.clone(),
            created: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            sequence: 1,
            previous: None,
            inputs: run.inputs.iter().map(InputEntry::from_info).collect(),
            time_span: TimeSpan {
                first: first.and_then(rfc3339_us),
                last: last.and_then(rfc3339_us),
            },
            packets: run.packets,
            bytes: run.bytes,
            kernel_drops: run.kernel_drops,
            counters: run.counters.clone(),
            row_counts,
            files,
            signature: None,
            recovery: None,
            pause: None,
            retired: Vec::new(),
        }
    }

    /// Pretty JSON with a final newline; `path` only names the file in errors.
    pub fn to_json(&self, path: &Path) -> Result<Vec<u8>> {
        let mut bytes =
            serde_json::to_vec_pretty(self).map_err(|error| EvidenceError::Manifest {
                path: path.to_path_buf(),
                error,
            })?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// The bytes a signature of this manifest covers (see [`crate::signing`]): the same as
    /// [`canonical_bytes`] of its JSON encoding.
    pub fn signed_bytes(&self, path: &Path) -> Result<Vec<u8>> {
        let unsigned = Manifest {
            signature: None,
            ..self.clone()
        };
        let value = serde_json::to_value(&unsigned).map_err(|error| EvidenceError::Manifest {
            path: path.to_path_buf(),
            error,
        })?;
        Ok(canonical_json(&value))
    }

    /// Signs the manifest as it stands with `key`, replacing any signature; set `sequence`
    /// and `previous` first, since the signature covers them. `path` only names the file in
    /// errors.
    pub fn sign(&mut self, key: &SigningKey, path: &Path) -> Result<()> {
        let message = self.signed_bytes(path)?;
        self.signature = Some(ManifestSignature {
            algorithm: ALGORITHM.to_owned(),
            public_key: key.public_key().to_hex(),
            value: hex::encode(key.sign(&message)),
        });
        Ok(())
    }

    /// Decodes a manifest read from `path` and checks its `format`.
    pub fn from_json(path: &Path, bytes: &[u8]) -> Result<Manifest> {
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|error| EvidenceError::Manifest {
                path: path.to_path_buf(),
                error,
            })?;

        if manifest.format != FORMAT {
            return Err(EvidenceError::ManifestContent {
                path: path.to_path_buf(),
                what: format!(
                    "format is {:?}, this tool reads {FORMAT:?}",
                    manifest.format
                ),
            });
        }
        Ok(manifest)
    }
}

/// The bytes a signature of the manifest file `bytes` covers: its JSON with `signature` set to
/// `null`, canonically encoded (see [`crate::signing`]). Members this tool does not know are
/// covered too. `path` only names the file in errors.
///
/// # Errors
///
/// [`EvidenceError::Manifest`] when `bytes` are not JSON, [`EvidenceError::ManifestContent`]
/// when they are not a JSON object.
pub fn canonical_bytes(path: &Path, bytes: &[u8]) -> Result<Vec<u8>> {
    let mut value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|error| EvidenceError::Manifest {
            path: path.to_path_buf(),
            error,
        })?;
    let Some(object) = value.as_object_mut() else {
        return Err(EvidenceError::ManifestContent {
            path: path.to_path_buf(),
            what: "not a JSON object".to_owned(),
        });
    };
    object.insert("signature".to_owned(), serde_json::Value::Null);
    Ok(canonical_json(&value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunInfo {
        RunInfo {
            sensor: "plant-a".to_owned(),
            command_line: vec!["otwitness".to_owned(), "analyze".to_owned()],
            inputs: vec![InputInfo {
                name: "site/a.pcapng".to_owned(),
                kind: InputKind::File,
                sha256: Some("00".repeat(32)),
                bytes: 1000,
                packets: 10,
                first_ts_us: Some(1_796_299_200_000_000),
                last_ts_us: Some(1_796_299_201_500_000),
                damage: Some(Damage {
                    offset: 900,
                    frame: 10,
                    what: "truncated packet".to_owned(),
                }),
            }],
            packets: 10,
            bytes: 1000,
            kernel_drops: None,
            counters: BTreeMap::from([("flows".to_owned(), 3)]),
        }
    }

    #[test]
    fn encodes_the_documented_fields() -> Result<()> {
        let file = FileEntry {
            path: "alerts/date=2026-12-03/part-00000.parquet".to_owned(),
            table: "alerts".to_owned(),
            rows: 4,
            bytes: 99,
            sha256: "ab".repeat(32),
        };
        let manifest = Manifest::new(&run(), vec![file]);
        let json = manifest.to_json(Path::new("manifest.json"))?;
        let value: serde_json::Value =
            serde_json::from_slice(&json).map_err(|error| EvidenceError::Manifest {
                path: "m".into(),
                error,
            })?;

        assert_eq!(value["format"], "otwitness-evidence/1");
        assert_eq!(value["tool"]["name"], "otwitness");
        assert_eq!(value["sequence"], 1);
        assert!(value["previous"].is_null());
        assert!(value["signature"].is_null());
        assert!(value["kernel_drops"].is_null());
        assert_eq!(value["inputs"][0]["kind"], "file");
        assert_eq!(
            value["inputs"][0]["first_ts"],
            "2026-12-03T12:00:00.000000Z"
        );
        assert_eq!(value["inputs"][0]["damage"]["frame"], 10);
        assert_eq!(value["time_span"]["last"], "2026-12-03T12:00:01.500000Z");
        assert_eq!(value["counters"]["flows"], 3);
        assert_eq!(value["row_counts"]["alerts"], 4);
        assert_eq!(value["row_counts"]["writes"], 0);
        assert_eq!(value["files"][0]["table"], "alerts");

        assert_eq!(Manifest::from_json(Path::new("m"), &json)?, manifest);
        Ok(())
    }

    #[test]
    fn signature_covers_the_file_as_written() -> Result<()> {
        let key = SigningKey::from_seed(&[7; 32]);
        let path = Path::new("manifest.json");
        let mut manifest = Manifest::new(&run(), Vec::new());
        manifest.sign(&key, path)?;
        let json = manifest.to_json(path)?;

        let from_file = canonical_bytes(path, &json)?;
        assert_eq!(from_file, manifest.signed_bytes(path)?);
        let checked = manifest
            .signature
            .as_ref()
            .map(|s| crate::signing::check(&s.algorithm, &s.public_key, &s.value, &from_file));
        assert_eq!(checked, Some(Ok(key.public_key())));
        assert_eq!(Manifest::from_json(path, &json)?, manifest);
        Ok(())
    }

    #[test]
    fn rejects_another_format() {
        let mut manifest = Manifest::new(&run(), Vec::new());
        manifest.format = "otwitness-evidence/9".to_owned();
        let json = serde_json::to_vec(&manifest).unwrap_or_default();

        let error = Manifest::from_json(Path::new("/e/manifest.json"), &json).err();
        assert!(matches!(error, Some(EvidenceError::ManifestContent { .. })));
    }
}
