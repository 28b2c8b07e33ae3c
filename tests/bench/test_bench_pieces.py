"""The bench harness's pieces, fast: peer ratios, rows read from Delta commits, small files, profiles,
process-tree memory and the report's new sections. No timing is asserted."""

from __future__ import annotations

import cProfile
import json
import pstats
import subprocess
import sys
import time

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from lakehouse.bench.isolate import run_isolated, run_isolated_tree
from lakehouse.bench.peer import ratio
from lakehouse.bench.report_sections import peer_section, phases, rows_read_section, small_files_section
from lakehouse.bench.rows_read import REWRITTEN, latest_version, read_commit, rows_read, snake_case
from lakehouse.bench.small_files import scale_for, top_costs, write_row_files

MIB = 1024 * 1024


def test_ratio_is_ours_over_the_peers_and_none_without_a_peer_time():
    assert ratio(2.0, 4.0) == 0.5
    assert ratio(3.0, 1.5) == 2.0
    assert ratio(1.0, 0.0) is None
    assert ratio(0.2, 19.72) == 0.01014  # four significant digits, not two decimals


def test_spark_metric_names_become_delta_rs_names():
    assert snake_case("numTargetRowsCopied") == "num_target_rows_copied"
    assert snake_case("num_source_rows") == "num_source_rows"


def test_rows_read_counts_what_a_delta_rs_merge_rewrote(tmp_path):
    path = str(tmp_path / "t")
    assert latest_version(path) is None
    write_deltalake(path, pa.table({"k": list(range(10)), "v": [0] * 10}))
    before = latest_version(path)
    assert before == 0
    (DeltaTable(path).merge(pa.table({"k": [3, 42], "v": [1, 1]}), predicate="t.k = s.k", source_alias="s",
                            target_alias="t").when_matched_update_all().when_not_matched_insert_all().execute())

    read = rows_read(path, before, rows_in=2)
    assert read["rows_in"] == 2
    assert read["operations"] == {"MERGE": 1}
    assert read["merge_source_rows"] == 2
    # One file of ten rows: the update of one key reads and rewrites all ten.
    assert read["target_rows_rewritten"] == 10
    assert read["rows_added"] == 11 and read["files_added"] == 1 and read["files_removed"] == 1
    assert read["table_rows"] == 11
    everything = rows_read(path, None, rows_in=0)
    assert everything["operations"] == {"WRITE": 1, "MERGE": 1} and everything["rows_added"] == 21


def test_table_rows_of_a_table_merged_by_deletion_vectors_are_its_live_rows(tmp_path):
    from lakehouse.core.config import Settings
    from lakehouse.core.merge_plan import MergePlan
    from lakehouse.engines.base import Transaction
    from lakehouse.engines.embedded.engine import EmbeddedEngine
    from lakehouse.spec.model import TableRef

    engine = EmbeddedEngine(Settings(landing=str(tmp_path / "l"), warehouse=str(tmp_path / "w"), merge_on_read=True))
    ref = TableRef("silver", "t")
    engine.append(ref, pa.table({"k": list(range(10)), "v": [0] * 10}), Transaction("t", 0), properties={},
                  evolve_schema=False)
    plan = MergePlan(on="t.k = s.k", update_condition=None, update_set={"v": "s.v"},
                     insert_values={"k": "s.k", "v": "s.v"})
    engine.merge(ref, pa.table({"k": [3, 42], "v": [1, 1]}), plan, Transaction("t", 1), evolve_schema=False)
    path = engine.table_uri(ref)
    read = rows_read(path, 0, rows_in=2)
    # Ten stored rows, one replaced and marked deleted in place, one inserted: 12 physical, 11 live.
    assert read["target_rows_rewritten"] == 1  # the updated row only: nothing copied (10 with copy-on-write)
    assert read["table_rows"] == 11 == engine.table_row_count(ref)


def test_a_spark_commit_with_camel_case_string_metrics_is_read_like_delta_rs(tmp_path):
    spark_commit = [
        {"commitInfo": {"operation": "MERGE", "operationMetrics": {
            "numSourceRows": "5", "numTargetRowsCopied": "100", "numTargetRowsUpdated": "4",
            "numTargetRowsDeleted": "1", "numTargetFilesRemoved": "2", "executionTimeMs": "n/a"}}},
        {"remove": {"path": "a.parquet", "dataChange": True}},
        {"add": {"path": "b.parquet", "dataChange": True, "stats": json.dumps({"numRecords": 7})}},
        {"add": {"path": "c.parquet", "dataChange": False, "stats": json.dumps({"numRecords": 99})}},
    ]
    commit = tmp_path / f"{1:020d}.json"
    commit.write_text("\n".join(json.dumps(a) for a in spark_commit) + "\n")
    operation, metrics, files_added, rows_added, files_removed = read_commit(commit)
    assert operation == "MERGE"
    assert sum(metrics[name] for name in REWRITTEN) == 105 and metrics["num_source_rows"] == 5
    assert "execution_time_ms" not in metrics  # not a number
    # The add without a data change (compaction-style) is not a row the batch wrote.
    assert (files_added, rows_added, files_removed) == (1, 7, 1)


def test_small_files_are_one_row_each_with_the_header(tmp_path):
    csv = tmp_path / "customer.csv"
    csv.write_text("id,name\n" + "".join(f"{i},n{i}\n" for i in range(25)))
    many = write_row_files(csv, 12, tmp_path / "many", per_file=1)
    assert len(many) == 12
    assert many[0].name == "customer_01.csv" and many[-1].name == "customer_12.csv"
    assert many[4].read_text() == "id,name\n4,n4\n"
    (one,) = write_row_files(csv, 12, tmp_path / "one", per_file=12)
    assert one.read_text().count("\n") == 13
    with pytest.raises(ValueError, match="fewer than 30"):
        write_row_files(csv, 30, tmp_path / "short", per_file=1)


def test_scale_covers_the_rows():
    assert scale_for(1_000) == 0.01
    assert scale_for(10_000) == 0.07
    assert scale_for(150_001) == 1.01


def _busy(count: int) -> int:
    return sum(i * i for i in range(count))


def test_top_costs_name_the_expensive_function():
    profiler = cProfile.Profile()
    profiler.enable()
    _busy(200_000)
    profiler.disable()
    costs = top_costs(pstats.Stats(profiler), top=3)
    assert len(costs["by_own_time"]) <= 3
    assert any("_busy" in e["function"] or "genexpr" in e["function"] for e in costs["by_own_time"])
    assert all(e["calls"] >= 1 for e in costs["by_own_time"])


def _leave_a_big_grandchild() -> int:
    # Not waited for while the parent samples, like the JVM pyspark starts.
    child = subprocess.Popen([sys.executable, "-c",
                              "import time; b = bytearray(250 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); "
                              "time.sleep(3)"])
    time.sleep(1.2)
    child.kill()  # and never waited for: a waited child's peak would count in ru_maxrss
    return child.pid


def test_tree_sampling_sees_a_grandchild_the_child_never_waited_for():
    plain = run_isolated(_leave_a_big_grandchild)
    tree = run_isolated_tree(_leave_a_big_grandchild)
    assert plain.tree_peak_rss_bytes is None
    assert tree.tree_peak_rss_bytes is not None and tree.tree_peak_rss_bytes >= 250 * MIB
    assert tree.peak_rss_bytes < 250 * MIB
    assert tree.jvm_peak_rss_bytes is None  # no java process in that tree


def _table(name: str, seconds: float, peak: int, rewritten: int = 0) -> dict[str, object]:
    return {"table": name, "batches": 1, "rows_in": 10, "rows_written": 10, "seconds": seconds,
            "peak_rss_bytes": peak,
            "rows_read": {"rows_in": 10, "commits": 1, "operations": {"MERGE": 1}, "merge_source_rows": 10,
                          "target_rows_rewritten": rewritten, "rows_added": 10, "files_added": 1,
                          "files_removed": 1, "table_rows": 1500}}


def _peer(seconds: float, start: float, ours: float) -> dict[str, object]:
    return {"engine": "spark", "tables": [_table("silver.customer", seconds, 900 * MIB, rewritten=1500)],
            "layers": {}, "seconds": seconds, "jvm_start_seconds": start, "seconds_with_start": seconds + start,
            "peak_rss_bytes": 900 * MIB, "jvm_peak_rss_bytes": 700 * MIB,
            "ours_to_spark": ratio(ours, seconds), "ours_to_spark_with_start": ratio(ours, seconds + start)}


def _report(with_peer: bool) -> dict[str, object]:
    batch = {"kind": "customer", "batch": {"file": "c.csv", "rows": 15, "changed": 15, "table_rows": 1500},
             "share": 0.01, "tables": [_table("silver.customer", 0.5, 200 * MIB, rewritten=1485)], "layers": {},
             "seconds": 0.5}
    full = {"tables": [_table("silver.customer", 1.0, 300 * MIB)], "layers": {}, "seconds": 1.0,
            "skipped_tables": [], "ratio_to_floor": 2.0}
    if with_peer:
        batch["peer"] = _peer(2.0, 10.0, 0.5)
        full["peer"] = _peer(4.0, 10.0, 1.0)
    return {"options": {"scale": 0.01, "compare_scale": 0.02}, "full_load": full,
            "compare_full_load": {**full, "ratio_to_floor": None}, "incremental": {"sf0.01": [batch]}}


def _lines(header: list[str], rows: list[list[object]]) -> list[str]:
    return [" | ".join(header)] + [" | ".join(str(c) for c in row) for row in rows]


def _mem(value: int | None) -> str:
    return "-" if value is None else f"{value // MIB} MiB"


def test_peer_section_has_a_row_per_phase_with_both_ratios():
    report = _report(with_peer=True)
    assert [name for name, _ in phases(report)] == ["full load SF0.01", "customer full load SF0.02",
                                                     "SF0.01 #1: 15 customer changes"]
    lines = peer_section(report, _lines, _mem)
    full_row = next(line for line in lines if line.startswith("full load SF0.01"))
    # ours 1.0 s against Spark 4.0 s, and 14.0 s with the JVM start.
    assert "| 0.25× |" in full_row and "| 0.0714× |" in full_row and "700 MiB" in full_row
    batch_row = next(line for line in lines if line.startswith("SF0.01 #1"))
    assert "| 0.25× |" in batch_row and "| 0.0417× |" in batch_row


def test_peer_section_says_why_spark_did_not_run():
    report = _report(with_peer=False)
    assert peer_section(report, _lines, _mem) == []
    report["peer_missing"] = "java is not on PATH"
    assert "Not run: java is not on PATH" in peer_section(report, _lines, _mem)


def test_rows_read_section_lists_each_engines_batch_tables_not_the_first_load():
    lines = rows_read_section(_report(with_peer=True), _lines)
    rows = [line for line in lines if line.startswith("SF0.01 #1")]
    assert len(rows) == 2
    assert "| ours | silver.customer | 10 | 1,485 | 1,500 |" in rows[0]
    assert "| spark | silver.customer | 10 | 1,500 | 1,500 |" in rows[1]
    assert not any("full load" in line for line in lines)


def test_small_files_section_reports_the_ratio_against_the_target():
    def case(files: int, seconds: float) -> dict[str, object]:
        return {"files": files, "rows": 100, "seconds": seconds, "land_seconds": 0.1,
                "tables": [_table("silver.customer", seconds, MIB)],
                "layers": {"silver": {"tables": 1, "rows_written": 100, "seconds": seconds, "rows_per_second": 1,
                                      "peak_rss_bytes": MIB}}}
    run = {"rows": 100, "many": case(100, 12.0), "one": case(1, 1.0), "many_to_one": 12.0, "profile": {}}
    lines = small_files_section(run, _lines, _mem)
    assert "ratio **12.00×** (target ≤ 10×: missed)" in lines[2]
    assert any(line.startswith("silver | 12.00 | 1.00 | 12.00×") for line in lines)


def test_output_names_keep_a_dotted_scale():
    from pathlib import Path

    from lakehouse.cli.bench import output_paths

    assert output_paths(Path("out/sf0.1-run")) == (Path("out/sf0.1-run.json"), Path("out/sf0.1-run.md"))
    assert output_paths(Path("out/results.json")) == (Path("out/results.json"), Path("out/results.md"))
