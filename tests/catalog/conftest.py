"""Catalog fixtures. The metastore itself (Hive Metastore 4.0.1 on Postgres, one per test session) is
tests/services/metastore.py's `metastore_uri`."""

from __future__ import annotations

import uuid

import pytest

from lakehouse.core.config import Settings


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
