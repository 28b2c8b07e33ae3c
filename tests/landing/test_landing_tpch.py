from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse.core.errors import ConfigError, MissingDependencyError
from lakehouse.landing import find_tpchgen, generate_tpch
from lakehouse.landing.csvtext import read_csv_text, read_header
from lakehouse.landing.tpch import read_manifest
from lakehouse.spec.pipelines import CUSTOMER_COLUMNS

from .conftest import TINY_CUSTOMERS, TINY_SCALE


def test_generate_writes_expected_row_counts(tiny_tpch):
    assert read_csv_text(tiny_tpch / "customer.csv").num_rows == TINY_CUSTOMERS
    assert read_csv_text(tiny_tpch / "nation.csv").num_rows == 25
    assert read_csv_text(tiny_tpch / "region.csv").num_rows == 5
    assert read_header(tiny_tpch / "customer.csv") == list(CUSTOMER_COLUMNS)
    assert read_manifest(tiny_tpch)["scale"] == TINY_SCALE


def test_generate_again_at_same_scale_reuses_files(workdir, monkeypatch):
    def no_subprocess(*args, **kwargs):
        raise AssertionError("tpchgen-cli must not run again for data already generated")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    before = (workdir / "customer.csv").stat().st_mtime_ns
    paths = generate_tpch(TINY_SCALE, workdir, ["customer", "region"])
    assert paths == {"customer": workdir / "customer.csv", "region": workdir / "region.csv"}
    assert (workdir / "customer.csv").stat().st_mtime_ns == before


def test_generate_redoes_a_damaged_file(workdir):
    (workdir / "region.csv").write_text("r_regionkey\n")
    generate_tpch(TINY_SCALE, workdir, ["region"])
    assert read_csv_text(workdir / "region.csv").num_rows == 5


def test_other_scale_replaces_data_and_change_state(workdir):
    (workdir / "changes").mkdir()
    (workdir / "changes" / "customer_state.json").write_text("{}")
    generate_tpch(0.002, workdir, ["region"])
    assert read_manifest(workdir)["scale"] == 0.002
    assert not (workdir / "customer.csv").exists()
    assert not (workdir / "changes").exists()


@pytest.mark.parametrize("tables", [["customer", "lineitems"], []])
def test_bad_table_names_are_refused(tmp_path, tables):
    with pytest.raises(ConfigError, match="valid tables"):
        generate_tpch(0.001, tmp_path, tables)


@pytest.mark.parametrize("scale", [0, -1, "x"])
def test_bad_scale_is_refused(tmp_path, scale):
    with pytest.raises(ConfigError, match="[Ss]cale"):
        generate_tpch(scale, tmp_path, ["region"])


def test_missing_tpchgen_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingDependencyError) as raised:
        find_tpchgen()
    assert "pip install tpchgen-cli" in str(raised.value)


def test_tpchgen_is_found_next_to_the_interpreter():
    assert find_tpchgen().startswith(str(Path(sys.executable).parent))
