"""What runs inside a benchmark child process (see isolate.py): the floor and pipeline table runs.

Everything here is a module-level function taking and returning plain, picklable values.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from lakehouse.bench.results import FloorResult, FloorTable, TableRun, TablesRun
from lakehouse.core.config import Settings

if TYPE_CHECKING:
    import duckdb


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def scalar_int(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The one integer `sql` returns: a COPY's row count, or an aggregate."""
    row = con.execute(sql).fetchone()
    if row is None:
        raise RuntimeError(f"DuckDB returned no row for: {sql}")
    return int(row[0])


def duckdb_floor(csv_globs: dict[str, str], out_dir: str) -> FloorResult:
    """The floor: DuckDB reads the landed CSVs of every table once and writes them as Parquet.

    Same bytes as the pipeline reads, same machine, same run: the least work any engine must do
    to turn those files into columnar data.
    """
    import duckdb

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    tables: dict[str, FloorTable] = {}
    started = time.perf_counter()
    for table, pattern in csv_globs.items():
        table_started = time.perf_counter()
        target = out / f"{table}.parquet"
        rows = scalar_int(
            con, f"COPY (SELECT * FROM read_csv('{pattern}', header = true)) TO '{target}' (FORMAT parquet)"
        )
        tables[table] = {"rows": rows, "seconds": round(time.perf_counter() - table_started, 3)}
        _say(f"floor: {table} {rows} rows in {tables[table]['seconds']:.2f}s")
    return {"tables": tables, "seconds": round(time.perf_counter() - started, 3)}


def run_tables(settings: Settings, pipeline_name: str, table_names: list[str], drain: bool = True) -> TablesRun:
    """Run `table_names` of the pipeline in order; with `drain`, repeat each until it has nothing new.

    Draining matters for bounded micro-batches (Settings.available_now off): each run plans at most
    one new batch per table.
    """
    from lakehouse.bench.rows_read import latest_version, rows_read
    from lakehouse.core.storage import Storage
    from lakehouse.runtime.runner import Runner
    from lakehouse.spec import get_pipeline

    pipeline = get_pipeline(pipeline_name)
    runner = Runner(settings, Storage(settings.s3), progress=_say)
    results: list[TableRun] = []
    started = time.perf_counter()
    for name in table_names:
        table_started = time.perf_counter()
        spec = pipeline.table(name)
        table_path = settings.table_uri(spec.ref.schema, spec.ref.name)
        version_before = latest_version(table_path)
        rows_in = rows_written = batches = 0
        while True:
            report = runner.run(pipeline, only=name).tables[0]
            batches += len(report.batches)
            rows_in += sum(batch["rows_in"] for batch in report.batches)
            rows_written += report.rows_written
            # availableNow: the run already took every landed file, so a second run would only time an
            # empty one (0.15-0.23 s per table, which the batch figures once included).
            if not drain or not report.batches or settings.available_now:
                break
        seconds = round(time.perf_counter() - table_started, 3)
        # After the clock stops: reading the log is the bench's work, not the pipeline's.
        results.append({"table": name, "batches": batches, "rows_in": rows_in, "rows_written": rows_written,
                        "seconds": seconds, "rows_read": rows_read(table_path, version_before, rows_in)})
    return {"tables": results, "seconds": round(time.perf_counter() - started, 3)}

