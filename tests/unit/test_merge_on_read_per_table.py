"""Merge-on-read per table in the embedded engine: the plan's choice (the spec's merge_on_read) wins
over the engine's default, an unset choice follows the table's delta.enableDeletionVectors, and a
false choice on a table switched on rewrites files and switches the table off."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from lakehouse.core.config import Settings
from lakehouse.core.merge_plan import DELETION_VECTORS_PROPERTY, MergePlan
from lakehouse.engines.base import Transaction
from lakehouse.engines.embedded.engine import EmbeddedEngine
from lakehouse.spec.model import TableRef

REF = TableRef("silver", "people")
OURS = "local-lakehouse merge-on-read"
COLUMNS = {"id": "s.id", "name": "s.name"}


def _engine(tmp_path: Path, *, default: bool, properties: dict[str, str] | None = None) -> EmbeddedEngine:
    settings = Settings.load(landing=str(tmp_path / "landing"), warehouse=str(tmp_path / "warehouse"), env={})
    engine = EmbeddedEngine(settings.with_overrides(merge_on_read=default))
    for part in range(2):
        ids = list(range(part * 5, part * 5 + 5))
        write_deltalake(engine.table_uri(REF), pa.table({"id": pa.array(ids, pa.int64()), "name": [f"n{i}" for i in ids]}),
                        mode="append", configuration=properties)
    return engine


def _merge(engine: EmbeddedEngine, deletion_vectors: bool | None, ids: list[int], batch_id: int = 1) -> None:
    plan = MergePlan(on="t.id = s.id", update_condition=None, update_set=COLUMNS, insert_values=COLUMNS,
                     deletion_vectors=deletion_vectors)
    source = pa.table({"id": pa.array(ids, pa.int64()), "name": [f"u{i}" for i in ids]})
    engine.merge(REF, source, plan, Transaction("lakehouse:silver.people", batch_id), evolve_schema=False)


def _commits(engine: EmbeddedEngine) -> list[dict]:
    return [next(json.loads(line)["commitInfo"] for line in path.read_text().splitlines() if '"commitInfo"' in line)
            for path in sorted(Path(engine.table_uri(REF), "_delta_log").glob("*.json"))]


def _merged_by(engine: EmbeddedEngine) -> str:
    return next(c["engineInfo"] for c in reversed(_commits(engine)) if c["operation"] == "MERGE")


def _rows(engine: EmbeddedEngine) -> dict[int, str]:
    table = engine.read_table(REF)
    return dict(zip(table.column("id").to_pylist(), table.column("name").to_pylist(), strict=True))


@pytest.mark.parametrize(("option", "default", "by_deletion_vectors"), [
    (True, False, True), (False, True, False), (None, True, True), (None, False, False)],
    ids=["true-over-default-off", "false-over-default-on", "unset-default-on", "unset-default-off"])
def test_the_tables_option_wins_over_the_engines_default(tmp_path, option, default, by_deletion_vectors):
    engine = _engine(tmp_path, default=default)
    _merge(engine, option, [1, 7, 20])
    assert (_merged_by(engine) == OURS) is by_deletion_vectors
    assert _rows(engine) == {i: f"n{i}" for i in range(10)} | {1: "u1", 7: "u7", 20: "u20"}


def test_unset_follows_the_tables_own_property(tmp_path):
    engine = _engine(tmp_path, default=False, properties={DELETION_VECTORS_PROPERTY: "true"})
    _merge(engine, None, [2])
    assert _merged_by(engine) == OURS


def test_false_on_a_table_switched_on_rewrites_files_and_switches_it_off(tmp_path):
    engine = _engine(tmp_path, default=True)
    _merge(engine, True, [1, 6], batch_id=1)
    assert DeltaTable(engine.table_uri(REF)).metadata().configuration[DELETION_VECTORS_PROPERTY] == "true"

    _merge(engine, False, [1, 2, 30], batch_id=2)
    commits = _commits(engine)
    assert [c["operation"] for c in commits[-2:]] == ["SET TBLPROPERTIES", "MERGE"]
    assert commits[-1]["engineInfo"] != OURS
    table = DeltaTable(engine.table_uri(REF))
    assert table.metadata().configuration[DELETION_VECTORS_PROPERTY] == "false"
    # delta-rs's property setter would add this reader feature, which some readers refuse.
    assert "variantType" not in (table.protocol().reader_features or [])
    assert _rows(engine) == {i: f"n{i}" for i in range(10)} | {1: "u1", 2: "u2", 6: "u6", 30: "u30"}
    assert engine.already_committed(REF, Transaction("lakehouse:silver.people", 2))

    # Unset now: the table's property (false) decides, over the engine's default (on).
    _merge(engine, None, [3], batch_id=3)
    assert _merged_by(engine) != OURS and len(_commits(engine)) == len(commits) + 1
