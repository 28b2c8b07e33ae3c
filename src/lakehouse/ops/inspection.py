"""Looking at the tables: status, invariants, time travel and SQL. Works on any engine's tables,
since every table is a plain Delta table (read here with delta-rs and DuckDB)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import duckdb
import pyarrow as pa

from lakehouse.core.checkpoints import table_engine
from lakehouse.core.config import Settings
from lakehouse.core.dialects import DUCKDB, Dialect
from lakehouse.core.errors import ConfigError, LakehouseError
from lakehouse.core.storage import FileInfo, Storage
from lakehouse.engines.embedded.engine import EmbeddedEngine
from lakehouse.engines.registry import ENGINES, engine_class
from lakehouse.kinds.expectations.screen import last_counts
from lakehouse.kinds.invariants import Violation
from lakehouse.kinds.registry import INVARIANTS
from lakehouse.ops.checkpoint_views import CheckpointView, EmbeddedCheckpoints, SparkCheckpoints
from lakehouse.ops.events import event_log_table, last_batches
from lakehouse.sources.registry import arrow_reader
from lakehouse.spec.model import Kind, Pipeline, TableRef, TableSpec

_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")

# Violation belongs to the kinds' invariants (kinds/invariants.py); validate's callers find it here too.
__all__ = ["Inspector", "Violation"]


class Inspector:
    def __init__(self, settings: Settings, storage: Storage,
                 pipelines: Callable[[], Mapping[str, Pipeline]] | None = None) -> None:
        """`pipelines` gives the pipelines whose tables `sql` can see (default: the shipped ones); a
        project's are read only when a query needs them."""
        self.settings = settings
        self.storage = storage
        self.engine = EmbeddedEngine(settings, storage)
        self._pipelines = pipelines

    def q(self, name: str) -> str:
        return DUCKDB.quote(name)

    # -- status --------------------------------------------------------------------------------
    def checkpoints(self, spec: TableSpec) -> CheckpointView:
        """The view of the checkpoints of the engine that wrote the table (lakehouse.core.checkpoints.table_engine)."""
        root = self.settings.checkpoint_uri(spec.ref.schema, spec.ref.name)
        engine = table_engine(self.storage, root)
        # A streaming engine keeps Structured Streaming's checkpoint layout; batch engines our offset logs.
        streaming = engine in ENGINES and engine_class(engine).capabilities.streaming
        view = SparkCheckpoints if streaming else EmbeddedCheckpoints
        return view(self, spec, root, engine)

    def status(self, pipeline: Pipeline) -> list[dict[str, Any]]:
        rows = []
        # The log knows what a checkpoint cannot: a batch that failed or died before its commit.
        logged = last_batches(self.settings, self.storage)
        for spec in pipeline.tables:
            table = self.engine.delta_table(spec.ref)
            view = self.checkpoints(spec)
            entry: dict[str, Any] = {
                "table": str(spec.ref),
                "kind": spec.kind.value,
                "version": None if table is None else table.version(),
                "rows": None if table is None else self._count(spec.ref),
                "last_batch": view.last_batch(),
                "engine": view.engine,
                "last_event": logged.get(str(spec.ref)),
                "outcome": (logged.get(str(spec.ref)) or {}).get("outcome"),
                "expectations": last_counts(self.settings, self.storage, spec.ref),
            }
            if spec.kind is Kind.APPEND_INGEST:
                found = view.discover_files()
                entry["files_pending"] = len(found.pending)
                entry["files_quarantined"] = [{"uri": r.uri, "batch_id": r.batch_id, "reason": r.reason}
                                              for r in found.quarantined]
                entry["files_overwritten"] = [{"uri": i.uri, "batch_id": r.batch_id, "ingested_size": r.size,
                                               "size_now": i.size} for i, r in found.overwritten]
            else:
                upstream_version = self.engine.table_version(spec.upstream[0])
                done = view.upstream_version_done()
                entry["versions_pending"] = 0 if upstream_version is None else max(0, upstream_version - done)
            if table is not None:
                history = table.history(1)
                entry["last_commit"] = history[0].get("timestamp") if history else None
            rows.append(entry)
        return rows

    def _count(self, ref: TableRef) -> int:
        dataset = self.engine.dataset(ref)
        return int(dataset.count_rows())

    # -- validate ------------------------------------------------------------------------------
    def validate(self, pipeline: Pipeline) -> tuple[list[str], list[Violation]]:
        """Each existing table's kind invariants (kinds/<kind>/invariants.py): what was checked, per
        table, and what does not hold."""
        checked: list[str] = []
        violations: list[Violation] = []
        tables = _InspectedTables(self)
        for spec in pipeline.tables:
            if not tables.exists(spec.ref):
                continue
            invariants = INVARIANTS[spec.kind]
            checked.append(f"{spec.ref}: " + "; ".join(invariant.checks for invariant in invariants))
            for invariant in invariants:
                violations += invariant.run(tables, spec)
        return checked, violations

    def count_records(self, spec: TableSpec, current: FileInfo) -> int:
        """The records a landed file holds, as the embedded reader counts them."""
        assert spec.source is not None
        opened = arrow_reader(spec.source, self.storage).open(current)  # the source's format, not always CSV
        return 0 if opened is None else int(opened.raw_rows(opened.header, []).num_rows)

    # -- time travel and SQL -------------------------------------------------------------------
    def read(self, name: str, *, version: int | None = None, timestamp: str | None = None) -> pa.Table:
        return self.engine.read_table(TableRef.parse(name), version=version, timestamp=timestamp)

    def sql(self, query: str, as_of: dict[str, str] | None = None) -> pa.Table:
        """Run DuckDB SQL where every pipeline table is visible as schema.table (at a version if asked)."""
        as_of = as_of or {}
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        for name in as_of:
            if not _TABLE_NAME.match(name):
                raise ConfigError(f"'{name}' is not a table name of the form schema.table.")
        for schema in ("bronze", "silver", "gold"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {self.q(schema)}")
        for ref in self._existing_tables():
            point = as_of.get(str(ref))
            version = int(point) if point is not None and point.isdigit() else None
            table = self.engine.delta_table(ref) if point is None else self.engine.fresh_delta_table(ref)
            if table is None:
                continue
            if point is not None:
                table.load_as_version(version if version is not None else point)
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {self.q(ref.schema)}")
            view = f"__{ref.schema}_{ref.name}"
            if "deletionVectors" in (table.protocol().reader_features or []):
                # delta-rs's pyarrow dataset refuses deletion vectors; the engine's reads apply them.
                con.register(view, self.engine.read_table(ref, version=table.version()))
            else:
                con.register(view, table.to_pyarrow_dataset())
            con.execute(f"CREATE VIEW {self.q(ref.schema)}.{self.q(ref.name)} AS SELECT * FROM {self.q(view)}")
        self._register_event_log(con)
        try:
            return con.sql(query).to_arrow_table()
        except duckdb.Error as exc:
            available = ", ".join(str(r) for r in self._existing_tables()) or "none yet (run the pipeline first)"
            raise LakehouseError(f"The query failed: {exc}", hint=f"tables available: {available}") from exc

    def _register_event_log(self, con: duckdb.DuckDBPyConnection) -> None:
        """The pipeline event log as _lakehouse.event_log (it is no pipeline table, so no time travel)."""
        table = event_log_table(self.settings, self.storage)
        if table is None:
            return
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {self.q('_lakehouse')}")
        con.register("__lakehouse_event_log", table.to_pyarrow_dataset())
        con.execute(f"CREATE VIEW {self.q('_lakehouse')}.{self.q('event_log')} AS SELECT * FROM "
                    f"{self.q('__lakehouse_event_log')}")

    def _existing_tables(self) -> list[TableRef]:
        from lakehouse.kinds.expectations.screen import quarantine_ref
        from lakehouse.spec import PIPELINES

        pipelines = PIPELINES if self._pipelines is None else self._pipelines()
        specs = [spec for pipeline in pipelines.values() for spec in pipeline.tables]
        # A table's quarantine (rows its drop expectations left out) is queried beside it.
        refs = {spec.ref for spec in specs} | {quarantine_ref(spec.ref) for spec in specs if spec.expectations}
        return sorted((r for r in refs if self.engine.delta_table(r) is not None), key=str)


class _InspectedTables:
    """The inspector's tables as the kinds' invariants read them (kinds.invariants.InvariantTables)."""

    def __init__(self, inspector: Inspector) -> None:
        self.inspector = inspector

    @property
    def dialect(self) -> Dialect:
        return DUCKDB

    def exists(self, ref: TableRef) -> bool:
        return self.inspector.engine.delta_table(ref) is not None

    def rows(self, query: str, views: Mapping[str, TableRef]) -> list[dict[str, Any]]:
        engine = self.inspector.engine
        result: list[dict[str, Any]] = engine.sql(
            query, {name: engine.dataset(ref) for name, ref in views.items()}).to_pylist()
        return result

    def landed_records(self, spec: TableSpec) -> dict[str, int]:
        return self.inspector.checkpoints(spec).landed_records()

