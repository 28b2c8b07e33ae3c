"""Tuning experiment: what a delta-rs MERGE of a small batch costs, by file layout and streamed_exec.

Builds a Delta table from a generated lineitem CSV (sorted by key or in random order, cut into
files of a target size), then merges a batch that updates 1% of the rows, picked either as a run
of neighbouring keys (new orders, late corrections to recent orders) or at random (customer-style
changes). Each variant works on a fresh copy of the table. Reported: seconds and files rewritten.

    python -m lakehouse.bench.merge_layout data/bench/main-sf1/tpch/lineitem.csv --rows 600000
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import duckdb
from deltalake import DeltaTable, write_deltalake

if TYPE_CHECKING:
    import pyarrow as pa

KEYS = ("l_orderkey", "l_linenumber")


class MergeResult(TypedDict):
    seconds: float
    files: int  # data files before the merge
    files_rewritten: int | None  # None where delta-rs does not report the metric
    rows_copied: int | None


def build_tables(csv: Path, rows: int, out: Path, file_mb: int) -> dict[str, Path]:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE li AS SELECT * FROM read_csv('{csv}', header = true) LIMIT {rows}")
    tables: dict[str, Path] = {}
    for layout, order in (("sorted", "l_orderkey, l_linenumber"), ("random", "hash(l_orderkey, l_linenumber)")):
        data = con.sql(f"SELECT * FROM li ORDER BY {order}").to_arrow_table()
        path = out / f"{layout}-{file_mb}mb"
        write_deltalake(path, data, target_file_size=file_mb * 1024 * 1024)
        tables[layout] = path
    return tables


def batch(con: duckdb.DuckDBPyConnection, table: Path, share: float, picked: str) -> pa.Table:
    """`share` of the rows with l_quantity changed; `picked` = 'neighbours' (a key run) or 'random'."""
    source = DeltaTable(str(table)).to_pyarrow_dataset()
    con.register("t", source)
    count = con.sql("SELECT count(*) FROM t").fetchall()[0][0]
    size = max(1, int(count * share))
    order = "l_orderkey DESC, l_linenumber" if picked == "neighbours" else "hash(l_orderkey * 31 + l_linenumber)"
    return con.sql(f"SELECT * REPLACE (l_quantity + 1 AS l_quantity) FROM t ORDER BY {order} LIMIT {size}").to_arrow_table()


def merge_once(table: Path, source: pa.Table, streamed: bool) -> MergeResult:
    work = Path(tempfile.mkdtemp(prefix="merge-layout-"))
    try:
        shutil.copytree(table, work / "t")
        target = DeltaTable(str(work / "t"))
        files_before = len(target.file_uris())
        started = time.perf_counter()
        metrics = (
            target.merge(source, predicate=" AND ".join(f"t.{k} = s.{k}" for k in KEYS), source_alias="s",
                         target_alias="t", streamed_exec=streamed)
            .when_matched_update_all()
            .execute()
        )
        seconds = time.perf_counter() - started
        return {"seconds": round(seconds, 3), "files": files_before,
                "files_rewritten": metrics.get("num_target_files_removed"),
                "rows_copied": metrics.get("num_target_rows_copied")}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--rows", type=int, default=600_000)
    parser.add_argument("--share", type=float, default=0.01)
    parser.add_argument("--file-mb", type=int, nargs="+", default=[8, 32])
    args = parser.parse_args(argv)
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="merge-layout-tables-") as tmp:
        for file_mb in args.file_mb:
            tables = build_tables(args.csv, args.rows, Path(tmp), file_mb)
            con = duckdb.connect()
            for layout, picked, streamed in itertools.product(tables, ("neighbours", "random"), (True, False)):
                source = batch(con, tables[layout], args.share, picked)
                row = {"layout": layout, "file_mb": file_mb, "batch": picked, "streamed_exec": streamed,
                       "batch_rows": source.num_rows, **merge_once(tables[layout], source, streamed)}
                print(json.dumps(row), flush=True)
                results.append(row)


if __name__ == "__main__":
    main()
