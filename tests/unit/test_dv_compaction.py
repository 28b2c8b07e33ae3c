"""Compaction that purges deletion vectors: the rows delta-rs and Polars read are the same before and
after, the threshold picks the files, the commit is one OPTIMIZE with dataChange false, and a
concurrent commit makes it fail rather than lose data."""

from __future__ import annotations

import json
from pathlib import Path

import polars
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from lakehouse.engines.embedded import deletion_vectors as dv
from lakehouse.engines.embedded.deletion_vectors import compaction
from tests.delta_readers import names_by_id


def _polars_rows(uri: str) -> dict[int, str]:
    frame = polars.read_delta(uri)
    return dict(zip(frame["id"].to_list(), frame["name"].to_list(), strict=True))


def _table_with_dvs(path: Path) -> tuple[str, dict[str, dict], dict[int, str]]:
    """Files of ids 0-9, 10-19 and 20-29; an upsert deletes half of the first, one row of the second
    and all of the third (their new values land in a fourth file). Returns the DV'd files by first id."""
    uri = str(path)
    for part in range(3):
        ids = list(range(part * 10, part * 10 + 10))
        write_deltalake(uri, pa.table({"id": pa.array(ids, pa.int64()), "name": [f"n{i}" for i in ids]}), mode="append")
    changed = [0, 1, 2, 3, 4, 10, *range(20, 30)]
    dv.upsert_with_deletion_vectors(uri, pa.table({"id": pa.array(changed, pa.int64()),
                                                   "name": [f"u{i}" for i in changed]}), ["id"])
    by_first_id = {}
    for add in dv.active_files(path).values():
        if add.get("deletionVector"):
            by_first_id[json.loads(add["stats"])["minValues"]["id"]] = add
    assert sorted(by_first_id) == [0, 10, 20]
    expected = {i: f"n{i}" for i in range(30)} | {i: f"u{i}" for i in changed}
    assert names_by_id(uri) == expected
    return uri, by_first_id, expected


def _commit(path: Path, version: int) -> list[dict]:
    lines = (path / "_delta_log" / f"{version:020d}.json").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_compaction_rewrites_files_over_the_threshold_and_keeps_the_rows(tmp_path):
    path = tmp_path / "t"
    uri, dved, expected = _table_with_dvs(path)
    read_version = DeltaTable(uri).version()

    result = dv.compact_deleted_files(uri, min_deleted_share=0.2)
    assert result.version == read_version + 1 == DeltaTable(uri).version()
    # Half of the first file and all of the third; the second (1 in 10) is below the threshold.
    assert (result.files_rewritten, result.rows_purged, result.rows_kept) == (2, 15, 5)
    assert result.bytes_before == dved[0]["size"] + dved[20]["size"] and result.bytes_after > 0
    assert names_by_id(uri) == _polars_rows(uri) == expected
    live = dv.active_files(path)
    assert dved[0]["path"] not in live and dved[20]["path"] not in live, "rewritten and fully deleted files are gone"
    assert live[dved[10]["path"]]["deletionVector"] == dved[10]["deletionVector"], "below the threshold: untouched"

    actions = _commit(path, result.version)
    info = actions[0]["commitInfo"]
    assert info["operation"] == "OPTIMIZE" and info["operationParameters"]["minDeletedShare"] == "0.2"
    assert info["operationMetrics"]["numRemovedFiles"] == "2" and info["operationMetrics"]["numAddedFiles"] == "1"
    removes = [a["remove"] for a in actions if "remove" in a]
    adds = [a["add"] for a in actions if "add" in a]
    assert not any("cdc" in a for a in actions)
    assert {r["path"] for r in removes} == {dved[0]["path"], dved[20]["path"]}
    assert all(r["dataChange"] is False and r["deletionVector"] for r in removes)
    assert len(adds) == 1 and adds[0]["dataChange"] is False and "deletionVector" not in adds[0]
    assert json.loads(adds[0]["stats"])["numRecords"] == 5
    # The new file has the table's physical schema.
    schema = pa.schema(DeltaTable(uri).schema().to_arrow())
    assert (path / adds[0]["path"]).exists()
    assert polars.read_parquet(path / adds[0]["path"]).columns == schema.names
    assert DeltaTable(uri).history(1)[0]["operation"] == "OPTIMIZE"

    # Nothing over the threshold: no commit.
    again = dv.compact_deleted_files(uri, min_deleted_share=0.2)
    assert again == dv.CompactionResult(None, 0, 0, 0, 0, 0)
    assert DeltaTable(uri).version() == result.version

    # 0 rewrites every file that still has a DV.
    last = dv.compact_deleted_files(uri, min_deleted_share=0)
    assert (last.version, last.files_rewritten, last.rows_purged, last.rows_kept) == (result.version + 1, 1, 1, 9)
    assert not any(add.get("deletionVector") for add in dv.active_files(path).values())
    assert names_by_id(uri) == _polars_rows(uri) == expected


def test_a_table_without_deletion_vectors_needs_nothing(tmp_path):
    uri = str(tmp_path / "plain")
    write_deltalake(uri, pa.table({"id": pa.array([1, 2], pa.int64()), "name": ["a", "b"]}))
    assert dv.compact_deleted_files(uri, min_deleted_share=0).version is None
    assert DeltaTable(uri).version() == 0


def test_a_concurrent_commit_makes_compaction_fail(tmp_path, monkeypatch):
    path = tmp_path / "t"
    uri, _, expected = _table_with_dvs(path)
    replay = compaction.active_files

    def replay_then_another_writer_commits(table_dir: Path) -> dict[str, dict]:
        files = replay(table_dir)
        write_deltalake(uri, pa.table({"id": pa.array([100], pa.int64()), "name": ["late"]}), mode="append")
        return files

    monkeypatch.setattr(compaction, "active_files", replay_then_another_writer_commits)
    with pytest.raises(dv.CommitConflictError, match="another writer"):
        dv.compact_deleted_files(uri, min_deleted_share=0)
    # The other writer's row is there and no DV was purged.
    assert names_by_id(uri) == expected | {100: "late"}
    assert sum(bool(add.get("deletionVector")) for add in dv.active_files(path).values()) == 3


def test_tables_it_cannot_compact_are_refused_with_a_hint(tmp_path):
    with pytest.raises(dv.DeletionVectorError, match="not a local table") as remote:
        dv.compact_deleted_files("s3://bucket/silver/customer")
    assert remote.value.hint
    with pytest.raises(dv.DeletionVectorError, match="not a Delta table"):
        dv.compact_deleted_files(str(tmp_path / "missing"))
    partitioned = str(tmp_path / "partitioned")
    write_deltalake(partitioned, pa.table({"id": pa.array([1], pa.int64()), "day": ["d"]}), partition_by=["day"])
    with pytest.raises(dv.DeletionVectorError, match="partitioned") as error:
        dv.compact_deleted_files(partitioned)
    assert "unpartitioned" in str(error.value.hint)
    with pytest.raises(dv.DeletionVectorError, match="outside 0..1"):
        dv.compact_deleted_files(partitioned, min_deleted_share=1.5)
