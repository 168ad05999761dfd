"""Reads one evidence table the way an auditor would, with DuckDB and with pyarrow.dataset.

Usage: python3 read_evidence.py EVIDENCE_DIR TABLE

Prints one JSON object: for each engine, the row count, the distinct `date` partition values
and the column types it sees. Used by sensor/tests/evidence_engines.rs.
"""

import json
import sys

import duckdb
import pyarrow.dataset as ds


def with_duckdb(folder, table):
    pattern = f"{folder}/{table}/**/*.parquet"
    source = "read_parquet(?, hive_partitioning = true)"
    con = duckdb.connect()
    count = con.execute(f"SELECT count(*) FROM {source}", [pattern]).fetchone()[0]
    dates = [
        row[0]
        for row in con.execute(
            f"SELECT DISTINCT CAST(date AS VARCHAR) FROM {source} ORDER BY 1", [pattern]
        ).fetchall()
    ]
    columns = {
        row[0]: row[1]
        for row in con.execute(f"DESCRIBE SELECT * FROM {source}", [pattern]).fetchall()
    }
    return {"count": count, "dates": dates, "columns": columns}


def with_pyarrow(folder, table):
    dataset = ds.dataset(f"{folder}/{table}", format="parquet", partitioning="hive")
    dates = dataset.to_table(columns=["date"]).column("date").to_pylist()
    return {
        "count": dataset.count_rows(),
        "dates": sorted({str(d) for d in dates}),
        "columns": {field.name: str(field.type) for field in dataset.schema},
    }


def main():
    folder, table = sys.argv[1], sys.argv[2]
    result = {"duckdb": with_duckdb(folder, table), "pyarrow": with_pyarrow(folder, table)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
