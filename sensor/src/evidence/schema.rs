//! The Arrow schema of each evidence table: column names, types and nullability.
//!
//! These schemas are the contract auditors query (DESIGN.md "Evidence"), so a column is never
//! renamed or retyped; new columns are only ever appended. Conventions: text is `Utf8`, ports
//! and VLAN ids are `Int32`, frame numbers and counters are `Int64` (Parquet readers handle
//! unsigned 64-bit integers unevenly), times are `Timestamp(Microsecond, "UTC")`, and a column
//! is nullable exactly when its Rust field is an `Option`.
//!
//! This module only describes columns; filling them from rows is `columns`' job.

use std::sync::{Arc, OnceLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The evidence tables, in the order the manifest lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Writes,
    Sessions,
    Assets,
    Alerts,
    Credentials,
    /// A live capture's packets and drops per interval (a live capture's files only).
    CaptureStats,
}

impl Table {
    /// Every table.
    pub const ALL: [Table; 6] = [
        Table::Writes,
        Table::Sessions,
        Table::Assets,
        Table::Alerts,
        Table::Credentials,
        Table::CaptureStats,
    ];

    /// The tables of every run, offline or live; `capture_stats` only exists for a live one.
    pub const ANALYSIS: [Table; 5] = [
        Table::Writes,
        Table::Sessions,
        Table::Assets,
        Table::Alerts,
        Table::Credentials,
    ];

    /// The table's folder name in the evidence folder.
    pub fn name(self) -> &'static str {
        match self {
            Table::Writes => "writes",
            Table::Sessions => "sessions",
            Table::Assets => "assets",
            Table::Alerts => "alerts",
            Table::Credentials => "credentials",
            Table::CaptureStats => "capture_stats",
        }
    }

    /// The table whose folder is `name`.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|table| table.name() == name)
    }

    /// The table's Arrow schema (built once, then shared).
    pub fn schema(self) -> SchemaRef {
        static SCHEMAS: OnceLock<[SchemaRef; 6]> = OnceLock::new();

        let schemas = SCHEMAS.get_or_init(|| {
            [
                writes_schema(),
                sessions_schema(),
                assets_schema(),
                alerts_schema(),
                credentials_schema(),
                capture_stats_schema(),
            ]
        });
        schemas[self as usize].clone()
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The time zone every timestamp column carries.
pub const UTC: &str = "UTC";

fn text(name: &str) -> Field {
    Field::new(name, DataType::Utf8, false)
}

fn text_or_null(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn int32(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Int32, nullable)
}

fn int64(name: &str) -> Field {
    Field::new(name, DataType::Int64, false)
}

fn flag(name: &str) -> Field {
    Field::new(name, DataType::Boolean, false)
}

/// `Timestamp(Microsecond, Some("UTC"))`.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()))
}

fn time(name: &str, nullable: bool) -> Field {
    Field::new(name, timestamp_type(), nullable)
}

/// `List<Utf8>` with Arrow's default item field, as `ListBuilder` produces it.
pub fn text_list_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
}

fn writes_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("sensor"),
        text("source"),
        int64("frame"),
        time("ts", false),
        text("client_ip"),
        int32("client_port", false),
        text_or_null("client_mac"),
        text("server_ip"),
        int32("server_port", false),
        text_or_null("server_mac"),
        int32("vlan", true),
        text("session_id"),
        text("protocol"),
        text("category"),
        text("operation"),
        int64("function_code"),
        text("target"),
        text_or_null("value"),
        text("outcome"),
        time("response_ts", true),
        text_or_null("credential_kind"),
        text_or_null("credential_id"),
        text_or_null("client_certificate"),
        text_or_null("device_id"),
        text_or_null("identity"),
        text("attribution"),
        text_or_null("delegation"),
        text("delegation_status"),
        text_or_null("approved_by"),
    ]))
}

fn sessions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("sensor"),
        text("session_id"),
        text("protocol"),
        text("client_ip"),
        int32("client_port", false),
        text_or_null("client_mac"),
        text("server_ip"),
        int32("server_port", false),
        text_or_null("server_mac"),
        int32("vlan", true),
        text("source"),
        int64("first_frame"),
        time("start_ts", false),
        text("end_source"),
        int64("last_frame"),
        time("end_ts", false),
        text("end_reason"),
        int64("reads"),
        int64("writes"),
        int64("other_requests"),
        int64("responses"),
        int64("malformed"),
        Field::new("credentials", text_list_type(), false),
        text_or_null("security_policy"),
        text_or_null("security_mode"),
        flag("opaque"),
        int64("gaps"),
        int64("gap_bytes"),
        int64("client_bytes"),
        int64("server_bytes"),
    ]))
}

fn assets_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("sensor"),
        text_or_null("ip"),
        text_or_null("mac"),
        text_or_null("protocol"),
        text("role"),
        text_or_null("vendor"),
        text_or_null("product"),
        text_or_null("serial"),
        text_or_null("firmware"),
        text_or_null("name"),
        time("first_seen", false),
        time("last_seen", false),
        text("source"),
        int64("frame"),
    ]))
}

fn alerts_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("sensor"),
        text("source"),
        int64("frame"),
        time("ts", false),
        text("kind"),
        text("severity"),
        text_or_null("session_id"),
        text_or_null("protocol"),
        text_or_null("client_ip"),
        text_or_null("server_ip"),
        text("detail"),
    ]))
}

fn credentials_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("sensor"),
        text("source"),
        int64("frame"),
        time("ts", false),
        text_or_null("session_id"),
        text("protocol"),
        text("kind"),
        text("id"),
        text_or_null("client_ip"),
        text_or_null("subject"),
        text_or_null("issuer"),
        time("not_before", true),
        time("not_after", true),
        flag("weak_policy"),
        flag("plaintext"),
        text_or_null("secret_fingerprint"),
        text_or_null("role"),
    ]))
}

/// One row per interval of a live capture (DESIGN.md "Drops"): `ts` is the interval's end,
/// `frame` the last frame number read by then; counts are over the interval, `open_flows` at its
/// end and `writes` the rows of `writes` written during it.
fn capture_stats_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("sensor"),
        text("source"),
        int64("frame"),
        time("ts", false),
        time("start_ts", false),
        int64("packets"),
        int64("bytes"),
        int64("kernel_drops"),
        int64("interface_drops"),
        int64("queue_drops"),
        int64("open_flows"),
        int64("writes"),
        int64("evidence_rows_lost"),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_round_trip() {
        for table in Table::ALL {
            assert_eq!(Table::from_name(table.name()), Some(table));
        }
        assert_eq!(Table::from_name("manifests"), None);
    }

    #[test]
    fn writes_columns_follow_the_design() {
        let schema = Table::Writes.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();

        assert_eq!(names.len(), 29);
        assert_eq!(&names[..4], ["sensor", "source", "frame", "ts"]);
        assert_eq!(names.last(), Some(&"approved_by"));
        assert_eq!(
            schema
                .field_with_name("ts")
                .map(|f| f.data_type().clone())
                .ok(),
            Some(timestamp_type())
        );
    }

    #[test]
    fn column_names_are_unique_per_table() {
        for table in Table::ALL {
            let schema = table.schema();
            let mut names: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), schema.fields().len(), "{table}");
        }
    }
}
