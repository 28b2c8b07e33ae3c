"""The multi-input planner (lakehouse.runtime.fact_inputs) and the Spark driver's fact flow around it, against a
fake version source: which version range of each change feed a batch reads, where the offset log
lives, and that a batch interrupted after its commit is replayed with the same ranges. The strategy
is replaced by a recorder (its SQL is tested in test_fact_parity.py; with Delta in test_delta_tpch.py),
so no Delta jars are needed; the feeds are real Spark DataFrames."""

from __future__ import annotations

import json

import pytest

from lakehouse.core.checkpoints import CheckpointLog
from lakehouse.core.storage import Storage
from lakehouse.kinds.base import BatchResult, Reads
from lakehouse.kinds.registry import STRATEGIES
from lakehouse.runtime import fact_inputs as multi_input
from lakehouse.spec.model import Kind, TableRef
from lakehouse.spec.sales import FACT_SALES

pytestmark = pytest.mark.spark

ORDERS, LINES, DIM = FACT_SALES.upstream


class FakeFeeds:
    """Tables as lists of change rows per commit version; read_changes returns a Spark DataFrame."""

    def __init__(self, spark=None, settings=None) -> None:
        self.spark = spark
        self.settings = settings
        self.storage = Storage(settings.s3) if settings is not None else None
        self.commits: dict[TableRef, list[list[int]]] = {}
        self.reads: list[tuple[TableRef, int, int]] = []

    def commit(self, ref: TableRef, *keys: int) -> None:
        self.commits.setdefault(ref, []).append(list(keys))

    def table_version(self, ref: TableRef) -> int | None:
        return len(self.commits[ref]) - 1 if ref in self.commits else None

    def read_changes(self, ref: TableRef, start_version: int, end_version: int, columns=None):
        self.reads.append((ref, start_version, end_version))
        rows = [(key, version) for version in range(start_version, end_version + 1)
                for key in self.commits[ref][version]]
        return self.spark.createDataFrame(rows, schema="key BIGINT, _commit_version BIGINT")


def ranges(planned) -> dict[str, tuple[int, int]]:
    return {name: (e["start_version"], e["end_version"]) for name, e in planned.payload["inputs"].items()}


@pytest.fixture
def log(tmp_path) -> CheckpointLog:
    return CheckpointLog(Storage(None), str(tmp_path / "log"))


def test_first_plan_reads_every_input_from_version_zero(log):
    source = FakeFeeds()
    source.commit(ORDERS, 10)
    source.commit(ORDERS, 11)
    source.commit(LINES, 10)
    source.commit(DIM, 1)
    planned = multi_input.plan_inputs(source, FACT_SALES, log, lambda m: None)
    assert planned.batch_id == 0
    assert ranges(planned) == {"silver.orders": (0, 1), "silver.lineitem": (0, 0), "gold.dim_customer": (0, 0)}
    # The first input's range is repeated at the top level, where `status` looks for it.
    assert (planned.payload["upstream"], planned.payload["start_version"], planned.payload["end_version"]) == (
        "silver.orders", 0, 1)


def test_next_plan_starts_after_the_last_committed_batch(log, spark):
    source = FakeFeeds(spark)
    for ref in (ORDERS, LINES, DIM):
        source.commit(ref, 1)
    first = multi_input.plan_inputs(source, FACT_SALES, log, lambda m: None)
    log.commit(first.batch_id, {})
    assert multi_input.plan_inputs(source, FACT_SALES, log, lambda m: None) is None, "nothing new: no batch"
    source.commit(DIM, 2)
    second = multi_input.plan_inputs(source, FACT_SALES, log, lambda m: None)
    assert second.batch_id == 1
    # Unchanged inputs get an empty range (start = end + 1) but keep their version to read as of.
    assert ranges(second) == {"silver.orders": (1, 0), "silver.lineitem": (1, 0), "gold.dim_customer": (1, 1)}
    feeds, versions = multi_input.batch_inputs(source, second)
    assert feeds[ORDERS] is None and feeds[LINES] is None and feeds[DIM] is not None
    assert versions == {ORDERS: 0, LINES: 0, DIM: 1}


def test_no_plan_while_an_input_does_not_exist(log):
    source = FakeFeeds()
    source.commit(ORDERS, 1)
    source.commit(LINES, 1)
    messages = []
    assert multi_input.plan_inputs(source, FACT_SALES, log, messages.append) is None
    assert messages == ["gold.fact_sales: waiting for gold.dim_customer, which does not exist yet "
                        "(run the pipeline that builds it)"]
    assert list(log.planned_payloads()) == []


class RecordingFact:
    """Stands in for FactBuild: records what the driver hands it and whether the feeds are cached."""

    kind = Kind.FACT
    reads = Reads.CHANGE_FEEDS

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def feed_columns(self, engine, spec):
        return {}

    def process_batch(self, engine, spec, feeds, versions, batch_id):
        self.calls.append({
            "batch_id": batch_id,
            "versions": dict(versions),
            "keys": {ref: None if feed is None else sorted(r["key"] for r in feed.collect())
                     for ref, feed in feeds.items()},
            "cached": {ref: feed.is_cached for ref, feed in feeds.items() if feed is not None},
        })
        self.last_feeds = feeds
        return BatchResult(str(spec.ref), batch_id, rows_written=1, committed=True)


@pytest.fixture
def spark_fact(spark, settings, monkeypatch):
    from lakehouse.runtime.drivers.streaming import SparkDriver

    source = FakeFeeds(spark, settings)
    recorder = RecordingFact()
    monkeypatch.setitem(STRATEGIES, Kind.FACT, recorder)
    return source, recorder, SparkDriver(source)


def test_spark_driver_runs_the_fact_as_one_batch_over_cached_feeds(spark_fact, settings, tmp_path):
    source, recorder, driver = spark_fact
    source.commit(ORDERS, 10, 11)
    source.commit(LINES, 10)
    source.commit(LINES, 11)
    source.commit(DIM, 1)
    results = driver.run_table(FACT_SALES)
    assert [(r.batch_id, r.committed) for r in results] == [(0, True)]
    (call,) = recorder.calls
    assert call["keys"] == {ORDERS: [10, 11], LINES: [10, 11], DIM: [1]}
    assert call["versions"] == {ORDERS: 0, LINES: 1, DIM: 0}
    assert all(call["cached"].values()), "the strategy reads each feed several times: it gets them cached"
    assert not any(feed.is_cached for feed in recorder.last_feeds.values()), "released after the batch"
    root = tmp_path / "warehouse" / "_checkpoints" / "gold" / "fact_sales" / "spark" / "inputs"
    offsets = json.loads((root / "offsets" / f"{0:020d}.json").read_text())
    assert offsets["inputs"]["silver.lineitem"] == {"start_version": 0, "end_version": 1}
    assert json.loads((root / "commits" / f"{0:020d}.json").read_text())["rows_written"] == 1
    assert driver.run_table(FACT_SALES) == [], "nothing new: no batch, no strategy call"
    assert len(recorder.calls) == 1


def test_spark_driver_replays_an_unfinished_batch_with_its_planned_ranges(spark_fact):
    source, recorder, driver = spark_fact
    for ref in (ORDERS, LINES, DIM):
        source.commit(ref, 1)
    driver.run_table(FACT_SALES)
    # A crash after the Delta commit, before commits/0: the offset log still has offsets/0 only.
    log = driver.multi_input_log(FACT_SALES)
    source.storage.delete_file(f"{log.root}/commits/{0:020d}.json")
    source.commit(ORDERS, 2)  # arrived meanwhile: belongs to the next batch, not to the replay
    results = driver.run_table(FACT_SALES)
    assert [r.batch_id for r in results] == [0, 1]
    replay, new = recorder.calls[1:]
    assert replay["keys"] == {ORDERS: [1], LINES: [1], DIM: [1]} and replay["versions"] == {ORDERS: 0, LINES: 0, DIM: 0}
    assert new["keys"] == {ORDERS: [2], LINES: None, DIM: None} and new["versions"] == {ORDERS: 1, LINES: 0, DIM: 0}
    assert source.reads[-4:] == [(ORDERS, 0, 0), (LINES, 0, 0), (DIM, 0, 0), (ORDERS, 1, 1)]


def test_a_changed_source_schema_is_told_apart_from_other_query_failures():
    from lakehouse.core.errors import LakehouseError
    from lakehouse.runtime.drivers.streaming import source_schema_changed

    def failed_query(cause_text: str) -> LakehouseError:
        try:
            try:
                raise RuntimeError(cause_text)
            except RuntimeError as cause:
                raise LakehouseError("silver.customer: the streaming query failed") from cause
        except LakehouseError as wrapped:
            return wrapped

    assert source_schema_changed(failed_query("[DELTA_SCHEMA_CHANGED_WITH_VERSION] Detected schema change in version 3"))
    assert not source_schema_changed(failed_query("[DELTA_MISSING_DELTA_TABLE] not a Delta table"))


def test_a_query_stopped_by_a_source_schema_change_is_restarted_a_bounded_number_of_times(settings):
    from lakehouse.core.errors import LakehouseError
    from lakehouse.runtime.drivers import streaming as streams
    from lakehouse.spec.pipelines import CUSTOMER

    messages = []
    driver = streams.SparkDriver(FakeFeeds(settings=settings), messages.append)
    attempts = []

    def query_failing(times: int, text: str):
        def run_query(spec, results):
            attempts.append(spec.ref)
            if len(attempts) <= times:
                results.append(BatchResult(str(spec.ref), len(attempts) - 1, committed=True))
                raise LakehouseError(f"{spec.ref}: the streaming query failed: {text}")
        return run_query

    driver._run_query = query_failing(1, "[DELTA_SCHEMA_CHANGED_WITH_VERSION] Detected schema change")
    results = driver.run_table(CUSTOMER)
    assert len(attempts) == 2 and [r.batch_id for r in results] == [0], "batches before the stop are kept"
    assert messages == ["silver.customer: the upstream's schema changed while the query ran; restarting it"]
    attempts.clear()
    driver._run_query = query_failing(99, "[DELTA_SCHEMA_CHANGED_WITH_VERSION] a type change")
    with pytest.raises(LakehouseError, match="DELTA_SCHEMA_CHANGED"):
        driver.run_table(CUSTOMER)
    assert len(attempts) == streams.SCHEMA_CHANGE_RESTARTS + 1
    attempts.clear()
    driver._run_query = query_failing(1, "[DELTA_MISSING_DELTA_TABLE] gone")
    with pytest.raises(LakehouseError, match="DELTA_MISSING_DELTA_TABLE"):
        driver.run_table(CUSTOMER)
    assert len(attempts) == 1, "other failures are not retried"
