"""What the graph and the report know about a pipeline: Inspector.status (the same facts as
`lakehouse status`) and the event log (lakehouse.ops.events), which may hold nothing yet."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from lakehouse.core.config import Settings
from lakehouse.core.storage import Storage
from lakehouse.ops import events as events_log
from lakehouse.ops.graph.model import PipelineGraph, build_graph, with_external_facts
from lakehouse.ops.inspection import Inspector
from lakehouse.spec.model import Pipeline


def read_events(settings: Settings, storage: Storage, *, limit: int | None = None) -> pa.Table | None:
    """The recorded events, one row per event (its outcome, or 'started' where none followed), or
    None when nothing was recorded yet."""
    events = events_log.read_events(settings, storage, limit=limit)
    if not events.num_rows:
        return None
    return pa.Table.from_pylist(events_log.final_rows(events), schema=events.schema)


def failed_expectations(events: pa.Table | None) -> dict[str, int]:
    """Per table: expectation results with failing rows, whatever the action (warn, drop or fail)."""
    counts: dict[str, int] = {}
    if events is None:
        return counts
    for row in events.select(["table", "event_type", "outcome", "rows_in", "rows_written"]).to_pylist():
        if row["event_type"] != "expectation":
            continue
        if row["outcome"] == "failed" or (row["rows_in"] or 0) > (row["rows_written"] or 0):
            counts[row["table"]] = counts.get(row["table"], 0) + 1
    return counts


def pipeline_status(settings: Settings, storage: Storage, pipeline: Pipeline) -> list[dict[str, Any]]:
    return Inspector(settings, storage).status(pipeline)


def pipeline_graph(settings: Settings, storage: Storage, pipeline: Pipeline,
                   events: pa.Table | None = None,
                   status: list[dict[str, Any]] | None = None) -> PipelineGraph:
    """The pipeline's graph with each table's status; a table fed from another pipeline shows its
    version and rows too, read from that pipeline's spec."""
    inspector = Inspector(settings, storage)
    rows = status if status is not None else inspector.status(pipeline)
    graph = build_graph(pipeline, rows, failed_expectations(events))
    external = [spec for spec in _specs_elsewhere(pipeline) if any(n.node_id == str(spec.ref) and n.external
                                                                      for n in graph.nodes)]
    if external:
        graph = with_external_facts(graph, inspector.status(Pipeline(f"{pipeline.name}-inputs", tuple(external))))
    return graph


def _specs_elsewhere(pipeline: Pipeline) -> list[Any]:
    from lakehouse.spec import PIPELINES

    own = {spec.ref for spec in pipeline.tables}
    found: dict[str, Any] = {}
    for other in PIPELINES.values():
        for spec in other.tables:
            if spec.ref not in own:
                found.setdefault(str(spec.ref), spec)
    return list(found.values())
