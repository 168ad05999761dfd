//! The crash journal of a live capture: every row of an open Parquet file is also appended to a
//! spool file and synced, so a process killed before the file is closed loses nothing synced.
//!
//! A [`SpooledWriter`] pairs one open [`TableWriter`] with `spool/<its final path>.spool`, an
//! Arrow IPC stream of the same batches. [`SpooledWriter::sync`] flushes and syncs the spool; a
//! live capture calls it at least once a second, which is what bounds the loss of a kill -9.
//! After the manifest listing the closed file is committed, [`remove_spools`] deletes the spools.
//!
//! At the next start, [`recover_spools`] rebuilds each leftover spool into the Parquet file it
//! was written for, under the same name: a stale temporary file is removed, and so is a
//! published file that the current manifest does not list (the spool holds the same rows, synced
//! earlier). A spool whose file the current manifest already lists is only removed, so rows are
//! never written twice. A record cut short by the crash ends the reading of its spool and is
//! counted as a torn tail; the caller commits the rebuilt files in a manifest whose `recovery`
//! says all of this, then removes the spools. A crash during recovery leaves the spools in place
//! and the next start does the same work again.
//!
//! Not done here: deciding when to sync, rotate or commit (the live capture's job).

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use analytics::evidence::{AlertRow, AssetRow, CredentialRow, SessionRow, WriteRow};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use chrono::NaiveDate;

use super::columns::{CaptureStatsRow, Columns, RowContext, TableRow};
use super::durable::{create_dirs, sync_dir, sync_file};
use super::error::{EvidenceError, Result};
use super::manifest::{FileEntry, Recovery};
use super::parquet::{TableWriter, BATCH_ROWS};
use super::partition::{date_of, part_number};
use super::schema::Table;
use super::writer::EvidenceWriter;

/// The spool folder, at the top of the evidence folder.
pub const SPOOL: &str = "spool";

/// Suffix of a spool file after the final path of its Parquet file.
const SUFFIX: &str = ".spool";

/// `<out>/spool/<rel>.spool`: where the rows of the Parquet file `rel` are journaled.
pub fn spool_path(out: &Path, rel: &str) -> PathBuf {
    out.join(SPOOL).join(format!("{rel}{SUFFIX}"))
}

/// An open Parquet file of rows `R` and its spool, fed the same batches.
pub struct SpooledWriter<R: TableRow> {
    table: TableWriter<R>,
    spool: StreamWriter<File>,
    spool_path: PathBuf,
    columns: R::Columns,
    ctx: Arc<RowContext>,
    unsynced: bool,
    /// The spool's length and the rows it held at the last successful sync.
    synced_len: u64,
    synced_rows: u64,
}

impl<R: TableRow> SpooledWriter<R> {
    /// Opens the next part file of `R`'s table for `date` through `writer`, and its spool.
    pub fn create(writer: &EvidenceWriter, date: NaiveDate) -> Result<SpooledWriter<R>> {
        let table = writer.open::<R>(date)?;
        let spool_path = spool_path(writer.out(), table.rel_path());
        if let Some(dir) = spool_path.parent() {
            create_dirs(dir)?;
        }

        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&spool_path)
            .map_err(|e| EvidenceError::io("create", &spool_path, e))?;
        // A spool that could not be started holds no row; leaving it would make the next
        // recovery report it unreadable.
        let spool = match StreamWriter::try_new(file, &R::TABLE.schema()) {
            Ok(spool) => spool,
            Err(error) => {
                let _ = fs::remove_file(&spool_path);
                let error = io::Error::other(error);
                return Err(EvidenceError::io("start the spool", &spool_path, error));
            }
        };
        if let Some(dir) = spool_path.parent() {
            sync_dir(dir)?;
        }

        Ok(SpooledWriter {
            table,
            spool,
            spool_path,
            columns: R::Columns::with_capacity(BATCH_ROWS.min(1024)),
            ctx: writer.context(),
            unsynced: true,
            synced_len: 0,
            synced_rows: 0,
        })
    }

    /// Appends rows (all of this file's date) to the Parquet file and the spool; they are
    /// safe from a crash once [`SpooledWriter::sync`] returns.
    pub fn write<'a, I>(&mut self, rows: I) -> Result<()>
    where
        I: IntoIterator<Item = &'a R>,
        R: 'a,
    {
        for row in rows {
            let row_date = date_of(row.partition_ts_us());
            if row_date != self.table.date() {
                return Err(EvidenceError::WrongPartition {
                    table: R::TABLE.name(),
                    row_date: row_date.to_string(),
                    partition_date: self.table.date().to_string(),
                });
            }
            self.columns.append(row, &self.ctx)?;
            if self.columns.len() >= BATCH_ROWS {
                self.encode()?;
            }
        }
        self.encode()
    }

    /// Flushes and syncs the spool when rows were added since the last sync.
    pub fn sync(&mut self) -> Result<()> {
        if !self.unsynced {
            return Ok(());
        }
        self.spool.flush().map_err(|error| {
            EvidenceError::io("flush", &self.spool_path, io::Error::other(error))
        })?;
        self.spool
            .get_ref()
            .sync_data()
            .map_err(|e| EvidenceError::io("sync", &self.spool_path, e))?;
        self.synced_len = self
            .spool
            .get_ref()
            .metadata()
            .map_err(|e| EvidenceError::io("inspect", &self.spool_path, e))?
            .len();
        self.synced_rows = self.table.rows();
        self.unsynced = false;
        Ok(())
    }

    /// Gives the file up after a failed write, leaving exactly the rows of the last successful
    /// [`SpooledWriter::sync`]: the Parquet file's temporary file is removed, the spool is cut
    /// back to its length at that sync (or removed when it held no row then), so a record
    /// half written by the failure is gone and the next recovery rebuilds the file whole.
    /// Cutting a file shorter needs no free space. Until the spool is rebuilt
    /// ([`recover_spools`]), only the spool holds the file's part number: rebuild before
    /// opening new files in that partition, or the new file may claim the same name.
    ///
    /// # Errors
    ///
    /// The spool cannot be cut or removed; its unsynced tail may then hold rows that the
    /// caller also keeps elsewhere.
    pub fn abandon(self) -> Result<()> {
        let SpooledWriter {
            table,
            spool,
            spool_path,
            synced_len,
            synced_rows,
            ..
        } = self;
        drop(table);
        drop(spool);

        if synced_rows == 0 {
            match fs::remove_file(&spool_path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(EvidenceError::io("remove", &spool_path, e)),
            }
            return match spool_path.parent() {
                Some(dir) => sync_dir(dir),
                None => Ok(()),
            };
        }
        let file = OpenOptions::new()
            .write(true)
            .open(&spool_path)
            .map_err(|e| EvidenceError::io("open", &spool_path, e))?;
        file.set_len(synced_len)
            .map_err(|e| EvidenceError::io("cut back", &spool_path, e))?;
        sync_file(&file, &spool_path)
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.table.rows()
    }

    /// What the Parquet file would roughly weigh if closed now.
    pub fn bytes(&self) -> u64 {
        self.table.bytes()
    }

    /// Closes the Parquet file (published under its final name) and the spool; returns the
    /// file's manifest entry and the spool's path, to remove once the manifest is committed.
    pub fn close(mut self) -> Result<(FileEntry, PathBuf)> {
        self.sync()?;
        let entry = self.table.close()?;
        Ok((entry, self.spool_path))
    }

    fn encode(&mut self) -> Result<()> {
        if self.columns.is_empty() {
            return Ok(());
        }
        let batch = self.columns.finish()?;
        self.spool.write(&batch).map_err(|error| {
            EvidenceError::io("append to", &self.spool_path, io::Error::other(error))
        })?;
        self.unsynced = true;
        self.table.write_batch(&batch)
    }
}

/// Removes spool files whose rows a committed manifest now vouches for, then syncs their
/// folders. Returns the first error after trying every file.
pub fn remove_spools(spools: &[PathBuf]) -> Result<()> {
    let mut first_error = None;
    let mut folders = BTreeSet::new();

    for path in spools {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                first_error.get_or_insert(EvidenceError::io("remove", path, e));
            }
        }
        if let Some(parent) = path.parent() {
            folders.insert(parent.to_path_buf());
        }
    }
    for folder in &folders {
        if let Err(e) = sync_dir(folder) {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// What [`recover_spools`] found and did; the spools are to be removed once the manifest that
/// lists the rebuilt files is committed.
#[derive(Debug, Default)]
pub struct Recovered {
    pub recovery: Recovery,
    pub spools: Vec<PathBuf>,
}

/// Rebuilds every leftover spool under `<out>/spool` into its Parquet file through `writer`
/// (whose manifest will list the files); `listed` holds the paths the current manifest lists.
///
/// # Errors
///
/// Failing to list the spool folder, to remove a stale file or to write a Parquet file. A spool
/// that cannot be read at all is not an error: it is named in `recovery.unreadable` and kept
/// on disk for a person to look at.
pub fn recover_spools(writer: &mut EvidenceWriter, listed: &BTreeSet<String>) -> Result<Recovered> {
    let root = writer.out().join(SPOOL);
    let mut found = Vec::new();
    if root.is_dir() {
        walk(&root, "", &mut found)?;
    }
    found.sort();

    let mut recovered = Recovered::default();
    for rel in found {
        let path = spool_path(writer.out(), &rel);
        recovered.recovery.spools += 1;

        if listed.contains(&rel) {
            recovered.recovery.already_committed += 1;
            recovered.spools.push(path);
            continue;
        }
        let Some((table, date, number)) = parse_rel(&rel) else {
            let why = format!("{}: not the spool of an evidence file", path.display());
            recovered.recovery.unreadable.push(why);
            continue;
        };

        let final_path = writer.out().join(&rel);
        match fs::remove_file(&final_path) {
            Ok(()) => log::warn!(
                "{}: published but listed by no manifest; rebuilt from its spool",
                final_path.display()
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(EvidenceError::io("remove", &final_path, e)),
        }

        let rebuilt = match table {
            Table::Writes => rebuild::<WriteRow>(writer, &path, date, number)?,
            Table::Sessions => rebuild::<SessionRow>(writer, &path, date, number)?,
            Table::Assets => rebuild::<AssetRow>(writer, &path, date, number)?,
            Table::Alerts => rebuild::<AlertRow>(writer, &path, date, number)?,
            Table::Credentials => rebuild::<CredentialRow>(writer, &path, date, number)?,
            Table::CaptureStats => rebuild::<CaptureStatsRow>(writer, &path, date, number)?,
        };
        match rebuilt {
            Rebuilt::Done { entry, torn } => {
                recovered.recovery.rows += entry.rows;
                recovered.recovery.torn_tails += u64::from(torn);
                writer.add_file(entry);
                recovered.spools.push(path);
            }
            Rebuilt::Unreadable(why) => recovered.recovery.unreadable.push(why),
        }
    }
    Ok(recovered)
}

enum Rebuilt {
    Done { entry: FileEntry, torn: bool },
    Unreadable(String),
}

fn rebuild<R: TableRow>(
    writer: &EvidenceWriter,
    spool: &Path,
    date: NaiveDate,
    number: u32,
) -> Result<Rebuilt> {
    let file = File::open(spool).map_err(|e| EvidenceError::io("open", spool, e))?;
    let empty = file.metadata().map(|m| m.len() == 0).unwrap_or(false);

    // A spool cut before its schema was fully written holds no rows at all.
    let reader = match StreamReader::try_new(BufReader::new(file), None) {
        Ok(reader) => Some(reader),
        Err(_) if empty => None,
        Err(error) => {
            let why = format!("{}: {error}; its rows are lost", spool.display());
            return Ok(Rebuilt::Unreadable(why));
        }
    };
    if reader
        .as_ref()
        .is_some_and(|r| r.schema().fields() != R::TABLE.schema().fields())
    {
        let why = format!("{}: not of the {} schema", spool.display(), R::TABLE);
        return Ok(Rebuilt::Unreadable(why));
    }

    let ctx = writer.context();
    let mut table =
        TableWriter::<R>::create_exact(writer.out(), date, number, ctx, writer.properties())?;
    let mut torn = false;
    for batch in reader.into_iter().flatten() {
        match batch {
            Ok(batch) => table.write_batch(&batch)?,
            Err(error) => {
                log::warn!("{}: last record cut short ({error})", spool.display());
                torn = true;
                break;
            }
        }
    }
    let entry = table.close()?;
    // The rebuilt file must be on disk before the spool goes; `close` synced it.
    let spool_file = File::open(spool).map_err(|e| EvidenceError::io("open", spool, e))?;
    sync_file(&spool_file, spool)?;
    Ok(Rebuilt::Done { entry, torn })
}

/// `writes/date=2026-12-03/part-00004.parquet` → (table, date, 4).
fn parse_rel(rel: &str) -> Option<(Table, NaiveDate, u32)> {
    let mut parts = rel.split('/');
    let table = Table::from_name(parts.next()?)?;
    let date = parts.next()?.strip_prefix("date=")?;
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let name = parts.next()?;
    if parts.next().is_some() || name.ends_with(".tmp") {
        return None;
    }
    Some((table, date, part_number(name)?))
}

/// Collects `<rel>` of every `<rel>.spool` under `dir` (two levels deep: table, date).
fn walk(dir: &Path, rel: &str, found: &mut Vec<String>) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|e| EvidenceError::io("list", dir, e))?;

    for entry in entries {
        let entry = entry.map_err(|e| EvidenceError::io("list", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let kind = entry
            .file_type()
            .map_err(|e| EvidenceError::io("inspect", &entry.path(), e))?;

        if kind.is_dir() && child.matches('/').count() < 2 {
            walk(&entry.path(), &child, found)?;
        } else if kind.is_file() {
            if let Some(target) = child.strip_suffix(SUFFIX) {
                found.push(target.to_owned());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use analytics::evidence::{AlertKind, FrameRef, Severity};

    fn alert(frame: u64) -> AlertRow {
        AlertRow {
            at: FrameRef {
                source: 0,
                frame,
                ts_us: 1_796_342_000_000_000 + frame as i64,
            },
            kind: AlertKind::CaptureDrops,
            severity: Severity::Medium,
            session_id: None,
            protocol: None,
            client_ip: None,
            server_ip: None,
            detail: format!("alert {frame}"),
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("otwitness-spool-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn writer(out: &Path) -> Result<EvidenceWriter> {
        EvidenceWriter::create(out, "s1", &["eth1".to_owned()])
    }

    #[test]
    fn parses_spool_names() {
        let parsed = parse_rel("alerts/date=2026-12-03/part-00004.parquet");
        assert_eq!(
            parsed.map(|(t, d, n)| (t, d.to_string(), n)),
            Some((Table::Alerts, "2026-12-03".to_owned(), 4))
        );
        assert!(parse_rel("alerts/date=2026-12-33/part-00004.parquet").is_none());
        assert!(parse_rel("nope/date=2026-12-03/part-00004.parquet").is_none());
        assert!(parse_rel("alerts/part-00004.parquet").is_none());
    }

    /// A process that dies with a file open: the synced rows come back under the file's own
    /// name, the half-written record after them does not, and a second recovery finds nothing.
    #[test]
    fn a_killed_writer_is_rebuilt_from_its_spool() -> Result<()> {
        let out = scratch("killed");
        let date = date_of(alert(1).at.ts_us);
        let first: Vec<AlertRow> = (1..=3).map(alert).collect();

        let ew = writer(&out)?;
        let mut open = SpooledWriter::<AlertRow>::create(&ew, date)?;
        open.write(&first)?;
        open.sync()?;
        let rel = "alerts/date=2026-12-03/part-00000.parquet";
        let spool = spool_path(&out, rel);
        // Rows written after the last sync are not promised; a torn record stands for them.
        let synced_len = fs::metadata(&spool).map(|m| m.len()).unwrap_or(0);
        open.write(&[alert(4)])?;
        open.sync()?;
        let full_len = fs::metadata(&spool).map(|m| m.len()).unwrap_or(0);
        std::mem::forget(open); // as kill -9 would: no close, no cleanup
        let cut = OpenOptions::new().write(true).open(&spool);
        cut.and_then(|f| f.set_len(synced_len + (full_len - synced_len) / 2))
            .map_err(|e| EvidenceError::io("truncate", &spool, e))?;

        let mut ew = writer(&out)?;
        let recovered = recover_spools(&mut ew, &BTreeSet::new())?;

        assert_eq!(recovered.recovery.spools, 1);
        assert_eq!(recovered.recovery.rows, 3);
        assert_eq!(recovered.recovery.torn_tails, 1);
        assert_eq!(ew.files().len(), 1);
        assert_eq!(ew.files()[0].path, rel);
        assert_eq!(ew.files()[0].rows, 3);
        assert!(out.join(rel).is_file());
        assert!(!out.join(format!("{rel}.tmp")).exists());

        // Committed, then the process dies before removing the spool: nothing is rebuilt twice.
        let listed: BTreeSet<String> = [rel.to_owned()].into();
        let mut again = writer(&out)?;
        let second = recover_spools(&mut again, &listed)?;
        assert_eq!(second.recovery.already_committed, 1);
        assert_eq!(second.recovery.rows, 0);
        assert!(again.files().is_empty());
        remove_spools(&second.spools)?;
        assert!(!spool.exists());
        let _ = fs::remove_dir_all(&out);
        Ok(())
    }

    /// A write that failed after the last sync (as a full disk makes it fail): abandoning the
    /// file leaves the spool with exactly the synced rows, no temporary file, and a writer that
    /// never synced a row leaves no spool at all.
    #[test]
    fn an_abandoned_writer_keeps_only_its_synced_rows() -> Result<()> {
        let out = scratch("abandoned");
        let date = date_of(alert(1).at.ts_us);
        let ew = writer(&out)?;

        let mut open = SpooledWriter::<AlertRow>::create(&ew, date)?;
        let rel = open.table.rel_path().to_owned();
        open.write(&[alert(1), alert(2)])?;
        open.sync()?;
        open.write(&[alert(3), alert(4), alert(5)])?;
        let never_synced = SpooledWriter::<AlertRow>::create(&ew, date)?;
        let unsynced_rel = never_synced.table.rel_path().to_owned();
        open.abandon()?;
        never_synced.abandon()?;

        assert!(!out.join(format!("{rel}.tmp")).exists());
        assert!(!spool_path(&out, &unsynced_rel).exists());
        assert!(!out.join(format!("{unsynced_rel}.tmp")).exists());
        let mut ew = writer(&out)?;
        let recovered = recover_spools(&mut ew, &BTreeSet::new())?;
        assert_eq!(recovered.recovery.spools, 1);
        assert_eq!(recovered.recovery.rows, 2);
        assert_eq!(recovered.recovery.torn_tails, 0);
        assert_eq!(ew.files()[0].path, rel);
        let _ = fs::remove_dir_all(&out);
        Ok(())
    }
}
