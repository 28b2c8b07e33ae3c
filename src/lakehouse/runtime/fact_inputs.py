"""Planning and reading for flows fed by several change feeds (Kind.FACT), for every engine.

A fact joins three change feeds (header, lines, dimension); no single stream offset describes that,
so both drivers plan a batch as one version range per input and keep it in an offset log
(lakehouse.core.checkpoints.CheckpointLog). A batch's offset entry:

    {"inputs": {"silver.orders": {"start_version": 3, "end_version": 5}, ...},
     "upstream": ..., "start_version": ..., "end_version": ...}   <- the first input, for `status`

An input with nothing new has start_version = end_version + 1; the batch still reads that input's
table as of end_version, so a replayed batch reads exactly what the first attempt read. Together
with the strategy's app transaction (it skips a batch whose commit already landed) a run after a
crash at any point writes nothing twice.

The embedded driver calls plan_inputs / run_multi_input_batch from its own generic batch loop; the
Spark driver, which has no such loop for batch-style flows, uses run_available.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from lakehouse.core.checkpoints import CheckpointLog, PlannedBatch
from lakehouse.core.faults import crashpoint
from lakehouse.kinds.base import BatchResult
from lakehouse.kinds.registry import STRATEGIES
from lakehouse.spec.model import Kind, TableRef, TableSpec

Progress = Callable[[str], None]


class ChangeFeedSource(Protocol):
    """The two engine primitives planning and reading need (every EngineAdapter has them)."""

    def table_version(self, ref: TableRef) -> int | None: ...

    def read_changes(self, ref: TableRef, start_version: int, end_version: int,
                     columns: Sequence[str] | None = None) -> Any: ...


Feeds = dict[TableRef, Any]
Versions = dict[TableRef, int]
# Runs the strategy on a batch's inputs; a driver wraps it to manage the relations' lifetime (Spark caches them).
BatchExecutor = Callable[[TableSpec, Feeds, Versions, int], BatchResult]


def plan_inputs(engine: ChangeFeedSource, spec: TableSpec, log_: CheckpointLog, progress: Progress) -> PlannedBatch | None:
    """Writes offsets/N: for each input, the versions after the last committed batch up to its current one."""
    last = log_.last_committed()
    done = {} if last is None else last.payload.get("inputs", {})
    inputs: dict[str, dict[str, int]] = {}
    for ref in spec.upstream:
        latest = engine.table_version(ref)
        if latest is None:
            progress(f"{spec.ref}: waiting for {ref}, which does not exist yet (run the pipeline that builds it)")
            return None
        previous_end = done.get(str(ref), {}).get("end_version", -1)
        inputs[str(ref)] = {"start_version": previous_end + 1, "end_version": latest}
    if all(entry["start_version"] > entry["end_version"] for entry in inputs.values()):
        return None
    first = inputs[str(spec.upstream[0])]
    return log_.plan(log_.next_batch_id(), {"inputs": inputs, "upstream": str(spec.upstream[0]), **first})


def batch_inputs(engine: ChangeFeedSource, planned: PlannedBatch,
                 columns: Mapping[TableRef, Sequence[str]] | None = None) -> tuple[Feeds, Versions]:
    """Each input's change rows for the planned range (None: nothing new) and the version to read it as of.

    `columns` names, per input, the columns the strategy reads from its feed (all when absent)."""
    feeds: Feeds = {}
    versions: Versions = {}
    for name, entry in planned.payload["inputs"].items():
        ref = TableRef.parse(name)
        start, end = entry["start_version"], entry["end_version"]
        versions[ref] = end
        wanted = (columns or {}).get(ref)
        feeds[ref] = engine.read_changes(ref, start, end, columns=wanted) if start <= end else None
    return feeds, versions


def run_multi_input_batch(engine: Any, spec: TableSpec, planned: PlannedBatch,
                          execute: BatchExecutor | None = None) -> BatchResult:
    feeds, versions = batch_inputs(engine, planned, STRATEGIES[Kind.FACT].feed_columns(engine, spec))
    if execute is None:
        result = STRATEGIES[Kind.FACT].process_batch(engine, spec, feeds, versions, planned.batch_id)
    else:
        result = execute(spec, feeds, versions, planned.batch_id)
    result.details["inputs"] = planned.payload["inputs"]
    return result


def commit_summary(result: BatchResult) -> dict[str, Any]:
    """What commits/N records about a batch: the fields the embedded driver records, so `status` reads both."""
    return {"rows_in": result.rows_in, "rows_written": result.rows_written, "committed": result.committed,
            **result.details}


def run_available(engine: Any, spec: TableSpec, log_: CheckpointLog, progress: Progress,
                  execute: BatchExecutor | None = None) -> list[BatchResult]:
    """availableNow for a multi-input flow: replay a batch left unfinished by a crash exactly as it was
    planned, then plan and run one batch over everything new. Returns the batches run."""
    results = []
    pending = log_.pending()
    if pending is not None:
        progress(f"{spec.ref}: replaying batch {pending.batch_id} left unfinished by an earlier run")
        results.append(_run_and_commit(engine, spec, log_, pending, execute))
    planned = plan_inputs(engine, spec, log_, progress)
    if planned is not None:
        results.append(_run_and_commit(engine, spec, log_, planned, execute))
    return results


def _run_and_commit(engine: Any, spec: TableSpec, log_: CheckpointLog, planned: PlannedBatch,
                    execute: BatchExecutor | None) -> BatchResult:
    result = run_multi_input_batch(engine, spec, planned, execute)
    crashpoint(f"{spec.ref}:after-commit")
    log_.commit(planned.batch_id, commit_summary(result))
    crashpoint(f"{spec.ref}:after-checkpoint")
    return result
