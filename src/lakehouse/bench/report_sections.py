"""The report's newer sections: the Spark peer per phase, rows read per table, many small files."""

from __future__ import annotations

from collections.abc import Callable

from lakehouse.bench.results import BenchReport, Increment, LoadRun, MeasuredTable, SmallFilesRun

Table = Callable[[list[str], list[list[object]]], list[str]]
Memory = Callable[[int | None], str]


def phases(report: BenchReport) -> list[tuple[str, LoadRun | Increment]]:
    """Every phase the peer can run beside ours, named as the report shows it, in measured order."""
    named: list[tuple[str, LoadRun | Increment]] = [(f"full load SF{report['options']['scale']:g}", report["full_load"])]
    for scale, batches in report["incremental"].items():
        for number, batch in enumerate(batches, start=1):
            if batch["kind"] == "customer":
                what = f"{batch['batch']['changed']:,} customer changes"
            else:
                what = f"{batch['batch']['orders']:,} new orders"
            named.append((f"{scale.upper()} #{number}: {what}", batch))
    if "compare_full_load" in report:
        named.insert(1, (f"customer full load SF{report['options']['compare_scale']:g}", report["compare_full_load"]))
    return named


def _peak(tables: list[MeasuredTable]) -> int | None:
    return max((t["peak_rss_bytes"] for t in tables), default=None)


def _times(value: float | None) -> str:
    if value is None:
        return "-"
    # Against a loaded JVM a ratio can be 0.015: two decimals would show 0.01 for 0.005 to 0.015.
    return f"{value:.3g}×" if value < 0.1 else f"{value:.2f}×"


def peer_section(report: BenchReport, table: Table, mem: Memory) -> list[str]:
    if "peer_missing" in report:
        return ["## Against Spark", "", f"Not run: {report['peer_missing']}", ""]
    rows: list[list[object]] = []
    for name, phase in phases(report):
        peer = phase.get("peer")
        if peer is None:
            continue
        rows.append([name, f"{phase['seconds']:.2f}", f"{peer['seconds']:.2f}", f"{peer['jvm_start_seconds']:.2f}",
                     f"{peer['seconds_with_start']:.2f}", _times(peer["ours_to_spark"]),
                     _times(peer["ours_to_spark_with_start"]), mem(_peak(phase["tables"])),
                     mem(peer["peak_rss_bytes"]), mem(peer["jvm_peak_rss_bytes"])])
    if not rows:
        return []
    lines = ["## Against Spark (same run, same landed files)", "",
             "Spark: pyspark + delta-spark in local mode, one child process per phase that starts its own JVM; "
             "`JVM start` is the session's start-up, reported apart and added in `with start` (what a user "
             "running one batch waits for). Ratio = our seconds / Spark's (below 1: we are faster). Our peak is "
             "the largest child's; Spark's is the child's whole process tree, JVM included, and the JVM's own.", ""]
    lines += table(["phase", "ours s", "spark s", "JVM start s", "spark with start s", "ours/spark",
                    "ours/spark with start", "our peak", "spark peak (tree)", "JVM peak"], rows)
    return lines + [""]


def _rows_read_row(phase_name: str, engine: str, row: MeasuredTable) -> list[object] | None:
    read = row.get("rows_read")
    if read is None:
        return None
    operations = ", ".join(f"{op} {n}" for op, n in read["operations"].items()) or "none"
    total = "-" if read["table_rows"] is None else f"{read['table_rows']:,}"
    return [phase_name, engine, row["table"], f"{read['rows_in']:,}", f"{read['target_rows_rewritten']:,}", total,
            f"{read['rows_added']:,}", f"+{read['files_added']} / -{read['files_removed']}", operations]


def rows_read_section(report: BenchReport, table: Table) -> list[str]:
    rows: list[list[object]] = []
    for name, phase in phases(report):
        if "full load" in name:
            continue  # a first load reads everything by definition
        runs = [("ours", phase["tables"])]
        if "peer" in phase:
            runs.append(("spark", phase["peer"]["tables"]))
        for engine, tables in runs:
            rows += [r for r in (_rows_read_row(name, engine, t) for t in tables) if r is not None]
    if not rows:
        return []
    lines = ["## Rows read per batch", "",
             "From each table's Delta commits in the batch (both engines write the same log): `rows in` is what the "
             "batch read from its input (landed files or upstream change feed); `rewritten` is how many of the "
             "table's existing rows a MERGE read and wrote again (copied + updated + deleted). `rewritten` close to "
             "`table rows` means the batch re-read the whole table. Lookups that write nothing are not in the log.",
             ""]
    lines += table(["batch", "engine", "table", "rows in", "rewritten", "table rows", "rows added", "files",
                    "commits"], rows)
    return lines + [""]


def small_files_section(run: SmallFilesRun, table: Table, mem: Memory) -> list[str]:
    many, one = run["many"], run["one"]
    target = "met" if run["many_to_one"] is not None and run["many_to_one"] <= 10 else "missed"
    lines = [f"## {run['rows']:,} rows in {many['files']:,} files against one file", "",
             f"Embedded engine, availableNow, empty warehouse, landing→gold, one child per layer. "
             f"{many['files']:,} one-row files: **{many['seconds']:.2f} s**; one file of {one['rows']:,} rows: "
             f"**{one['seconds']:.2f} s**; ratio **{_times(run['many_to_one'])}** (target ≤ 10×: {target}). "
             f"Landing the files took {many['land_seconds']:.2f} s and {one['land_seconds']:.2f} s (not counted).", ""]
    rows: list[list[object]] = []
    for layer in ("bronze", "silver", "gold"):
        if layer in many["layers"] and layer in one["layers"]:
            ours, base = many["layers"][layer], one["layers"][layer]
            rows.append([layer, f"{ours['seconds']:.2f}", f"{base['seconds']:.2f}",
                         _times(ours["seconds"] / base["seconds"] if base["seconds"] else None),
                         mem(ours["peak_rss_bytes"]), mem(base["peak_rss_bytes"])])
    lines += table(["layer", "many files s", "one file s", "ratio", "peak (many)", "peak (one)"], rows)
    lines += ["", "Per table (many files): " + "; ".join(
        f"{t['table']} {t['seconds']:.2f} s in {t['batches']} batch(es)" for t in many["tables"]) + ".", ""]
    for name, costs in run["profile"].items():
        lines += [f"Profile of {name} ({many['files']:,} files, under cProfile), project functions by cumulative "
                  "time, then all functions by own time:", ""]
        entries = costs["by_cumulative_lakehouse"][:8] + costs["by_own_time"][:8]
        lines += table(["function", "calls", "own s", "cumulative s"],
                       [[f"`{e['function'].split('/lakehouse/')[-1]}`", f"{e['calls']:,}", f"{e['own_seconds']:.3f}",
                         f"{e['cumulative_seconds']:.3f}"] for e in entries])
        lines.append("")
    return lines
