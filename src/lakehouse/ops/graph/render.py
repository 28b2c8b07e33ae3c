"""The graph drawn as text, Graphviz DOT, SVG (written here, no system package) or PNG (Pillow,
a wheel with its own libraries: `pip install "local-lakehouse[graph]"`)."""

from __future__ import annotations

import io
from collections.abc import Callable
from html import escape
from typing import Any

from lakehouse.core.optional import require
from lakehouse.ops.graph.layout import LINE_HEIGHT, NODE_PADDING, Box, Layout, layout
from lakehouse.ops.graph.model import GraphNode, PipelineGraph

FORMATS = ("text", "svg", "png", "dot")
# Fill per kind; a node with failed expectations gets a red border whatever its kind.
KIND_COLOURS = {"landing": "#eef2f7", "append-ingest": "#f3e3c3", "scd1-upsert": "#dfe8f6",
                "scd2-from-changes": "#f6e7a6", "fact": "#d6efd8"}
DEFAULT_COLOUR = "#e8e8e8"
FAILED_BORDER = "#c0392b"
BORDER = "#5b6573"


def to_text(graph: PipelineGraph) -> str:
    lines = [f"pipeline {graph.pipeline}"]
    for node in graph.nodes:
        lines.append(f"  {node.node_id}  [" + "; ".join(node.facts()) + "]")
    lines.append("flows:")
    lines += [f"  {source} -> {target}" for source, target in graph.edges]
    return "\n".join(lines)


def to_dot(graph: PipelineGraph) -> str:
    lines = [f'digraph "{_dot(graph.pipeline)}" {{', "  rankdir=LR;", '  node [shape=box, style="rounded,filled"];']
    for node in graph.nodes:
        label = "\\n".join(_dot(line) for line in [node.node_id, *node.facts()])
        colour = KIND_COLOURS.get(node.kind, DEFAULT_COLOUR)
        border = FAILED_BORDER if node.failed_expectations else BORDER
        lines.append(f'  "{_dot(node.node_id)}" [label="{label}", fillcolor="{colour}", color="{border}"];')
    lines += [f'  "{_dot(a)}" -> "{_dot(b)}";' for a, b in graph.edges]
    return "\n".join([*lines, "}"]) + "\n"


def _dot(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_svg(graph: PipelineGraph) -> str:
    placed = layout(graph)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="pipeline-graph" width="{placed.width:.0f}" '
             f'height="{placed.height:.0f}" viewBox="0 0 {placed.width:.0f} {placed.height:.0f}" '
             f'font-family="DejaVu Sans, Arial, sans-serif" font-size="12">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{BORDER}"/></marker></defs>',
             f'<rect width="100%" height="100%" fill="#ffffff"/><title>pipeline {escape(graph.pipeline)}</title>']
    for source, target in graph.edges:
        parts.append(f'<path class="flow" d="{_curve(placed.boxes[source], placed.boxes[target])}" fill="none" '
                     f'stroke="{BORDER}" stroke-width="1.4" marker-end="url(#arrow)"/>')
    for node in graph.nodes:
        parts.append(_svg_node(node, placed.boxes[node.node_id]))
    return "\n".join([*parts, "</svg>"]) + "\n"


def _curve(source: Box, target: Box) -> str:
    x1, y1 = source.x + source.width, source.y + source.height / 2
    x2, y2 = target.x, target.y + target.height / 2
    middle = (x1 + x2) / 2
    return f"M{x1:.1f},{y1:.1f} C{middle:.1f},{y1:.1f} {middle:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"


def _svg_node(node: GraphNode, box: Box) -> str:
    colour = KIND_COLOURS.get(node.kind, DEFAULT_COLOUR)
    border = FAILED_BORDER if node.failed_expectations else BORDER
    dash = ' stroke-dasharray="5,3"' if node.external else ""
    lines = [f'<g class="node" data-node="{escape(node.node_id)}" data-kind="{escape(node.kind)}">',
             f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.0f}" height="{box.height:.0f}" rx="6" '
             f'fill="{colour}" stroke="{border}" stroke-width="1.5"{dash}/>']
    for index, text in enumerate([node.node_id, *node.facts()]):
        y = box.y + NODE_PADDING + LINE_HEIGHT * (index + 1) - 4
        weight = ' font-weight="bold"' if index == 0 else ""
        lines.append(f'<text x="{box.x + NODE_PADDING:.1f}" y="{y:.1f}"{weight}>{escape(text)}</text>')
    return "\n".join([*lines, "</g>"])


def to_png(graph: PipelineGraph) -> bytes:
    image_module: Any = require("PIL.Image")
    draw_module: Any = require("PIL.ImageDraw")
    placed = layout(graph)
    # Twice the SVG's size, so the text stays legible with Pillow's default font.
    scale = 2
    image = image_module.new("RGB", (int(placed.width * scale), int(placed.height * scale)), "white")
    draw = draw_module.Draw(image)
    font = _font(scale)
    for source, target in graph.edges:
        _png_flow(draw, placed.boxes[source], placed.boxes[target], scale)
    for node in graph.nodes:
        _png_node(draw, node, placed.boxes[node.node_id], scale, font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _font(scale: int) -> Any:
    font_module: Any = require("PIL.ImageFont")
    return font_module.load_default(size=12 * scale)


def _png_flow(draw: Any, source: Box, target: Box, scale: int) -> None:
    x1, y1 = source.x + source.width, source.y + source.height / 2
    x2, y2 = target.x, target.y + target.height / 2
    steps = 24
    points = []
    for step in range(steps + 1):
        t = step / steps
        # The SVG's cubic curve, with both control points at the horizontal middle.
        middle = (x1 + x2) / 2
        x = (1 - t) ** 3 * x1 + 3 * (1 - t) ** 2 * t * middle + 3 * (1 - t) * t ** 2 * middle + t ** 3 * x2
        y = (1 - t) ** 3 * y1 + 3 * (1 - t) ** 2 * t * y1 + 3 * (1 - t) * t ** 2 * y2 + t ** 3 * y2
        points.append((x * scale, y * scale))
    draw.line(points, fill=BORDER, width=2 * scale // 2 + 1)
    tip_x, tip_y = x2 * scale, y2 * scale
    draw.polygon([(tip_x, tip_y), (tip_x - 8 * scale, tip_y - 4 * scale), (tip_x - 8 * scale, tip_y + 4 * scale)],
                 fill=BORDER)


def _png_node(draw: Any, node: GraphNode, box: Box, scale: int, font: Any) -> None:
    colour = KIND_COLOURS.get(node.kind, DEFAULT_COLOUR)
    border = FAILED_BORDER if node.failed_expectations else BORDER
    corners = (box.x * scale, box.y * scale, (box.x + box.width) * scale, (box.y + box.height) * scale)
    draw.rounded_rectangle(corners, radius=6 * scale, fill=colour, outline=border, width=2 * scale // 2 + 1)
    for index, text in enumerate([node.node_id, *node.facts()]):
        y = box.y + NODE_PADDING + LINE_HEIGHT * index
        draw.text(((box.x + NODE_PADDING) * scale, y * scale), text, fill="#111111", font=font)


def render(graph: PipelineGraph, output_format: str) -> str | bytes:
    renderers: dict[str, Callable[[PipelineGraph], str | bytes]] = {
        "text": to_text, "svg": to_svg, "png": to_png, "dot": to_dot}
    return renderers[output_format](graph)


__all__ = ["FORMATS", "Layout", "render", "to_dot", "to_png", "to_svg", "to_text"]
