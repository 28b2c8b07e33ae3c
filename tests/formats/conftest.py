"""The Spark tests here share the test process's one SparkSession (tests/spark/session.py)."""

from __future__ import annotations

import importlib.util
import shutil

import pytest


@pytest.fixture(scope="session")
def spark():
    # Java and pyspark are test dependencies: their absence fails, it does not skip.
    if shutil.which("java") is None:
        pytest.fail("java is not installed (Spark local mode needs a JVM)", pytrace=False)
    if importlib.util.find_spec("pyspark") is None:
        pytest.fail("pyspark is not installed: pip install 'local-lakehouse[spark]'", pytrace=False)
    from tests.spark.session import shared_session

    return shared_session()
