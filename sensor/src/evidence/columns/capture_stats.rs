//! Columns of the `capture_stats` table, filled from [`CaptureStatsRow`]s: one row per interval
//! of a live capture, saying how much was read and how much was lost.

use std::sync::Arc;

use analytics::evidence::FrameRef;
use arrow_array::builder::{Int64Builder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};

use super::{batch, int64, timestamps, Columns, OriginColumns, RowContext, TableRow};
use crate::evidence::error::Result;
use crate::evidence::schema::Table;

/// One interval of a live capture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureStatsRow {
    /// The interface (source), the last frame number read and the interval's end.
    pub at: FrameRef,
    pub start_ts_us: i64,
    pub packets: u64,
    pub bytes: u64,
    /// Dropped by the kernel for want of buffer space.
    pub kernel_drops: u64,
    /// Dropped by the interface or its driver.
    pub interface_drops: u64,
    /// Dropped because a worker's queue was full.
    pub queue_drops: u64,
    /// Flows held at the interval's end.
    pub open_flows: u64,
    /// Rows of `writes` written during the interval.
    pub writes: u64,
    /// Rows of any table found during the interval but lost because evidence writing was
    /// paused (a full disk) and the memory that holds them meanwhile was full.
    pub rows_lost: u64,
}

impl TableRow for CaptureStatsRow {
    const TABLE: Table = Table::CaptureStats;
    type Columns = CaptureStatsColumns;

    fn partition_ts_us(&self) -> i64 {
        self.at.ts_us
    }
}

/// Accumulates `capture_stats` rows.
pub struct CaptureStatsColumns {
    rows: usize,
    origin: OriginColumns,
    start_ts: TimestampMicrosecondBuilder,
    counts: [Int64Builder; 8],
}

impl Columns<CaptureStatsRow> for CaptureStatsColumns {
    fn with_capacity(rows: usize) -> CaptureStatsColumns {
        CaptureStatsColumns {
            rows: 0,
            origin: OriginColumns::with_capacity(rows),
            start_ts: timestamps(rows),
            counts: std::array::from_fn(|_| Int64Builder::with_capacity(rows)),
        }
    }

    fn append(&mut self, row: &CaptureStatsRow, ctx: &RowContext) -> Result<()> {
        self.origin.append(Table::CaptureStats, row.at, ctx)?;

        self.start_ts.append_value(row.start_ts_us);
        let values = [
            row.packets,
            row.bytes,
            row.kernel_drops,
            row.interface_drops,
            row.queue_drops,
            row.open_flows,
            row.writes,
            row.rows_lost,
        ];
        for (builder, value) in self.counts.iter_mut().zip(values) {
            builder.append_value(int64(value));
        }

        self.rows += 1;
        Ok(())
    }

    fn len(&self) -> usize {
        self.rows
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> =
            Vec::with_capacity(Table::CaptureStats.schema().fields().len());

        self.origin.finish_into(&mut columns);
        columns.push(Arc::new(self.start_ts.finish()));
        for builder in &mut self.counts {
            columns.push(Arc::new(builder.finish()));
        }
        self.rows = 0;
        batch(Table::CaptureStats, columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;

    #[test]
    fn rows_fill_the_schema_in_order() -> Result<()> {
        let ctx = RowContext::new("s1", &["eth1".to_owned()]);
        let mut columns = CaptureStatsColumns::with_capacity(2);
        let row = CaptureStatsRow {
            at: FrameRef {
                source: 0,
                frame: 900,
                ts_us: 2_000_000,
            },
            start_ts_us: 1_000_000,
            packets: 900,
            bytes: 81_000,
            kernel_drops: 3,
            interface_drops: 0,
            queue_drops: 7,
            open_flows: 12,
            writes: 40,
            rows_lost: 5,
        };

        columns.append(&row, &ctx)?;
        let batch = columns.finish()?;

        assert_eq!(batch.num_rows(), 1);
        let int = |name: &str| {
            batch
                .column_by_name(name)
                .map(|c| c.as_primitive::<Int64Type>().value(0))
        };
        assert_eq!(int("frame"), Some(900));
        assert_eq!(int("packets"), Some(900));
        assert_eq!(int("kernel_drops"), Some(3));
        assert_eq!(int("queue_drops"), Some(7));
        assert_eq!(int("open_flows"), Some(12));
        assert_eq!(int("writes"), Some(40));
        assert_eq!(int("evidence_rows_lost"), Some(5));
        assert_eq!(columns.len(), 0);
        Ok(())
    }
}
