"""Landing fixtures: TPC-H customer at scale 0.001 (150 rows), generated once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lakehouse.landing import generate_tpch

TINY_SCALE = 0.001
TINY_CUSTOMERS = 150


@pytest.fixture(scope="session")
def tiny_tpch(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("tpch-tiny")
    generate_tpch(TINY_SCALE, workdir, ("customer", "nation", "region"))
    return workdir


@pytest.fixture
def workdir(tiny_tpch, tmp_path) -> Path:
    """A private copy of the tiny work dir, so change-batch state never leaks between tests."""
    target = tmp_path / "tpch"
    shutil.copytree(tiny_tpch, target)
    return target
