"""Bronze: landed rows typed by the stored schema (unparsable values rescued), appended once per batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lakehouse.core.faults import crash_during, crashpoint
from lakehouse.engines.base import EngineAdapter
from lakehouse.kinds.append_ingest import sql as ingest
from lakehouse.kinds.base import BatchResult, Reads, now_iso, open_batch, table_properties
from lakehouse.spec.model import Kind, TableSpec


class AppendIngest:
    kind = Kind.APPEND_INGEST
    reads = Reads.LANDED_FILES

    def process_batch(
        self,
        engine: EngineAdapter,
        spec: TableSpec,
        raw: Any,
        schema: Sequence[tuple[str, str]],
        extra_columns: Sequence[str],
        batch_id: int,
        evolve_schema: bool,
    ) -> BatchResult:
        result, txn = open_batch(engine, spec, batch_id, engine.row_count(raw))
        if result.skipped_as_replay:
            return result
        typed = engine.sql(
            ingest.typed_projection_sql(engine.dialect, schema, extra_columns, now_iso(), "raw"), {"raw": raw}
        )
        crashpoint(f"{spec.ref}:after-read")
        with crash_during(f"{spec.ref}:during-commit"):
            engine.append(spec.ref, typed, txn, properties=table_properties(spec), evolve_schema=evolve_schema)
        result.rows_written = engine.row_count(typed)
        result.committed = True
        return result
