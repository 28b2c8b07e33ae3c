"""Many small files: N one-row customer files against the same N rows in one file (embedded engine).

Both cases start from an empty landing zone and warehouse and run the customer tables
landing -> gold with availableNow (Settings.available_now, max_files_per_batch at its default),
one child process per layer. The target (issue 16): the N files cost at most 10x the one file.

With `profile`, a third, separately landed copy of the N files runs each layer under cProfile, so
the timed case above carries no profiler overhead.

    <workdir>/small-files/tpch/              generated customer CSV (kept)
    <workdir>/small-files/<case>/landing/    fresh every run; case = many, one, profiled
    <workdir>/small-files/<case>/warehouse/
"""

from __future__ import annotations

import cProfile
import math
import pstats
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from lakehouse.bench.isolate import run_isolated
from lakehouse.bench.layers import LAYERS, summarize_layers
from lakehouse.bench.phases import run_tables
from lakehouse.bench.results import MeasuredTable, ProfileEntry, SmallFilesCase, SmallFilesRun, TablesRun
from lakehouse.core.config import Settings
from lakehouse.core.storage import Storage

Progress = Callable[[str], None]
CUSTOMERS_PER_SCALE = 150_000
PROFILE_TOP = 15


def scale_for(rows: int) -> float:
    """The smallest TPC-H scale (in steps of 0.01) whose customer table has `rows` rows."""
    return max(0.01, math.ceil(rows / CUSTOMERS_PER_SCALE * 100) / 100)


def write_row_files(csv: Path, rows: int, out: Path, per_file: int) -> list[Path]:
    """The first `rows` data rows of `csv` in files of `per_file` rows, each with the header."""
    out.mkdir(parents=True, exist_ok=True)
    with csv.open() as source:
        header = source.readline()
        lines = [source.readline() for _ in range(rows)]
    if not lines or not lines[-1]:
        raise ValueError(f"{csv} has fewer than {rows} data rows")
    width = len(str(max(1, math.ceil(rows / per_file))))
    paths: list[Path] = []
    for number, start in enumerate(range(0, rows, per_file), start=1):
        path = out / f"customer_{number:0{width}d}.csv"
        path.write_text(header + "".join(lines[start:start + per_file]))
        paths.append(path)
    return paths


def _entry(key: tuple[str, int, str], row: tuple[int, int, float, float, object]) -> ProfileEntry:
    file, line, name = key
    return {"function": f"{file}:{line}({name})", "calls": int(row[1]), "own_seconds": round(row[2], 4),
            "cumulative_seconds": round(row[3], 4)}


def top_costs(stats: pstats.Stats, top: int = PROFILE_TOP) -> dict[str, list[ProfileEntry]]:
    """The `top` functions by own time, and the project's own functions by cumulative time."""
    table = stats.stats  # type: ignore[attr-defined]  # pstats keeps its table untyped
    entries = [_entry(key, row) for key, row in table.items()]
    own = sorted(entries, key=lambda e: e["own_seconds"], reverse=True)[:top]
    ours = [e for e in entries if "/lakehouse/" in e["function"]]
    cumulative = sorted(ours, key=lambda e: e["cumulative_seconds"], reverse=True)[:top]
    return {"by_own_time": own, "by_cumulative_lakehouse": cumulative}


def profiled_run_tables(settings: Settings, pipeline_name: str, table_names: list[str]
                        ) -> tuple[TablesRun, dict[str, dict[str, list[ProfileEntry]]]]:
    """run_tables under cProfile, one profile per table (in a child: see isolate.py)."""
    runs: list[TablesRun] = []
    profiles: dict[str, dict[str, list[ProfileEntry]]] = {}
    for name in table_names:
        profiler = cProfile.Profile()
        profiler.enable()
        runs.append(run_tables(settings, pipeline_name, [name]))
        profiler.disable()
        profiles[name] = top_costs(pstats.Stats(profiler))
    return {"tables": [t for run in runs for t in run["tables"]],
            "seconds": round(sum(run["seconds"] for run in runs), 3)}, profiles


class SmallFiles:
    def __init__(self, workdir: Path, rows: int, pipeline_name: str, table_names: list[str],
                 progress: Progress) -> None:
        self.root = Path(workdir).resolve() / "small-files"
        self.rows = rows
        self.pipeline_name = pipeline_name
        self.table_names = table_names
        self.progress = progress

    def _land(self, case: str, per_file: int) -> tuple[Settings, int, float]:
        from lakehouse.landing import generate_tpch, land_files

        csv = generate_tpch(scale_for(self.rows), self.root / "tpch", ("customer",), progress=self.progress)["customer"]
        case_root = self.root / case
        shutil.rmtree(case_root, ignore_errors=True)
        settings = Settings.load(landing=str(case_root / "landing"), warehouse=str(case_root / "warehouse"),
                                 engine="embedded", env={}).with_overrides(settle_seconds=0.0)  # as harness.py
        paths = write_row_files(csv, self.rows, case_root / "staging", per_file)
        started = time.perf_counter()
        land_files(Storage(settings.s3), paths, settings.landing, "customer")
        landed = time.perf_counter() - started
        shutil.rmtree(case_root / "staging", ignore_errors=True)
        return settings, len(paths), round(landed, 3)

    def case(self, name: str, per_file: int) -> SmallFilesCase:
        settings, files, land_seconds = self._land(name, per_file)
        rows: list[MeasuredTable] = []
        for layer in LAYERS:
            names = [n for n in self.table_names if n.startswith(layer + ".")]
            if names:
                outcome = run_isolated(run_tables, settings, self.pipeline_name, names)
                rows += [{**row, "peak_rss_bytes": outcome.peak_rss_bytes} for row in outcome.value["tables"]]
        seconds = round(sum(r["seconds"] for r in rows), 3)
        self.progress(f"small files: {self.rows} rows in {files} file(s): {seconds:.2f}s landing->gold")
        return {"files": files, "rows": self.rows, "tables": rows, "layers": summarize_layers(rows),
                "seconds": seconds, "land_seconds": land_seconds}

    def profile(self) -> dict[str, dict[str, list[ProfileEntry]]]:
        settings, _, _ = self._land("profiled", 1)
        profiles: dict[str, dict[str, list[ProfileEntry]]] = {}
        for layer in LAYERS:
            names = [n for n in self.table_names if n.startswith(layer + ".")]
            if names:
                profiles.update(run_isolated(profiled_run_tables, settings, self.pipeline_name, names).value[1])
        return profiles

    def run(self, profile: bool) -> SmallFilesRun:
        many = self.case("many", 1)
        one = self.case("one", self.rows)
        return {"rows": self.rows, "many": many, "one": one,
                "many_to_one": round(many["seconds"] / one["seconds"], 2) if one["seconds"] else None,
                "profile": self.profile() if profile else {}}
