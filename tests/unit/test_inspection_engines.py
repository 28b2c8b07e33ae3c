"""Which engine owns a table's checkpoints, and reading Spark's checkpoints without Spark.

The Spark checkpoint files written here copy what a real Spark run writes (tests/spark/
test_mixed_engines.py checks the same reads against a real run)."""

from __future__ import annotations

import json
import os

import pytest

from lakehouse.core.checkpoints import MixedEnginesError, check_engine, record_engine, table_engine
from lakehouse.core.config import Settings
from lakehouse.core.errors import LakehouseError
from lakehouse.core.storage import Storage
from lakehouse.engines.base import Transaction
from lakehouse.kinds.base import open_batch
from lakehouse.ops.checkpoint_views import EmbeddedCheckpoints, SparkCheckpoints
from lakehouse.ops.inspection import Inspector
from lakehouse.spec.pipelines import CUSTOMER_PIPELINE

BRONZE, SILVER = CUSTOMER_PIPELINE.tables[0], CUSTOMER_PIPELINE.tables[1]
HEADER = "c_custkey,c_name,c_address,c_nationkey,c_phone,c_acctbal,c_mktsegment,c_comment\n"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.load(landing=str(tmp_path / "landing"), warehouse=str(tmp_path / "wh"), env={})


def _write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


def _ms(path: str) -> int:
    return os.stat(path).st_mtime_ns // 1_000_000


def _root(settings: Settings, spec) -> str:
    return settings.checkpoint_uri(spec.ref.schema, spec.ref.name)


def test_owner_is_the_engine_whose_checkpoints_exist(settings):
    storage, root = Storage(), _root(settings, BRONZE)
    assert table_engine(storage, root) is None
    check_engine(storage, root, "spark", "bronze.customer_raw", "customer")  # nothing there: anyone may start
    record_engine(storage, root, "spark")
    assert not os.path.exists(f"{root}/engine.json"), "no marker before the engine wrote checkpoints"
    _write(f"{root}/offsets/{0:020d}.json", "{}")
    assert table_engine(storage, root) == "embedded"
    check_engine(storage, root, "embedded", "bronze.customer_raw", "customer")
    with pytest.raises(MixedEnginesError) as refused:
        check_engine(storage, root, "spark", "bronze.customer_raw", "customer")
    message = str(refused.value)
    assert "bronze.customer_raw was written by the embedded engine" in message
    assert "--engine embedded" in message
    assert "lakehouse reset --pipeline customer --table bronze.customer_raw --yes" in message
    record_engine(storage, root, "embedded")
    assert json.loads(open(f"{root}/engine.json").read()) == {"engine": "embedded"}


def test_marker_refuses_the_other_engine_and_both_folders_refuse_everyone(settings):
    storage, root = Storage(), _root(settings, SILVER)
    _write(f"{root}/spark/bronze.customer_raw/commits/0", "v1\n{}\n")
    record_engine(storage, root, "spark")
    assert table_engine(storage, root) == "spark"
    check_engine(storage, root, "spark", "silver.customer", "customer")
    with pytest.raises(MixedEnginesError, match="(?s)written by the spark engine.*--engine spark"):
        check_engine(storage, root, "embedded", "silver.customer", "customer")
    _write(f"{root}/commits/{0:020d}.json", "{}")  # an older version let both engines write
    for engine in ("spark", "embedded"):
        with pytest.raises(MixedEnginesError, match="written by both engines") as refused:
            check_engine(storage, root, engine, "silver.customer", "customer")
        assert "--engine" not in str(refused.value).split("hint:")[1].split("rebuild")[0]


def _spark_bronze_checkpoint(root: str, landing: str, batches: list[list[str]], committed: int) -> None:
    flow = f"{root}/spark/files"
    _write(f"{flow}/metadata", json.dumps({"id": "x"}))
    for batch_id, names in enumerate(batches):
        _write(f"{flow}/offsets/{batch_id}", 'v1\n{"batchWatermarkMs":0}\n' + json.dumps({"logOffset": batch_id}))
        lines = [json.dumps({"path": f"file://{landing}/{name}", "timestamp": _ms(f"{landing}/{name}"),
                             "batchId": batch_id}) for name in names]
        _write(f"{flow}/sources/0/{batch_id}", "v1\n" + "\n".join(lines) + "\n")
        if batch_id <= committed:
            _write(f"{flow}/commits/{batch_id}", 'v1\n{"nextBatchWatermarkMs":0}')


def test_spark_bronze_checkpoint_gives_last_batch_pending_files_and_landed_records(settings):
    _storage, root = Storage(), _root(settings, BRONZE)
    landing = f"{settings.landing}/customer"
    for name, rows in (("a.csv", 2), ("b.csv", 1), ("c.csv", 3), ("d.csv", 1)):
        _write(f"{landing}/{name}", HEADER + "".join(f"{i},N,a,1,p,1.00,S,c\n" for i in range(rows)))
    # batch 0 took a and b, batch 1 took c (committed), batch 2 took d but has not committed
    _spark_bronze_checkpoint(root, landing, [["a.csv", "b.csv"], ["c.csv"], ["d.csv"]], committed=1)
    inspector = Inspector(settings, Storage())
    view = inspector.checkpoints(BRONZE)
    assert isinstance(view, SparkCheckpoints) and view.engine == "spark"
    assert view.last_batch() == {"batch_id": 1, "files": 1}
    assert [info.name for info in view.discover_files().pending] == ["d.csv"]
    assert view.landed_records() == {f"{landing}/a.csv": 2, f"{landing}/b.csv": 1, f"{landing}/c.csv": 3}
    with open(f"{landing}/b.csv", "a") as handle:  # re-uploaded after Spark took it: cannot be recounted
        handle.write("7,N,a,1,p,1.00,S,c\n")
    os.utime(f"{landing}/b.csv", ns=(os.stat(f"{landing}/b.csv").st_mtime_ns + 5_000_000,) * 2)
    assert view.landed_records()[f"{landing}/b.csv"] == -1


def test_spark_compacted_file_log_is_read_from_the_newest_compact(settings):
    storage, root = Storage(), _root(settings, BRONZE)
    landing = f"{settings.landing}/customer"
    for name in ("a.csv", "b.csv", "c.csv"):
        _write(f"{landing}/{name}", HEADER + "1,N,a,1,p,1.00,S,c\n")
    flow = f"{root}/spark/files"
    entry = lambda name, b: json.dumps({"path": f"file://{landing}/{name}", "timestamp": 1, "batchId": b})  # noqa: E731
    # (timestamp 1: not the files' modification time, as if re-uploaded after Spark took them)
    for batch_id in range(11):
        _write(f"{flow}/offsets/{batch_id}", "v1\n{}\n{}")
        _write(f"{flow}/commits/{batch_id}", "v1\n{}")
    _write(f"{flow}/sources/0/9.compact", "v1\n" + entry("a.csv", 0) + "\n" + entry("b.csv", 9) + "\n")
    _write(f"{flow}/sources/0/10", "v1\n" + entry("c.csv", 10) + "\n")
    view = Inspector(settings, storage).checkpoints(BRONZE)
    assert view.last_batch() == {"batch_id": 10, "files": 1}
    assert view.discover_files().pending == []
    assert view.landed_records() == {f"{landing}/{n}": -1 for n in ("a.csv", "b.csv", "c.csv")}


def test_spark_change_flow_offset_gives_the_upstream_versions_read(settings):
    root = _root(settings, SILVER)
    flow = f"{root}/spark/bronze.customer_raw"
    offset = {"sourceVersion": 1, "reservoirId": "r", "reservoirVersion": 3, "index": -1, "isStartingVersion": False}
    _write(f"{flow}/offsets/0", 'v1\n{"batchWatermarkMs":0}\n' + json.dumps({**offset, "reservoirVersion": 1}))
    _write(f"{flow}/commits/0", "v1\n{}")
    _write(f"{flow}/offsets/1", 'v1\n{"batchWatermarkMs":0}\n' + json.dumps(offset))
    view = Inspector(settings, Storage()).checkpoints(SILVER)
    assert view.last_batch() == {"batch_id": 0, "upstream_version": 0}  # batch 1 is planned, not committed
    _write(f"{flow}/commits/1", "v1\n{}")
    assert view.last_batch() == {"batch_id": 1, "upstream_version": 2}
    assert view.upstream_version_done() == 2


def test_embedded_checkpoints_remain_the_default_view(settings):
    view = Inspector(settings, Storage()).checkpoints(SILVER)
    assert isinstance(view, EmbeddedCheckpoints) and view.engine is None
    assert view.last_batch() is None and view.upstream_version_done() == -1


class _Engine:
    """already_committed over one recorded transaction version."""

    def __init__(self, landed: int | None) -> None:
        self.landed = landed

    def already_committed(self, ref, txn: Transaction) -> bool:
        return self.landed is not None and self.landed >= txn.batch_id


def test_a_batch_is_skipped_as_replay_only_when_it_is_the_last_one_landed():
    assert not open_batch(_Engine(None), SILVER, 0, 1)[0].skipped_as_replay
    assert not open_batch(_Engine(2), SILVER, 3, 1)[0].skipped_as_replay
    assert open_batch(_Engine(3), SILVER, 3, 1)[0].skipped_as_replay
    with pytest.raises(LakehouseError, match="already holds a later batch"):
        open_batch(_Engine(4), SILVER, 3, 1)


def test_spark_fact_reads_its_own_offset_log_under_spark_inputs(settings):
    from lakehouse.core.checkpoints import CheckpointLog
    from lakehouse.spec.pipelines import FACT_SALES

    root = _root(settings, FACT_SALES)
    log = CheckpointLog(Storage(), f"{root}/spark/inputs")
    inputs = {str(ref): {"start_version": 0, "end_version": 4} for ref in FACT_SALES.upstream}
    log.plan(0, {"inputs": inputs, "upstream": str(FACT_SALES.upstream[0]), "start_version": 0, "end_version": 4})
    log.commit(0, {"rows_in": 7, "rows_written": 6, "committed": True})
    log.plan(1, {"inputs": inputs, "upstream": str(FACT_SALES.upstream[0]), "start_version": 5, "end_version": 6})
    view = Inspector(settings, Storage()).checkpoints(FACT_SALES)
    assert isinstance(view, SparkCheckpoints)
    assert view.last_batch() == {"batch_id": 0, "rows_in": 7, "rows_written": 6, "committed": True}
    assert view.upstream_version_done() == 4  # batch 1 is planned, not committed
