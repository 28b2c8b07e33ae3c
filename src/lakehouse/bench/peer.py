"""The peer: the same pipeline, phases and landed files on the Spark engine, in the same bench run.

Spark reads the landing zone our engine read (every batch is landed once, before either runs) and
writes its own warehouse (`<scale dir>/spark-warehouse/`, with its own checkpoints). Each phase
runs in one spawned child that starts its own JVM, so the JVM's start-up is measured per phase:
reported apart (`jvm_start_seconds`) and added to the phase (`seconds_with_start`), which is what
a user who runs `lakehouse run --engine spark` for one batch waits for.

Peak memory is the whole process tree (the Python child and the JVM pyspark starts, which the
child never waits for, so `ru_maxrss` cannot see it), sampled every 0.1 s, and the JVM's own.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import time
from pathlib import Path

from lakehouse.bench.isolate import run_isolated_tree
from lakehouse.bench.layers import summarize_layers
from lakehouse.bench.phases import run_tables
from lakehouse.bench.results import MeasuredTable, PeerPhase, PeerTablesRun
from lakehouse.core.config import Settings
from lakehouse.core.errors import LakehouseError


def spark_missing() -> str | None:
    """Why the Spark peer cannot run here (with what to install), or None when it can."""
    from lakehouse.core.optional import require

    if shutil.which("java") is None:
        return "java is not on PATH (Spark local mode needs a JVM, e.g. apt-get install openjdk-17-jre-headless)"
    if importlib.util.find_spec("pyspark") is None:
        try:
            require("pyspark")
        except LakehouseError as exc:
            return f"{exc.message} {exc.hint or ''}".strip()
    from lakehouse.engines.spark.session import delta_on_classpath, manifest_jars

    if not delta_on_classpath(os.environ) and not os.environ.get("LAKEHOUSE_SPARK_PACKAGES"):
        try:
            manifest_jars(os.environ)
        except LakehouseError as exc:
            return f"{exc.message} {exc.hint or ''}".strip()
    return None


def run_tables_on_spark(settings: Settings, pipeline_name: str, table_names: list[str]) -> PeerTablesRun:
    """In a child: start the JVM (timed on its own), then run the tables as run_tables does.

    No drain loop: the Spark driver's availableNow trigger already takes every landed file.
    """
    from lakehouse.engines.spark.session import build_session

    started = time.perf_counter()
    build_session(settings)  # the engine's session later comes from getOrCreate: this one
    jvm_start = round(time.perf_counter() - started, 3)
    result = run_tables(settings, pipeline_name, table_names, drain=False)
    return {**result, "jvm_start_seconds": jvm_start}


def ratio(ours: float, theirs: float) -> float | None:
    """Our seconds as a share of the peer's (0.5: we take half Spark's time); None without a peer time."""
    if theirs <= 0:
        return None
    # Four significant digits: a ratio of 0.0101 must not round to 0.01 (nor 12.345 lose its meaning).
    return float(f"{ours / theirs:.4g}")


class SparkPeer:
    """One scale's Spark warehouse beside the embedded one, over the same landing zone."""

    def __init__(self, settings: Settings, root: Path, pipeline_name: str) -> None:
        shutil.rmtree(root / "spark-warehouse", ignore_errors=True)
        # Spark as it comes: `--merge-on-read` is our engine's switch, and the rule that now applies it to
        # both engines (core/merge_plan.py) must not turn deletion vectors on in the peer too.
        self.settings = settings.with_overrides(engine="spark", warehouse=str(root / "spark-warehouse"),
                                                merge_on_read=False)
        self.pipeline_name = pipeline_name

    def phase(self, table_names: list[str], ours_seconds: float) -> PeerPhase:
        outcome = run_isolated_tree(run_tables_on_spark, self.settings, self.pipeline_name, table_names)
        peak = outcome.tree_peak_rss_bytes or outcome.peak_rss_bytes
        rows: list[MeasuredTable] = [{**row, "peak_rss_bytes": peak} for row in outcome.value["tables"]]
        seconds = round(sum(r["seconds"] for r in rows), 3)
        start = outcome.value["jvm_start_seconds"]
        return {"engine": "spark", "tables": rows, "layers": summarize_layers(rows), "seconds": seconds,
                "jvm_start_seconds": start, "seconds_with_start": round(seconds + start, 3),
                "peak_rss_bytes": peak, "jvm_peak_rss_bytes": outcome.jvm_peak_rss_bytes,
                "ours_to_spark": ratio(ours_seconds, seconds),
                "ours_to_spark_with_start": ratio(ours_seconds, seconds + start)}
