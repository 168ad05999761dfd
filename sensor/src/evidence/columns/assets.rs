//! Columns of the `assets` table, filled from [`AssetRow`]s.
//!
//! `source` and `frame` point at the frame where the device was first seen.

use std::sync::Arc;

use analytics::evidence::AssetRow;
use arrow_array::builder::{Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};

use super::text::{push_ip_option, push_mac};
use super::TableRow;
use super::{batch, finish_text, int64, texts, timestamps, Columns, RowContext};
use crate::evidence::error::Result;
use crate::evidence::schema::Table;

impl TableRow for AssetRow {
    const TABLE: Table = Table::Assets;
    type Columns = AssetColumns;

    fn partition_ts_us(&self) -> i64 {
        self.first.ts_us
    }
}

/// The descriptive columns, in schema order: `vendor, product, serial, firmware, name`.
const FACTS: usize = 5;

/// Accumulates `assets` rows.
pub struct AssetColumns {
    rows: usize,
    sensor: StringBuilder,
    ip: StringBuilder,
    mac: StringBuilder,
    protocol: StringBuilder,
    role: StringBuilder,
    facts: [StringBuilder; FACTS],
    first_seen: TimestampMicrosecondBuilder,
    last_seen: TimestampMicrosecondBuilder,
    source: StringBuilder,
    frame: Int64Builder,
}

impl Columns<AssetRow> for AssetColumns {
    fn with_capacity(rows: usize) -> AssetColumns {
        AssetColumns {
            rows: 0,
            sensor: texts(rows),
            ip: texts(rows),
            mac: texts(rows),
            protocol: texts(rows),
            role: texts(rows),
            facts: std::array::from_fn(|_| texts(rows)),
            first_seen: timestamps(rows),
            last_seen: timestamps(rows),
            source: texts(rows),
            frame: Int64Builder::with_capacity(rows),
        }
    }

    fn append(&mut self, row: &AssetRow, ctx: &RowContext) -> Result<()> {
        let source = ctx.source(Table::Assets, row.first.source)?;

        self.sensor.append_value(ctx.sensor());
        push_ip_option(&mut self.ip, row.ip);
        push_mac(&mut self.mac, row.mac);
        self.protocol
            .append_option(row.protocol.map(|p| p.as_str()));
        self.role.append_value(row.role);

        let facts = [
            &row.vendor,
            &row.product,
            &row.serial,
            &row.firmware,
            &row.name,
        ];
        for (builder, fact) in self.facts.iter_mut().zip(facts) {
            builder.append_option(fact.as_deref());
        }

        self.first_seen.append_value(row.first.ts_us);
        self.last_seen.append_value(row.last.ts_us);
        self.source.append_value(source);
        self.frame.append_value(int64(row.first.frame));

        self.rows += 1;
        Ok(())
    }

    fn len(&self) -> usize {
        self.rows
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(Table::Assets.schema().fields().len());

        columns.push(finish_text(&mut self.sensor));
        columns.push(finish_text(&mut self.ip));
        columns.push(finish_text(&mut self.mac));
        columns.push(finish_text(&mut self.protocol));
        columns.push(finish_text(&mut self.role));
        for builder in &mut self.facts {
            columns.push(finish_text(builder));
        }
        columns.push(Arc::new(self.first_seen.finish()));
        columns.push(Arc::new(self.last_seen.finish()));
        columns.push(finish_text(&mut self.source));
        columns.push(Arc::new(self.frame.finish()));

        self.rows = 0;
        batch(Table::Assets, columns)
    }
}
