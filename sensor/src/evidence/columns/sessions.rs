//! Columns of the `sessions` table, filled from [`SessionRow`]s.
//!
//! A session row carries two frame references: `source`/`first_frame`/`start_ts` from the frame
//! that opened it and `end_source`/`last_frame`/`end_ts` from the last one seen.

use std::sync::Arc;

use analytics::evidence::SessionRow;
use arrow_array::builder::{
    BooleanBuilder, Int64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};

use super::text::push_session;
use super::{
    batch, finish_text, int64, texts, timestamps, Columns, EndpointColumns, RowContext, TableRow,
};
use crate::evidence::error::Result;
use crate::evidence::schema::Table;

impl TableRow for SessionRow {
    const TABLE: Table = Table::Sessions;
    type Columns = SessionColumns;

    fn partition_ts_us(&self) -> i64 {
        self.first.ts_us
    }
}

/// The counter columns, in schema order: `reads, writes, other_requests, responses, malformed`.
const COUNTERS: usize = 5;

/// The reassembly and volume columns after `opaque`: `gaps, gap_bytes, client_bytes,
/// server_bytes`.
const VOLUMES: usize = 4;

/// Accumulates `sessions` rows.
pub struct SessionColumns {
    rows: usize,
    sensor: StringBuilder,
    session_id: StringBuilder,
    protocol: StringBuilder,
    endpoints: EndpointColumns,
    source: StringBuilder,
    first_frame: Int64Builder,
    start_ts: TimestampMicrosecondBuilder,
    end_source: StringBuilder,
    last_frame: Int64Builder,
    end_ts: TimestampMicrosecondBuilder,
    end_reason: StringBuilder,
    counters: [Int64Builder; COUNTERS],
    credentials: ListBuilder<StringBuilder>,
    security_policy: StringBuilder,
    security_mode: StringBuilder,
    opaque: BooleanBuilder,
    volumes: [Int64Builder; VOLUMES],
}

impl Columns<SessionRow> for SessionColumns {
    fn with_capacity(rows: usize) -> SessionColumns {
        SessionColumns {
            rows: 0,
            sensor: texts(rows),
            session_id: texts(rows),
            protocol: texts(rows),
            endpoints: EndpointColumns::with_capacity(rows),
            source: texts(rows),
            first_frame: Int64Builder::with_capacity(rows),
            start_ts: timestamps(rows),
            end_source: texts(rows),
            last_frame: Int64Builder::with_capacity(rows),
            end_ts: timestamps(rows),
            end_reason: texts(rows),
            counters: std::array::from_fn(|_| Int64Builder::with_capacity(rows)),
            credentials: ListBuilder::with_capacity(texts(rows), rows),
            security_policy: texts(rows),
            security_mode: texts(rows),
            opaque: BooleanBuilder::with_capacity(rows),
            volumes: std::array::from_fn(|_| Int64Builder::with_capacity(rows)),
        }
    }

    fn append(&mut self, row: &SessionRow, ctx: &RowContext) -> Result<()> {
        let source = ctx.source(Table::Sessions, row.first.source)?;
        let end_source = ctx.source(Table::Sessions, row.last.source)?;

        self.sensor.append_value(ctx.sensor());
        push_session(&mut self.session_id, row.session_id);
        self.protocol.append_value(row.protocol.as_str());
        self.endpoints.append(&row.endpoints);

        self.source.append_value(source);
        self.first_frame.append_value(int64(row.first.frame));
        self.start_ts.append_value(row.first.ts_us);
        self.end_source.append_value(end_source);
        self.last_frame.append_value(int64(row.last.frame));
        self.end_ts.append_value(row.last.ts_us);
        self.end_reason.append_value(row.end.as_str());

        let counters = [
            row.reads,
            row.writes,
            row.other_requests,
            row.responses,
            row.malformed,
        ];
        for (builder, value) in self.counters.iter_mut().zip(counters) {
            builder.append_value(int64(value));
        }

        for credential in &row.credentials {
            self.credentials.values().append_value(credential);
        }
        self.credentials.append(true);
        self.security_policy
            .append_option(row.security_policy.as_deref());
        self.security_mode
            .append_option(row.security_mode.as_deref());
        self.opaque.append_value(row.opaque);

        let volumes = [row.gaps, row.gap_bytes, row.client_bytes, row.server_bytes];
        for (builder, value) in self.volumes.iter_mut().zip(volumes) {
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
            Vec::with_capacity(Table::Sessions.schema().fields().len());

        columns.push(finish_text(&mut self.sensor));
        columns.push(finish_text(&mut self.session_id));
        columns.push(finish_text(&mut self.protocol));
        self.endpoints.finish_into(&mut columns);
        columns.push(finish_text(&mut self.source));
        columns.push(Arc::new(self.first_frame.finish()));
        columns.push(Arc::new(self.start_ts.finish()));
        columns.push(finish_text(&mut self.end_source));
        columns.push(Arc::new(self.last_frame.finish()));
        columns.push(Arc::new(self.end_ts.finish()));
        columns.push(finish_text(&mut self.end_reason));
        for builder in &mut self.counters {
            columns.push(Arc::new(builder.finish()));
        }
        columns.push(Arc::new(self.credentials.finish()));
        columns.push(finish_text(&mut self.security_policy));
        columns.push(finish_text(&mut self.security_mode));
        columns.push(Arc::new(self.opaque.finish()));
        for builder in &mut self.volumes {
            columns.push(Arc::new(builder.finish()));
        }

        self.rows = 0;
        batch(Table::Sessions, columns)
    }
}
