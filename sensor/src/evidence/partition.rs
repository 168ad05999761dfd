//! Where a row's file goes: `<table>/date=YYYY-MM-DD/part-NNNNN.parquet`.
//!
//! The date is the UTC calendar date of the row's capture time. Part numbers only grow: a new
//! file takes one more than the highest number already used in its folder (by a published file
//! or a leftover temporary one), so a second run or a rotation never causes a name to be
//! reused. Known shortcoming: removing the highest-numbered files of a folder frees their
//! numbers; a live capture's retention can empty a folder so, and then records every retired
//! name in a manifest, which is what lets `verify` accept the name listed again. This module
//! names and claims files; writing them is `parquet`'s job.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate};

use super::durable::tmp_path;
use super::error::{EvidenceError, Result};
use super::schema::Table;

/// The partition of rows with no capture time at all (nothing was read).
pub const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(date) => date,
    None => NaiveDate::MIN,
};

/// How many taken part numbers `claim_part` skips before giving up.
const CLAIM_ATTEMPTS: u32 = 1000;

/// The UTC date of a capture time in µs since the epoch. Times outside chrono's range (which
/// no capture format can express) fall back to 1970-01-01.
pub fn date_of(ts_us: i64) -> NaiveDate {
    DateTime::from_timestamp_micros(ts_us).map_or(EPOCH, |t| t.date_naive())
}

/// `<table>/date=YYYY-MM-DD`, relative to the evidence folder, with forward slashes.
pub fn partition_rel(table: Table, date: NaiveDate) -> String {
    format!("{}/date={}", table.name(), date.format("%Y-%m-%d"))
}

/// `part-NNNNN.parquet`.
pub fn part_name(number: u32) -> String {
    format!("part-{number:05}.parquet")
}

/// The part number in a file name `part-NNNNN.parquet` or `part-NNNNN.parquet.tmp`.
pub fn part_number(name: &str) -> Option<u32> {
    let stem = name.strip_suffix(".tmp").unwrap_or(name);
    let digits = stem.strip_prefix("part-")?.strip_suffix(".parquet")?;

    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A file name claimed in a partition folder: its temporary file is created and open.
pub struct ClaimedPart {
    /// Relative path of the final file, e.g. `writes/date=2026-12-03/part-00001.parquet`.
    pub rel: String,
    /// Absolute (or caller-relative) path of the final file.
    pub path: PathBuf,
    /// Where the file is written until it is complete.
    pub tmp: PathBuf,
    pub file: File,
}

/// Claims the next free part number in `<out>/<table>/date=…` (the folder must exist) by
/// creating its temporary file exclusively.
pub fn claim_part(out: &Path, table: Table, date: NaiveDate) -> Result<ClaimedPart> {
    let rel_dir = partition_rel(table, date);
    let dir = out.join(&rel_dir);
    let mut number = next_part_number(&dir)?;

    for _ in 0..CLAIM_ATTEMPTS {
        let name = part_name(number);
        let path = dir.join(&name);
        let tmp = tmp_path(&path);

        if !path.exists() {
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(file) => {
                    let rel = format!("{rel_dir}/{name}");
                    return Ok(ClaimedPart {
                        rel,
                        path,
                        tmp,
                        file,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(EvidenceError::io("create", &tmp, e)),
            }
        }
        number = number.saturating_add(1);
    }

    Err(EvidenceError::io(
        "claim a part number in",
        &dir,
        io::Error::other("every candidate name is taken"),
    ))
}

/// Claims exactly `<out>/<table>/date=…/part-<number>.parquet` (creating the folder if needed),
/// for recovering a spool into the very name it was written for: a stale temporary file of that
/// name is removed first. Fails when the final file exists (the caller decides whether an
/// unlisted one may be removed).
pub fn claim_exact(out: &Path, table: Table, date: NaiveDate, number: u32) -> Result<ClaimedPart> {
    let rel_dir = partition_rel(table, date);
    let dir = out.join(&rel_dir);
    super::durable::create_dirs(&dir)?;
    let name = part_name(number);
    let path = dir.join(&name);
    let tmp = tmp_path(&path);

    if path.exists() {
        return Err(EvidenceError::Exists { path });
    }
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(EvidenceError::io("remove", &tmp, e)),
    }
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| EvidenceError::io("create", &tmp, e))?;
    Ok(ClaimedPart {
        rel: format!("{rel_dir}/{name}"),
        path,
        tmp,
        file,
    })
}

/// One more than the highest part number used in `dir` (0 when there is none).
fn next_part_number(dir: &Path) -> Result<u32> {
    let entries = fs::read_dir(dir).map_err(|e| EvidenceError::io("list", dir, e))?;
    let mut next = 0u32;

    for entry in entries {
        let entry = entry.map_err(|e| EvidenceError::io("list", dir, e))?;
        let name = entry.file_name();
        if let Some(number) = name.to_str().and_then(part_number) {
            next = next.max(number.saturating_add(1));
        }
    }
    Ok(next)
}

/// How deep `list_parquet` looks under a table folder (partitions are one level deep; anything
/// deeper is still found, up to this bound).
const LIST_DEPTH: usize = 8;

/// Every `*.parquet` file under `<out>/<table>/`, as sorted paths relative to `out` with forward
/// slashes. A missing table folder has none. Symbolic links are listed, not followed.
pub fn list_parquet(out: &Path, table: Table) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let dir = out.join(table.name());

    if dir.is_dir() {
        walk(&dir, table.name(), 0, &mut found)?;
    }
    found.sort();
    Ok(found)
}

fn walk(dir: &Path, rel: &str, depth: usize, found: &mut Vec<String>) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|e| EvidenceError::io("list", dir, e))?;

    for entry in entries {
        let entry = entry.map_err(|e| EvidenceError::io("list", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry
            .file_type()
            .map_err(|e| EvidenceError::io("inspect", &entry.path(), e))?;
        let child = format!("{rel}/{name}");

        if kind.is_dir() && depth < LIST_DEPTH {
            walk(&entry.path(), &child, depth + 1, found)?;
        } else if (kind.is_file() || kind.is_symlink()) && name.ends_with(".parquet") {
            found.push(child);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc() {
        // 2026-12-03T23:59:59.999999Z and one µs later.
        let last = 1_796_342_399_999_999;

        assert_eq!(date_of(last).to_string(), "2026-12-03");
        assert_eq!(date_of(last + 1).to_string(), "2026-12-04");
        assert_eq!(date_of(0), EPOCH);
        assert_eq!(date_of(-1).to_string(), "1969-12-31");
        assert_eq!(date_of(i64::MAX), EPOCH);
    }

    #[test]
    fn names_and_numbers() {
        let date = date_of(1_796_342_399_999_999);

        assert_eq!(partition_rel(Table::Alerts, date), "alerts/date=2026-12-03");
        assert_eq!(part_name(7), "part-00007.parquet");
        assert_eq!(part_name(123_456), "part-123456.parquet");
        assert_eq!(part_number("part-00007.parquet"), Some(7));
        assert_eq!(part_number("part-00007.parquet.tmp"), Some(7));
        assert_eq!(part_number("part-123456.parquet"), Some(123_456));
        assert_eq!(part_number("part-.parquet"), None);
        assert_eq!(part_number("part-+1.parquet"), None);
        assert_eq!(part_number("other.parquet"), None);
    }

    #[test]
    fn claims_skip_used_numbers() -> Result<()> {
        let out = std::env::temp_dir().join(format!("otwitness-claim-{}", std::process::id()));
        let _ = fs::remove_dir_all(&out);
        let date = EPOCH;
        let dir = out.join(partition_rel(Table::Writes, date));
        super::super::durable::create_dirs(&dir)?;
        fs::write(dir.join("part-00003.parquet"), b"x")
            .map_err(|e| EvidenceError::io("w", &dir, e))?;

        let first = claim_part(&out, Table::Writes, date)?;
        let second = claim_part(&out, Table::Writes, date)?;

        assert_eq!(first.rel, "writes/date=1970-01-01/part-00004.parquet");
        assert_eq!(second.rel, "writes/date=1970-01-01/part-00005.parquet");
        assert!(first.tmp.ends_with("part-00004.parquet.tmp"));
        let _ = fs::remove_dir_all(&out);
        Ok(())
    }
}
