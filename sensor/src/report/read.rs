//! Reads the evidence tables' Parquet files batch by batch and feeds each row to [`Facts`].
//!
//! Columns are found by name, so files written by an older or newer version of the schema (a
//! column appended, one missing) are still read: a missing column reads as null. A column of an
//! unexpected type is an error naming the file and the column, not a guess. Only one record
//! batch is held at a time, so memory does not grow with the size of the evidence.
//!
//! `capture_stats` (live capture statistics, written by another part of the sensor) is
//! optional and read generically: its row count, the sum of each integer column and the span of
//! each timestamp column. This module does not interpret its columns further.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMicrosecondType, UInt32Type, UInt64Type};
use arrow_array::{Array, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow_array::{PrimitiveArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::facts::{AlertView, AssetView, CredentialView, Facts, SessionView, WriteView};
use super::ReportError;
use crate::evidence::{list_parquet, Table};

/// The optional table of live-capture statistics.
pub const CAPTURE_STATS: &str = "capture_stats";

/// What `capture_stats` holds, read without knowing its columns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    pub files: usize,
    pub rows: u64,
    /// Integer column → sum over all rows.
    pub sums: BTreeMap<String, i128>,
    /// Timestamp column → (earliest, latest), µs since the epoch.
    pub spans: BTreeMap<String, (i64, i64)>,
}

/// Reads every row of the five evidence tables into `facts`; returns the files read.
pub fn read_tables(dir: &Path, facts: &mut Facts) -> Result<usize, ReportError> {
    let mut files = 0;
    for table in Table::ANALYSIS {
        let rels = list_parquet(dir, table).map_err(ReportError::Evidence)?;
        for rel in rels {
            let path = dir.join(&rel);
            for_each_batch(&path, |batch| {
                feed(table, &Columns::new(&batch, &rel), facts)
            })?;
            files += 1;
        }
    }
    facts.finish();
    Ok(files)
}

/// Reads `capture_stats` when the folder has it.
pub fn read_capture_stats(dir: &Path) -> Result<Option<CaptureStats>, ReportError> {
    let root = dir.join(CAPTURE_STATS);
    if !root.is_dir() {
        return Ok(None);
    }
    let mut paths = Vec::new();
    find_parquet(&root, 0, &mut paths)?;
    paths.sort();

    let mut stats = CaptureStats::default();
    for path in &paths {
        for_each_batch(path, |batch| {
            add_stats(&batch, &mut stats);
            Ok(())
        })?;
        stats.files += 1;
    }
    Ok(Some(stats))
}

fn find_parquet(
    dir: &Path,
    depth: usize,
    found: &mut Vec<std::path::PathBuf>,
) -> Result<(), ReportError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ReportError::io("list", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ReportError::io("list", dir, e))?;
        let path = entry.path();
        if path.is_dir() && depth < 8 {
            find_parquet(&path, depth + 1, found)?;
        } else if path.extension().is_some_and(|e| e == "parquet") {
            found.push(path);
        }
    }
    Ok(())
}

fn for_each_batch(
    path: &Path,
    mut each: impl FnMut(RecordBatch) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let file = File::open(path).map_err(|e| ReportError::io("open", path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|builder| builder.build())
        .map_err(|error| ReportError::Parquet {
            path: path.to_path_buf(),
            error: error.to_string(),
        })?;

    for batch in reader {
        let batch = batch.map_err(|error| ReportError::Parquet {
            path: path.to_path_buf(),
            error: error.to_string(),
        })?;
        each(batch)?;
    }
    Ok(())
}

fn add_stats(batch: &RecordBatch, stats: &mut CaptureStats) {
    stats.rows += batch.num_rows() as u64;

    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let sum: Option<i128> = match field.data_type() {
            DataType::Int64 => Some(sum_of(column.as_primitive::<Int64Type>())),
            DataType::Int32 => Some(sum_of(column.as_primitive::<Int32Type>())),
            DataType::UInt64 => Some(sum_of(column.as_primitive::<UInt64Type>())),
            DataType::UInt32 => Some(sum_of(column.as_primitive::<UInt32Type>())),
            _ => None,
        };
        if let Some(sum) = sum {
            *stats.sums.entry(field.name().clone()).or_default() += sum;
        }
        if let DataType::Timestamp(TimeUnit::Microsecond, _) = field.data_type() {
            let times = column.as_primitive::<TimestampMicrosecondType>();
            for ts in times.iter().flatten() {
                let span = stats.spans.entry(field.name().clone()).or_insert((ts, ts));
                span.0 = span.0.min(ts);
                span.1 = span.1.max(ts);
            }
        }
    }
}

fn sum_of<T>(array: &PrimitiveArray<T>) -> i128
where
    T: arrow_array::ArrowPrimitiveType,
    T::Native: Into<i128>,
{
    array.iter().flatten().map(Into::into).sum()
}

/// The columns of one batch, found by name.
struct Columns<'a> {
    batch: &'a RecordBatch,
    file: &'a str,
}

impl<'a> Columns<'a> {
    fn new(batch: &'a RecordBatch, file: &'a str) -> Columns<'a> {
        Columns { batch, file }
    }

    fn typed<T: Array + 'static>(
        &self,
        name: &str,
        expected: &str,
    ) -> Result<Option<&'a T>, ReportError> {
        let Some(column) = self.batch.column_by_name(name) else {
            return Ok(None);
        };
        match column.as_any().downcast_ref::<T>() {
            Some(array) => Ok(Some(array)),
            None => Err(ReportError::Column {
                file: self.file.to_owned(),
                column: name.to_owned(),
                expected: expected.to_owned(),
                found: column.data_type().to_string(),
            }),
        }
    }

    fn text(&self, name: &str) -> Result<Option<&'a StringArray>, ReportError> {
        self.typed(name, "Utf8")
    }

    fn int(&self, name: &str) -> Result<Option<&'a Int64Array>, ReportError> {
        self.typed(name, "Int64")
    }

    fn time(&self, name: &str) -> Result<Option<&'a TimestampMicrosecondArray>, ReportError> {
        self.typed(name, "Timestamp(µs)")
    }

    fn flag(&self, name: &str) -> Result<Option<&'a BooleanArray>, ReportError> {
        self.typed(name, "Boolean")
    }
}

/// The text at `i`, `None` when null or the column is absent.
fn s(column: Option<&StringArray>, i: usize) -> Option<&str> {
    column.filter(|c| c.is_valid(i)).map(|c| c.value(i))
}

/// The text at `i`, empty when null or absent.
fn t(column: Option<&StringArray>, i: usize) -> &str {
    s(column, i).unwrap_or("")
}

fn n(column: Option<&Int64Array>, i: usize) -> i64 {
    column.filter(|c| c.is_valid(i)).map_or(0, |c| c.value(i))
}

fn ts(column: Option<&TimestampMicrosecondArray>, i: usize) -> Option<i64> {
    column.filter(|c| c.is_valid(i)).map(|c| c.value(i))
}

fn b(column: Option<&BooleanArray>, i: usize) -> bool {
    column.is_some_and(|c| c.is_valid(i) && c.value(i))
}

fn feed(table: Table, c: &Columns<'_>, facts: &mut Facts) -> Result<(), ReportError> {
    let rows = c.batch.num_rows();
    match table {
        Table::Writes => feed_writes(c, rows, facts),
        Table::Sessions => feed_sessions(c, rows, facts),
        Table::Assets => feed_assets(c, rows, facts),
        Table::Alerts => feed_alerts(c, rows, facts),
        Table::Credentials => feed_credentials(c, rows, facts),
        // Read apart, by `read_capture_stats`, since only a live capture has it.
        Table::CaptureStats => Ok(()),
    }
}

fn feed_writes(c: &Columns<'_>, rows: usize, facts: &mut Facts) -> Result<(), ReportError> {
    let source = c.text("source")?;
    let frame = c.int("frame")?;
    let time = c.time("ts")?;
    let client_ip = c.text("client_ip")?;
    let server_ip = c.text("server_ip")?;
    let protocol = c.text("protocol")?;
    let category = c.text("category")?;
    let operation = c.text("operation")?;
    let target = c.text("target")?;
    let value = c.text("value")?;
    let outcome = c.text("outcome")?;
    let credential_kind = c.text("credential_kind")?;
    let credential_id = c.text("credential_id")?;
    let client_certificate = c.text("client_certificate")?;
    let device_id = c.text("device_id")?;
    let identity = c.text("identity")?;
    let attribution = c.text("attribution")?;
    let delegation = c.text("delegation")?;
    let delegation_status = c.text("delegation_status")?;

    for i in 0..rows {
        facts.add_write(&WriteView {
            source: t(source, i),
            frame: n(frame, i),
            ts_us: ts(time, i).unwrap_or(0),
            client_ip: t(client_ip, i),
            server_ip: t(server_ip, i),
            protocol: t(protocol, i),
            category: t(category, i),
            operation: t(operation, i),
            target: t(target, i),
            value: s(value, i),
            outcome: t(outcome, i),
            credential_kind: s(credential_kind, i),
            credential_id: s(credential_id, i),
            client_certificate: s(client_certificate, i),
            device_id: s(device_id, i),
            identity: s(identity, i),
            attribution: t(attribution, i),
            delegation: s(delegation, i),
            delegation_status: t(delegation_status, i),
        });
    }
    Ok(())
}

fn feed_sessions(c: &Columns<'_>, rows: usize, facts: &mut Facts) -> Result<(), ReportError> {
    let protocol = c.text("protocol")?;
    let client_ip = c.text("client_ip")?;
    let server_ip = c.text("server_ip")?;
    let source = c.text("source")?;
    let first_frame = c.int("first_frame")?;
    let start = c.time("start_ts")?;
    let end_reason = c.text("end_reason")?;
    let malformed = c.int("malformed")?;
    let policy = c.text("security_policy")?;
    let mode = c.text("security_mode")?;
    let opaque = c.flag("opaque")?;
    let gaps = c.int("gaps")?;
    let gap_bytes = c.int("gap_bytes")?;

    for i in 0..rows {
        facts.add_session(&SessionView {
            protocol: t(protocol, i),
            client_ip: t(client_ip, i),
            server_ip: t(server_ip, i),
            source: t(source, i),
            first_frame: n(first_frame, i),
            start_us: ts(start, i).unwrap_or(0),
            end_reason: t(end_reason, i),
            malformed: n(malformed, i),
            security_policy: s(policy, i),
            security_mode: s(mode, i),
            opaque: b(opaque, i),
            gaps: n(gaps, i),
            gap_bytes: n(gap_bytes, i),
        });
    }
    Ok(())
}

fn feed_assets(c: &Columns<'_>, rows: usize, facts: &mut Facts) -> Result<(), ReportError> {
    let ip = c.text("ip")?;
    let mac = c.text("mac")?;
    let protocol = c.text("protocol")?;
    let role = c.text("role")?;
    let vendor = c.text("vendor")?;
    let product = c.text("product")?;
    let serial = c.text("serial")?;
    let firmware = c.text("firmware")?;
    let name = c.text("name")?;

    for i in 0..rows {
        facts.add_asset(&AssetView {
            ip: s(ip, i),
            mac: s(mac, i),
            protocol: s(protocol, i),
            role: t(role, i),
            vendor: s(vendor, i),
            product: s(product, i),
            serial: s(serial, i),
            firmware: s(firmware, i),
            name: s(name, i),
        });
    }
    Ok(())
}

fn feed_alerts(c: &Columns<'_>, rows: usize, facts: &mut Facts) -> Result<(), ReportError> {
    let source = c.text("source")?;
    let frame = c.int("frame")?;
    let time = c.time("ts")?;
    let kind = c.text("kind")?;
    let severity = c.text("severity")?;
    let protocol = c.text("protocol")?;
    let client_ip = c.text("client_ip")?;
    let server_ip = c.text("server_ip")?;
    let detail = c.text("detail")?;

    for i in 0..rows {
        facts.add_alert(&AlertView {
            source: t(source, i),
            frame: n(frame, i),
            ts_us: ts(time, i).unwrap_or(0),
            kind: t(kind, i),
            severity: t(severity, i),
            protocol: s(protocol, i),
            client_ip: s(client_ip, i),
            server_ip: s(server_ip, i),
            detail: t(detail, i),
        });
    }
    Ok(())
}

fn feed_credentials(c: &Columns<'_>, rows: usize, facts: &mut Facts) -> Result<(), ReportError> {
    let source = c.text("source")?;
    let frame = c.int("frame")?;
    let time = c.time("ts")?;
    let protocol = c.text("protocol")?;
    let kind = c.text("kind")?;
    let id = c.text("id")?;
    let client_ip = c.text("client_ip")?;
    let subject = c.text("subject")?;
    let issuer = c.text("issuer")?;
    let not_before = c.time("not_before")?;
    let not_after = c.time("not_after")?;
    let weak_policy = c.flag("weak_policy")?;
    let plaintext = c.flag("plaintext")?;
    let fingerprint = c.text("secret_fingerprint")?;

    for i in 0..rows {
        facts.add_credential(&CredentialView {
            source: t(source, i),
            frame: n(frame, i),
            ts_us: ts(time, i).unwrap_or(0),
            protocol: t(protocol, i),
            kind: t(kind, i),
            id: t(id, i),
            client_ip: s(client_ip, i),
            subject: s(subject, i),
            issuer: s(issuer, i),
            not_before_us: ts(not_before, i),
            not_after_us: ts(not_after, i),
            weak_policy: b(weak_policy, i),
            plaintext: b(plaintext, i),
            secret_fingerprint: s(fingerprint, i),
        });
    }
    Ok(())
}
