"""The Spark peer in a bench run at a tiny scale: customer tables only, so two JVM starts (the full
load and one batch). Numbers are checked for shape and agreement of rows, never for time."""

from __future__ import annotations

import json

import pytest

from lakehouse.bench import BenchOptions, render_markdown, run_bench
from lakehouse.bench.peer import spark_missing

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_spark_runs_every_phase_beside_ours_on_the_same_files(tmp_path):
    missing = spark_missing()
    if missing:  # the suite's Spark tier needs Java, pyspark and the jars: their absence fails
        pytest.fail(missing, pytrace=False)
    options = BenchOptions(scale=0.01, workdir=tmp_path, shares=(0.01,), compare_scale=None, file_mb=1,
                           tables=("customer",), small_files=None)
    report = run_bench(options, lambda message: None)
    json.dumps(report)

    full = report["full_load"]
    peer = full["peer"]
    assert peer["engine"] == "spark"
    assert [t["table"] for t in peer["tables"]] == [t["table"] for t in full["tables"]]
    assert [t["rows_written"] for t in peer["tables"]] == [t["rows_written"] for t in full["tables"]]
    assert peer["jvm_start_seconds"] > 0
    assert peer["seconds_with_start"] == pytest.approx(peer["seconds"] + peer["jvm_start_seconds"], abs=0.01)
    assert peer["ours_to_spark"] == pytest.approx(full["seconds"] / peer["seconds"], rel=0.001)
    # The JVM is a child of the phase's Python process: the tree's peak holds it.
    assert peer["jvm_peak_rss_bytes"] is not None and peer["peak_rss_bytes"] > peer["jvm_peak_rss_bytes"]

    (batch,) = report["incremental"]["sf0.01"]
    ours = {t["table"]: t for t in batch["tables"]}
    theirs = {t["table"]: t for t in batch["peer"]["tables"]}
    assert set(ours) == set(theirs)
    assert theirs["silver.customer"]["rows_read"]["rows_in"] == ours["silver.customer"]["rows_read"]["rows_in"] == 15
    assert theirs["silver.customer"]["rows_read"]["table_rows"] == 1500
    assert theirs["silver.customer"]["rows_read"]["operations"].get("MERGE") == 1

    markdown = render_markdown(report)
    assert "## Against Spark" in markdown and "| spark | silver.customer |" in markdown
