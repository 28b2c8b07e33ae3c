"""The shapes of what the benchmark measures: child-process results and the report run_bench returns.

All plain dicts, because they cross a process boundary (pickled) and end up as the JSON report that
`lakehouse bench --render` reads back.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class FloorTable(TypedDict):
    rows: int
    seconds: float


class FloorResult(TypedDict):
    tables: dict[str, FloorTable]
    seconds: float


class MeasuredFloor(FloorResult):
    peak_rss_bytes: int


class RowsRead(TypedDict):
    """What one table's run read and wrote, from its Delta commits (rows_read.py)."""

    rows_in: int  # rows the batches read from their input (BatchResult.rows_in)
    commits: int
    operations: dict[str, int]  # commit operation (WRITE, MERGE, ...) -> how many
    merge_source_rows: int
    target_rows_rewritten: int  # existing rows a MERGE read and wrote again
    rows_added: int
    files_added: int
    files_removed: int
    table_rows: int | None  # the table after the run


class TableRun(TypedDict):
    """One pipeline table's runs inside a child process."""

    table: str
    batches: int
    rows_in: int
    rows_written: int
    seconds: float
    rows_read: NotRequired[RowsRead]


class TablesRun(TypedDict):
    tables: list[TableRun]
    seconds: float


class MeasuredTable(TableRun):
    # The peak of the child the table ran in (shared with the tables that ran beside it).
    peak_rss_bytes: int


class PeerTablesRun(TablesRun):
    jvm_start_seconds: float


class PeerPhase(TypedDict):
    """The Spark engine's run of one phase (peer.py); its tables' peaks are the phase's tree peak."""

    engine: str
    tables: list[MeasuredTable]
    layers: dict[str, LayerSummary]
    seconds: float  # the tables' own seconds, JVM already up
    jvm_start_seconds: float
    seconds_with_start: float
    peak_rss_bytes: int  # the child's whole process tree, JVM included
    jvm_peak_rss_bytes: int | None
    ours_to_spark: float | None  # our seconds / Spark's seconds
    ours_to_spark_with_start: float | None


class LayerSummary(TypedDict):
    tables: int
    rows_written: int
    seconds: float
    rows_per_second: int | None  # None when the layer took no measurable time
    peak_rss_bytes: int


class SkippedTable(TypedDict):
    table: str
    reason: str


class LandedTable(TypedDict):
    rows: int
    files: int
    bytes: int


class Prepared(TypedDict):
    generate_seconds: float
    land_seconds: float
    tables: dict[str, LandedTable]


class LoadRun(TypedDict):
    tables: list[MeasuredTable]
    layers: dict[str, LayerSummary]
    seconds: float
    skipped_tables: list[SkippedTable]
    peer: NotRequired[PeerPhase]


class FullLoad(LoadRun):
    ratio_to_floor: float


class RoundsRun(LoadRun):
    rounds: int
    round_peaks: list[int]
    finished: bool  # False when memory_max_rounds stopped it first
    peak_rss_bytes: int


class MemoryRun(RoundsRun):
    scale: float


class CustomerBatch(TypedDict):
    file: str
    rows: int
    changed: int
    table_rows: int


class OrdersBatch(TypedDict):
    orders: int
    lineitems: int
    files: list[str]


class CustomerIncrement(TypedDict):
    kind: Literal["customer"]
    batch: CustomerBatch
    share: float
    tables: list[MeasuredTable]
    layers: dict[str, LayerSummary]
    seconds: float
    peer: NotRequired[PeerPhase]


class OrdersIncrement(TypedDict):
    kind: Literal["orders"]
    batch: OrdersBatch
    tables: list[MeasuredTable]
    layers: dict[str, LayerSummary]
    seconds: float
    peer: NotRequired[PeerPhase]


Increment = CustomerIncrement | OrdersIncrement


class Machine(TypedDict):
    date: str
    load_average: list[float]
    cpus: int | None
    memory_bytes: int
    platform: str
    python: str
    versions: dict[str, str]


class OptionsRecord(TypedDict):
    scale: float
    shares: list[float]
    compare_scale: float | None
    memory_scale: float | None
    memory_batch_files: int
    memory_tables: list[str]
    memory_max_rounds: int | None
    file_mb: int
    workdir: str
    peer: str | None
    small_files: int | None


class ProfileEntry(TypedDict):
    function: str  # file:line(name)
    calls: int
    own_seconds: float
    cumulative_seconds: float


class SmallFilesCase(TypedDict):
    """N rows landed as `files` files, then landing->gold on the embedded engine (availableNow)."""

    files: int
    rows: int
    tables: list[MeasuredTable]
    layers: dict[str, LayerSummary]
    seconds: float
    land_seconds: float


class SmallFilesRun(TypedDict):
    rows: int
    many: SmallFilesCase  # one row per file
    one: SmallFilesCase  # the same rows in one file
    many_to_one: float | None  # the target: at most 10
    # With --profile: per table of the many-files case, its top costs by own time and the
    # project's functions by cumulative time (cProfile).
    profile: dict[str, dict[str, list[ProfileEntry]]]


# The optional parts of a report: empty when the option skipped them, else both keys.
class CompareSection(TypedDict, total=False):
    compare_prepare: Prepared
    compare_full_load: LoadRun


class MemorySection(TypedDict, total=False):
    memory_prepare: Prepared
    memory_run: MemoryRun


class ExtraSections(TypedDict, total=False):
    peer_missing: str
    small_files: SmallFilesRun


class BenchReport(TypedDict):
    command: str
    machine_before: Machine
    options: OptionsRecord
    pipeline: str
    prepare: Prepared
    floor: MeasuredFloor
    full_load: FullLoad
    # Per scale ("sf1", "sf10"): the batches run at it, in order.
    incremental: dict[str, list[Increment]]
    compare_prepare: NotRequired[Prepared]
    compare_full_load: NotRequired[LoadRun]
    memory_prepare: NotRequired[Prepared]
    memory_run: NotRequired[MemoryRun]
    # Why the Spark peer did not run, when it was asked for and could not.
    peer_missing: NotRequired[str]
    small_files: NotRequired[SmallFilesRun]
    machine_after: Machine
    seconds: float
