"""A layered (Sugiyama-style) layout, left to right: every node sits one column right of its
furthest upstream, and each column is ordered by the mean position of its upstreams so that
flows cross as little as a few sweeps can manage. Small, dependency-free and deterministic, so
the SVG, the PNG and the HTML report draw the same picture."""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.ops.graph.model import PipelineGraph

NODE_WIDTH = 250
LINE_HEIGHT = 16
NODE_PADDING = 10
COLUMN_GAP = 90
ROW_GAP = 24
MARGIN = 20
ORDERING_SWEEPS = 4


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Layout:
    boxes: dict[str, Box]
    width: float
    height: float


def node_height(line_count: int) -> float:
    # One title line plus the facts.
    return 2 * NODE_PADDING + LINE_HEIGHT * (line_count + 1)


def layers(graph: PipelineGraph) -> list[list[str]]:
    """Columns of node ids: a node's column is one more than its furthest upstream's."""
    upstreams: dict[str, list[str]] = {n.node_id: [] for n in graph.nodes}
    for source, target in graph.edges:
        upstreams[target].append(source)
    column: dict[str, int] = {}

    def depth(node_id: str, seen: frozenset[str]) -> int:
        if node_id not in column:
            # A cycle cannot come from a pipeline spec (upstreams run first); guard anyway.
            parents = [p for p in upstreams[node_id] if p not in seen]
            column[node_id] = 1 + max((depth(p, seen | {node_id}) for p in parents), default=-1)
        return column[node_id]

    for node in graph.nodes:
        depth(node.node_id, frozenset())
    result: list[list[str]] = [[] for _ in range(max(column.values(), default=-1) + 1)]
    for node in graph.nodes:
        result[column[node.node_id]].append(node.node_id)
    return _order(result, upstreams)


def _order(columns: list[list[str]], upstreams: dict[str, list[str]]) -> list[list[str]]:
    for _ in range(ORDERING_SWEEPS):
        for index in range(1, len(columns)):
            position: dict[str, float] = {}
            for earlier in columns[:index - 1]:
                position.update({node_id: i - 0.5 for i, node_id in enumerate(earlier)})
            position.update({node_id: float(i) for i, node_id in enumerate(columns[index - 1])})
            columns[index] = [node_id for _, node_id in sorted(
                (_barycenter(upstreams[node_id], position, i), node_id) for i, node_id in enumerate(columns[index]))]
    return columns


def _barycenter(parents: list[str], position: dict[str, float], fallback: int) -> float:
    placed = [position[p] for p in parents if p in position]
    return sum(placed) / len(placed) if placed else float(fallback)


def layout(graph: PipelineGraph) -> Layout:
    heights = {n.node_id: node_height(len(n.facts())) for n in graph.nodes}
    boxes: dict[str, Box] = {}
    columns = layers(graph)
    tallest = max((sum(heights[i] for i in col) + ROW_GAP * (len(col) - 1) for col in columns), default=0.0)
    for index, col in enumerate(columns):
        used = sum(heights[i] for i in col) + ROW_GAP * (len(col) - 1)
        # Centred vertically, so a short column lines up with the middle of a tall one.
        y = MARGIN + (tallest - used) / 2
        x = MARGIN + index * (NODE_WIDTH + COLUMN_GAP)
        for node_id in col:
            boxes[node_id] = Box(x, y, NODE_WIDTH, heights[node_id])
            y += heights[node_id] + ROW_GAP
    if columns:
        _align_sources(columns[0], graph, boxes)
    width = 2 * MARGIN + len(columns) * NODE_WIDTH + max(0, len(columns) - 1) * COLUMN_GAP
    return Layout(boxes, width, 2 * MARGIN + tallest)


def _align_sources(sources: list[str], graph: PipelineGraph, boxes: dict[str, Box]) -> None:
    """A landing folder feeds one table: level with it, its flow is a straight line. Kept only
    where no two sources would then overlap."""
    moved: dict[str, Box] = {}
    for node_id in sources:
        targets = [b for a, b in graph.edges if a == node_id]
        box = boxes[node_id]
        if len(targets) == 1:
            target = boxes[targets[0]]
            box = Box(box.x, target.y + (target.height - box.height) / 2, box.width, box.height)
        moved[node_id] = box
    ordered = sorted(moved.values(), key=lambda b: b.y)
    if all(upper.y + upper.height + ROW_GAP / 2 <= lower.y for upper, lower in zip(ordered, ordered[1:])) \
            and all(b.y >= MARGIN for b in ordered):
        boxes.update(moved)
