"""The parallel appender writes Delta tables any Delta reader reads as delta-rs's own writer would:
same rows, the table properties, the app transaction, statistics for file skipping."""

import datetime as dt
import os
from decimal import Decimal

import polars as pl
import pyarrow as pa
import pytest

from lakehouse.core.config import Settings
from lakehouse.engines.base import Transaction
from lakehouse.engines.embedded import parallel_append
from lakehouse.engines.embedded.engine import EmbeddedEngine
from lakehouse.spec.model import TableRef

REF = TableRef("silver", "parallel")
UTC = dt.UTC


@pytest.fixture
def engine(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel_append, "PARALLEL_APPEND_MIN_ROWS", 1)
    monkeypatch.setattr(parallel_append, "ROWS_PER_FILE_AT_LEAST", 1)
    return EmbeddedEngine(Settings(landing=str(tmp_path / "landing"), warehouse=str(tmp_path / "warehouse")))


def rows(start: int, count: int) -> pa.Table:
    keys = list(range(start, start + count))
    return pa.table({
        "k": pa.array(keys, pa.int64()),
        "amount": pa.array([Decimal(k) / 100 for k in keys], pa.decimal128(15, 2)),
        "day": pa.array([dt.date(2020, 1, 1) + dt.timedelta(days=k % 50) for k in keys], pa.date32()),
        "at": pa.array([dt.datetime(2026, 1, 1, tzinfo=UTC)] * count, pa.timestamp("us", tz="UTC")),
        "flag": pa.array([k % 2 == 0 for k in keys]),
        "short": pa.array([None if k % 10 == 0 else f"s{k % 3}" for k in keys]),
        "long": pa.array(["x" * 40 + str(k) for k in keys]),
        "hash_value": pa.array([f"{k:064x}" for k in keys]),
    })


def test_readers_see_what_was_appended_with_properties_and_transaction(engine):
    cdf = {"delta.enableChangeDataFeed": "true"}
    engine.append(REF, rows(0, 1000), Transaction("lakehouse:test", 0), properties=cdf, evolve_schema=False)
    engine.append(REF, rows(1000, 500), Transaction("lakehouse:test", 1), properties=cdf, evolve_schema=False)
    table = engine.delta_table(REF)
    assert table.version() == 1
    assert table.metadata().configuration == cdf
    assert engine.already_committed(REF, Transaction("lakehouse:test", 1))
    assert not engine.already_committed(REF, Transaction("lakehouse:test", 2))
    expected = pa.concat_tables([rows(0, 1000), rows(1000, 500)]).sort_by("k")
    assert table.to_pyarrow_table().sort_by("k").equals(expected)
    assert engine.read_table(REF).sort_by("k").equals(expected)  # DuckDB's Parquet reader
    assert pl.read_delta(engine.table_uri(REF)).sort("k").to_arrow().column("hash_value").to_pylist() == \
        expected.column("hash_value").to_pylist()
    assert engine.read_changes(REF, 1, 1).num_rows == 500


def test_statistics_let_readers_skip_files(engine, monkeypatch):
    monkeypatch.setattr(parallel_append.os, "cpu_count", lambda: 2)
    engine.append(REF, rows(0, 1000), Transaction("t", 0), properties={}, evolve_schema=False)
    files = pa.table(engine.delta_table(REF).get_add_actions(flatten=True)).sort_by("min.k").to_pylist()
    assert [(f["num_records"], f["min.k"], f["max.k"]) for f in files] == [(500, 0, 499), (500, 500, 999)]
    first = files[0]
    assert (first["min.amount"], first["max.amount"]) == (Decimal("0.00"), Decimal("4.99"))
    assert (first["min.day"], first["max.day"]) == (dt.date(2020, 1, 1), dt.date(2020, 2, 19))
    assert (first["min.short"], first["max.short"], first["null_count.short"]) == ("s0", "s2", 50)
    assert first.get("min.long") is None and first.get("min.at") is None  # long text, timestamps: no bounds
    assert engine.max_value(REF, "k") == 999


def test_new_columns_go_through_delta_rs_schema_merge(engine):
    engine.append(REF, rows(0, 10), Transaction("t", 0), properties={}, evolve_schema=False)
    wider = rows(10, 10).append_column("extra", pa.array(["e"] * 10))
    assert not parallel_append.can_append_in_parallel(engine.delta_table(REF), wider)
    engine.append(REF, wider, Transaction("t", 1), properties={}, evolve_schema=True)
    assert engine.read_table(REF, columns=["extra"]).column("extra").null_count == 10


def test_files_of_a_write_that_never_committed_are_not_read(engine, monkeypatch):
    """A crash between writing the files and committing them (here: the commit fails) leaves files
    no commit names; the rerun writes the batch again and readers see it once."""
    engine.append(REF, rows(0, 100), Transaction("t", 0), properties={}, evolve_schema=False)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed before the commit")

    monkeypatch.setattr(parallel_append.DeltaTable, "create_write_transaction", crash)
    with pytest.raises(KeyboardInterrupt):
        engine.append(REF, rows(100, 100), Transaction("t", 1), properties={}, evolve_schema=False)
    monkeypatch.undo()
    monkeypatch.setattr(parallel_append, "PARALLEL_APPEND_MIN_ROWS", 1)
    assert not engine.already_committed(REF, Transaction("t", 1))
    engine.append(REF, rows(100, 100), Transaction("t", 1), properties={}, evolve_schema=False)
    table = engine.read_table(REF)
    assert table.num_rows == 200 and sorted(table.column("k").to_pylist()) == list(range(200))
    parquet_files = [name for name in os.listdir(engine.table_uri(REF)) if name.endswith(".parquet")]
    assert len(parquet_files) > len(engine.delta_table(REF).file_uris())  # the orphans are there, unread


def test_statistics_are_valid_json_for_infinite_and_missing_floats(engine, monkeypatch):
    monkeypatch.setattr(parallel_append.os, "cpu_count", lambda: 1)
    data = pa.table({"k": pa.array([1, 2, 3], pa.int64()), "x": pa.array([1.5, float("inf"), None])})
    engine.append(REF, data, Transaction("t", 0), properties={}, evolve_schema=False)
    (stats,) = pa.table(engine.delta_table(REF).get_add_actions(flatten=True)).to_pylist()
    assert (stats["min.k"], stats["max.k"], stats["null_count.x"]) == (1, 3, 1)
    assert stats.get("max.x") is None
    assert engine.read_table(REF).sort_by("k").column("x").to_pylist() == [1.5, float("inf"), None]
