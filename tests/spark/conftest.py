"""One SparkSession for the whole test session (tests/spark/session.py: local[2], two shuffle
partitions, delta-spark's jars from where the engine takes them), plus helpers that run the same
SQL on DuckDB (embedded engine) and Spark and normalise the rows for comparison.

Without the jars the session still starts (the parity tests need no Delta), and every Delta test
*fails* with the fetch command: a missing download is not a reason to skip."""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from lakehouse.core.config import Settings
from tests.spark.session import delta_missing_reason, shared_session

NO_JAVA = "java is not installed (Spark local mode needs a JVM)"
NO_PYSPARK = "pyspark is not installed: pip install 'local-lakehouse[spark]'"


@pytest.fixture(scope="session")
def spark():
    # Java and pyspark are test dependencies (like the jars): their absence fails, it does not skip.
    if shutil.which("java") is None:
        pytest.fail(NO_JAVA, pytrace=False)
    if importlib.util.find_spec("pyspark") is None:
        pytest.fail(NO_PYSPARK, pytrace=False)
    # Not stopped at the end: the scenario suite's Spark variants may use it after tests/spark.
    return shared_session()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.load(landing=str(tmp_path / "landing"), warehouse=str(tmp_path / "warehouse"), engine="spark",
                         env={})


@pytest.fixture
def spark_engine(spark, settings):
    from lakehouse.engines.spark import SparkEngine

    return SparkEngine(settings, spark=spark)


@pytest.fixture
def duck_engine(settings):
    from lakehouse.engines.embedded.engine import EmbeddedEngine

    return EmbeddedEngine(settings.with_overrides(engine="embedded"))


@pytest.fixture
def delta_spark(spark):
    reason = delta_missing_reason(spark)
    if reason:
        pytest.fail(reason, pytrace=False)
    return spark


@pytest.fixture
def on_test_session(delta_spark, monkeypatch):
    """The runner's Spark runs use the test session (not a second JVM); embedded runs stay embedded."""
    from lakehouse.engines.embedded.engine import EmbeddedEngine
    from lakehouse.engines.spark import SparkEngine
    from lakehouse.runtime import runner as runner_module

    def make_engine(settings_, storage):
        if settings_.engine == "spark":
            return SparkEngine(settings_, storage, spark=delta_spark)
        return EmbeddedEngine(settings_, storage)

    monkeypatch.setattr(runner_module, "make_engine", make_engine)
