//! Turning evidence rows into Arrow record batches, one table at a time.
//!
//! Each row type of `analytics::evidence` implements [`TableRow`]: it names its table, the time
//! that picks its date partition, and a [`Columns`] accumulator that appends rows one by one
//! (so any iterator of rows can feed it) and finishes into a `RecordBatch` of exactly the
//! table's schema. Values are rendered here: source indexes become source names, session ids
//! `SessionId::text()`, MACs `mac_text`, enums their `as_str()` spelling.
//!
//! Nothing here touches files; `parquet` writes the batches.

mod alerts;
mod assets;
mod capture_stats;
mod credentials;
mod sessions;
mod text;
mod writes;

pub use capture_stats::CaptureStatsRow;

use std::sync::Arc;

use analytics::evidence::{Endpoints, FrameRef};
use arrow_array::builder::{
    Int32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};

use self::text::{push_ip, push_mac};
use super::error::{EvidenceError, Result};
use super::schema::{Table, UTC};

/// What every row needs besides itself: the sensor name and the run's source names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowContext {
    sensor: String,
    sources: Vec<String>,
}

impl RowContext {
    /// `sources[i]` is the name of the capture file or interface that `FrameRef.source == i`
    /// refers to.
    pub fn new(sensor: &str, sources: &[String]) -> RowContext {
        RowContext {
            sensor: sensor.to_owned(),
            sources: sources.to_vec(),
        }
    }

    pub fn sensor(&self) -> &str {
        &self.sensor
    }

    /// The name of source `index`, or an error naming the table when the run has no such source.
    pub fn source(&self, table: Table, index: u32) -> Result<&str> {
        let found = usize::try_from(index)
            .ok()
            .and_then(|i| self.sources.get(i));

        found
            .map(String::as_str)
            .ok_or(EvidenceError::UnknownSource {
                table: table.name(),
                index,
                count: self.sources.len(),
            })
    }
}

/// A row type of one evidence table.
pub trait TableRow: Sized {
    /// The table these rows go to.
    const TABLE: Table;

    /// The accumulator building this table's batches.
    type Columns: Columns<Self>;

    /// Capture time (µs since the epoch, UTC) whose date picks the row's partition.
    fn partition_ts_us(&self) -> i64;
}

/// Accumulates rows of one table column by column.
pub trait Columns<R> {
    /// An empty accumulator with room for `rows` rows.
    fn with_capacity(rows: usize) -> Self;

    /// Appends one row. On error nothing of the row is appended.
    fn append(&mut self, row: &R, ctx: &RowContext) -> Result<()>;

    /// Rows appended since the last `finish`.
    fn len(&self) -> usize;

    /// Whether no row was appended since the last `finish`.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows appended so far as one batch of the table's schema; the accumulator is empty
    /// afterwards.
    fn finish(&mut self) -> Result<RecordBatch>;
}

/// Assembles finished columns into a batch of `table`'s schema, checking types and nulls.
fn batch(table: Table, columns: Vec<ArrayRef>) -> Result<RecordBatch> {
    RecordBatch::try_new(table.schema(), columns).map_err(|error| EvidenceError::Arrow {
        table: table.name(),
        error,
    })
}

/// A counter or frame number as `Int64`; values past `i64::MAX` (never seen in practice)
/// saturate rather than wrap negative.
fn int64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn timestamps(rows: usize) -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::with_capacity(rows).with_timezone(UTC)
}

fn texts(rows: usize) -> StringBuilder {
    StringBuilder::with_capacity(rows, rows * 8)
}

fn finish_text(builder: &mut StringBuilder) -> ArrayRef {
    Arc::new(builder.finish())
}

/// The leading "where from" columns of `writes`, `alerts` and `credentials`:
/// `sensor, source, frame, ts`.
struct OriginColumns {
    sensor: StringBuilder,
    source: StringBuilder,
    frame: Int64Builder,
    ts: TimestampMicrosecondBuilder,
}

impl OriginColumns {
    fn with_capacity(rows: usize) -> OriginColumns {
        OriginColumns {
            sensor: texts(rows),
            source: texts(rows),
            frame: Int64Builder::with_capacity(rows),
            ts: timestamps(rows),
        }
    }

    /// Appends nothing when the source is unknown, so callers check it before appending the
    /// rest of the row.
    fn append(&mut self, table: Table, at: FrameRef, ctx: &RowContext) -> Result<()> {
        let source = ctx.source(table, at.source)?;

        self.sensor.append_value(ctx.sensor());
        self.source.append_value(source);
        self.frame.append_value(int64(at.frame));
        self.ts.append_value(at.ts_us);
        Ok(())
    }

    fn finish_into(&mut self, columns: &mut Vec<ArrayRef>) {
        columns.push(finish_text(&mut self.sensor));
        columns.push(finish_text(&mut self.source));
        columns.push(Arc::new(self.frame.finish()));
        columns.push(Arc::new(self.ts.finish()));
    }
}

/// The session end-point columns shared by `writes` and `sessions`: `client_ip, client_port,
/// client_mac, server_ip, server_port, server_mac, vlan`.
struct EndpointColumns {
    client_ip: StringBuilder,
    client_port: Int32Builder,
    client_mac: StringBuilder,
    server_ip: StringBuilder,
    server_port: Int32Builder,
    server_mac: StringBuilder,
    vlan: Int32Builder,
}

impl EndpointColumns {
    fn with_capacity(rows: usize) -> EndpointColumns {
        EndpointColumns {
            client_ip: texts(rows),
            client_port: Int32Builder::with_capacity(rows),
            client_mac: texts(rows),
            server_ip: texts(rows),
            server_port: Int32Builder::with_capacity(rows),
            server_mac: texts(rows),
            vlan: Int32Builder::with_capacity(rows),
        }
    }

    fn append(&mut self, ends: &Endpoints) {
        push_ip(&mut self.client_ip, ends.client_ip);
        self.client_port.append_value(i32::from(ends.client_port));
        push_mac(&mut self.client_mac, ends.client_mac);
        push_ip(&mut self.server_ip, ends.server_ip);
        self.server_port.append_value(i32::from(ends.server_port));
        push_mac(&mut self.server_mac, ends.server_mac);
        self.vlan.append_option(ends.vlan.map(i32::from));
    }

    fn finish_into(&mut self, columns: &mut Vec<ArrayRef>) {
        columns.push(finish_text(&mut self.client_ip));
        columns.push(Arc::new(self.client_port.finish()));
        columns.push(finish_text(&mut self.client_mac));
        columns.push(finish_text(&mut self.server_ip));
        columns.push(Arc::new(self.server_port.finish()));
        columns.push(finish_text(&mut self.server_mac));
        columns.push(Arc::new(self.vlan.finish()));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn unknown_source_is_an_error_naming_the_table() {
        let ctx = RowContext::new("s1", &["a.pcapng".to_owned()]);

        assert_eq!(ctx.source(Table::Writes, 0).ok(), Some("a.pcapng"));
        let error = ctx.source(Table::Alerts, 1).err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("evidence: a row of alerts refers to source 1; the run names 1 sources")
        );
    }

    #[test]
    fn counters_saturate() {
        assert_eq!(int64(7), 7);
        assert_eq!(int64(u64::MAX), i64::MAX);
    }
}
