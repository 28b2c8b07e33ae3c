"""A bronze batch through the seam. Kept apart from screen.py because it runs the append strategy
from the registry, and the fact strategy, which the registry holds, screens its own rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lakehouse.engines.base import EngineAdapter
from lakehouse.kinds.append_ingest import sql as ingest
from lakehouse.kinds.base import BatchResult, now_iso
from lakehouse.kinds.expectations.screen import screened
from lakehouse.kinds.registry import STRATEGIES
from lakehouse.spec.model import SOURCE_FILENAME, SOURCE_ROW, Kind, TableSpec


def screened_ingest(engine: EngineAdapter, spec: TableSpec, batch_id: int, raw: Any,
                    schema: Sequence[tuple[str, str]], extra_columns: Sequence[str]) -> BatchResult:
    """A bronze batch through `screened`: the expressions judge the typed rows (what the table holds),
    and a landed row is known by its file and line, so the raw text of a dropped row is left out."""

    def process(rows: Any) -> BatchResult:
        result: BatchResult = STRATEGIES[Kind.APPEND_INGEST].process_batch(
            engine, spec, rows, schema, extra_columns, batch_id, evolve_schema=True)
        return result

    if not spec.expectations:
        return process(raw)
    typed = engine.sql(ingest.typed_projection_sql(engine.dialect, schema, extra_columns, now_iso(), "raw"),
                       {"raw": raw})
    return screened(engine, spec, batch_id, raw, process, judged_rows=typed, row_key=(SOURCE_FILENAME, SOURCE_ROW))
