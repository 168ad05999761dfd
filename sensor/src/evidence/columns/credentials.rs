//! Columns of the `credentials` table, filled from [`CredentialRow`]s.
//!
//! Only what the row holds is written: the keyed fingerprint of a secret, never the secret.

use std::sync::Arc;

use analytics::evidence::CredentialRow;
use arrow_array::builder::{BooleanBuilder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::RecordBatch;

use super::text::{push_ip_option, push_session_option};
use super::{batch, finish_text, texts, timestamps, Columns, OriginColumns, RowContext, TableRow};
use crate::evidence::error::Result;
use crate::evidence::schema::Table;

impl TableRow for CredentialRow {
    const TABLE: Table = Table::Credentials;
    type Columns = CredentialColumns;

    fn partition_ts_us(&self) -> i64 {
        self.at.ts_us
    }
}

/// Accumulates `credentials` rows.
pub struct CredentialColumns {
    rows: usize,
    origin: OriginColumns,
    session_id: StringBuilder,
    protocol: StringBuilder,
    kind: StringBuilder,
    id: StringBuilder,
    client_ip: StringBuilder,
    subject: StringBuilder,
    issuer: StringBuilder,
    not_before: TimestampMicrosecondBuilder,
    not_after: TimestampMicrosecondBuilder,
    weak_policy: BooleanBuilder,
    plaintext: BooleanBuilder,
    secret_fingerprint: StringBuilder,
    role: StringBuilder,
}

impl Columns<CredentialRow> for CredentialColumns {
    fn with_capacity(rows: usize) -> CredentialColumns {
        CredentialColumns {
            rows: 0,
            origin: OriginColumns::with_capacity(rows),
            session_id: texts(rows),
            protocol: texts(rows),
            kind: texts(rows),
            id: texts(rows),
            client_ip: texts(rows),
            subject: texts(rows),
            issuer: texts(rows),
            not_before: timestamps(rows),
            not_after: timestamps(rows),
            weak_policy: BooleanBuilder::with_capacity(rows),
            plaintext: BooleanBuilder::with_capacity(rows),
            secret_fingerprint: texts(rows),
            role: texts(rows),
        }
    }

    fn append(&mut self, row: &CredentialRow, ctx: &RowContext) -> Result<()> {
        self.origin.append(Table::Credentials, row.at, ctx)?;

        push_session_option(&mut self.session_id, row.session_id);
        self.protocol.append_value(row.protocol.as_str());
        self.kind.append_value(row.kind.as_str());
        self.id.append_value(&row.id);
        push_ip_option(&mut self.client_ip, row.client_ip);

        self.subject.append_option(row.subject.as_deref());
        self.issuer.append_option(row.issuer.as_deref());
        self.not_before.append_option(row.not_before_us);
        self.not_after.append_option(row.not_after_us);

        self.weak_policy.append_value(row.weak_policy);
        self.plaintext.append_value(row.plaintext);
        self.secret_fingerprint
            .append_option(row.secret_fingerprint.as_deref());
        self.role.append_option(row.role.as_deref());

        self.rows += 1;
        Ok(())
    }

    fn len(&self) -> usize {
        self.rows
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        let mut columns = Vec::with_capacity(Table::Credentials.schema().fields().len());

        self.origin.finish_into(&mut columns);
        columns.push(finish_text(&mut self.session_id));
        columns.push(finish_text(&mut self.protocol));
        columns.push(finish_text(&mut self.kind));
        columns.push(finish_text(&mut self.id));
        columns.push(finish_text(&mut self.client_ip));
        columns.push(finish_text(&mut self.subject));
        columns.push(finish_text(&mut self.issuer));
        columns.push(Arc::new(self.not_before.finish()));
        columns.push(Arc::new(self.not_after.finish()));
        columns.push(Arc::new(self.weak_policy.finish()));
        columns.push(Arc::new(self.plaintext.finish()));
        columns.push(finish_text(&mut self.secret_fingerprint));
        columns.push(finish_text(&mut self.role));

        self.rows = 0;
        batch(Table::Credentials, columns)
    }
}
