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


class TableRun(TypedDict):
    """One pipeline table's runs inside a child process."""

    table: str
    batches: int
    rows_in: int
    rows_written: int
    seconds: float


class TablesRun(TypedDict):
    tables: list[TableRun]
    seconds: float


class MeasuredTable(TableRun):
    # The peak of the child the table ran in (shared with the tables that ran beside it).
    peak_rss_bytes: int


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


class OrdersIncrement(TypedDict):
    kind: Literal["orders"]
    batch: OrdersBatch
    tables: list[MeasuredTable]
    layers: dict[str, LayerSummary]
    seconds: float


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


# The optional parts of a report: empty when the option skipped them, else both keys.
class CompareSection(TypedDict, total=False):
    compare_prepare: Prepared
    compare_full_load: LoadRun


class MemorySection(TypedDict, total=False):
    memory_prepare: Prepared
    memory_run: MemoryRun


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
    machine_after: Machine
    seconds: float
