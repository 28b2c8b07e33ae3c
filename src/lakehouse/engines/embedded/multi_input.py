"""Planning and reading for flows fed by several change feeds (Kind.FACT) in the embedded driver.

A batch's offset entry records, per input, the version range of its change feed:

    {"inputs": {"silver.orders": {"start_version": 3, "end_version": 5}, ...},
     "upstream": ..., "start_version": ..., "end_version": ...}   <- the first input, for `status`

An input with nothing new has start_version = end_version + 1; the batch still reads that input's
table as of end_version, so a replayed batch reads exactly what the first attempt read.
"""

from __future__ import annotations

from typing import Any, Callable

from lakehouse.checkpoints import CheckpointLog, PlannedBatch
from lakehouse.engines.embedded.engine import EmbeddedEngine
from lakehouse.flows import STRATEGIES, BatchResult
from lakehouse.spec.model import Kind, TableRef, TableSpec


def plan_inputs(
    engine: EmbeddedEngine, spec: TableSpec, log_: CheckpointLog, progress: Callable[[str], None]
) -> PlannedBatch | None:
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


def run_multi_input_batch(engine: EmbeddedEngine, spec: TableSpec, planned: PlannedBatch) -> BatchResult:
    feeds: dict[TableRef, Any] = {}
    versions: dict[TableRef, int] = {}
    for name, entry in planned.payload["inputs"].items():
        ref = TableRef.parse(name)
        start, end = entry["start_version"], entry["end_version"]
        versions[ref] = end
        feeds[ref] = engine.read_changes(ref, start, end) if start <= end else None
    result = STRATEGIES[Kind.FACT].process_batch(engine, spec, feeds, versions, planned.batch_id)
    result.details["inputs"] = planned.payload["inputs"]
    return result
