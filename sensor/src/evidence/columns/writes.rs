//! Columns of the `writes` table, filled from [`WriteRow`]s.
//!
//! `item` and `numeric_values` are not columns: the first only orders rows (they are written in
//! evidence order), the second only feeds delegation bounds and `value` already shows it.

use std::sync::Arc;

use analytics::evidence::WriteRow;
use arrow_array::builder::{Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::RecordBatch;

use super::text::{push_outcome, push_session};
use super::{
    batch, finish_text, texts, timestamps, Columns, EndpointColumns, OriginColumns, RowContext,
    TableRow,
};
use crate::evidence::error::Result;
use crate::evidence::schema::Table;

impl TableRow for WriteRow {
    const TABLE: Table = Table::Writes;
    type Columns = WriteColumns;

    fn partition_ts_us(&self) -> i64 {
        self.at.ts_us
    }
}

/// Accumulates `writes` rows.
pub struct WriteColumns {
    rows: usize,
    origin: OriginColumns,
    endpoints: EndpointColumns,
    session_id: StringBuilder,
    protocol: StringBuilder,
    category: StringBuilder,
    operation: StringBuilder,
    function_code: Int64Builder,
    target: StringBuilder,
    value: StringBuilder,
    outcome: StringBuilder,
    response_ts: TimestampMicrosecondBuilder,
    credential_kind: StringBuilder,
    credential_id: StringBuilder,
    client_certificate: StringBuilder,
    device_id: StringBuilder,
    identity: StringBuilder,
    attribution: StringBuilder,
    delegation: StringBuilder,
    delegation_status: StringBuilder,
    approved_by: StringBuilder,
}

impl Columns<WriteRow> for WriteColumns {
    fn with_capacity(rows: usize) -> WriteColumns {
        WriteColumns {
            rows: 0,
            origin: OriginColumns::with_capacity(rows),
            endpoints: EndpointColumns::with_capacity(rows),
            session_id: texts(rows),
            protocol: texts(rows),
            category: texts(rows),
            operation: texts(rows),
            function_code: Int64Builder::with_capacity(rows),
            target: texts(rows),
            value: texts(rows),
            outcome: texts(rows),
            response_ts: timestamps(rows),
            credential_kind: texts(rows),
            credential_id: texts(rows),
            client_certificate: texts(rows),
            device_id: texts(rows),
            identity: texts(rows),
            attribution: texts(rows),
            delegation: texts(rows),
            delegation_status: texts(rows),
            approved_by: texts(rows),
        }
    }

    fn append(&mut self, row: &WriteRow, ctx: &RowContext) -> Result<()> {
        self.origin.append(Table::Writes, row.at, ctx)?;

        self.endpoints.append(&row.endpoints);
        push_session(&mut self.session_id, row.session_id);

        self.protocol.append_value(row.protocol.as_str());
        self.category.append_value(row.category.as_str());
        self.operation.append_value(row.operation);
        self.function_code
            .append_value(i64::from(row.function_code));
        self.target.append_value(&row.target);
        self.value.append_option(row.value.as_deref());

        push_outcome(&mut self.outcome, &row.outcome);
        self.response_ts.append_option(row.response_ts_us);

        let credential = row.credential.as_ref();
        self.credential_kind
            .append_option(credential.map(|c| c.kind.as_str()));
        self.credential_id
            .append_option(credential.map(|c| c.id.as_str()));
        self.client_certificate
            .append_option(row.client_certificate.as_deref());
        self.device_id.append_option(row.device_id.as_deref());
        self.identity.append_option(row.identity.as_deref());
        self.attribution.append_value(row.attribution.as_str());

        self.delegation.append_option(row.delegation.as_deref());
        self.delegation_status
            .append_value(row.delegation_status.as_str());
        self.approved_by.append_option(row.approved_by.as_deref());

        self.rows += 1;
        Ok(())
    }

    fn len(&self) -> usize {
        self.rows
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        let mut columns = Vec::with_capacity(Table::Writes.schema().fields().len());

        self.origin.finish_into(&mut columns);
        self.endpoints.finish_into(&mut columns);
        columns.push(finish_text(&mut self.session_id));
        columns.push(finish_text(&mut self.protocol));
        columns.push(finish_text(&mut self.category));
        columns.push(finish_text(&mut self.operation));
        columns.push(Arc::new(self.function_code.finish()));
        columns.push(finish_text(&mut self.target));
        columns.push(finish_text(&mut self.value));
        columns.push(finish_text(&mut self.outcome));
        columns.push(Arc::new(self.response_ts.finish()));
        columns.push(finish_text(&mut self.credential_kind));
        columns.push(finish_text(&mut self.credential_id));
        columns.push(finish_text(&mut self.client_certificate));
        columns.push(finish_text(&mut self.device_id));
        columns.push(finish_text(&mut self.identity));
        columns.push(finish_text(&mut self.attribution));
        columns.push(finish_text(&mut self.delegation));
        columns.push(finish_text(&mut self.delegation_status));
        columns.push(finish_text(&mut self.approved_by));

        self.rows = 0;
        batch(Table::Writes, columns)
    }
}
