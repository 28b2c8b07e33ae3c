"""Runs a pipeline on the chosen engine: table by table, in dependency order, under the pipeline lock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from lakehouse.catalog.base import Catalog
from lakehouse.catalog.spec import CatalogSpec, default_spec_dir, load_catalog_spec
from lakehouse.catalog.sync import sync_schema, sync_table
from lakehouse.core.checkpoints import MixedEnginesError, check_engine, record_engine, table_engine
from lakehouse.core.config import Settings
from lakehouse.core.errors import LakehouseError
from lakehouse.core.storage import Storage
from lakehouse.engines.base import Transaction
from lakehouse.engines.registry import make_engine
from lakehouse.kinds.base import BatchResult, app_id, table_properties
from lakehouse.kinds.expectations.screen import quarantine_ref
from lakehouse.kinds.scd1.deletes import tombstones_ref
from lakehouse.runtime.drivers import Driver, driver_for
from lakehouse.runtime.events import EventLog
from lakehouse.runtime.locking import pipeline_lock
from lakehouse.runtime.requirements import check_capabilities
from lakehouse.spec.model import Pipeline, TableRef, TableSpec

Progress = Callable[[str], None]


@dataclass
class TableReport:
    table: str
    batches: list[dict[str, Any]] = field(default_factory=list)
    rows_written: int = 0
    version: int | None = None
    seconds: float = 0.0


@dataclass
class RunReport:
    pipeline: str
    engine: str
    tables: list[TableReport] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Runner:
    def __init__(self, settings: Settings, storage: Storage, catalog: Catalog | None = None,
                 progress: Progress | None = None,
                 catalog_spec: CatalogSpec | None = None) -> None:
        """`catalog_spec` (default: the catalog/*.yaml that `lakehouse catalog` reads) describes the
        tables the runner registers in `catalog`."""
        self.settings = settings
        self.storage = storage
        self.catalog = catalog
        self.progress = progress or (lambda message: None)
        self.engine = make_engine(settings, storage)
        self._catalog_spec = catalog_spec
        self.events: EventLog | None = None  # the last run's event log writer

    def driver(self) -> Driver:
        return driver_for(self.engine, self.progress, events=self.events)

    def selected(self, pipeline: Pipeline, only: str | None) -> list[TableSpec]:
        if only is None:
            return list(pipeline.tables)
        return [pipeline.table(only)]

    def run(self, pipeline: Pipeline, only: str | None = None) -> RunReport:
        started = time.perf_counter()
        report = RunReport(pipeline.name, self.settings.engine)
        selected = self.selected(pipeline, only)
        self.events = EventLog(self.settings, pipeline.name, self.settings.engine, progress=self.progress)
        with self.events.run() as run_event:
            run_event.results = self._run_locked(pipeline, only, selected, report)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def _run_locked(self, pipeline: Pipeline, only: str | None, selected: list[TableSpec],
                    report: RunReport) -> list[BatchResult]:
        """Runs the tables into `report`; returns every batch's result."""
        assert self.events is not None
        every_result: list[BatchResult] = []
        # All before any: a refused run runs nothing.
        for spec in selected:
            check_capabilities(self.engine, spec)
        with pipeline_lock(self.settings, pipeline.name if only is None else f"{pipeline.name}.{only}"):
            recorded = {spec.ref: self.check_engine(pipeline, spec) for spec in selected}
            driver = self.driver()
            for number, spec in enumerate(selected, start=1):
                table_started = time.perf_counter()
                with self.events.flow(str(spec.ref)) as flow:
                    results: list[BatchResult] = driver.run_table(spec)
                    flow.results = results
                every_result += results
                if recorded[spec.ref] is None:
                    record_engine(self.storage, self._checkpoint_root(spec), self.settings.engine)
                table_report = TableReport(str(spec.ref))
                for result in results:
                    table_report.batches.append(asdict(result))
                    table_report.rows_written += result.rows_written
                table_report.version = self.engine.table_version(spec.ref)
                table_report.seconds = round(time.perf_counter() - table_started, 3)
                report.tables.append(table_report)
                self._register_committed(spec, results, table_report.version)
                # "[n/total]" first: the CLI draws it as a bar on a terminal (cli/progress.py).
                self.progress(f"[{number}/{len(selected)}] {_describe(table_report)}")
        return every_result

    # -- which engine owns a table -----------------------------------------------------------
    def _checkpoint_root(self, spec: TableSpec) -> str:
        return self.settings.checkpoint_uri(spec.ref.schema, spec.ref.name)

    def check_engine(self, pipeline: Pipeline, spec: TableSpec) -> str | None:
        """Refuses to run a table whose checkpoints another engine wrote (lakehouse.core.checkpoints explains
        why no engine can continue from the other's), and a table holding batches under its app
        transaction but no checkpoints at all (its first batches would be taken for replays).
        Returns the engine the table's marker names (None: no marker yet)."""
        root = self._checkpoint_root(spec)
        recorded = check_engine(self.storage, root, self.settings.engine, str(spec.ref), pipeline.name)
        if recorded is not None:
            return recorded
        if table_engine(self.storage, root) is None and self.engine.table_version(spec.ref) is not None \
                and self.engine.already_committed(spec.ref, Transaction(app_id(spec), 0)):
            raise MixedEnginesError(
                f"{spec.ref} holds batches committed by a pipeline run, but its checkpoints ({root}) are gone: "
                "a new run would take its first batches for replays and skip their input; nothing was run.",
                hint=f"rebuild it with `lakehouse reset --pipeline {pipeline.name} --table {spec.ref} --yes` "
                "(drops the table, the tables fed from it and their checkpoints; landing files stay)",
            )
        return None

    # -- catalog -------------------------------------------------------------------------------
    def _registered(self, spec: TableSpec) -> bool:
        if self.catalog is None:
            return True
        return self.catalog.get_table(spec.ref.schema, spec.ref.name) is not None

    def _register_committed(self, spec: TableSpec, results: list[BatchResult], version: int | None) -> None:
        """Register a table that committed now, or earlier without getting registered (a catalog that
        was down then): the data stays committed when the catalog fails, so the error says so."""
        try:
            if any(r.committed for r in results) or (version is not None and not self._registered(spec)):
                self.register(spec)
        except LakehouseError as exc:
            raise LakehouseError(
                f"{spec.ref} is committed (table version {version}) but is not registered in the catalog, "
                f"and the tables after it did not run: {exc.message}",
                hint=f"{exc.hint or 'fix the catalog'}; then run the same command again: it registers "
                     f"{spec.ref} and runs the rest (or `lakehouse catalog apply` registers without running)",
            ) from exc

    def register(self, spec: TableSpec) -> None:
        """Register the table (and its schema) exactly as `lakehouse catalog apply` would.

        The catalog YAML owns the descriptions (comments, owner, properties); the pipeline spec only
        says which tables exist and whether their change feed is on, and that flag is used just for
        a table the YAML does not list (a test keeps every pipeline table listed).
        """
        if self.catalog is None or self.engine.table_version(spec.ref) is None:
            return
        catalog_spec = self.catalog_spec()
        sync_schema(self.catalog, catalog_spec, self.settings, spec.ref.schema)
        sync_table(self.catalog, catalog_spec, self.settings, spec.ref.schema, spec.ref.name,
                   properties_if_unlisted=table_properties(spec))

    def catalog_spec(self) -> CatalogSpec:
        """The catalog spec, read once. A broken spec fails the run (it is code); a missing one only
        means the tables are registered without descriptions, which `catalog drift` then reports."""
        if self._catalog_spec is None:
            directory = default_spec_dir()
            if directory.is_dir():
                self._catalog_spec = load_catalog_spec(directory)
            else:
                self.progress(f"no catalog spec at {directory}: registering tables without their descriptions")
                self._catalog_spec = CatalogSpec(schemas=(), source=str(directory))
        return self._catalog_spec

    # -- reset ---------------------------------------------------------------------------------
    def reset(self, pipeline: Pipeline, table: str | None = None) -> list[str]:
        """Drop tables and their checkpoints (one table and everything fed from it, or all)."""
        specs = list(pipeline.tables) if table is None else pipeline.downstream_of(TableRef.parse(table))
        dropped = []
        with pipeline_lock(self.settings, pipeline.name):
            for spec in reversed(specs):
                existed = self.engine.drop_table(spec.ref)
                # Its batch ids start again at 0, and a quarantine holding them would take them for replays.
                self.engine.drop_table(quarantine_ref(spec.ref))
                # Tombstones too: their app transaction's batch ids start again at 0 as well.
                self.engine.drop_table(tombstones_ref(spec))
                checkpoints = self.storage.delete_tree(self.settings.checkpoint_uri(spec.ref.schema, spec.ref.name))
                if self.catalog is not None:
                    self.catalog.unregister_table(spec.ref.schema, spec.ref.name)
                if existed or checkpoints:
                    dropped.append(str(spec.ref))
                self.progress(f"reset {spec.ref}: table {'dropped' if existed else 'absent'}, checkpoints "
                              f"{'cleared' if checkpoints else 'absent'}")
        return dropped


def _describe(report: TableReport) -> str:
    if not report.batches:
        return f"{report.table}: nothing new (version {report.version})"
    replays = sum(1 for b in report.batches if b["skipped_as_replay"])
    extra = f", {replays} replayed batch(es) already landed" if replays else ""
    return (f"{report.table}: {report.rows_written} row(s) written in {len(report.batches)} batch(es)"
            f"{extra}, version {report.version}, {report.seconds:.2f}s")


