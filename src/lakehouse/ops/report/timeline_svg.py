"""The timeline drawn as SVG: one row per business key, one bar per version over its validity.
The axis starts shortly before the earliest dated change, so a first version valid since a low
date (1900-01-01) does not squeeze every later version into a sliver; such a bar runs from the
left edge and its label says since when."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from lakehouse.ops.report.timeline import DimensionVersion, Timeline

LABEL_WIDTH = 110
PLOT_WIDTH = 820
ROW_HEIGHT = 58
TOP = 34
BAR_HEIGHT = 22
# A low date this far before the other starts is drawn from the axis' left edge.
LOW_DATE_GAP = timedelta(days=3650)
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#e15759", "#76b7b2", "#edc948", "#9c755f")


def axis_bounds(timeline: Timeline) -> tuple[datetime, datetime]:
    versions = [v for key in timeline.keys for v in key.versions]
    starts = sorted(v.start for v in versions if v.start is not None)
    ends = [v.end for v in versions if v.end is not None]
    if not starts:
        raise ValueError("a timeline needs at least one dated version")
    meaningful = [s for s in starts if starts[-1] - s < LOW_DATE_GAP]
    low, high = min(meaningful), max([*meaningful, *ends])
    padding = max((high - low) / 10, timedelta(days=7))
    return low - padding, high + padding


def timeline_svg(timeline: Timeline) -> str:
    if not timeline.keys:
        return ""
    low, high = axis_bounds(timeline)
    height = TOP + ROW_HEIGHT * len(timeline.keys) + 10
    width = LABEL_WIDTH + PLOT_WIDTH + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="11">',
             '<rect width="100%" height="100%" fill="#ffffff"/>', *_axis(low, high, height)]
    for row, key in enumerate(timeline.keys):
        y = TOP + row * ROW_HEIGHT
        parts.append(f'<text x="6" y="{y + BAR_HEIGHT - 6}" font-weight="bold">{escape(timeline.key_column)}='
                     f'{escape(key.key)}</text>')
        for index, version in enumerate(key.versions):
            parts.append(_bar(version, index, key.key, y, low, high))
    return "\n".join([*parts, "</svg>"]) + "\n"


def _x(moment: datetime, low: datetime, high: datetime) -> float:
    share = (moment - low) / (high - low)
    return LABEL_WIDTH + max(0.0, min(1.0, share)) * PLOT_WIDTH


def _axis(low: datetime, high: datetime, height: int) -> list[str]:
    parts = [f'<line x1="{LABEL_WIDTH}" y1="{TOP - 8}" x2="{LABEL_WIDTH + PLOT_WIDTH}" y2="{TOP - 8}" stroke="#888"/>']
    ticks = 6
    for tick in range(ticks + 1):
        moment = low + (high - low) * tick / ticks
        x = _x(moment, low, high)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP - 12}" x2="{x:.1f}" y2="{height - 6}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{x:.1f}" y="{TOP - 16}" text-anchor="middle" fill="#555">'
                     f'{moment:%Y-%m-%d}</text>')
    return parts


def _bar(version: DimensionVersion, index: int, key: str, y: int, low: datetime, high: datetime) -> str:
    start = _x(version.start, low, high) if version.start is not None else LABEL_WIDTH
    end = _x(version.end, low, high) if version.end is not None else LABEL_WIDTH + PLOT_WIDTH
    width = max(end - start, 3.0)
    colour = "#bbbbbb" if version.inferred else PALETTE[index % len(PALETTE)]
    since = "" if version.start is None or version.start >= low else f" since {version.start:%Y-%m-%d}"
    changed = ("changed: " + ", ".join(version.changed)) if version.changed else \
        ("inferred member" if version.inferred else "first version")
    title = (f"version {version.surrogate}: {_when(version.start)} to {_when(version.end)}; {changed}; "
             f"{version.fact_rows} fact row(s)")
    label = f"#{version.surrogate}{since} · {version.fact_rows} fact row(s)"
    return "\n".join([
        f'<g class="version" data-key="{escape(key)}" data-version="{version.surrogate}" '
        f'data-fact-rows="{version.fact_rows}"><title>{escape(title)}</title>',
        f'<rect x="{start:.1f}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" rx="3" fill="{colour}" '
        f'stroke="#333" stroke-width="0.6"' + (' stroke-dasharray="4,2"' if version.end is None else "") + "/>",
        f'<text x="{start + 3:.1f}" y="{y + 15}" fill="#ffffff">{escape(label if width > 140 else f"#{version.surrogate}")}</text>',
        f'<text x="{start + 3:.1f}" y="{y + BAR_HEIGHT + 13}" fill="#333">{escape(changed if width > 90 else "")}</text>',
        "</g>"])


def _when(moment: datetime | None) -> str:
    return "open" if moment is None else f"{moment:%Y-%m-%d %H:%M}"
