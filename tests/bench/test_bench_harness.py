"""The bench harness at a tiny scale: report structure and positive numbers, never timings."""

from __future__ import annotations

import json

import pytest

from lakehouse.bench import BenchOptions, render_markdown, run_bench
from lakehouse.bench.harness import pipeline_under_test, runnable_tables
from lakehouse.bench.isolate import run_isolated


def _allocate(megabytes: int) -> int:
    block = bytearray(megabytes * 1024 * 1024)
    return len(block)


def test_child_peak_memory_is_the_childs_own():
    # The parent holds 400 MB while it spawns: ru_maxrss alone would report that for every child.
    ballast = bytearray(400 * 1024 * 1024)
    small = run_isolated(_allocate, 1)
    big = run_isolated(_allocate, 300)
    assert big.value == 300 * 1024 * 1024
    # The parent never held the 300 MB; a child that did reports it, one that did not stays below.
    assert big.peak_rss_bytes >= 300 * 1024 * 1024
    assert small.peak_rss_bytes < big.peak_rss_bytes - 200 * 1024 * 1024
    assert small.peak_rss_bytes < 300 * 1024 * 1024 < len(ballast)


def test_customer_only_sources_select_the_customer_tables():
    names, _ = runnable_tables(pipeline_under_test(), ("customer",))
    assert names[:3] == ["bronze.customer_raw", "silver.customer", "gold.dim_customer"]
    assert not any("orders" in name or "lineitem" in name for name in names)


@pytest.mark.slow
def test_bench_at_tiny_scale_reports_every_section(tmp_path):
    progress = []
    options = BenchOptions(scale=0.01, workdir=tmp_path, shares=(0.01,), compare_scale=0.02,
                           memory_scale=0.01, memory_batch_files=3, file_mb=1, peer=None, small_files=40,
                           profile_small_files=True)
    report = run_bench(options, progress.append)
    json.dumps(report)  # the JSON output must serialise

    assert report["floor"]["seconds"] > 0 and report["floor"]["peak_rss_bytes"] > 0
    full = report["full_load"]
    assert full["seconds"] > 0 and full["ratio_to_floor"] > 0
    assert set(full["layers"]) == {"bronze", "silver", "gold"}
    for layer in full["layers"].values():
        assert layer["rows_written"] > 0 and layer["rows_per_second"] > 0 and layer["peak_rss_bytes"] > 0
    bronze_customer = next(t for t in full["tables"] if t["table"] == "bronze.customer_raw")
    assert bronze_customer["rows_written"] == report["prepare"]["tables"]["customer"]["rows"] == 1500

    small, bigger = report["incremental"]["sf0.01"], report["incremental"]["sf0.02"]
    assert [b["kind"] for b in small] == ["customer", "orders"]
    assert [b["kind"] for b in bigger] == ["customer"]
    # The same batch row count against a table twice the size.
    assert small[0]["batch"]["changed"] == bigger[0]["batch"]["changed"] == 15
    assert bigger[0]["batch"]["table_rows"] == 3000
    for batch in small + bigger:
        assert batch["seconds"] > 0
        assert batch["layers"]["silver"]["rows_written"] > 0

    memory = report["memory_run"]
    # lineitem at SF0.01 is ~7 MB: cut into 1 MB files and loaded three files per batch.
    lineitem = next(t for t in memory["tables"] if t["table"] == "bronze.lineitem_raw")
    assert lineitem["batches"] > 1
    assert lineitem["rows_written"] == report["memory_prepare"]["tables"]["lineitem"]["rows"]

    # A 1 % customer batch: its silver table reads the 15 changed rows, and its MERGE rewrites
    # what the target's files hold (one file at this scale: every row).
    silver = next(t for t in small[0]["tables"] if t["table"] == "silver.customer")
    assert silver["rows_read"]["rows_in"] == 15
    assert silver["rows_read"]["table_rows"] == 1500
    assert silver["rows_read"]["commits"] >= 1
    assert 0 <= silver["rows_read"]["target_rows_rewritten"] <= 1500
    assert "peer" not in report["full_load"] and "peer_missing" not in report

    files = report["small_files"]
    assert (files["many"]["files"], files["one"]["files"]) == (40, 1)
    for case in (files["many"], files["one"]):
        dimension = next(t for t in case["tables"] if t["table"] == "gold.dim_customer")
        assert dimension["rows_written"] == 40
    assert files["many_to_one"] > 0
    assert set(files["profile"]) == {"bronze.customer_raw", "silver.customer", "gold.dim_customer"}
    assert files["profile"]["silver.customer"]["by_cumulative_lakehouse"]

    markdown = render_markdown(report)
    for heading in ("## Full load at SF0.01", "## Incremental batches", "## Memory at SF0.01",
                    "## Rows read per batch", "## 40 rows in 40 files against one file"):
        assert heading in markdown
    assert any("floor" in message for message in progress)
