"""Prints tables of an evidence folder as JSON, read with DuckDB as an auditor would.

Usage: python3 read_rows.py EVIDENCE_DIR

Prints {"writes": [...], "credentials": [...], "alerts": [...], "sessions": [...],
"capture_stats": [...]} (the last for a live capture only): one object per row, in capture-time order, with the columns that say what happened and who did
it, plus `ts` (µs since the epoch). Columns that depend on where and when the packets were read
(source, frame, session id, byte counts of a session cut by the end of a capture) are left out,
so a live capture and an offline analysis of the same traffic can be compared. Used by
sensor/tests/live_capture.rs.
"""

import glob
import json
import sys

import duckdb

COLUMNS = {
    "writes": [
        "protocol", "category", "operation", "function_code", "target", "value", "outcome",
        "client_ip", "server_ip", "server_port", "credential_kind", "credential_id",
        "client_certificate", "device_id", "identity", "attribution",
    ],
    "credentials": [
        "protocol", "kind", "id", "client_ip", "subject", "issuer", "not_before", "not_after",
        "weak_policy", "plaintext", "secret_fingerprint",
    ],
    "alerts": ["kind", "severity", "detail"],
    "capture_stats": [
        "packets", "bytes", "kernel_drops", "interface_drops", "queue_drops", "writes",
        "evidence_rows_lost",
    ],
    "sessions": [
        "protocol", "client_ip", "server_ip", "server_port", "reads", "writes", "credentials",
        "security_policy", "security_mode", "opaque",
    ],
}
TIME = {
    "writes": "ts", "credentials": "ts", "alerts": "ts", "capture_stats": "ts",
    "sessions": "start_ts",
}


def main():
    folder = sys.argv[1]
    con = duckdb.connect()
    tables = {}
    for table, names in COLUMNS.items():
        pattern = f"{folder}/{table}/**/*.parquet"
        if not glob.glob(pattern, recursive=True):
            continue  # capture_stats exists for a live capture only
        rows = con.execute(
            f"SELECT epoch_us({TIME[table]}) AS ts, {', '.join(names)} "
            "FROM read_parquet(?, hive_partitioning = true) ORDER BY 1",
            [pattern],
        ).fetchall()
        tables[table] = [dict(zip(["ts"] + names, row)) for row in rows]
    print(json.dumps(tables, default=str))


if __name__ == "__main__":
    main()
