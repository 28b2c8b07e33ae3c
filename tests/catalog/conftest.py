"""Catalog fixtures: one real Hive Metastore per test session, started through our own start function."""

from __future__ import annotations

import shutil
import uuid

import pytest

from lakehouse.config import Settings


@pytest.fixture(scope="session")
def metastore_uri(tmp_path_factory):
    """thrift://127.0.0.1:<free port> of a local Hive Metastore (pyspark's jars, Derby)."""
    if shutil.which("java") is None:
        pytest.skip("java is not installed: the local Hive Metastore needs a JDK 17")
    pytest.importorskip("hive_metastore_client", reason="hive-metastore-client is not installed")
    from lakehouse.catalog.metastore_server import start_metastore, stop_metastore

    state_dir = tmp_path_factory.mktemp("metastore")
    status = start_metastore(state_dir, port=0)
    try:
        yield status.uri
    finally:
        stop_metastore(state_dir)


@pytest.fixture
def warehouse(tmp_path) -> str:
    return str(tmp_path / "warehouse")


@pytest.fixture
def unique_prefix() -> str:
    """A schema prefix of its own per test, so tests sharing one metastore do not collide."""
    return f"t{uuid.uuid4().hex[:8]}_"


@pytest.fixture
def metastore_settings(metastore_uri, warehouse) -> Settings:
    return Settings.load(warehouse=warehouse, catalog=metastore_uri, env={})


@pytest.fixture
def local_settings(warehouse) -> Settings:
    return Settings.load(warehouse=warehouse, env={})
