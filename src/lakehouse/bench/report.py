"""Render a bench report (the dict run_bench returns) as markdown tables."""

from __future__ import annotations

from lakehouse.bench.report_sections import peer_section, rows_read_section, small_files_section
from lakehouse.bench.results import BenchReport, Increment, LayerSummary, LoadRun, MeasuredTable

GIB = 1024**3
MIB = 1024**2


def _mem(value: int | None) -> str:
    if value is None:
        return "-"
    return f"{value / GIB:.2f} GiB" if value >= GIB else f"{value / MIB:.0f} MiB"


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _layer_rows(layers: dict[str, LayerSummary]) -> list[list[object]]:
    return [[layer, v["tables"], f"{v['rows_written']:,}", f"{v['seconds']:.2f}",
             f"{v['rows_per_second']:,}" if v["rows_per_second"] else "-", _mem(v["peak_rss_bytes"])]
            for layer, v in layers.items()]


def _table_rows(tables: list[MeasuredTable]) -> list[list[object]]:
    return [[t["table"], t["batches"], f"{t['rows_written']:,}", f"{t['seconds']:.2f}", _mem(t["peak_rss_bytes"])]
            for t in tables]


def _run_section(title: str, run: LoadRun) -> list[str]:
    lines = [f"### {title}", ""]
    lines += _table(["layer", "tables", "rows written", "seconds", "rows/s", "peak memory"], _layer_rows(run["layers"]))
    lines += ["", "Per table:", ""]
    lines += _table(["table", "batches", "rows written", "seconds", "peak memory"], _table_rows(run["tables"]))
    for skipped in run.get("skipped_tables", []):
        lines.append(f"\nNot run: {skipped['table']} ({skipped['reason']}).")
    return lines + [""]


def _incremental_rows(scale: str, batches: list[Increment]) -> list[list[object]]:
    rows: list[list[object]] = []
    for batch in batches:
        layers = batch["layers"]
        if batch["kind"] == "customer":
            what = f"customer: {batch['batch']['changed']:,} changed of {batch['batch']['table_rows']:,}"
        else:
            what = f"orders: {batch['batch']['orders']:,} new (+{batch['batch']['lineitems']:,} lineitems)"
        per_layer = [f"{layers[layer]['seconds']:.2f}" if layer in layers else "-" for layer in ("bronze", "silver", "gold")]
        rows.append([scale, what, *per_layer,
                     f"{batch['seconds']:.2f}", _mem(max(t["peak_rss_bytes"] for t in batch["tables"]))])
    return rows


def render_markdown(report: BenchReport) -> str:
    before, after = report["machine_before"], report["machine_after"]
    versions = ", ".join(f"{k} {v}" for k, v in before["versions"].items())
    floor, full = report["floor"], report["full_load"]
    scale = report["options"]["scale"]
    lines = [
        f"Measured {before['date']} on {before['cpus']} CPUs, {before['memory_bytes'] / GIB:.0f} GiB RAM, "
        f"{before['platform']}, Python {before['python']}.",
        f"Load average (1/5/15 min) at start {before['load_average']}, at end {after['load_average']}.",
        f"Versions: {versions}.",
        f"Command: `{report['command']}` (pipeline `{report['pipeline']}`, {report['seconds']:.0f} s in all).",
        "",
        f"## Full load at SF{scale:g} against the floor",
        "",
        f"Floor (DuckDB reads the same landed CSVs and writes Parquet once): **{floor['seconds']:.2f} s**, "
        f"peak {_mem(floor['peak_rss_bytes'])}. Pipeline landing→gold: **{full['seconds']:.2f} s**. "
        f"Ratio pipeline/floor: **{full['ratio_to_floor']:.2f}×**.",
        "",
    ]
    if "peer" in full:
        peer = full["peer"]
        lines += [f"Spark, same tables and files: **{peer['seconds']:.2f} s** (+{peer['jvm_start_seconds']:.2f} s JVM "
                  f"start = {peer['seconds_with_start']:.2f} s), peak {_mem(peer['peak_rss_bytes'])} (process tree). "
                  f"Ours/Spark: **{peer['ours_to_spark']}×** ({peer['ours_to_spark_with_start']}× with the start).", ""]
    lines += _run_section(f"Full load, SF{scale:g}", full)
    lines += ["## Incremental batches", "",
              "Seconds per layer (bronze = landing→bronze, up to gold); peak memory is the largest layer's.", ""]
    rows: list[list[object]] = []
    for scale_name, batches in report["incremental"].items():
        rows += _incremental_rows(scale_name.upper(), batches)
    lines += _table(["scale", "batch", "bronze s", "silver s", "gold s", "total s", "peak memory"], rows)
    lines += ["", "Per table (seconds; rows written):", ""]
    detail: list[list[object]] = []
    for scale_name, batches in report["incremental"].items():
        for number, batch in enumerate(batches, start=1):
            detail.append([scale_name.upper(), f"{batch['kind']} #{number}",
                           "; ".join(f"{t['table']} {t['seconds']:.2f} s ({t['rows_written']:,})" for t in batch["tables"])])
    lines += _table(["scale", "batch", "tables"], detail)
    lines.append("")
    lines += peer_section(report, _table, _mem)
    lines += rows_read_section(report, _table)
    if "small_files" in report:
        lines += small_files_section(report["small_files"], _table, _mem)
    if "compare_full_load" in report:
        lines += _run_section(f"Customer full load at SF{report['options']['compare_scale']:g} (for the batches above)",
                              report["compare_full_load"])
    if "memory_run" in report:
        memory = report["memory_run"]
        lines += [f"## Memory at SF{memory['scale']:g}", "",
                  f"{', '.join(report['options']['memory_tables'])} loaded in batches of {report['options']['memory_batch_files']} "
                  f"landed files (~{report['options']['file_mb']} MB each), every table once per round "
                  f"({memory['rounds']} rounds), each (round, table) in its own child process. Largest peak of any "
                  f"batch: **{_mem(memory['peak_rss_bytes'])}**; per table, its largest batch's peak.", ""]
        peaks = ", ".join(_mem(p) for p in memory.get("round_peaks", []))
        state = "everything loaded" if memory.get("finished", True) else "stopped before everything was loaded"
        lines += [f"Peak per round ({state}): {peaks}.", ""]
        lines += _run_section(f"Full load, SF{memory['scale']:g}", memory)
    return "\n".join(lines)
