"""The pipeline as a graph: landing folders and tables as nodes, flows as edges, each node carrying
the facts `lakehouse status` reports (ops/inspection.py) plus the failed expectations of the event log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lakehouse.spec.model import Pipeline

LANDING_KIND = "landing"
EXTERNAL_KIND = "other pipeline"


@dataclass(frozen=True)
class GraphNode:
    node_id: str
    kind: str
    version: int | None = None
    rows: int | None = None
    last_batch: int | None = None
    # Files (append-ingest, landing folders) or upstream versions not processed yet.
    pending: int | None = None
    pending_unit: str = ""
    failed_expectations: int = 0
    # A table another pipeline maintains (gold.dim_customer seen from the sales pipeline).
    external: bool = False

    @property
    def is_table(self) -> bool:
        return self.kind != LANDING_KIND

    def facts(self) -> list[str]:
        """The node's facts as short lines, the same in every output format."""
        if not self.is_table:
            return [f"pending: {_value(self.pending)} file(s)"]
        lines = [f"{self.kind}", f"v{_value(self.version)}  rows {_value(self.rows)}"]
        if self.external:
            return [*lines, "built by another pipeline"]
        lines.append(f"last batch {_value(self.last_batch)}  pending {_value(self.pending)} {self.pending_unit}")
        lines.append(f"failed expectations: {self.failed_expectations}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.node_id, "kind": self.kind, "version": self.version, "rows": self.rows,
                "last_batch": self.last_batch, "pending": self.pending, "pending_unit": self.pending_unit,
                "failed_expectations": self.failed_expectations, "external": self.external}


@dataclass
class PipelineGraph:
    pipeline: str
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def node(self, node_id: str) -> GraphNode:
        return next(n for n in self.nodes if n.node_id == node_id)

    def to_dict(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline, "nodes": [n.to_dict() for n in self.nodes],
                "edges": [{"from": a, "to": b} for a, b in self.edges]}


def _value(value: object) -> str:
    return "-" if value is None else str(value)


def build_graph(pipeline: Pipeline, status: Sequence[Mapping[str, Any]],
                failed_expectations: Mapping[str, int]) -> PipelineGraph:
    """`status` is Inspector.status(pipeline); `failed_expectations` counts per table name."""
    facts = {row["table"]: row for row in status}
    graph = PipelineGraph(pipeline.name)
    own = {str(spec.ref) for spec in pipeline.tables}
    for spec in pipeline.tables:
        name = str(spec.ref)
        row = facts.get(name, {})
        if spec.source is not None:
            landing = f"landing/{spec.source.folder}"
            graph.nodes.append(GraphNode(landing, LANDING_KIND, pending=row.get("files_pending")))
            graph.edges.append((landing, name))
        for upstream in spec.upstream:
            if str(upstream) not in own and all(n.node_id != str(upstream) for n in graph.nodes):
                graph.nodes.append(GraphNode(str(upstream), EXTERNAL_KIND, external=True))
            graph.edges.append((str(upstream), name))
        graph.nodes.append(_table_node(name, spec.kind.value, row, failed_expectations.get(name, 0)))
    return graph


def _table_node(name: str, kind: str, row: Mapping[str, Any], failed: int) -> GraphNode:
    last = row.get("last_batch")
    files = "files_pending" in row
    return GraphNode(
        name, kind, version=row.get("version"), rows=row.get("rows"),
        last_batch=last.get("batch_id") if isinstance(last, Mapping) else None,
        pending=row.get("files_pending") if files else row.get("versions_pending"),
        pending_unit="file(s)" if files else "version(s)", failed_expectations=failed)


def with_external_facts(graph: PipelineGraph, status: Sequence[Mapping[str, Any]]) -> PipelineGraph:
    """Fills an external node's version and rows from a status row of its own pipeline."""
    facts = {row["table"]: row for row in status}
    nodes = []
    for node in graph.nodes:
        row = facts.get(node.node_id)
        if node.external and row is not None:
            node = GraphNode(node.node_id, row["kind"], version=row.get("version"), rows=row.get("rows"),
                             external=True)
        nodes.append(node)
    return PipelineGraph(graph.pipeline, nodes, graph.edges)
