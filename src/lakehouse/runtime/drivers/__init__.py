"""Drivers plan and run a table's batches. Which one runs is the engine's `streaming` capability:
a streaming engine (Spark) plans its own micro-batches; any batch engine runs from our offset logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from lakehouse.engines.base import EngineAdapter
    from lakehouse.kinds.base import BatchResult
    from lakehouse.runtime.events import EventLog
    from lakehouse.spec.model import TableSpec

Progress = Callable[[str], None]


class Driver(Protocol):
    def run_table(self, spec: TableSpec) -> list[BatchResult]: ...


def driver_for(engine: EngineAdapter, progress: Progress | None = None, *,
               processing_time: str | None = None, events: EventLog | None = None) -> Driver:
    """The driver for `engine`. `processing_time` is the streaming trigger (None: available now);
    `events` records each batch in the event log (None: nothing is recorded)."""
    if engine.capabilities.streaming:
        from lakehouse.runtime.drivers.streaming import SparkDriver, spark_engine

        return SparkDriver(spark_engine(engine), progress, processing_time=processing_time, events=events)
    from lakehouse.runtime.drivers.batch import BatchDriver

    return BatchDriver(engine, progress, events=events)
