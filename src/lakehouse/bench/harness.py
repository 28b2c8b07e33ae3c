"""`lakehouse bench`: full load against a DuckDB floor, incremental batches, and a memory run.

Layout of the work dir (never the user's data/landing):

    <workdir>/<purpose>-sf<scale>/tpch/       generated CSV (kept between runs: generation is not measured)
    <workdir>/<purpose>-sf<scale>/landing/    landed chunks and batches (fresh every run)
    <workdir>/<purpose>-sf<scale>/warehouse/  Delta tables and checkpoints (fresh every run)
    <workdir>/<purpose>-sf<scale>/floor/      the floor's Parquet output
    <workdir>/<purpose>-sf<scale>/spark-warehouse/  the Spark peer's tables and checkpoints (peer.py)
    <workdir>/small-files/                    the many-small-files phase (small_files.py)

with purpose `main` (full load and batches), `compare` (customer only) or `memory`.

Every measured phase runs in its own child process (isolate.py) so its peak memory is its own.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse.bench import batches, machine
from lakehouse.bench.isolate import run_isolated
from lakehouse.bench.layers import LAYERS, summarize_layers
from lakehouse.bench.peer import SparkPeer, spark_missing
from lakehouse.bench.phases import duckdb_floor, run_tables
from lakehouse.bench.results import (
    BenchReport,
    CompareSection,
    ExtraSections,
    FullLoad,
    Increment,
    LandedTable,
    LoadRun,
    MeasuredFloor,
    MeasuredTable,
    MemorySection,
    OptionsRecord,
    Prepared,
    RoundsRun,
    SkippedTable,
)
from lakehouse.bench.small_files import SmallFiles
from lakehouse.core.config import Settings
from lakehouse.core.errors import ConfigError
from lakehouse.core.storage import Storage
from lakehouse.landing import chunk_csv, generate_tpch, land_files
from lakehouse.landing.chunking import count_lines
from lakehouse.spec import PIPELINES, Kind, Pipeline, TableRef

Progress = Callable[[str], None]
SALES_SOURCES = ("customer", "orders", "lineitem", "nation", "region", "part", "supplier")
MEMORY_SOURCES = ("customer", "orders", "lineitem")


@dataclass
class BenchOptions:
    scale: float = 1.0
    workdir: Path = Path("data/bench")
    # Customer change batches and new-order batches, as a share of the table at `scale`.
    shares: tuple[float, ...] = (0.001, 0.01, 0.1)
    # The customer batches are repeated, with the same row counts, on a table this many times bigger.
    compare_scale: float | None = 10.0
    # A full load of customer, orders and lineitem at this scale, in batches of `memory_batch_files`.
    memory_scale: float | None = None
    memory_batch_files: int = 2
    memory_tables: tuple[str, ...] = MEMORY_SOURCES
    # Stop the memory run after this many rounds (None: until everything is loaded).
    memory_max_rounds: int | None = None
    # Landed files are cut to about this size (what an upstream export typically writes).
    file_mb: int = 128
    tables: tuple[str, ...] = SALES_SOURCES
    # The engine every phase (but memory and small files) also runs on, in the same run; None: ours only.
    peer: str | None = "spark"
    # Rows landed as that many one-row files, against one file of them; None skips.
    small_files: int | None = 10_000
    profile_small_files: bool = False
    # Our engine's MERGEs by deletion vectors or by rewriting files (LAKEHOUSE_MERGE_ON_READ); None:
    # the engine's default (deletion vectors). The Spark peer is unchanged.
    merge_on_read: bool | None = None
    extra: dict[str, object] = field(default_factory=dict)


def pipeline_under_test() -> Pipeline:
    """The whole TPC-H pipeline when it is defined, else the customer pipeline."""
    return PIPELINES.get("tpch") or PIPELINES["customer"]


def runnable_tables(pipeline: Pipeline, sources: tuple[str, ...]) -> tuple[list[str], list[SkippedTable]]:
    """Tables fed (transitively) only from `sources` and with an embedded strategy, in run order."""
    from lakehouse.kinds.registry import STRATEGIES

    included: set[TableRef] = set()
    names: list[str] = []
    skipped: list[SkippedTable] = []
    for spec in pipeline.tables:
        if spec.kind is Kind.APPEND_INGEST:
            fed = spec.source is not None and spec.source.folder in sources
        else:
            fed = all(ref in included for ref in spec.upstream)
        if not fed:
            continue
        if spec.kind is not Kind.APPEND_INGEST and spec.kind not in STRATEGIES:
            skipped.append({"table": str(spec.ref), "reason": f"no embedded strategy for kind {spec.kind.value} yet"})
            continue
        included.add(spec.ref)
        names.append(str(spec.ref))
    return names, skipped


class ScaleRun:
    """One scale factor's work dir: generation, landing, and table runs in child processes."""

    def __init__(self, options: BenchOptions, purpose: str, scale: float, sources: tuple[str, ...], progress: Progress,
                 max_files_per_batch: int | None = None) -> None:
        self.options = options
        self.scale = scale
        self.sources = sources
        self.progress = progress
        # One dir per purpose: the memory run at SF10 must not wipe the customer-only SF10 data.
        self.root = Path(options.workdir).resolve() / f"{purpose}-sf{scale:g}"
        self.tpch = self.root / "tpch"
        settings = Settings.load(landing=str(self.root / "landing"), warehouse=str(self.root / "warehouse"),
                                 engine="embedded", env={})
        self.settings = settings.with_overrides(max_files_per_batch=max_files_per_batch or 10_000,
                                                  # Bounded micro-batches: one batch per table and round.
                                                  available_now=max_files_per_batch is None,
                                                  # land_files renames whole files into place: none is
                                                  # half-written, and waiting for them is not the pipeline's cost.
                                                  settle_seconds=0.0, merge_on_read=options.merge_on_read)
        self.storage = Storage(self.settings.s3)
        self.pipeline = pipeline_under_test()
        self.tables, self.skipped = runnable_tables(self.pipeline, sources)

    def prepare(self) -> Prepared:
        """Generate (cached), then start from an empty landing zone, warehouse and change state."""
        started = time.perf_counter()
        csvs = generate_tpch(self.scale, self.tpch, self.sources, progress=self.progress)
        generated = time.perf_counter() - started
        for stale in (self.root / "landing", self.root / "warehouse", self.root / "floor", self.tpch / "changes",
                      self.tpch / "chunks"):
            shutil.rmtree(stale, ignore_errors=True)
        started = time.perf_counter()
        landed: dict[str, LandedTable] = {}
        for table, path in csvs.items():
            size = path.stat().st_size
            chunks = max(1, math.ceil(size / (self.options.file_mb * 1024 * 1024)))
            paths = chunk_csv(path, chunks, self.tpch / "chunks" / table, table)
            land_files(self.storage, paths, self.settings.landing, table)
            # The landing zone now holds the bytes; at SF10 a second copy is 10 GB of disk.
            shutil.rmtree(self.tpch / "chunks" / table, ignore_errors=True)
            landed[table] = {"rows": count_lines(path), "files": chunks, "bytes": size}
        self.progress(f"sf{self.scale:g}: landed {sum(t['bytes'] for t in landed.values()) / 1e9:.2f} GB "
                      f"in {sum(t['files'] for t in landed.values())} files")
        return {"generate_seconds": round(generated, 3), "land_seconds": round(time.perf_counter() - started, 3),
                "tables": landed}

    def floor(self) -> MeasuredFloor:
        globs = {t: f"{self.settings.landing}/{t}/*.csv" for t in self.sources}
        outcome = run_isolated(duckdb_floor, globs, str(self.root / "floor"))
        return {**outcome.value, "peak_rss_bytes": outcome.peak_rss_bytes}

    def run_each_table(self, names: list[str]) -> list[MeasuredTable]:
        """One child per table: each table's peak memory is its own."""
        rows: list[MeasuredTable] = []
        for number, name in enumerate(names, start=1):
            self.progress(f"sf{self.scale:g}: running {name}")
            outcome = run_isolated(run_tables, self.settings, self.pipeline.name, [name])
            rows.append({**outcome.value["tables"][0], "peak_rss_bytes": outcome.peak_rss_bytes})
            # A "[n/total]" step: a bar on a terminal (cli/progress.py).
            self.progress(f"[{number}/{len(names)}] sf{self.scale:g}: {name} in {rows[-1]['seconds']:.2f}s")
        return rows

    def run_in_rounds(self, names: list[str], max_rounds: int | None = None) -> RoundsRun:
        """Micro-batches through every layer: each round runs every table once (at most one new batch
        each) until a round finds nothing new, so each table's input is one upstream batch, as in a
        streaming trigger. Every (round, table) gets its own child: a process's RSS never shrinks
        back (allocators keep freed pages), so only separate processes show each batch's own peak.
        """
        totals: dict[str, MeasuredTable] = {
            n: {"table": n, "batches": 0, "rows_in": 0, "rows_written": 0, "seconds": 0.0, "peak_rss_bytes": 0}
            for n in names}
        rounds = 0
        round_peaks: list[int] = []
        while True:
            rounds += 1
            found = 0
            round_peaks.append(0)
            for name in names:
                outcome = run_isolated(run_tables, self.settings, self.pipeline.name, [name], drain=False)
                row, total = outcome.value["tables"][0], totals[name]
                total["batches"] += row["batches"]
                total["rows_in"] += row["rows_in"]
                total["rows_written"] += row["rows_written"]
                total["seconds"] += row["seconds"]
                total["peak_rss_bytes"] = max(total["peak_rss_bytes"], outcome.peak_rss_bytes)
                round_peaks[-1] = max(round_peaks[-1], outcome.peak_rss_bytes)
                found += row["batches"]
            self.progress(f"sf{self.scale:g}: round {rounds}: {found} batch(es), "
                          f"peak {round_peaks[-1] / 2**30:.2f} GiB")
            if not found or (max_rounds is not None and rounds >= max_rounds):
                break
        rows = list(totals.values())
        for row in rows:
            row["seconds"] = round(row["seconds"], 3)
        return {"tables": rows, "layers": summarize_layers(rows), "seconds": round(sum(r["seconds"] for r in rows), 3),
                "rounds": rounds, "round_peaks": round_peaks, "finished": not found,
                "peak_rss_bytes": max(r["peak_rss_bytes"] for r in rows),
                "skipped_tables": self.skipped}

    def run_by_layer(self, names: list[str]) -> list[MeasuredTable]:
        """One child per layer (cheaper for small batches); peak memory is the layer's."""
        rows: list[MeasuredTable] = []
        for layer in LAYERS:
            layer_names = [n for n in names if n.startswith(layer + ".")]
            if layer_names:
                outcome = run_isolated(run_tables, self.settings, self.pipeline.name, layer_names)
                rows += [{**row, "peak_rss_bytes": outcome.peak_rss_bytes} for row in outcome.value["tables"]]
        return rows

    def downstream(self, source: str) -> list[str]:
        """The runnable tables fed from landing folder `source`, in run order."""
        wanted: set[str] = set()
        for spec in self.pipeline.tables:
            if spec.kind is Kind.APPEND_INGEST and spec.source is not None and spec.source.folder == source:
                wanted.update(str(s.ref) for s in self.pipeline.downstream_of(spec.ref))
        return [name for name in self.tables if name in wanted]


def _full_load(run: ScaleRun, per_table: bool) -> LoadRun:
    rows = run.run_each_table(run.tables) if per_table else run.run_by_layer(run.tables)
    seconds = round(sum(r["seconds"] for r in rows), 3)
    return {"tables": rows, "layers": summarize_layers(rows), "seconds": seconds, "skipped_tables": run.skipped}


def _with_peer(run: ScaleRun, peer: SparkPeer | None, names: list[str], ours: LoadRun | Increment) -> None:
    """Run the phase just measured on the peer too (same landed files), and put its numbers beside ours."""
    if peer is not None:
        ours["peer"] = peer.phase(names, ours["seconds"])
        run.progress(f"sf{run.scale:g}: spark: {ours['peer']['seconds']:.2f}s "
                     f"(+{ours['peer']['jvm_start_seconds']:.2f}s JVM start)")


def _customer_batches(run: ScaleRun, row_counts: list[int], peer: SparkPeer | None = None) -> list[Increment]:
    results: list[Increment] = []
    names = run.downstream("customer")
    for rows in row_counts:
        batch = batches.customer_batch(run.tpch, run.storage, run.settings.landing, rows)
        table_rows = run.run_by_layer(names)
        results.append({"kind": "customer", "batch": batch, "share": round(batch["changed"] / batch["table_rows"], 6),
                        "tables": table_rows, "layers": summarize_layers(table_rows),
                        "seconds": round(sum(r["seconds"] for r in table_rows), 3)})
        run.progress(f"sf{run.scale:g}: customer batch of {batch['changed']} changes: {results[-1]['seconds']:.2f}s")
        _with_peer(run, peer, names, results[-1])
    return results


def _orders_batches(run: ScaleRun, order_counts: list[int], peer: SparkPeer | None = None) -> list[Increment]:
    results: list[Increment] = []
    names = [n for n in run.tables if n in set(run.downstream("orders")) | set(run.downstream("lineitem"))]
    for count in order_counts:
        batch = batches.orders_batch(run.tpch, run.storage, run.settings.landing, count)
        table_rows = run.run_by_layer(names)
        results.append({"kind": "orders", "batch": batch, "tables": table_rows, "layers": summarize_layers(table_rows),
                        "seconds": round(sum(r["seconds"] for r in table_rows), 3)})
        run.progress(f"sf{run.scale:g}: {count} new orders: {results[-1]['seconds']:.2f}s")
        _with_peer(run, peer, names, results[-1])
    return results


def _peer(options: BenchOptions, run: ScaleRun, extras: ExtraSections) -> SparkPeer | None:
    if options.peer is None:
        return None
    if options.peer != "spark":
        raise ConfigError(f"Unknown benchmark peer '{options.peer}'.", hint="use --peer spark, or --no-peer")
    missing = spark_missing()
    if missing:
        extras["peer_missing"] = missing
        run.progress(f"not running the Spark peer: {missing}")
        return None
    return SparkPeer(run.settings, run.root, run.pipeline.name)


def _options_record(options: BenchOptions) -> OptionsRecord:
    return {
        "scale": options.scale, "shares": list(options.shares), "compare_scale": options.compare_scale,
        "memory_scale": options.memory_scale, "memory_batch_files": options.memory_batch_files,
        "memory_tables": list(options.memory_tables), "memory_max_rounds": options.memory_max_rounds,
        "file_mb": options.file_mb, "workdir": str(options.workdir), "peer": options.peer,
        "small_files": options.small_files}


def run_bench(options: BenchOptions, progress: Progress, command: str = "lakehouse bench") -> BenchReport:
    started = time.perf_counter()
    machine_before = machine.describe()

    main = ScaleRun(options, "main", options.scale, options.tables, progress)
    prepared = main.prepare()
    progress(f"sf{options.scale:g}: floor (DuckDB CSV -> Parquet)")
    floor = main.floor()
    progress(f"sf{options.scale:g}: full load of {len(main.tables)} tables")
    extras: ExtraSections = {}
    peer = _peer(options, main, extras)
    load = _full_load(main, per_table=True)
    full_load: FullLoad = {**load, "ratio_to_floor": round(load["seconds"] / floor["seconds"], 2)}
    _with_peer(main, peer, main.tables, full_load)

    customers = prepared["tables"]["customer"]["rows"]
    customer_rows = [max(1, round(share * customers)) for share in options.shares]
    increments = _customer_batches(main, customer_rows, peer)
    if "orders" in options.tables and "lineitem" in options.tables:
        orders = prepared["tables"]["orders"]["rows"]
        increments += _orders_batches(main, [max(1, round(share * orders)) for share in options.shares], peer)
    incremental = {f"sf{options.scale:g}": increments}

    compare: CompareSection = {}
    if options.compare_scale:
        # Same batch row counts against a table compare_scale/scale times bigger: does cost follow it?
        bigger = ScaleRun(options, "compare", options.compare_scale, ("customer",), progress)
        compare["compare_prepare"] = bigger.prepare()
        bigger_peer = _peer(options, bigger, extras)
        compare["compare_full_load"] = _full_load(bigger, per_table=True)
        _with_peer(bigger, bigger_peer, bigger.tables, compare["compare_full_load"])
        incremental[f"sf{options.compare_scale:g}"] = _customer_batches(bigger, customer_rows, bigger_peer)

    memory_section: MemorySection = {}
    if options.memory_scale:
        memory = ScaleRun(options, "memory", options.memory_scale, options.memory_tables, progress,
                          max_files_per_batch=options.memory_batch_files)
        memory_section["memory_prepare"] = memory.prepare()
        rounds = memory.run_in_rounds(memory.tables, options.memory_max_rounds)
        memory_section["memory_run"] = {**rounds, "scale": options.memory_scale}

    if options.small_files:
        customer_tables, _ = runnable_tables(main.pipeline, ("customer",))
        small = SmallFiles(Path(options.workdir), options.small_files, main.pipeline.name, customer_tables, progress)
        extras["small_files"] = small.run(profile=options.profile_small_files)

    # Built last but in the order the sections were measured, which is the JSON report's key order.
    return {"command": command, "machine_before": machine_before, "options": _options_record(options),
            "pipeline": main.pipeline.name, "prepare": prepared, "floor": floor, "full_load": full_load,
            "incremental": incremental, **compare, **memory_section, **extras,
            "machine_after": machine.describe(), "seconds": round(time.perf_counter() - started, 3)}
