//! Writes a small `Evidence` and reads it back with the parquet crate: layout, values field by
//! field, manifest content, the chain of a second run, empty tables and error messages.

mod evidence_fixture;

use std::fs::File;

use analytics::evidence::{
    mac_text, AlertRow, AssetRow, CredentialRow, Evidence, SessionRow, WriteRow,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use evidence_fixture::*;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sensor::evidence::{
    sha256_hex, write_evidence, EvidenceError, FileEntry, Manifest, Table, FORMAT,
};

/// A row as (column name, value) pairs in schema order.
type Row = Vec<(String, Cell)>;

/// One value of a cell, whatever its column type.
#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Null,
    Text(String),
    Int(i64),
    Time(i64),
    Bool(bool),
    List(Vec<String>),
}

fn text(value: &str) -> Cell {
    Cell::Text(value.to_owned())
}

fn opt_text(value: Option<&str>) -> Cell {
    value.map_or(Cell::Null, text)
}

fn opt_time(value: Option<i64>) -> Cell {
    value.map_or(Cell::Null, Cell::Time)
}

fn opt_mac(value: Option<[u8; 6]>) -> Cell {
    value.map_or(Cell::Null, |m| Cell::Text(mac_text(&m)))
}

fn cell(array: &dyn Array, row: usize) -> Cell {
    if array.is_null(row) {
        return Cell::Null;
    }
    match array.data_type() {
        DataType::Utf8 => text(array.as_string::<i32>().value(row)),
        DataType::Int32 => Cell::Int(i64::from(array.as_primitive::<Int32Type>().value(row))),
        DataType::Int64 => Cell::Int(array.as_primitive::<Int64Type>().value(row)),
        DataType::Boolean => Cell::Bool(array.as_boolean().value(row)),
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if tz.as_ref() == "UTC" => {
            Cell::Time(array.as_primitive::<TimestampMicrosecondType>().value(row))
        }
        DataType::List(_) => {
            let items = array.as_list::<i32>().value(row);
            let items = items.as_string::<i32>();
            Cell::List(
                (0..items.len())
                    .map(|i| items.value(i).to_owned())
                    .collect(),
            )
        }
        other => panic!("unexpected column type {other}"),
    }
}

/// Every row of a table, reading its files in path order (dates ascending).
fn read_table(dir: &std::path::Path, files: &[FileEntry], table: Table) -> Vec<Row> {
    let mut paths: Vec<&str> = files
        .iter()
        .filter(|f| f.table == table.name())
        .map(|f| f.path.as_str())
        .collect();
    paths.sort();

    let mut rows = Vec::new();
    for rel in paths {
        let file = File::open(dir.join(rel)).expect("open parquet");
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet footer");
        assert_eq!(builder.schema().fields(), table.schema().fields(), "{rel}");

        for batch in builder.build().expect("reader") {
            let batch: RecordBatch = batch.expect("batch");
            for row in 0..batch.num_rows() {
                let cells = batch
                    .schema()
                    .fields()
                    .iter()
                    .zip(batch.columns())
                    .map(|(field, column)| (field.name().clone(), cell(column.as_ref(), row)))
                    .collect();
                rows.push(cells);
            }
        }
    }
    rows
}

fn named(cells: Vec<(&str, Cell)>) -> Row {
    cells.into_iter().map(|(n, c)| (n.to_owned(), c)).collect()
}

fn expected_write(row: &WriteRow, sensor: &str) -> Row {
    let e = &row.endpoints;
    named(vec![
        ("sensor", text(sensor)),
        ("source", text(&sources()[row.at.source as usize])),
        ("frame", Cell::Int(row.at.frame as i64)),
        ("ts", Cell::Time(row.at.ts_us)),
        ("client_ip", text(&e.client_ip.to_string())),
        ("client_port", Cell::Int(i64::from(e.client_port))),
        ("client_mac", opt_mac(e.client_mac)),
        ("server_ip", text(&e.server_ip.to_string())),
        ("server_port", Cell::Int(i64::from(e.server_port))),
        ("server_mac", opt_mac(e.server_mac)),
        (
            "vlan",
            e.vlan.map_or(Cell::Null, |v| Cell::Int(i64::from(v))),
        ),
        ("session_id", text(&format!("{:016x}", row.session_id.0))),
        ("protocol", text(row.protocol.as_str())),
        ("category", text(row.category.as_str())),
        ("operation", text(row.operation)),
        ("function_code", Cell::Int(i64::from(row.function_code))),
        ("target", text(&row.target)),
        ("value", opt_text(row.value.as_deref())),
        ("outcome", text(&row.outcome.text())),
        ("response_ts", opt_time(row.response_ts_us)),
        (
            "credential_kind",
            opt_text(row.credential.as_ref().map(|c| c.kind.as_str())),
        ),
        (
            "credential_id",
            opt_text(row.credential.as_ref().map(|c| c.id.as_str())),
        ),
        (
            "client_certificate",
            opt_text(row.client_certificate.as_deref()),
        ),
        ("device_id", opt_text(row.device_id.as_deref())),
        ("identity", opt_text(row.identity.as_deref())),
        ("attribution", text(row.attribution.as_str())),
        ("delegation", opt_text(row.delegation.as_deref())),
        ("delegation_status", text(row.delegation_status.as_str())),
        ("approved_by", opt_text(row.approved_by.as_deref())),
    ])
}

fn expected_session(row: &SessionRow, sensor: &str) -> Row {
    let e = &row.endpoints;
    let count = |v: u64| Cell::Int(v as i64);
    named(vec![
        ("sensor", text(sensor)),
        ("session_id", text(&row.session_id.text())),
        ("protocol", text(row.protocol.as_str())),
        ("client_ip", text(&e.client_ip.to_string())),
        ("client_port", Cell::Int(i64::from(e.client_port))),
        ("client_mac", opt_mac(e.client_mac)),
        ("server_ip", text(&e.server_ip.to_string())),
        ("server_port", Cell::Int(i64::from(e.server_port))),
        ("server_mac", opt_mac(e.server_mac)),
        (
            "vlan",
            e.vlan.map_or(Cell::Null, |v| Cell::Int(i64::from(v))),
        ),
        ("source", text(&sources()[row.first.source as usize])),
        ("first_frame", count(row.first.frame)),
        ("start_ts", Cell::Time(row.first.ts_us)),
        ("end_source", text(&sources()[row.last.source as usize])),
        ("last_frame", count(row.last.frame)),
        ("end_ts", Cell::Time(row.last.ts_us)),
        ("end_reason", text(row.end.as_str())),
        ("reads", count(row.reads)),
        ("writes", count(row.writes)),
        ("other_requests", count(row.other_requests)),
        ("responses", count(row.responses)),
        ("malformed", count(row.malformed)),
        ("credentials", Cell::List(row.credentials.clone())),
        ("security_policy", opt_text(row.security_policy.as_deref())),
        ("security_mode", opt_text(row.security_mode.as_deref())),
        ("opaque", Cell::Bool(row.opaque)),
        ("gaps", count(row.gaps)),
        ("gap_bytes", count(row.gap_bytes)),
        ("client_bytes", count(row.client_bytes)),
        ("server_bytes", count(row.server_bytes)),
    ])
}

fn expected_asset(row: &AssetRow, sensor: &str) -> Row {
    named(vec![
        ("sensor", text(sensor)),
        ("ip", opt_text(row.ip.map(|ip| ip.to_string()).as_deref())),
        ("mac", opt_mac(row.mac)),
        ("protocol", opt_text(row.protocol.map(|p| p.as_str()))),
        ("role", text(row.role)),
        ("vendor", opt_text(row.vendor.as_deref())),
        ("product", opt_text(row.product.as_deref())),
        ("serial", opt_text(row.serial.as_deref())),
        ("firmware", opt_text(row.firmware.as_deref())),
        ("name", opt_text(row.name.as_deref())),
        ("first_seen", Cell::Time(row.first.ts_us)),
        ("last_seen", Cell::Time(row.last.ts_us)),
        ("source", text(&sources()[row.first.source as usize])),
        ("frame", Cell::Int(row.first.frame as i64)),
    ])
}

fn expected_alert(row: &AlertRow, sensor: &str) -> Row {
    named(vec![
        ("sensor", text(sensor)),
        ("source", text(&sources()[row.at.source as usize])),
        ("frame", Cell::Int(row.at.frame as i64)),
        ("ts", Cell::Time(row.at.ts_us)),
        ("kind", text(row.kind.as_str())),
        ("severity", text(row.severity.as_str())),
        (
            "session_id",
            opt_text(row.session_id.map(|s| s.text()).as_deref()),
        ),
        ("protocol", opt_text(row.protocol.map(|p| p.as_str()))),
        (
            "client_ip",
            opt_text(row.client_ip.map(|ip| ip.to_string()).as_deref()),
        ),
        (
            "server_ip",
            opt_text(row.server_ip.map(|ip| ip.to_string()).as_deref()),
        ),
        ("detail", text(&row.detail)),
    ])
}

fn expected_credential(row: &CredentialRow, sensor: &str) -> Row {
    named(vec![
        ("sensor", text(sensor)),
        ("source", text(&sources()[row.at.source as usize])),
        ("frame", Cell::Int(row.at.frame as i64)),
        ("ts", Cell::Time(row.at.ts_us)),
        (
            "session_id",
            opt_text(row.session_id.map(|s| s.text()).as_deref()),
        ),
        ("protocol", text(row.protocol.as_str())),
        ("kind", text(row.kind.as_str())),
        ("id", text(&row.id)),
        (
            "client_ip",
            opt_text(row.client_ip.map(|ip| ip.to_string()).as_deref()),
        ),
        ("subject", opt_text(row.subject.as_deref())),
        ("issuer", opt_text(row.issuer.as_deref())),
        ("not_before", opt_time(row.not_before_us)),
        ("not_after", opt_time(row.not_after_us)),
        ("weak_policy", Cell::Bool(row.weak_policy)),
        ("plaintext", Cell::Bool(row.plaintext)),
        (
            "secret_fingerprint",
            opt_text(row.secret_fingerprint.as_deref()),
        ),
        ("role", opt_text(row.role.as_deref())),
    ])
}

fn write_sample(dir: &std::path::Path) -> Manifest {
    let run = sample_run(sample_inputs());
    write_evidence(dir, &run, &sources(), &sample_evidence()).expect("write evidence")
}

#[test]
fn every_value_reads_back_field_by_field() {
    let scratch = Scratch::new("roundtrip");
    let manifest = write_sample(&scratch.path);
    let evidence = sample_evidence();
    let sensor = "plant-a-span1";

    // The fixture lists each table's rows in date order, which is the order files are read in.
    let cases: [(Table, Vec<Row>); 5] = [
        (
            Table::Writes,
            evidence
                .writes
                .iter()
                .map(|r| expected_write(r, sensor))
                .collect(),
        ),
        (
            Table::Sessions,
            evidence
                .sessions
                .iter()
                .map(|r| expected_session(r, sensor))
                .collect(),
        ),
        (
            Table::Assets,
            evidence
                .assets
                .iter()
                .map(|r| expected_asset(r, sensor))
                .collect(),
        ),
        (
            Table::Alerts,
            evidence
                .alerts
                .iter()
                .map(|r| expected_alert(r, sensor))
                .collect(),
        ),
        (
            Table::Credentials,
            evidence
                .credentials
                .iter()
                .map(|r| expected_credential(r, sensor))
                .collect(),
        ),
    ];

    for (table, expected) in cases {
        let actual = read_table(&scratch.path, &manifest.files, table);
        assert_eq!(actual.len(), expected.len(), "{table} row count");
        for (row, (actual, expected)) in actual.iter().zip(&expected).enumerate() {
            for (a, e) in actual.iter().zip(expected) {
                assert_eq!(a, e, "{table} row {row}");
            }
            assert_eq!(
                actual.len(),
                expected.len(),
                "{table} row {row} column count"
            );
        }
    }
}

#[test]
fn files_are_partitioned_by_utc_date() {
    let scratch = Scratch::new("layout");
    let manifest = write_sample(&scratch.path);

    let mut paths: Vec<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    paths.sort();
    let mut expected = Vec::new();
    for table in ["alerts", "assets", "credentials", "sessions", "writes"] {
        for date in [DATE_A, DATE_B] {
            expected.push(format!("{table}/date={date}/part-00000.parquet"));
        }
    }
    assert_eq!(paths, expected);

    let rows: Vec<(&str, u64)> = manifest
        .files
        .iter()
        .filter(|f| f.table == "writes")
        .map(|f| (f.path.as_str(), f.rows))
        .collect();
    assert!(rows.contains(&("writes/date=2026-12-03/part-00000.parquet", 2)));
    assert!(rows.contains(&("writes/date=2026-12-04/part-00000.parquet", 1)));

    for file in &manifest.files {
        let bytes = read(&scratch.join(&file.path));
        assert_eq!(bytes.len() as u64, file.bytes, "{}", file.path);
        assert_eq!(sha256_hex(&bytes), file.sha256, "{}", file.path);
        assert_eq!(&bytes[..4], b"PAR1", "{}", file.path);
    }

    let leftovers: Vec<_> = walk(&scratch.path)
        .into_iter()
        .filter(|p| p.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list").flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path.display().to_string());
        }
    }
    found
}

#[test]
fn manifest_describes_the_run() {
    let scratch = Scratch::new("manifest");
    let manifest = write_sample(&scratch.path);
    let on_disk: serde_json::Value =
        serde_json::from_slice(&read(&scratch.join("manifest.json"))).expect("json");

    assert_eq!(on_disk["format"], FORMAT);
    assert_eq!(on_disk["tool"]["name"], "otwitness");
    assert_eq!(on_disk["tool"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(on_disk["sensor"], "plant-a-span1");
    assert_eq!(on_disk["command_line"][1], "analyze");
    assert_eq!(on_disk["sequence"], 1);
    assert!(on_disk["previous"].is_null());
    assert!(on_disk["signature"].is_null());
    assert!(on_disk["created"]
        .as_str()
        .is_some_and(|c| c.ends_with('Z')));
    assert_eq!(on_disk["inputs"][0]["name"], "site/line1.pcapng");
    assert_eq!(on_disk["inputs"][0]["kind"], "file");
    assert!(on_disk["inputs"][0]["damage"].is_null());
    assert_eq!(on_disk["time_span"]["first"], "2026-12-03T12:00:00.000000Z");
    assert_eq!(on_disk["time_span"]["last"], "2026-12-04T08:31:00.000000Z");
    assert_eq!(on_disk["packets"], 120);
    assert_eq!(on_disk["bytes"], 64_000);
    assert!(on_disk["kernel_drops"].is_null());
    assert_eq!(on_disk["counters"]["flows"], 2);
    assert_eq!(on_disk["row_counts"]["writes"], 3);
    assert_eq!(on_disk["row_counts"]["sessions"], 2);
    assert_eq!(on_disk["row_counts"]["assets"], 2);
    assert_eq!(on_disk["row_counts"]["alerts"], 2);
    assert_eq!(on_disk["row_counts"]["credentials"], 2);
    assert_eq!(on_disk["files"].as_array().map(Vec::len), Some(10));

    let parsed: Manifest = serde_json::from_value(on_disk).expect("manifest");
    assert_eq!(parsed, manifest);
}

#[test]
fn second_run_adds_parts_and_chains_the_manifest() {
    let scratch = Scratch::new("second-run");
    let first = write_sample(&scratch.path);
    let first_bytes = read(&scratch.join("manifest.json"));

    let second = write_sample(&scratch.path);

    assert_eq!(first.sequence, 1);
    assert_eq!(second.sequence, 2);
    let previous = second.previous.as_ref().expect("previous link");
    assert_eq!(previous.path, "manifests/manifest-000001.json");
    assert_eq!(previous.sha256, sha256_hex(&first_bytes));
    assert_eq!(
        read(&scratch.join("manifests/manifest-000001.json")),
        first_bytes
    );

    assert_eq!(second.files.len(), 10);
    for file in &second.files {
        assert!(file.path.ends_with("/part-00001.parquet"), "{}", file.path);
    }
    assert!(scratch
        .join("writes/date=2026-12-03/part-00000.parquet")
        .is_file());
    assert_eq!(second.row_counts, first.row_counts);

    let third = write_sample(&scratch.path);
    assert_eq!(third.sequence, 3);
    assert_eq!(
        third.previous.map(|p| p.path).as_deref(),
        Some("manifests/manifest-000002.json")
    );
}

#[test]
fn empty_tables_still_get_a_file() {
    let scratch = Scratch::new("empty");
    let nothing = write_evidence(
        &scratch.path,
        &sample_run(Vec::new()),
        &[],
        &Evidence::default(),
    )
    .expect("write empty evidence");

    let mut paths: Vec<&str> = nothing.files.iter().map(|f| f.path.as_str()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "alerts/date=1970-01-01/part-00000.parquet",
            "assets/date=1970-01-01/part-00000.parquet",
            "credentials/date=1970-01-01/part-00000.parquet",
            "sessions/date=1970-01-01/part-00000.parquet",
            "writes/date=1970-01-01/part-00000.parquet",
        ]
    );
    for table in Table::ALL {
        assert!(read_table(&scratch.path, &nothing.files, table).is_empty());
    }

    // Only writes this time: the other tables already have a file, so none is added for them.
    let only_writes = Evidence {
        writes: vec![write_full()],
        ..Evidence::default()
    };
    let second = write_evidence(
        &scratch.path,
        &sample_run(sample_inputs()),
        &sources(),
        &only_writes,
    )
    .expect("write one row");
    let paths: Vec<&str> = second.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["writes/date=2026-12-03/part-00000.parquet"]);
    assert_eq!(second.row_counts.writes, 1);
    assert_eq!(second.row_counts.alerts, 0);
}

#[test]
fn empty_run_uses_the_first_capture_date() {
    let scratch = Scratch::new("empty-dated");
    let manifest = write_evidence(
        &scratch.path,
        &sample_run(sample_inputs()),
        &sources(),
        &Evidence::default(),
    )
    .expect("write empty evidence");

    assert!(manifest
        .files
        .iter()
        .all(|f| f.path.contains("/date=2026-12-03/")));
    assert_eq!(manifest.files.len(), 5);
}

#[test]
fn unknown_source_fails_and_leaves_nothing_behind() {
    let scratch = Scratch::new("bad-source");
    let mut evidence = sample_evidence();
    evidence.alerts[1].at.source = 9;

    let error = write_evidence(
        &scratch.path,
        &sample_run(sample_inputs()),
        &sources(),
        &evidence,
    )
    .expect_err("a row names source 9");

    assert!(matches!(
        error,
        EvidenceError::UnknownSource {
            table: "alerts",
            index: 9,
            count: 2
        }
    ));
    assert!(!scratch.join("manifest.json").exists());
    let left: Vec<String> = walk(&scratch.path);
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn unwritable_folder_error_names_it() {
    let scratch = Scratch::new("unwritable");
    let blocker = scratch.join("not-a-folder");
    std::fs::write(&blocker, b"x").expect("write blocker");
    let out = blocker.join("evidence");

    let error = write_evidence(&out, &sample_run(Vec::new()), &[], &Evidence::default())
        .expect_err("cannot create a folder under a file");

    let message = error.to_string();
    let expected = format!("evidence: cannot create {}", blocker.display());
    assert!(message.starts_with(&expected), "{message}");
}
