"""The embedded engine reads tables with deletion vectors: every read path leaves the deleted rows
out (DuckDB's Parquet scan with the anti-join, delta-rs's DataFusion scan as the fallback), counts
live rows, and `optimize` purges the vectors without changing what is read."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from lakehouse.core.config import Settings
from lakehouse.engines.embedded import deletion_vectors as dv
from lakehouse.engines.embedded.engine import EmbeddedEngine
from lakehouse.spec.model import TableRef

REF = TableRef("silver", "people")


@pytest.fixture
def engine(tmp_path):
    settings = Settings.load(landing=str(tmp_path / "landing"), warehouse=str(tmp_path / "warehouse"), engine="embedded")
    engine = EmbeddedEngine(settings)
    uri = engine.table_uri(REF)
    for part in range(3):
        ids = list(range(part * 10, part * 10 + 10))
        write_deltalake(uri, pa.table({"id": pa.array(ids, pa.int64()), "name": [f"n{i}" for i in ids]}),
                        mode="append")
    dv.upsert_with_deletion_vectors(
        uri, pa.table({"id": pa.array([3, 14, 15, 40], pa.int64()), "name": ["u3", "u14", "u15", "new40"]}), ["id"])
    return engine


def _expected() -> dict[int, str]:
    rows = {i: f"n{i}" for i in range(30)}
    return rows | {3: "u3", 14: "u14", 15: "u15", 40: "new40"}


def _as_dict(table: pa.Table) -> dict[int, str]:
    return dict(zip(table.column("id").to_pylist(), table.column("name").to_pylist(), strict=True))


def test_every_read_leaves_deleted_rows_out(engine):
    assert sum(1 for add in dv.active_files(Path(engine.table_uri(REF))).values()
               if add.get("deletionVector")) == 2
    assert _as_dict(engine.read_table(REF)) == _expected()
    assert _as_dict(engine.read_table(REF, columns=["id", "name"])) == _expected()
    keys = pa.table({"id": pa.array([3, 4, 14, 99], pa.int64())})
    assert _as_dict(engine.read_matching(REF, keys, ["id"])) == {3: "u3", 4: "n4", 14: "u14"}
    assert engine.table_row_count(REF) == 31
    assert engine.dataset(REF).count_rows() == 31


def test_time_travel_reads_the_version_before_the_vectors(engine):
    assert _as_dict(engine.read_table(REF, version=2)) == {i: f"n{i}" for i in range(30)}
    assert engine.table_row_count(REF, version=2) == 30


def test_the_fallback_scan_applies_the_vectors_too(engine, monkeypatch):
    # A column no data file has yet makes DuckDB's scan give up; delta-rs's scan must still drop deleted rows.
    from lakehouse.engines.embedded import parquet_reads

    monkeypatch.setattr(parquet_reads, "_query", lambda *args, **kwargs: None)
    assert _as_dict(engine.read_table(REF)) == _expected()
    keys = pa.table({"id": pa.array([3, 4], pa.int64())})
    assert _as_dict(engine.read_matching(REF, keys, ["id"])) == {3: "u3", 4: "n4"}


def test_optimize_purges_the_vectors_and_keeps_the_rows(engine):
    result = engine.optimize(REF, min_deleted_share=0)
    assert result["ref"] == "silver.people" and result["files_rewritten"] == 2 and result["rows_purged"] == 3
    assert not any(add.get("deletionVector") for add in dv.active_files(Path(engine.table_uri(REF))).values())
    assert _as_dict(engine.read_table(REF)) == _expected()
    assert engine.optimize(REF, min_deleted_share=0)["version"] is None
