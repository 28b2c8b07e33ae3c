"""Reads of local Delta tables through DuckDB's Parquet reader, for the tables it can read as plain
Parquet files (not partitioned, no column mapping). Rows a deletion vector marks deleted are left out
by an anti-join on (file, row number in the file): the "Deletion Vectors" section of the Delta
protocol defines a DV as a set of such row indexes, and DuckDB's `file_row_number` counts the same way.

DuckDB's reader is multi-threaded, decodes the other columns only for rows a filter keeps, and hands
out plain strings: 6M silver.lineitem rows (9 columns) in 0.4 s against 1.1 s through delta-rs's
pyarrow dataset; 15,000 keys matched in 0.6-1.1 s against 2.3-2.9 s. Each function returns None
when DuckDB cannot answer (a column of the table's schema that no data file has yet), and the
caller asks delta-rs, which fills such columns with NULL.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from lakehouse.core.dialects import DUCKDB

# A longer range of versions is left to the change-feed reader (one query part per commit).
MAX_COMMITS_READ_DIRECTLY = 200
# (version, commit time in ms, the data files it added)
AppendedCommit = tuple[int, int, list[str]]


def is_plain_parquet_table(table: DeltaTable) -> bool:
    """Whether the table's data files are plain Parquet files holding its columns by name."""
    metadata = table.metadata()
    return not metadata.partition_columns and metadata.configuration.get("delta.columnMapping.mode", "none") == "none"


def has_deletion_vectors(table: DeltaTable) -> bool:
    return "deletionVectors" in (table.protocol().reader_features or [])


def deleted_rows(table: DeltaTable) -> pa.Table | None:
    """(file, row) of every row the table's deletion vectors mark deleted, with `file` spelled as
    DeltaTable.file_uris spells it; None when no live file has a DV. From delta-rs's own DV reader."""
    if not has_deletion_vectors(table):
        return None
    vectors = pa.RecordBatchReader.from_stream(table.deletion_vectors()).read_all()
    files, rows = [], []
    for index, uri in enumerate(vectors.column("filepath").to_pylist()):
        # A selection vector may stop at its last deleted row: the rows after it are kept.
        keep = pc.list_flatten(vectors.column("selection_vector").slice(index, 1))
        deleted = pc.indices_nonzero(pc.invert(keep)).cast(pa.int64())
        files.append(pa.repeat(unquote(uri.removeprefix("file://")), len(deleted)))
        rows.append(deleted)
    if not sum(len(r) for r in rows):
        return None
    return pa.table({"file": pa.concat_arrays(files).cast(pa.string()), "row": pa.concat_arrays(rows)})


def _scan(files: list[str], deleted: pa.Table | None) -> tuple[str, dict[str, pa.Table]]:
    """The FROM clause of a scan of `files` as `t`, without the deleted rows, and the views it needs."""
    if deleted is None:
        return "read_parquet($files, union_by_name = true) t", {}
    return ("(SELECT * EXCLUDE (filename, file_row_number) FROM read_parquet($files, union_by_name = true, "
            "filename = true, file_row_number = true) p WHERE NOT EXISTS (SELECT 1 FROM __deleted d "
            "WHERE d.file = p.filename AND d.row = p.file_row_number)) t", {"__deleted": deleted})


def read_files(con: duckdb.DuckDBPyConnection, files: list[str], columns: Sequence[str] | None,
               deleted: pa.Table | None = None) -> pa.Table | None:
    select = ", ".join(DUCKDB.quote(c) for c in columns) if columns else "*"
    scan, views = _scan(files, deleted)
    return _query(con, f"SELECT {select} FROM {scan}", {"files": files}, views)


def read_matching_files(con: duckdb.DuckDBPyConnection, files: list[str], keys: pa.Table,
                        key_columns: Sequence[str], columns: Sequence[str] | None,
                        deleted: pa.Table | None = None) -> pa.Table | None:
    """Rows whose `key_columns` equal a row of `keys`: a semi-join DuckDB pushes into the scan."""
    q = DUCKDB.quote
    select = ", ".join(f"t.{q(c)}" for c in columns) if columns else "t.*"
    match = " AND ".join(f"k.{q(c)} = t.{q(c)}" for c in key_columns)
    scan, views = _scan(files, deleted)
    return _query(con, f"SELECT {select} FROM {scan} WHERE EXISTS (SELECT 1 FROM __keys k WHERE {match})",
                  {"files": files}, {"__keys": keys, **views})


def appended_commits(table_uri: str, start: int, end: int) -> list[AppendedCommit] | None:
    """Each commit of the range with its added files, when every commit in it only appended files
    (a bronze table's feed); None otherwise (a MERGE, a delete, a log cleaned up after a checkpoint)."""
    if end - start > MAX_COMMITS_READ_DIRECTLY:
        return None
    commits = []
    for version in range(start, end + 1):
        try:
            with open(f"{table_uri}/_delta_log/{version:020d}.json", encoding="utf-8") as commit:
                actions = [json.loads(line) for line in commit if line.strip()]
        except OSError:
            return None
        timestamp, files = None, []
        for action in actions:
            if "commitInfo" in action:
                timestamp = action["commitInfo"].get("timestamp")
            elif "add" in action:
                add = action["add"]
                if add.get("partitionValues") or add.get("deletionVector") or not add.get("dataChange", True):
                    return None
                files.append(f"{table_uri}/{unquote(add['path'])}")
            elif set(action) & {"remove", "cdc"}:
                return None
        if timestamp is None:
            return None
        if files:
            commits.append((version, int(timestamp), files))
    return commits


def read_appends(con: duckdb.DuckDBPyConnection, commits: list[AppendedCommit], names: Sequence[str]) -> pa.Table | None:
    """The change feed of appends: their files' rows as inserts, with Delta CDF's columns and types."""
    q = DUCKDB.quote
    select = ", ".join(q(name) for name in names)
    parts, params = [], {}
    for index, (version, timestamp_ms, files) in enumerate(commits):
        params[f"files_{index}"] = files
        parts.append(
            f"SELECT {select}, 'insert' AS {q('_change_type')}, CAST({version} AS UBIGINT) AS {q('_commit_version')}, "
            f"make_timestamp({timestamp_ms}::BIGINT * 1000) AS {q('_commit_timestamp')} "
            f"FROM read_parquet($files_{index}, union_by_name = true)"
        )
    return _query(con, " UNION ALL ".join(parts), params)


def _query(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any],
           views: dict[str, pa.Table] | None = None) -> pa.Table | None:
    for name, relation in (views or {}).items():
        con.register(name, relation)
    try:
        return con.sql(sql, params=params).to_arrow_table()
    except duckdb.BinderException:
        return None  # a column of the table's schema that no data file has yet
    finally:
        for name in views or {}:
            con.unregister(name)
