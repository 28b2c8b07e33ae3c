"""`lakehouse report`: one self-contained HTML file about a pipeline (graph, tables, batches,
expectations and an SCD2 dimension's history)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from lakehouse.core.config import Settings
from lakehouse.core.storage import Storage
from lakehouse.engines.embedded.engine import EmbeddedEngine
from lakehouse.ops.graph import pipeline_graph, read_events
from lakehouse.ops.graph.facts import pipeline_status
from lakehouse.ops.graph.render import to_svg
from lakehouse.ops.report import page
from lakehouse.ops.report.events import summarise
from lakehouse.ops.report.timeline import Timeline, build_timeline, dimension_spec, linked_facts
from lakehouse.spec.model import Pipeline

# Enough for thousands of batches while the page stays a few megabytes at most.
EVENT_LIMIT = 20_000


def build_report(settings: Settings, storage: Storage, pipeline: Pipeline, *, keys: Sequence[str] | None = None,
                 dimension: str | None = None) -> str:
    events = read_events(settings, storage, limit=EVENT_LIMIT)
    status = pipeline_status(settings, storage, pipeline)
    graph = pipeline_graph(settings, storage, pipeline, events, status)
    summary = summarise(events)
    timeline, note = dimension_timeline(settings, storage, pipeline, keys, dimension)
    sections = [f'<h2>Pipeline graph</h2><div class="scroll" id="graph">{to_svg(graph)}</div>',
                page.status_section(status), page.expectations_section(summary), page.batches_section(summary),
                page.errors_section(summary), page.timeline_section(timeline, note)]
    generated = f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"
    subtitle = f"{pipeline.description or pipeline.name} — warehouse {settings.warehouse}, generated {generated}"
    return page.page(f"Pipeline {pipeline.name}", subtitle, sections)


def dimension_timeline(settings: Settings, storage: Storage, pipeline: Pipeline, keys: Sequence[str] | None,
                       dimension: str | None) -> tuple[Timeline | None, str]:
    """The timeline and, where there is none, why."""
    from lakehouse.spec import PIPELINES

    everything = list({spec.ref: spec for p in (pipeline, *PIPELINES.values()) for spec in p.tables}.values())
    # The pipeline's own dimension first, else one it reads (sales reads gold.dim_customer).
    read = {ref for spec in pipeline.tables for ref in spec.upstream}
    candidates = [s for s in everything if s in pipeline.tables or s.ref in read]
    spec = dimension_spec(candidates if dimension is None else everything, dimension)
    if spec is None:
        return None, f"Pipeline '{pipeline.name}' has no SCD2 dimension (pass --dimension schema.table)."
    engine = EmbeddedEngine(settings, storage)
    timeline = build_timeline(engine, spec, linked_facts(everything, spec.ref), keys)
    if timeline is None:
        return None, f"{spec.ref} does not exist yet: run the pipeline first."
    if not timeline.keys:
        return None, f"{spec.ref} has no versions for {', '.join(keys or []) or 'any key'}."
    return timeline, ""


__all__ = ["build_report", "dimension_timeline"]
