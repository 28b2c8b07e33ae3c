"""Drivers plan and run a table's batches. Which one runs is the engine's `streaming` capability:
a streaming engine (Spark) plans its own micro-batches; any batch engine runs from our offset logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from lakehouse.engines.base import EngineAdapter
    from lakehouse.kinds.base import BatchResult
    from lakehouse.spec.model import TableSpec

Progress = Callable[[str], None]


class Driver(Protocol):
    def run_table(self, spec: TableSpec) -> list[BatchResult]: ...


def driver_for(engine: EngineAdapter, progress: Progress | None = None, **options: Any) -> Any:
    """The driver for `engine`. `options` go to the streaming driver (processing_time)."""
    if engine.capabilities.streaming:
        from lakehouse.runtime.drivers.streaming import SparkDriver

        return SparkDriver(engine, progress, **options)  # type: ignore[arg-type]
    from lakehouse.runtime.drivers.batch import BatchDriver

    return BatchDriver(engine, progress)  # type: ignore[arg-type]
