"""The README's stable contract, exercised through the `lakehouse` command as external checks use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import env_without_lakehouse_settings
from tests.scenarios import customer_batches as scenario

pytestmark = pytest.mark.integration

LAKEHOUSE = str(Path(sys.executable).with_name("lakehouse"))


def lakehouse(env, *args, check=True):
    result = subprocess.run([LAKEHOUSE, *args], env=env, capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"lakehouse {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


@pytest.fixture(params=["embedded", "spark"])
def env(tmp_path, request):
    environment = env_without_lakehouse_settings()
    environment["LAKEHOUSE_LANDING"] = str(tmp_path / "landing")
    environment["LAKEHOUSE_WAREHOUSE"] = str(tmp_path / "warehouse")
    environment["LAKEHOUSE_ENGINE"] = request.param
    if request.param == "spark":
        # Each command is its own JVM: small local mode. The jar cache is wherever the tests found it.
        environment.update({"SPARK_MASTER": "local[2]", "LAKEHOUSE_SPARK_SHUFFLE_PARTITIONS": "2",
                            "JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"})
        for key in ("LAKEHOUSE_JARS_DIR", "LAKEHOUSE_SPARK_PACKAGES"):
            if os.environ.get(key):
                environment[key] = os.environ[key]
    return environment


def land(env, batch_index):
    folder = Path(env["LAKEHOUSE_LANDING"]) / "customer"
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in scenario.BATCHES[batch_index]:
        (folder / name).write_bytes(scenario.csv_bytes(lines))


def test_multi_batch_run_through_the_cli_contract(env, tmp_path):
    for index in range(len(scenario.BATCHES)):
        land(env, index)
        report = json.loads(lakehouse(env, "--json", "run", "--pipeline", "customer").stdout)
        assert [t["table"] for t in report["tables"]] == ["bronze.customer_raw", "silver.customer", "gold.dim_customer"]
        assert report["tables"][1]["rows_written"] == scenario.SILVER_WRITES[index]
    # Tables sit at <warehouse>/<schema>/<table> as Delta tables any reader can open.
    import polars as pl

    silver = pl.read_delta(str(tmp_path / "warehouse" / "silver" / "customer")).sort("c_custkey")
    assert silver["c_address"].to_list() == [r["c_address"] for r in scenario.SILVER_AFTER[-1]]
    status = json.loads(lakehouse(env, "--json", "status").stdout)
    # The embedded engine merges by deletion vectors: its first such MERGE into a table adds the
    # protocol's deletionVectors feature in a commit of its own (delta-rs's alter.add_feature).
    merged = 3 if env["LAKEHOUSE_ENGINE"] == "embedded" else 2
    assert {row["table"]: row["version"] for row in status} == {
        "bronze.customer_raw": 2, "silver.customer": merged, "gold.dim_customer": merged}
    assert status[0]["files_pending"] == 0
    idle = json.loads(lakehouse(env, "--json", "run").stdout)
    assert all(t["batches"] == [] for t in idle["tables"])
    assert json.loads(lakehouse(env, "--json", "status").stdout) == status
    validation = json.loads(lakehouse(env, "--json", "validate").stdout)
    assert validation["violations"] == []
    old = json.loads(lakehouse(env, "--json", "read", "silver.customer", "--version", "0").stdout)
    assert old["total"] == len(scenario.SILVER_AFTER[0])
    history = json.loads(lakehouse(env, "--json", "sql",
                                   "SELECT count(*) AS n FROM gold.dim_customer WHERE c_custkey = 1").stdout)
    assert history["rows"] == [{"n": 3}]


def test_errors_are_one_clear_message_without_a_traceback(env):
    result = lakehouse(env, "read", "silver.customer", check=False)
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr
    bad_name = lakehouse(env, "read", "customer", check=False)
    assert bad_name.returncode == 2 and "schema.table" in bad_name.stderr


def test_reset_removes_tables_and_checkpoints_but_keeps_landing(env):
    land(env, 0)
    lakehouse(env, "run")
    result = json.loads(lakehouse(env, "--json", "reset", "--yes").stdout)
    assert sorted(result["dropped"]) == ["bronze.customer_raw", "gold.dim_customer", "silver.customer"]
    warehouse = Path(env["LAKEHOUSE_WAREHOUSE"])
    assert not (warehouse / "silver" / "customer").exists()
    assert not (warehouse / "_checkpoints" / "bronze" / "customer_raw").exists()
    assert len(list((Path(env["LAKEHOUSE_LANDING"]) / "customer").iterdir())) == 2
