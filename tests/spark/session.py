"""The tests' one SparkSession: local[2], two shuffle partitions, no UI, UTC, and delta-spark's jars from
the same place the engine takes them (`lakehouse.engines.spark.session.jar_confs`: LAKEHOUSE_SPARK_PACKAGES,
Spark's own jars folder, else the manifest's `spark` set in the local cache).

Shared by tests/spark and the scenario suite's Spark variants: SparkSession.getOrCreate hands the engine
(`build_session`) this session when it already runs, so the whole pytest process has one JVM."""

from __future__ import annotations

import os
from typing import Any

JARS_MISSING: list[str] = []


def shared_session() -> Any:
    """The session (created on first call). Without the jars it starts without Delta and records why in
    JARS_MISSING (the message ends with the fetch command)."""
    from pyspark.sql import SparkSession

    from lakehouse.core.errors import MissingDependencyError
    from lakehouse.engines.spark.session import DELTA_CATALOG, DELTA_EXTENSION, jar_confs

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("lakehouse-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        # C1 only and the serial collector: a short-lived JVM over tiny data starts and warms up faster.
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC -XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.sql.streaming.forceDeleteTempCheckpointLocation", "true")
        # Delta rebuilds a snapshot's state over 50 partitions by default: tiny tables, two cores.
        .config("spark.databricks.delta.snapshotPartitions", "2")
        .config("spark.sql.sources.parallelPartitionDiscovery.parallelism", "2")
        .config("spark.driver.memory", "2g")
    )
    try:
        jars = jar_confs(os.environ)
    except MissingDependencyError as exc:
        JARS_MISSING.append(str(exc))
    else:
        builder = builder.config("spark.sql.extensions", DELTA_EXTENSION).config(
            "spark.sql.catalog.spark_catalog", DELTA_CATALOG)
        for key, value in jars.items():
            builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def delta_missing_reason(session: Any) -> str | None:
    """Why Delta cannot run in `session` (a failure message, never a skip reason), or None."""
    from lakehouse.engines.spark.session import delta_available

    if JARS_MISSING:
        return JARS_MISSING[0]
    if not delta_available(session):
        return "delta-spark's classes did not load although its jars were put on spark.jars"
    return None
