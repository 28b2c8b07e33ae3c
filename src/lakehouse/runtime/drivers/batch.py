"""The embedded micro-batch driver: finds new input, plans a batch in the offset log, runs the strategy.

Bronze input is new landed files (Auto Loader's file discovery); silver and gold input is the
upstream table's change feed since the last version processed; a fact reads several feeds at once
(lakehouse.runtime.fact_inputs, shared with the Spark driver).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.core.checkpoints import CheckpointLog, PlannedBatch
from lakehouse.core.errors import LakehouseError
from lakehouse.core.faults import crashpoint
from lakehouse.core.storage import FileInfo
from lakehouse.engines.base import EngineAdapter
from lakehouse.engines.embedded.key_order import in_run_order
from lakehouse.kinds.base import BatchResult, Reads, landed_replay
from lakehouse.kinds.expectations.ingest import screened_ingest
from lakehouse.kinds.expectations.screen import screened
from lakehouse.kinds.registry import STRATEGIES, change_types_of, reads_of
from lakehouse.runtime import fact_inputs
from lakehouse.runtime.events import NO_EVENTS, EventLog, describe_input
from lakehouse.sources import ledger
from lakehouse.sources.bronze_rules import read_batch
from lakehouse.sources.file_names import landed_data_files
from lakehouse.sources.registry import arrow_reader
from lakehouse.sources.schema_store import SchemaStore
from lakehouse.spec.model import TableSpec

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
# Fewer rows than this per chunk on average: a batch of small files, joined into one chunk (cheap at
# that size) before it is written; big files' chunks are left as they are, so nothing large is copied.
SHORT_CHUNK_ROWS = 8192


class BatchDriver:
    """Runs a batch engine's flows from our offset logs: plan, read, process, commit, per batch."""

    def __init__(self, engine: EngineAdapter, progress: Progress | None = None, *,
                 events: EventLog | None = None) -> None:
        self.engine = engine
        self.events = events or NO_EVENTS
        self.storage = engine.storage
        self.settings = engine.settings
        self.progress = progress or (lambda message: None)

    def checkpoints(self, spec: TableSpec) -> CheckpointLog:
        return CheckpointLog(self.storage, self.settings.checkpoint_uri(spec.ref.schema, spec.ref.name))

    def run_table(self, spec: TableSpec) -> list[BatchResult]:
        """Process everything available for `spec`: a replayed batch first, then new batches until the
        input is taken (a landing folder can need several: max_files_per_batch files each), or one new
        batch without Settings.available_now."""
        self.engine.forget_tables()
        results = []
        log_ = self.checkpoints(spec)
        pending = log_.pending()
        if pending is not None:
            self.progress(f"{spec.ref}: replaying batch {pending.batch_id} left unfinished by an earlier run")
            results.append(self._execute(spec, log_, pending))
        planned = self._plan_next(spec, log_)
        while planned is not None:
            results.append(self._execute(spec, log_, planned))
            if not self._may_have_more(spec, planned):
                break
            planned = self._plan_next(spec, log_)
        return results

    def _may_have_more(self, spec: TableSpec, planned: PlannedBatch) -> bool:
        """A full batch of landed files may have left files behind; a change-feed batch takes every
        version there is, so there is nothing more until the upstream commits again."""
        if not self.settings.available_now or reads_of(spec.kind) is not Reads.LANDED_FILES:
            return False
        files = planned.payload.get("files", [])
        return isinstance(files, list) and len(files) >= self.settings.max_files_per_batch

    # -- planning -----------------------------------------------------------------------------
    def _plan_next(self, spec: TableSpec, log_: CheckpointLog) -> PlannedBatch | None:
        reads = reads_of(spec.kind)
        if reads is Reads.LANDED_FILES:
            return self._plan_files(spec, log_)
        if reads is Reads.CHANGE_FEEDS:
            return fact_inputs.plan_inputs(self.engine, spec, log_, self.progress)
        return self._plan_versions(spec, log_)

    def discover_files(self, spec: TableSpec) -> ledger.Discovery:
        """Landed files to plan, files still quarantined, and files re-uploaded after ingestion."""
        assert spec.source is not None
        folder = self.settings.landing_uri(spec.source.folder)
        return ledger.discover_settled(lambda: landed_data_files(self.storage.list_files(folder), folder),
                                       ledger.ledger(self.checkpoints(spec)), self.settings.landing_settle_seconds)

    def pending_files(self, spec: TableSpec) -> list[FileInfo]:
        return self.discover_files(spec).pending

    def _plan_files(self, spec: TableSpec, log_: CheckpointLog) -> PlannedBatch | None:
        found = self.discover_files(spec)
        for info, record in found.overwritten:
            self.progress(f"{spec.ref}: {ledger.overwrite_warning(info, record)}")
        for info in found.settling:
            self.progress(f"{spec.ref}: {ledger.settling_note(info, self.settings.landing_settle_seconds)}")
        new_files = found.pending[: self.settings.max_files_per_batch]
        if not new_files:
            return None
        payload = {
            "files": [
                f.to_entry() for f in new_files
            ]
        }
        return log_.plan(log_.next_batch_id(), payload)

    def _plan_versions(self, spec: TableSpec, log_: CheckpointLog) -> PlannedBatch | None:
        upstream = spec.upstream[0]
        latest = self.engine.table_version(upstream)
        if latest is None:
            return None
        last = log_.last_committed()
        start = 0 if last is None else last.payload["end_version"] + 1
        if start > latest:
            return None
        return log_.plan(log_.next_batch_id(), {"upstream": str(upstream), "start_version": start,
                                               "end_version": latest})

    # -- execution ----------------------------------------------------------------------------
    def _execute(self, spec: TableSpec, log_: CheckpointLog, planned: PlannedBatch) -> BatchResult:
        with self.events.batch(str(spec.ref), planned.batch_id, describe_input(planned.payload)) as event:
            event.result = self._execute_batch(spec, log_, planned)
        return event.result

    def _execute_batch(self, spec: TableSpec, log_: CheckpointLog, planned: PlannedBatch) -> BatchResult:
        reads = reads_of(spec.kind)
        if reads is Reads.LANDED_FILES:
            result = self._ingest(spec, log_, planned)
        elif reads is Reads.CHANGE_FEEDS:
            result = fact_inputs.run_multi_input_batch(self.engine, spec, planned)
        else:
            result = self._from_upstream(spec, planned)
        crashpoint(f"{spec.ref}:after-commit")
        log_.commit(planned.batch_id, {"rows_in": result.rows_in, "rows_written": result.rows_written,
                                       "committed": result.committed, **result.details})
        crashpoint(f"{spec.ref}:after-checkpoint")
        return result

    def _ingest(self, spec: TableSpec, log_: CheckpointLog, planned: PlannedBatch) -> BatchResult:
        source = spec.source
        assert source is not None
        entries = {entry["uri"]: entry for entry in planned.payload["files"]}
        if landed_replay(self.engine, spec, planned.batch_id):
            # The batch landed before a crash: its outcomes/N is already written; do not read the files again.
            result = BatchResult(str(spec.ref), planned.batch_id, skipped_as_replay=True)
            result.details["files"] = len(entries)
            return result
        schemas = SchemaStore(log_)
        batch = read_batch(arrow_reader(source, self.storage), [FileInfo.from_entry(e) for e in entries.values()],
                           source, schemas.latest(), schemas.save, lambda message: self.progress(f"{spec.ref}: {message}"))
        # Written before the Delta commit, so a crash after it leaves the record of what landed.
        ledger.write_outcomes(log_, planned.batch_id, [
            ledger.FileRecord(o.uri, entries[o.uri]["size"], entries[o.uri]["modified"], planned.batch_id, o.status,
                              o.reason)
            for o in batch.outcomes
        ])
        details: dict[str, object] = {"files": len(entries)}
        if batch.raw is None or batch.schema is None:
            result = BatchResult(str(spec.ref), planned.batch_id)
        else:
            result = screened_ingest(self.engine, spec, planned.batch_id, _few_chunks(batch.raw), batch.schema.columns,
                                     batch.extra_columns)
            details["schema_version"] = batch.schema.version
        result.details.update({**details, "notes": batch.notes, "failed_files": batch.failed_files,
                               "deferred_files": batch.deferred_files})
        for note in batch.notes:
            self.progress(f"{spec.ref}: {note}")
        return result

    def _from_upstream(self, spec: TableSpec, planned: PlannedBatch) -> BatchResult:
        upstream = spec.upstream[0]
        start, end = planned.payload["start_version"], planned.payload["end_version"]
        changes = self.engine.read_changes(upstream, start, end)
        if change_types_of(spec.kind) == ("insert",):
            changes = _inserts_only(self.engine, changes)
        elif change_types_of(spec.kind) is not None:
            raise LakehouseError(f"{spec.ref}: the batch driver reads a change feed whole or its inserts only, "
                                 f"not {change_types_of(spec.kind)}.")
        if spec.cluster_by and set(spec.cluster_by) <= set(changes.column_names):
            # DuckDB keeps its input's order, so a feed put in key order here is written without a sort.
            changes = in_run_order(changes, spec.cluster_by) or changes
        upstream_columns = self.engine.table_columns(upstream)
        strategy = STRATEGIES.get(spec.kind)
        if strategy is None:
            raise LakehouseError(f"{spec.ref}: no embedded strategy for kind '{spec.kind.value}'.")
        result = screened(self.engine, spec, planned.batch_id, changes,
                          lambda rows: strategy.process_batch(self.engine, spec, rows, upstream_columns,
                                                              planned.batch_id))
        result.details.update({"upstream_versions": [start, end]})
        return result



def _few_chunks(rows: pa.Table) -> pa.Table:
    """One chunk per landed file is written by delta-rs round-robin over its partitions: 1,000
    one-row files became bronze rows in two interleaved key runs (2, 4, ..., 1, 3, ...), which every
    change-fed table downstream then had to put back in order, at a cost growing with the square of
    the files (key_order.in_run_order). Short chunks are joined first, so bronze keeps landing order."""
    if rows.num_columns == 0 or rows.num_rows // max(1, rows.column(0).num_chunks) >= SHORT_CHUNK_ROWS:
        return rows
    return rows.combine_chunks()


def _inserts_only(engine: EngineAdapter, changes: pa.Table) -> pa.Table:
    """The feed's inserted rows. An append-only upstream (bronze) has nothing else, and filtering
    would copy the whole feed (3.3 s of a 6M-row lineitem feed), so that case is checked first."""
    # Cast first: pyarrow has no comparison kernels for the string_view delta-rs returns.
    is_insert = pc.equal(changes.column("_change_type").cast(pa.string()), "insert")
    if pc.all(is_insert).as_py() is not False:
        return changes
    return engine.sql(f"SELECT * FROM c WHERE {engine.dialect.quote('_change_type')} = 'insert'", {"c": changes})
