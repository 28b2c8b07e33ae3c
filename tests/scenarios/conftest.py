"""A lakehouse under test: one engine, one storage (local folder or S3 on versitygw), a fresh warehouse."""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse.core.config import Settings
from lakehouse.core.storage import Storage
from lakehouse.ops.inspection import Inspector
from lakehouse.runtime.runner import Runner
from lakehouse.spec import get_pipeline
from lakehouse.spec.model import Pipeline, TableRef


def spark_delta_failure() -> str | None:
    """Why the Spark variants cannot run (a failure, not a skip: pyspark and the pinned jars are test
    dependencies; `make setup-spark` fetches the jars), or None. Starts the tests' one SparkSession
    (tests/spark/session.py), which the engine's build_session then gets from getOrCreate."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install 'local-lakehouse[spark]')"
    from tests.spark.session import delta_missing_reason, shared_session

    return delta_missing_reason(shared_session())


@dataclass
class Lakehouse:
    settings: Settings
    storage: Storage
    landed_files: int = 0

    @property
    def runner(self) -> Runner:
        return Runner(self.settings, self.storage)

    def land(self, name: str, body: bytes, table: str = "customer") -> str:
        uri = f"{self.settings.landing}/{table}/{name}"
        self.storage.write_bytes(uri, body)
        if not uri.startswith("s3://"):
            # Landing order is modification time, then name: make it explicit on fast local disks.
            self.landed_files += 1
            stamp = time.time() - 10_000 + self.landed_files
            os.utime(uri, (stamp, stamp))
        return uri

    def run(self, pipeline: str | Pipeline = "customer"):
        return self.runner.run(get_pipeline(pipeline) if isinstance(pipeline, str) else pipeline)

    def table(self, name: str, version: int | None = None) -> pa.Table:
        return Inspector(self.settings, self.storage).read(name, version=version)

    def version(self, name: str) -> int | None:
        return self.runner.engine.table_version(TableRef.parse(name))


def _settings(landing: str, warehouse: str, engine: str) -> Settings:
    return Settings.load(landing=landing, warehouse=warehouse, engine=engine, env=dict(os.environ))


# (storage, engine) variants every scenario runs in. Spark runs on local folders here; Spark over s3a
# against the S3 server runs in tests/docker/test_stack_without_docker.py (docs/spark.md).
# "local-embedded" merges on read (its default: MERGEs write deletion vectors); "local-embedded-cow"
# rewrites the files instead (LAKEHOUSE_MERGE_ON_READ=false). On S3 the embedded engine rewrites.
VARIANTS = [("local", "embedded"), ("local", "embedded-cow"), ("s3", "embedded"), ("local", "spark")]


@pytest.fixture(params=VARIANTS, ids=[f"{storage}-{engine}" for storage, engine in VARIANTS])
def variant(request) -> tuple[str, str]:
    return request.param


@pytest.fixture
def storage_kind(variant):
    return variant[0]


@pytest.fixture
def engine_name(variant):
    if variant[1] == "spark":
        reason = spark_delta_failure()
        if reason:
            pytest.fail(reason, pytrace=False)
    return variant[1].removesuffix("-cow")


@pytest.fixture
def lakehouse(storage_kind, engine_name, tmp_path: Path, request) -> Lakehouse:
    if storage_kind == "s3":
        root = request.getfixturevalue("s3_env")
        settings = _settings(f"{root}/landing", f"{root}/warehouse", engine_name)
    else:
        settings = _settings(str(tmp_path / "landing"), str(tmp_path / "warehouse"), engine_name)
    if request.getfixturevalue("variant")[1].endswith("-cow"):
        settings = replace(settings, merge_on_read=False)
    return Lakehouse(settings, Storage(settings.s3))
