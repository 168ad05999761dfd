//! One Parquet file of one table's date partition, written to completion or not at all.
//!
//! A [`TableWriter`] claims the next part number of its partition, accepts rows in as many
//! calls as the caller likes (an offline run passes them all, a live capture passes a batch per
//! flush), turns them into Arrow batches of bounded size and hands them to one `ArrowWriter`,
//! which cuts row groups by row count and encoded size. `close` writes the footer, syncs the
//! file, publishes it under its final name and returns its manifest entry; a writer dropped
//! without `close` removes its temporary file. Deciding when to rotate (by time or size) is the
//! caller's job; [`TableWriter::rows`] and [`TableWriter::bytes`] give what it needs.
//!
//! An offline run, which has every row of a table at hand, uses [`TableWriter::write_all`]
//! instead: it cuts row groups by row count alone and builds each row group's batches and
//! encodes its columns on the threads of the current rayon pool. The file is the same whatever
//! the number of threads, and the same as `write` and `close` would make of the same rows when
//! no row group reaches [`ROW_GROUP_BYTES`] (the only other difference: that size cap, which
//! bounds a live capture's memory, does not apply, as the rows are in memory already).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use analytics::latency::{Latency, Stage};
use arrow_array::RecordBatch;
use chrono::NaiveDate;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;

use super::columns::{Columns, RowContext, TableRow};
use super::digest::HashingWriter;
use super::durable::{create_dirs, discard, publish_new, sync_file};
use super::error::{EvidenceError, Result};
use super::manifest::FileEntry;
use super::partition::{claim_exact, claim_part, date_of, partition_rel, ClaimedPart};
use super::schema::Table;

/// Rows turned into one Arrow batch at a time: bounds the memory of not-yet-encoded rows.
pub const BATCH_ROWS: usize = 8192;

/// A row group ends after this many rows…
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// …or once its estimated encoded size passes this many bytes, whichever comes first.
pub const ROW_GROUP_BYTES: usize = 64 * 1024 * 1024;

/// Time to encode each batch (and the row group it completes, if any) and to close each file
/// (last row group, footer, sync, publish) written by this process, for `otwitness analyze
/// --stats`. Process-wide because table writers are opened in several
/// places (the offline run, rotations); tests that write in parallel share it, so only a whole
/// process (the CLI) reads it meaningfully.
static BATCH_LATENCY: Mutex<Option<Latency>> = Mutex::new(None);

/// Takes the `write` samples gathered so far (one per batch of up to [`BATCH_ROWS`] rows and
/// one per file closed).
pub fn take_batch_latency() -> Latency {
    let mut slot = BATCH_LATENCY.lock().unwrap_or_else(|e| e.into_inner());
    slot.take().unwrap_or_default()
}

fn record_batch(start: Instant) {
    let mut slot = BATCH_LATENCY.lock().unwrap_or_else(|e| e.into_inner());
    slot.get_or_insert_with(Latency::default)
        .record_since(Stage::Write, start);
}

/// Integer columns whose values are (nearly) all different and rise with the rows' order:
/// frame numbers and capture times. Sessions are ordered by their start, so their ends
/// (`last_frame`, `end_ts`) only mostly rise; a step back costs a few bytes. A dictionary never pays for them (the writer builds one, finds it
/// as large as the column and gives up), while delta encoding stores each value as its small
/// difference from the previous one: about half the bytes of plain values after compression,
/// and cheaper to write. Every Parquet reader the evidence is meant for (Arrow, DuckDB, Spark)
/// reads delta-encoded columns.
const RISING_COLUMNS: [&str; 7] = [
    "frame",
    "ts",
    "response_ts",
    "first_frame",
    "last_frame",
    "start_ts",
    "end_ts",
];

/// The writer properties of every evidence file: zstd, bounded row groups, delta encoding for
/// the [`RISING_COLUMNS`], dictionaries for the rest, the tool version in the file's key-value
/// metadata. Build once per run and clone per file.
pub fn writer_properties() -> WriterProperties {
    let version = KeyValue::new(
        "otwitness.version".to_owned(),
        env!("CARGO_PKG_VERSION").to_owned(),
    );

    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        .set_key_value_metadata(Some(vec![version]));
    for name in RISING_COLUMNS {
        let column = ColumnPath::from(name);
        builder = builder
            .set_column_dictionary_enabled(column.clone(), false)
            .set_column_encoding(column, Encoding::DELTA_BINARY_PACKED);
    }
    builder.build()
}

/// An open Parquet file of rows `R` in one date partition.
pub struct TableWriter<R: TableRow> {
    date: NaiveDate,
    rel: String,
    path: PathBuf,
    tmp: PathBuf,
    /// `None` once closed (or failed while closing).
    writer: Option<ArrowWriter<HashingWriter<File>>>,
    columns: R::Columns,
    ctx: Arc<RowContext>,
    rows: u64,
}

impl<R: TableRow> TableWriter<R> {
    /// Creates `<out>/<table>/date=<date>/` if needed and opens its next free part file.
    pub fn create(
        out: &Path,
        date: NaiveDate,
        ctx: Arc<RowContext>,
        props: &WriterProperties,
    ) -> Result<TableWriter<R>> {
        create_dirs(&out.join(partition_rel(R::TABLE, date)))?;
        let claimed = claim_part(out, R::TABLE, date)?;
        Self::from_claim(claimed, date, ctx, props)
    }

    /// Opens exactly `part-<number>` of the partition of `date` (see
    /// [`super::partition::claim_exact`]): how a recovered spool gets back its file name.
    pub fn create_exact(
        out: &Path,
        date: NaiveDate,
        number: u32,
        ctx: Arc<RowContext>,
        props: &WriterProperties,
    ) -> Result<TableWriter<R>> {
        let claimed = claim_exact(out, R::TABLE, date, number)?;
        Self::from_claim(claimed, date, ctx, props)
    }

    fn from_claim(
        claimed: ClaimedPart,
        date: NaiveDate,
        ctx: Arc<RowContext>,
        props: &WriterProperties,
    ) -> Result<TableWriter<R>> {
        let sink = HashingWriter::new(claimed.file);
        let writer = match ArrowWriter::try_new(sink, R::TABLE.schema(), Some(props.clone())) {
            Ok(writer) => writer,
            Err(error) => {
                discard(&claimed.tmp);
                return Err(EvidenceError::parquet(&claimed.tmp, error));
            }
        };

        Ok(TableWriter {
            date,
            rel: claimed.rel,
            path: claimed.path,
            tmp: claimed.tmp,
            writer: Some(writer),
            columns: R::Columns::with_capacity(BATCH_ROWS),
            ctx,
            rows: 0,
        })
    }

    pub fn table(&self) -> Table {
        R::TABLE
    }

    /// The date partition this file belongs to.
    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// The final path, relative to the evidence folder (`writes/date=…/part-00000.parquet`).
    pub fn rel_path(&self) -> &str {
        &self.rel
    }

    /// Appends rows; every row's capture date must be this writer's date.
    ///
    /// # Errors
    ///
    /// [`EvidenceError::WrongPartition`] for a row of another date,
    /// [`EvidenceError::UnknownSource`] for a row naming a source the run does not have (rows
    /// before it are kept), or a Parquet error naming the file.
    pub fn write<'a, I>(&mut self, rows: I) -> Result<()>
    where
        I: IntoIterator<Item = &'a R>,
        R: 'a,
    {
        for row in rows {
            let row_date = date_of(row.partition_ts_us());
            if row_date != self.date {
                return Err(EvidenceError::WrongPartition {
                    table: R::TABLE.name(),
                    row_date: row_date.to_string(),
                    partition_date: self.date.to_string(),
                });
            }

            self.columns.append(row, &self.ctx)?;
            if self.columns.len() >= BATCH_ROWS {
                self.encode_pending()?;
            }
        }
        Ok(())
    }

    /// Appends a batch of this table's schema as it is, after any rows given to
    /// [`TableWriter::write`]. The caller vouches that every row belongs to this writer's date
    /// (a live capture builds its batches per date; a recovered spool was written per file).
    ///
    /// # Errors
    ///
    /// A batch of another schema, or a Parquet error, naming the file.
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        self.encode_pending()?;
        let Some(writer) = self.writer.as_mut() else {
            return Err(closed_error(&self.tmp));
        };
        writer
            .write(batch)
            .map_err(|e| EvidenceError::parquet(&self.tmp, e))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Rows accepted so far.
    pub fn rows(&self) -> u64 {
        self.rows + self.columns.len() as u64
    }

    /// Bytes on disk so far plus the estimated size of the row group being built: what the
    /// file would roughly weigh if closed now.
    pub fn bytes(&self) -> u64 {
        self.writer.as_ref().map_or(0, |w| {
            let total = w.bytes_written().saturating_add(w.in_progress_size());
            u64::try_from(total).unwrap_or(u64::MAX)
        })
    }

    /// Writes the footer, syncs the file, publishes it under its final name and returns its
    /// manifest entry. A file with no rows is still a valid Parquet file of the table's schema.
    pub fn close(mut self) -> Result<FileEntry> {
        let result = self.finish();
        if result.is_err() {
            discard(&self.tmp);
        }
        result
    }

    fn finish(&mut self) -> Result<FileEntry> {
        self.encode_pending()?;
        let start = Instant::now();
        let Some(writer) = self.writer.take() else {
            return Err(closed_error(&self.tmp));
        };

        // `into_inner` finalizes the file exactly as `close` does (pending row group, footer,
        // buffer flush) and hands the sink back so it can be hashed and synced.
        let sink = writer
            .into_inner()
            .map_err(|e| EvidenceError::parquet(&self.tmp, e))?;
        self.publish(sink, start)
    }

    /// Syncs the finished file, publishes it under its final name and returns its entry.
    fn publish(&mut self, sink: HashingWriter<File>, start: Instant) -> Result<FileEntry> {
        let (file, sha256, bytes) = sink.finish();
        sync_file(&file, &self.tmp)?;
        drop(file);

        publish_new(&self.tmp, &self.path)?;
        record_batch(start);
        Ok(FileEntry {
            path: self.rel.clone(),
            table: R::TABLE.name().to_owned(),
            rows: self.rows,
            bytes,
            sha256,
        })
    }

    /// Encodes the accumulated rows as one batch.
    fn encode_pending(&mut self) -> Result<()> {
        if self.columns.is_empty() {
            return Ok(());
        }

        let start = Instant::now();
        let batch = self.columns.finish()?;
        let Some(writer) = self.writer.as_mut() else {
            return Err(closed_error(&self.tmp));
        };
        writer
            .write(&batch)
            .map_err(|e| EvidenceError::parquet(&self.tmp, e))?;
        self.rows += batch.num_rows() as u64;
        record_batch(start);
        Ok(())
    }
}

impl<R: TableRow + Sync> TableWriter<R> {
    /// Writes `rows`, all of this writer's date, into a writer that was given no rows yet, and
    /// closes it (see the module documentation). Each row group's batches are built, and its
    /// columns encoded, in parallel on the current rayon pool.
    ///
    /// # Errors
    ///
    /// As [`TableWriter::write`] and [`TableWriter::close`]; the temporary file is removed.
    pub fn write_all(mut self, rows: &[&R]) -> Result<FileEntry> {
        let result = self.encode_all(rows);
        if result.is_err() {
            discard(&self.tmp);
        }
        result
    }

    fn encode_all(&mut self, rows: &[&R]) -> Result<FileEntry> {
        if let Some(row) = rows
            .iter()
            .find(|r| date_of(r.partition_ts_us()) != self.date)
        {
            return Err(EvidenceError::WrongPartition {
                table: R::TABLE.name(),
                row_date: date_of(row.partition_ts_us()).to_string(),
                partition_date: self.date.to_string(),
            });
        }
        if !self.columns.is_empty() || self.rows > 0 {
            let error = ParquetError::General("write_all after other rows".to_owned());
            return Err(EvidenceError::parquet(&self.tmp, error));
        }
        let Some(writer) = self.writer.take() else {
            return Err(closed_error(&self.tmp));
        };
        let tmp = self.tmp.clone();
        let parquet_error = |e| EvidenceError::parquet(&tmp, e);
        let (mut file, factory) = writer.into_serialized_writer().map_err(parquet_error)?;
        let schema = R::TABLE.schema();

        for (index, group) in rows.chunks(ROW_GROUP_ROWS).enumerate() {
            let start = Instant::now();
            let batches = group
                .par_chunks(BATCH_ROWS)
                .map(|chunk| {
                    let mut columns = R::Columns::with_capacity(chunk.len());
                    for row in chunk {
                        columns.append(row, &self.ctx)?;
                    }
                    columns.finish()
                })
                .collect::<Result<Vec<RecordBatch>>>()?;

            let writers = factory
                .create_column_writers(index)
                .map_err(parquet_error)?;
            let chunks = writers
                .into_par_iter()
                .zip(schema.fields().par_iter())
                .enumerate()
                .map(|(column, (mut writer, field))| {
                    for batch in &batches {
                        for leaf in compute_leaves(field, batch.column(column))? {
                            writer.write(&leaf)?;
                        }
                    }
                    writer.close()
                })
                .collect::<std::result::Result<Vec<ArrowColumnChunk>, ParquetError>>()
                .map_err(parquet_error)?;

            let mut group_writer = file.next_row_group().map_err(parquet_error)?;
            for chunk in chunks {
                chunk
                    .append_to_row_group(&mut group_writer)
                    .map_err(parquet_error)?;
            }
            group_writer.close().map_err(parquet_error)?;
            self.rows += group.len() as u64;
            record_batch(start);
        }

        let start = Instant::now();
        let sink = file.into_inner().map_err(parquet_error)?;
        self.publish(sink, start)
    }
}

fn closed_error(tmp: &Path) -> EvidenceError {
    let error = parquet::errors::ParquetError::General("the file is already closed".to_owned());
    EvidenceError::parquet(tmp, error)
}

impl<R: TableRow> Drop for TableWriter<R> {
    /// A writer abandoned before `close` (an error elsewhere, a panic unwinding) leaves no
    /// temporary file behind.
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            discard(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::partition::EPOCH;
    use analytics::evidence::{AlertKind, AlertRow, FrameRef, Severity};

    fn alert(ts_us: i64) -> AlertRow {
        AlertRow {
            at: FrameRef {
                source: 0,
                frame: 1,
                ts_us,
            },
            kind: AlertKind::CaptureDrops,
            severity: Severity::Low,
            session_id: None,
            protocol: None,
            client_ip: None,
            server_ip: None,
            detail: "3 packets dropped".to_owned(),
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("otwitness-tw-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn ctx() -> Arc<RowContext> {
        Arc::new(RowContext::new("s1", &["eth1".to_owned()]))
    }

    #[test]
    fn batches_rows_and_publishes_on_close() -> Result<()> {
        let out = scratch("close");
        let rows: Vec<AlertRow> = (0..BATCH_ROWS as i64 + 5).map(alert).collect();
        let mut writer = TableWriter::<AlertRow>::create(&out, EPOCH, ctx(), &writer_properties())?;

        writer.write(&rows[..10])?;
        writer.write(&rows[10..])?;
        assert_eq!(writer.rows(), rows.len() as u64);
        assert!(writer.bytes() > 0);
        let entry = writer.close()?;

        assert_eq!(entry.path, "alerts/date=1970-01-01/part-00000.parquet");
        assert_eq!(entry.rows, rows.len() as u64);
        assert!(out.join(&entry.path).is_file());
        assert!(!out
            .join("alerts/date=1970-01-01/part-00000.parquet.tmp")
            .exists());
        let _ = std::fs::remove_dir_all(&out);
        Ok(())
    }

    #[test]
    fn rejects_rows_of_another_date_and_cleans_up_when_dropped() -> Result<()> {
        let out = scratch("wrong-date");
        let mut writer = TableWriter::<AlertRow>::create(&out, EPOCH, ctx(), &writer_properties())?;
        let tmp = out.join("alerts/date=1970-01-01/part-00000.parquet.tmp");
        assert!(tmp.exists());

        let error = writer
            .write([&alert(1_796_299_200_000_000)])
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "evidence: a row of alerts dated 2026-12-03 was given to the writer of \
                 date=1970-01-01"
            )
        );

        drop(writer);
        assert!(!tmp.exists());
        let _ = std::fs::remove_dir_all(&out);
        Ok(())
    }

    /// Row groups of more than one batch, the last one short, and values that differ per row.
    fn many_alerts() -> Vec<AlertRow> {
        let count = ROW_GROUP_ROWS + 3 * BATCH_ROWS + 17;
        (0..count as i64)
            .map(|i| AlertRow {
                detail: format!("{} packets dropped", i % 977),
                session_id: (i % 3 == 0).then_some(analytics::evidence::SessionId(i as u64)),
                ..alert(i * 1_000)
            })
            .collect()
    }

    #[test]
    fn write_all_makes_the_file_write_and_close_make_on_any_pool() -> Result<()> {
        let rows = many_alerts();
        let refs: Vec<&AlertRow> = rows.iter().collect();
        let props = writer_properties();

        let serial = scratch("write-close");
        let mut writer = TableWriter::<AlertRow>::create(&serial, EPOCH, ctx(), &props)?;
        writer.write(&rows)?;
        let expected = writer.close()?;
        assert_eq!(expected.rows, rows.len() as u64);

        for threads in [1, 3] {
            let out = scratch(&format!("write-all-{threads}"));
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a thread pool");
            let entry = pool.install(|| {
                TableWriter::<AlertRow>::create(&out, EPOCH, ctx(), &props)?.write_all(&refs)
            })?;

            assert_eq!(entry, expected, "{threads} threads");
            let _ = std::fs::remove_dir_all(&out);
        }
        let _ = std::fs::remove_dir_all(&serial);
        Ok(())
    }

    #[test]
    fn rising_columns_are_delta_encoded_and_read_back_as_written() -> Result<()> {
        use arrow_array::cast::AsArray;
        use arrow_array::types::TimestampMicrosecondType;
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        use parquet::file::reader::{FileReader, SerializedFileReader};

        let rows = many_alerts();
        let refs: Vec<&AlertRow> = rows.iter().collect();
        let out = scratch("rising");
        let entry = TableWriter::<AlertRow>::create(&out, EPOCH, ctx(), &writer_properties())?
            .write_all(&refs)?;
        let path = out.join(&entry.path);

        let open = || File::open(&path).expect("the file just written");
        let reader = SerializedFileReader::new(open()).expect("a Parquet file");
        let metadata = reader.metadata();
        assert!(metadata.num_row_groups() > 1, "the rows span row groups");
        for group in metadata.row_groups() {
            for chunk in group.columns() {
                let name = chunk.column_path().string();
                let dictionary = chunk
                    .encodings()
                    .any(|e| matches!(e, Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY));
                let delta = chunk
                    .encodings()
                    .any(|e| e == Encoding::DELTA_BINARY_PACKED);
                // The rising columns of `alerts`; every other column keeps its dictionary.
                let rising = matches!(name.as_str(), "frame" | "ts");
                assert_eq!((delta, dictionary), (rising, !rising), "column {name}");
            }
        }

        let mut ts: Vec<i64> = Vec::new();
        let batches = ParquetRecordBatchReaderBuilder::try_new(open())
            .and_then(|b| b.build())
            .expect("an Arrow reader");
        for batch in batches {
            let batch = batch.expect("a batch");
            let column = batch.column_by_name("ts").expect("a ts column");
            ts.extend(
                column
                    .as_primitive::<TimestampMicrosecondType>()
                    .values()
                    .iter(),
            );
        }
        let written: Vec<i64> = rows.iter().map(|r| r.at.ts_us).collect();
        assert_eq!(ts, written);
        let _ = std::fs::remove_dir_all(&out);
        Ok(())
    }

    #[test]
    fn write_all_refuses_a_row_of_another_date_and_leaves_no_file() -> Result<()> {
        let out = scratch("write-all-date");
        let later = alert(1_796_299_200_000_000);
        let rows = [&alert(5), &later];

        let writer = TableWriter::<AlertRow>::create(&out, EPOCH, ctx(), &writer_properties())?;
        let error = writer.write_all(&rows).err().map(|e| e.to_string());

        assert!(
            error
                .as_deref()
                .is_some_and(|e| e.contains("dated 2026-12-03")),
            "{error:?}"
        );
        let partition = out.join("alerts/date=1970-01-01");
        let left = std::fs::read_dir(&partition).map_or(0, |d| d.count());
        assert_eq!(left, 0, "files left in {}", partition.display());
        let _ = std::fs::remove_dir_all(&out);
        Ok(())
    }
}
