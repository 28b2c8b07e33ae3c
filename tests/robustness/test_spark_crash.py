"""Crash injection on the Spark engine: SIGKILL `lakehouse --engine spark run` at each crash point
(src/lakehouse/core/faults.py), rerun, and the tables must equal a clean Spark run's.

The embedded version is test_crash_recovery.py; this one uses the same landings (support.PHASE1/PHASE2)
and snapshots (read with delta-rs, so Spark's tables are also checked to be readable by another Delta
reader). Every run is a `lakehouse` process on local folders: its JVM dies with it (pyspark's gateway
exits when the Python side's pipe closes), and `subprocess.run` returns only once the JVM has gone, so the
tables are settled when they are looked at.

Spark's checkpoints are its own: `<checkpoint>/spark/<flow>/{offsets,commits}/N` per streaming query.
A kill after the data commit (`after-commit`) leaves offsets/N without commits/N: the rerun replays
batch N, and the app transaction check (and Delta's txnAppId/txnVersion) drops it.

Whether a `during-commit@0` kill lands the commit is not asserted here: the kill hits the Python
process while the JVM runs the write, and the JVM finishes or abandons it as it shuts down.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from .support import (
    PHASE1,
    PHASE2,
    TABLES,
    Place,
    check_time_columns,
    clone,
    delta_txn_versions,
    local_place,
    no_bronze_duplicates,
    snapshot,
    table_version,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow]

# A Spark run is a fresh JVM: allow for a loaded CI machine.
RUN_TIMEOUT = 900
# (crash point, does the crashed table's commit land before the kill? None: not asserted)
POINTS = [
    ("bronze.customer_raw:after-read", False),
    ("bronze.customer_raw:after-commit", True),
    ("silver.customer:during-commit@0", None),
    ("silver.customer:after-checkpoint", True),
    ("gold.dim_customer:during-commit@0", None),
    ("gold.dim_customer:after-commit", True),
]


def spark_env() -> dict[str, str]:
    """What a Spark run needs beyond the place: small local mode, and the jar cache if it was moved."""
    env = {"LAKEHOUSE_ENGINE": "spark", "SPARK_MASTER": "local[2]", "LAKEHOUSE_SPARK_SHUFFLE_PARTITIONS": "2",
           "JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}
    for key in ("LAKEHOUSE_JARS_DIR", "LAKEHOUSE_SPARK_PACKAGES"):
        if os.environ.get(key):
            env[key] = os.environ[key]
    return env


def spark_place(root: Path) -> Place:
    place = local_place(root)
    place.env.update(spark_env())
    return place


def run(place: Place, extra_env: dict[str, str] | None = None):
    return place.cli("run", extra_env=extra_env, timeout=RUN_TIMEOUT)


def spark_checkpoints(place: Place) -> dict[str, tuple[list[int], list[int]]]:
    """Every Spark query checkpoint of the warehouse: its offsets and commits batch ids."""
    found = {}
    for offsets in sorted(Path(place.warehouse, "_checkpoints").glob("*/*/spark/*/offsets")):
        commits = offsets.with_name("commits")
        ids = [sorted(int(p.name.removesuffix(".json")) for p in folder.iterdir()
                      if p.name.removesuffix(".json").isdigit()) if folder.is_dir() else []
               for folder in (offsets, commits)]
        found[str(offsets.parent.relative_to(Path(place.warehouse, "_checkpoints")))] = (ids[0], ids[1])
    return found


@pytest.fixture(scope="module")
def spark_backend(tmp_path_factory):
    """A landing zone with both landings, a warehouse after the first one (Spark), and the clean baseline."""
    template = spark_place(tmp_path_factory.mktemp("spark-crash"))
    template.land_all(PHASE1)
    first = run(template)
    assert first.returncode == 0, first.stderr
    template.land_all(PHASE2)
    clean = clone(template, str(tmp_path_factory.mktemp("warehouse")) + "/wh")
    second = run(clean)
    assert second.returncode == 0, second.stderr
    baseline = snapshot(clean)
    # 6 + 5 bronze rows, 8 customers, 2 closed versions: the same contract as the embedded engine's.
    assert len(baseline["bronze.customer_raw"]) == 11
    assert len(baseline["silver.customer"]) == 8
    assert len(baseline["gold.dim_customer"]) == 10
    return template, baseline, tmp_path_factory


def _id(point: str) -> str:
    return point.replace(":", "-").replace("@", "-at-")


@pytest.mark.parametrize("point,lands", POINTS, ids=[_id(p) for p, _ in POINTS])
def test_spark_crash_then_rerun_equals_clean_run(spark_backend, point, lands):
    template, baseline, factory = spark_backend
    place = clone(template, str(factory.mktemp("warehouse")) + "/wh")
    crashed_table = next(ref for ref in TABLES if str(ref) == point.split(":")[0])
    before = table_version(place, crashed_table)

    crashed = run(place, {"LAKEHOUSE_CRASH_AT": point})
    assert crashed.returncode == -signal.SIGKILL, (crashed.returncode, crashed.stderr[-3000:])
    after = table_version(place, crashed_table)
    if lands is not None:
        assert (after != before) is lands, f"commit landed: before v{before}, after v{after}"
    if point.endswith("after-commit"):  # data landed, Spark's commit log not: one batch left open
        open_batches = {name: ids for name, ids in spark_checkpoints(place).items() if ids[0] != ids[1]}
        assert list(open_batches) and all(name.startswith(crashed_table.schema) for name in open_batches), \
            open_batches

    rerun = run(place)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    if point.endswith("after-commit"):
        assert "already landed: replay skipped" in rerun.stderr + rerun.stdout

    assert snapshot(place) == baseline
    check_time_columns(place)
    no_bronze_duplicates(place)
    checkpoints = spark_checkpoints(place)
    queries = {"bronze.customer_raw": "bronze/customer_raw/spark/files",
               "silver.customer": "silver/customer/spark/bronze.customer_raw",
               "gold.dim_customer": "gold/dim_customer/spark/bronze.customer_raw"}
    assert set(checkpoints) == set(queries.values())
    assert all(offsets == commits for offsets, commits in checkpoints.values()), checkpoints
    # Each table's app transaction is the last batch its query committed (each wrote in phase 2).
    last = {table: checkpoints[name][1][-1] for table, name in queries.items()}
    assert delta_txn_versions(place) == last
    validated = place.cli("validate", timeout=RUN_TIMEOUT)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "all invariants hold" in validated.stdout
