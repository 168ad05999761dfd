//! Reads written evidence with the engines auditors use (DuckDB, pyarrow.dataset) through
//! `read_evidence.py`: row counts, the `date` partition column, and column type families.
//!
//! Skipped with a message when `python3` with `duckdb` and `pyarrow` is not available, unless
//! the `CI` environment variable is set, in which case that is a failure.

mod evidence_fixture;

use std::path::Path;
use std::process::Command;

use analytics::evidence::Evidence;
use evidence_fixture::*;
use sensor::evidence::write_evidence;
use serde_json::Value;

/// The `writes` columns DESIGN.md names, with the family of type an engine must show.
const WRITES_COLUMNS: [(&str, Family); 29] = [
    ("sensor", Family::Text),
    ("source", Family::Text),
    ("frame", Family::Integer),
    ("ts", Family::Timestamp),
    ("client_ip", Family::Text),
    ("client_port", Family::Integer),
    ("client_mac", Family::Text),
    ("server_ip", Family::Text),
    ("server_port", Family::Integer),
    ("server_mac", Family::Text),
    ("vlan", Family::Integer),
    ("session_id", Family::Text),
    ("protocol", Family::Text),
    ("category", Family::Text),
    ("operation", Family::Text),
    ("function_code", Family::Integer),
    ("target", Family::Text),
    ("value", Family::Text),
    ("outcome", Family::Text),
    ("response_ts", Family::Timestamp),
    ("credential_kind", Family::Text),
    ("credential_id", Family::Text),
    ("client_certificate", Family::Text),
    ("device_id", Family::Text),
    ("identity", Family::Text),
    ("attribution", Family::Text),
    ("delegation", Family::Text),
    ("delegation_status", Family::Text),
    ("approved_by", Family::Text),
];

#[derive(Clone, Copy, Debug)]
enum Family {
    Text,
    Integer,
    Timestamp,
}

impl Family {
    fn duckdb_accepts(self, ty: &str) -> bool {
        match self {
            Family::Text => ty == "VARCHAR",
            Family::Integer => ty == "INTEGER" || ty == "BIGINT",
            Family::Timestamp => ty == "TIMESTAMP WITH TIME ZONE",
        }
    }

    fn pyarrow_accepts(self, ty: &str) -> bool {
        match self {
            Family::Text => ty == "string" || ty == "large_string",
            Family::Integer => ty == "int32" || ty == "int64",
            Family::Timestamp => ty == "timestamp[us, tz=UTC]",
        }
    }
}

/// Whether the Python engines are there; without them the test is skipped, except under CI.
fn engines_available() -> bool {
    let probe = Command::new("python3")
        .args(["-c", "import duckdb, pyarrow"])
        .output();
    let reason = match probe {
        Ok(output) if output.status.success() => return true,
        Ok(output) => String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        Err(e) => format!("cannot run python3: {e}"),
    };

    if std::env::var_os("CI").is_some() {
        panic!("CI is set but python3 with duckdb and pyarrow is unavailable: {reason}");
    }
    eprintln!("skipped: python3 with duckdb and pyarrow is unavailable: {reason}");
    false
}

fn read_with_engines(dir: &Path, table: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/read_evidence.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(dir)
        .arg(table)
        .output()
        .expect("run read_evidence.py");

    assert!(
        output.status.success(),
        "read_evidence.py {table} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON from read_evidence.py")
}

fn dates(value: &Value) -> Vec<&str> {
    value["dates"]
        .as_array()
        .map(|dates| dates.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn engines_read_writes_with_the_design_columns() {
    if !engines_available() {
        return;
    }
    let scratch = Scratch::new("engines-writes");
    write_evidence(
        &scratch.path,
        &sample_run(sample_inputs()),
        &sources(),
        &sample_evidence(),
    )
    .expect("write evidence");

    let seen = read_with_engines(&scratch.path, "writes");

    for engine in ["duckdb", "pyarrow"] {
        let result = &seen[engine];
        assert_eq!(result["count"], 3, "{engine}");
        assert_eq!(dates(result), [DATE_A, DATE_B], "{engine}");

        let columns = &result["columns"];
        for (name, family) in WRITES_COLUMNS {
            let ty = columns[name]
                .as_str()
                .unwrap_or_else(|| panic!("{engine}: no {name}"));
            let accepted = match engine {
                "duckdb" => family.duckdb_accepts(ty),
                _ => family.pyarrow_accepts(ty),
            };
            assert!(
                accepted,
                "{engine}: column {name} has type {ty}, expected {family:?}"
            );
        }
        assert!(
            columns.get("date").is_some(),
            "{engine}: no date partition column"
        );
    }
}

#[test]
fn engines_read_every_table() {
    if !engines_available() {
        return;
    }
    let scratch = Scratch::new("engines-all");
    write_evidence(
        &scratch.path,
        &sample_run(sample_inputs()),
        &sources(),
        &sample_evidence(),
    )
    .expect("write evidence");

    for table in ["writes", "sessions", "assets", "alerts", "credentials"] {
        let seen = read_with_engines(&scratch.path, table);
        let expected = if table == "writes" { 3 } else { 2 };
        assert_eq!(seen["duckdb"]["count"], expected, "{table}");
        assert_eq!(seen["pyarrow"]["count"], expected, "{table}");
    }

    let sessions = read_with_engines(&scratch.path, "sessions");
    assert_eq!(sessions["duckdb"]["columns"]["credentials"], "VARCHAR[]");
    assert_eq!(sessions["duckdb"]["columns"]["opaque"], "BOOLEAN");
}

#[test]
fn engines_read_tables_with_no_rows() {
    if !engines_available() {
        return;
    }
    let scratch = Scratch::new("engines-empty");
    write_evidence(
        &scratch.path,
        &sample_run(Vec::new()),
        &[],
        &Evidence::default(),
    )
    .expect("write empty evidence");

    for table in ["writes", "sessions", "assets", "alerts", "credentials"] {
        let seen = read_with_engines(&scratch.path, table);
        for engine in ["duckdb", "pyarrow"] {
            assert_eq!(seen[engine]["count"], 0, "{engine} {table}");
            assert!(
                seen[engine]["columns"].get("sensor").is_some(),
                "{engine} {table}"
            );
        }
    }
}
