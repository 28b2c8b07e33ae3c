"""One warehouse, both engines, for real: a table belongs to the engine that wrote its checkpoints.

Both engines commit under the same app transaction (`lakehouse:<table>`, N) but keep separate
checkpoints, so the engine that did not write a table would re-ingest its files or take its own
batch N for a replay of the other's. A run of the other engine is refused, naming the table, the
engine that wrote it and what to do, and runs nothing; tables split between engines (bronze on one,
silver and gold on the other) work, since each reads its upstream's change feed from its own
checkpoint. `status` and `validate` read the Spark engine's checkpoints after a Spark run."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from lakehouse.core.checkpoints import MixedEnginesError
from lakehouse.core.storage import Storage
from lakehouse.ops.inspection import Inspector
from lakehouse.runtime import runner as runner_module
from lakehouse.spec.pipelines import CUSTOMER_PIPELINE

pytestmark = pytest.mark.spark

HEADER = "c_custkey,c_name,c_address,c_nationkey,c_phone,c_acctbal,c_mktsegment,c_comment\n"
FILE_1 = HEADER + "1,A,addr1,1,111,1.00,BUILDING,x\n2,B,addr2,2,222,2.00,MACHINERY,y\n"
FILE_2 = HEADER + "1,A2,addr1,1,111,1.00,BUILDING,x\n3,C,addr3,3,333,3.00,HOUSEHOLD,z\n"
FILE_3 = HEADER + "2,B3,addr2,2,222,2.00,MACHINERY,y\n"


@pytest.fixture
def lakehouse(on_test_session, settings):
    """Runner(engine) on one warehouse; Spark runs use the test session (not a second, 8-partition one)."""
    return _Lakehouse(settings)


class _Lakehouse:
    def __init__(self, settings) -> None:
        self.settings = settings
        self.storage = Storage(settings.s3)
        self.landed = 0

    def runner(self, engine: str) -> runner_module.Runner:
        return runner_module.Runner(self.settings.with_overrides(engine=engine), self.storage)

    def run(self, engine: str, only: str | None = None):
        return self.runner(engine).run(CUSTOMER_PIPELINE, only=only)

    def land(self, name: str, text: str) -> None:
        path = Path(self.settings.landing) / "customer" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.landed += 1
        stamp = time.time() - 10_000 + self.landed  # landing order explicit on a fast disk
        os.utime(path, (stamp, stamp))

    def inspector(self) -> Inspector:
        return Inspector(self.settings.with_overrides(engine="embedded"), self.storage)

    def rows(self, table: str, *columns: str) -> list[tuple]:
        data = self.inspector().read(table)
        return sorted(zip(*(data.column(c).to_pylist() for c in columns)))

    def version(self, table: str) -> int | None:
        from lakehouse.spec.model import TableRef

        table_ = self.inspector().engine.fresh_delta_table(TableRef.parse(table))
        return None if table_ is None else table_.version()

    def bronze_records(self) -> list[tuple]:
        return self.rows("bronze.customer_raw", "source_filename", "source_row", "c_custkey", "c_name")

    def checkpoint(self, table: str) -> Path:
        schema, name = table.split(".")
        return Path(self.settings.checkpoint_uri(schema, name))


def _refused(lakehouse: _Lakehouse, engine: str, owner: str, table: str) -> None:
    """The run is refused before anything runs, with the table, its engine and both ways out."""
    before = {t: lakehouse.version(t) for t in ("bronze.customer_raw", "silver.customer", "gold.dim_customer")}
    with pytest.raises(MixedEnginesError) as refused:
        lakehouse.run(engine)
    message = str(refused.value)
    assert f"{table} was written by the {owner} engine, not by the {engine} engine" in message
    assert f"--engine {owner}" in message
    assert f"lakehouse reset --pipeline customer --table {table} --yes" in message
    after = {t: lakehouse.version(t) for t in before}
    assert after == before, "a refused run committed something"


def _landing(lakehouse: _Lakehouse, name: str) -> str:
    return f"{lakehouse.settings.landing}/customer/{name}"


def test_embedded_then_spark_is_refused_and_a_split_by_table_works(lakehouse):
    lakehouse.land("part-1.csv", FILE_1)
    lakehouse.run("embedded")
    lakehouse.land("part-2.csv", FILE_2)
    _refused(lakehouse, "spark", "embedded", "bronze.customer_raw")
    assert not (lakehouse.checkpoint("bronze.customer_raw") / "spark").exists()
    assert not (lakehouse.checkpoint("silver.customer") / "spark").exists()
    # --only takes the table asked for: silver on Spark is refused as well (embedded wrote it).
    with pytest.raises(MixedEnginesError, match="silver.customer was written by the embedded engine"):
        lakehouse.run("spark", only="silver.customer")

    # Reset silver and gold (each fed from bronze): bronze stays on the embedded engine, they move to Spark.
    for table in ("silver.customer", "gold.dim_customer"):
        assert lakehouse.runner("embedded").reset(CUSTOMER_PIPELINE, table) == [table]
    lakehouse.run("embedded", only="bronze.customer_raw")
    lakehouse.run("spark", only="silver.customer")
    lakehouse.run("spark", only="gold.dim_customer")
    lakehouse.land("part-3.csv", FILE_3)
    lakehouse.run("embedded", only="bronze.customer_raw")
    lakehouse.run("spark", only="silver.customer")
    lakehouse.run("spark", only="gold.dim_customer")
    with pytest.raises(MixedEnginesError, match="bronze.customer_raw was written by the embedded engine"):
        lakehouse.run("spark")  # the whole pipeline on Spark: bronze is still the embedded engine's

    # Nothing skipped, nothing twice: every landed record once in bronze, the newest per key in silver.
    assert lakehouse.bronze_records() == [
        (_landing(lakehouse, "part-1.csv"), 2, 1, "A"), (_landing(lakehouse, "part-1.csv"), 3, 2, "B"),
        (_landing(lakehouse, "part-2.csv"), 2, 1, "A2"), (_landing(lakehouse, "part-2.csv"), 3, 3, "C"),
        (_landing(lakehouse, "part-3.csv"), 2, 2, "B3"),
    ]
    assert lakehouse.rows("silver.customer", "c_custkey", "c_name") == [(1, "A2"), (2, "B3"), (3, "C")]
    assert lakehouse.rows("gold.dim_customer", "c_custkey", "c_name", "is_current") == [
        (1, "A", False), (1, "A2", True), (2, "B", False), (2, "B3", True), (3, "C", True)]
    status = {row["table"]: row for row in lakehouse.inspector().status(CUSTOMER_PIPELINE)}
    assert {t: row["engine"] for t, row in status.items()} == {
        "bronze.customer_raw": "embedded", "silver.customer": "spark", "gold.dim_customer": "spark"}
    assert [row["files_pending"] if "files_pending" in row else row["versions_pending"] for row in status.values()] \
        == [0, 0, 0]
    checked, violations = lakehouse.inspector().validate(CUSTOMER_PIPELINE)
    assert violations == [] and len(checked) == 3


def test_spark_then_embedded_is_refused_and_status_reads_sparks_checkpoints(lakehouse):
    lakehouse.land("part-1.csv", FILE_1)
    lakehouse.run("spark")
    lakehouse.land("part-2.csv", FILE_2)

    status = {row["table"]: row for row in lakehouse.inspector().status(CUSTOMER_PIPELINE)}
    assert status["bronze.customer_raw"]["engine"] == "spark"
    assert status["bronze.customer_raw"]["last_batch"] == {"batch_id": 0, "files": 1}
    assert status["bronze.customer_raw"]["files_pending"] == 1  # part-2.csv landed after the run
    assert status["silver.customer"]["last_batch"] == {"batch_id": 0, "upstream_version": 0}
    assert status["gold.dim_customer"]["last_batch"] == {"batch_id": 0, "upstream_version": 0}
    assert status["silver.customer"]["versions_pending"] == 0
    assert lakehouse.inspector().validate(CUSTOMER_PIPELINE)[1] == []

    _refused(lakehouse, "embedded", "spark", "bronze.customer_raw")
    assert not list(lakehouse.checkpoint("bronze.customer_raw").glob("offsets/*"))
    lakehouse.run("spark")
    status = {row["table"]: row for row in lakehouse.inspector().status(CUSTOMER_PIPELINE)}
    assert status["bronze.customer_raw"]["last_batch"] == {"batch_id": 1, "files": 1}
    assert status["bronze.customer_raw"]["files_pending"] == 0
    assert status["silver.customer"]["last_batch"] == {"batch_id": 1, "upstream_version": 1}
    assert status["gold.dim_customer"]["last_batch"]["batch_id"] == 1
    assert status["gold.dim_customer"]["versions_pending"] == 0
    assert lakehouse.inspector().validate(CUSTOMER_PIPELINE)[1] == []

    # The reset the error proposes hands the pipeline to the embedded engine, which rebuilds it once.
    lakehouse.runner("embedded").reset(CUSTOMER_PIPELINE, "bronze.customer_raw")
    lakehouse.run("embedded")
    assert lakehouse.bronze_records() == [
        (_landing(lakehouse, "part-1.csv"), 2, 1, "A"), (_landing(lakehouse, "part-1.csv"), 3, 2, "B"),
        (_landing(lakehouse, "part-2.csv"), 2, 1, "A2"), (_landing(lakehouse, "part-2.csv"), 3, 3, "C"),
    ]
    # One batch now holds both of key 1's versions: the last occurrence wins (README, "Dedup order").
    assert lakehouse.rows("gold.dim_customer", "c_custkey", "c_name", "is_current") == [
        (1, "A2", True), (2, "B", True), (3, "C", True)]
    status = {row["table"]: row for row in lakehouse.inspector().status(CUSTOMER_PIPELINE)}
    assert {row["engine"] for row in status.values()} == {"embedded"}
    _refused(lakehouse, "spark", "embedded", "bronze.customer_raw")


def test_validate_after_a_spark_run_finds_a_record_missing_from_bronze(lakehouse):
    """validate holds Spark's bronze to the files its checkpoint says it took (it can fail)."""
    from deltalake import DeltaTable

    lakehouse.land("part-1.csv", FILE_1)
    lakehouse.run("spark", only="bronze.customer_raw")
    assert lakehouse.inspector().validate(CUSTOMER_PIPELINE)[1] == []
    DeltaTable(lakehouse.settings.table_uri("bronze", "customer_raw")).delete("c_custkey = 2")
    violations = lakehouse.inspector().validate(CUSTOMER_PIPELINE)[1]
    assert [(v.table, v.detail) for v in violations] == [
        ("bronze.customer_raw", f"{_landing(lakehouse, 'part-1.csv')}: 2 record(s) landed, 1 in the table")]
