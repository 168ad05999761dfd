//! Columns of the `alerts` table, filled from [`AlertRow`]s.

use analytics::evidence::AlertRow;
use arrow_array::builder::StringBuilder;
use arrow_array::RecordBatch;

use super::text::{push_ip_option, push_session_option};
use super::{batch, finish_text, texts, Columns, OriginColumns, RowContext, TableRow};
use crate::evidence::error::Result;
use crate::evidence::schema::Table;

impl TableRow for AlertRow {
    const TABLE: Table = Table::Alerts;
    type Columns = AlertColumns;

    fn partition_ts_us(&self) -> i64 {
        self.at.ts_us
    }
}

/// Accumulates `alerts` rows.
pub struct AlertColumns {
    rows: usize,
    origin: OriginColumns,
    kind: StringBuilder,
    severity: StringBuilder,
    session_id: StringBuilder,
    protocol: StringBuilder,
    client_ip: StringBuilder,
    server_ip: StringBuilder,
    detail: StringBuilder,
}

impl Columns<AlertRow> for AlertColumns {
    fn with_capacity(rows: usize) -> AlertColumns {
        AlertColumns {
            rows: 0,
            origin: OriginColumns::with_capacity(rows),
            kind: texts(rows),
            severity: texts(rows),
            session_id: texts(rows),
            protocol: texts(rows),
            client_ip: texts(rows),
            server_ip: texts(rows),
            detail: texts(rows),
        }
    }

    fn append(&mut self, row: &AlertRow, ctx: &RowContext) -> Result<()> {
        self.origin.append(Table::Alerts, row.at, ctx)?;

        self.kind.append_value(row.kind.as_str());
        self.severity.append_value(row.severity.as_str());
        push_session_option(&mut self.session_id, row.session_id);
        self.protocol
            .append_option(row.protocol.map(|p| p.as_str()));
        push_ip_option(&mut self.client_ip, row.client_ip);
        push_ip_option(&mut self.server_ip, row.server_ip);
        self.detail.append_value(&row.detail);

        self.rows += 1;
        Ok(())
    }

    fn len(&self) -> usize {
        self.rows
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        let mut columns = Vec::with_capacity(Table::Alerts.schema().fields().len());

        self.origin.finish_into(&mut columns);
        for builder in [
            &mut self.kind,
            &mut self.severity,
            &mut self.session_id,
            &mut self.protocol,
            &mut self.client_ip,
            &mut self.server_ip,
            &mut self.detail,
        ] {
            columns.push(finish_text(builder));
        }

        self.rows = 0;
        batch(Table::Alerts, columns)
    }
}
