//! One run's worth of evidence: table files in, one committed manifest out.
//!
//! An [`EvidenceWriter`] owns the run's output folder, row context and writer properties, and
//! collects the manifest entries of the files it publishes. An offline run hands it whole
//! tables ([`EvidenceWriter::write_table`]); a live capture opens [`TableWriter`]s itself,
//! feeds them batches, closes them when it rotates and records the entries with
//! [`EvidenceWriter::add_file`]. [`EvidenceWriter::fill_empty_tables`] makes sure every table
//! has at least one file in the folder, [`EvidenceWriter::commit`] commits the manifest (signed
//! when [`EvidenceWriter::set_signing_key`] gave the writer a key), and
//! [`EvidenceWriter::abandon`] removes the files of a run that failed before its commit.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use analytics::evidence::{AlertRow, AssetRow, CredentialRow, Evidence, SessionRow, WriteRow};
use chrono::NaiveDate;
use parquet::file::properties::WriterProperties;

use super::chain::commit;
use super::columns::{CaptureStatsRow, RowContext, TableRow};
use super::durable::{create_dirs, sync_dir};
use super::error::{EvidenceError, Result};
use super::manifest::{FileEntry, Manifest, PauseRecord, Recovery, RetiredFile};
use super::parquet::{writer_properties, TableWriter};
use super::partition::{date_of, list_parquet, EPOCH};
use super::run::RunInfo;
use super::schema::Table;
use crate::signing::SigningKey;

/// Writes the files of one run into an evidence folder and commits their manifest.
pub struct EvidenceWriter {
    out: PathBuf,
    ctx: Arc<RowContext>,
    props: WriterProperties,
    files: Vec<FileEntry>,
    key: Option<Arc<SigningKey>>,
    recovery: Option<Recovery>,
    pause: Option<PauseRecord>,
    retired: Vec<RetiredFile>,
}

impl EvidenceWriter {
    /// Creates the evidence folder if needed. `source_names[i]` names the source that rows with
    /// `FrameRef.source == i` come from.
    pub fn create(out: &Path, sensor: &str, source_names: &[String]) -> Result<EvidenceWriter> {
        create_dirs(out)?;

        Ok(EvidenceWriter {
            out: out.to_path_buf(),
            ctx: Arc::new(RowContext::new(sensor, source_names)),
            props: writer_properties(),
            files: Vec::new(),
            key: None,
            recovery: None,
            pause: None,
            retired: Vec::new(),
        })
    }

    /// Signs the manifest [`EvidenceWriter::commit`] writes with `key` (`None`: unsigned).
    pub fn set_signing_key(&mut self, key: Option<Arc<SigningKey>>) {
        self.key = key;
    }

    /// Records in the manifest that its files were rebuilt from a live capture's spool.
    pub fn set_recovery(&mut self, recovery: Option<Recovery>) {
        self.recovery = recovery;
    }

    /// Records in the manifest that it ends a pause of a live capture's evidence writing.
    pub fn set_pause(&mut self, pause: Option<PauseRecord>) {
        self.pause = pause;
    }

    /// Records in the manifest the files a retention limit removes once it is committed.
    pub fn set_retired(&mut self, retired: Vec<RetiredFile>) {
        self.retired = retired;
    }

    /// What fills the `sensor` and `source` columns of the rows this writer's files hold.
    pub fn context(&self) -> Arc<RowContext> {
        self.ctx.clone()
    }

    /// The properties every file of this writer is written with.
    pub fn properties(&self) -> &WriterProperties {
        &self.props
    }

    /// The evidence folder.
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// Files published so far by this writer.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// Opens the next part file of `R`'s table in the partition of `date`.
    pub fn open<R: TableRow>(&self, date: NaiveDate) -> Result<TableWriter<R>> {
        TableWriter::create(&self.out, date, self.ctx.clone(), &self.props)
    }

    /// Records a file closed by a [`TableWriter`] this writer opened.
    pub fn add_file(&mut self, entry: FileEntry) {
        self.files.push(entry);
    }

    /// Writes `rows` (in the order given) as one new file per capture date they span, each
    /// with [`TableWriter::write_all`]: built and encoded on the current rayon pool.
    pub fn write_table<R: TableRow + Sync>(&mut self, rows: &[R]) -> Result<()> {
        let mut by_date: BTreeMap<NaiveDate, Vec<&R>> = BTreeMap::new();
        for row in rows {
            let date = date_of(row.partition_ts_us());
            by_date.entry(date).or_default().push(row);
        }

        for (date, rows) in by_date {
            let entry = self.open::<R>(date)?.write_all(&rows)?;
            self.files.push(entry);
        }
        Ok(())
    }

    /// Writes the five tables of an analysis, each as [`EvidenceWriter::write_table`] does.
    /// On error, the files written so far are recorded, so `abandon` removes them.
    pub fn write_analysis(&mut self, evidence: &Evidence) -> Result<()> {
        self.write_table(&evidence.writes)?;
        self.write_table(&evidence.sessions)?;
        self.write_table(&evidence.assets)?;
        self.write_table(&evidence.alerts)?;
        self.write_table(&evidence.credentials)
    }

    /// Gives every table of [`Table::ANALYSIS`] that has no file in the folder an empty one (in
    /// the partition of the run's first capture date, or 1970-01-01 when nothing was read), so
    /// a query over
    /// `<table>/**/*.parquet` always finds the table and its schema.
    pub fn fill_empty_tables(&mut self, run: &RunInfo) -> Result<()> {
        let date = run.first_date().unwrap_or(EPOCH);

        for table in Table::ANALYSIS {
            let has_file = self.files.iter().any(|f| f.table == table.name())
                || !list_parquet(&self.out, table)?.is_empty();
            if !has_file {
                let entry = self.empty_file(table, date)?;
                self.files.push(entry);
            }
        }
        Ok(())
    }

    /// Commits the manifest of this writer's files after the folder's current manifest, signed
    /// when the writer has a key.
    pub fn commit(self, run: &RunInfo) -> Result<Manifest> {
        let mut manifest = Manifest::new(run, self.files);
        manifest.recovery = self.recovery;
        manifest.pause = self.pause;
        manifest.retired = self.retired;
        commit(&self.out, manifest, self.key.as_deref())
    }

    /// Removes the files this writer published, for a run that failed before its manifest was
    /// committed: files no manifest lists would otherwise be read twice after a retry. Returns
    /// the first removal error, after trying every file.
    pub fn abandon(self) -> Result<()> {
        let mut first_error = None;
        let mut folders = BTreeSet::new();

        for entry in &self.files {
            let path = self.out.join(&entry.path);
            if let Err(e) = std::fs::remove_file(&path) {
                first_error.get_or_insert(EvidenceError::io("remove", &path, e));
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

    fn empty_file(&self, table: Table, date: NaiveDate) -> Result<FileEntry> {
        match table {
            Table::Writes => self.open::<WriteRow>(date)?.close(),
            Table::Sessions => self.open::<SessionRow>(date)?.close(),
            Table::Assets => self.open::<AssetRow>(date)?.close(),
            Table::Alerts => self.open::<AlertRow>(date)?.close(),
            Table::Credentials => self.open::<CredentialRow>(date)?.close(),
            Table::CaptureStats => self.open::<CaptureStatsRow>(date)?.close(),
        }
    }
}
