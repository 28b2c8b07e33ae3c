"""Per-layer sums of measured tables: the rows every section of the report shows."""

from __future__ import annotations

from lakehouse.bench.results import LayerSummary, MeasuredTable

LAYERS = ("bronze", "silver", "gold")


def summarize_layers(rows: list[MeasuredTable]) -> dict[str, LayerSummary]:
    """Per layer: rows written, wall seconds, rows per second, peak memory (max over its children)."""
    layers: dict[str, LayerSummary] = {}
    for layer in LAYERS:
        mine = [r for r in rows if r["table"].startswith(layer + ".")]
        if not mine:
            continue
        seconds = sum(r["seconds"] for r in mine)
        written = sum(r["rows_written"] for r in mine)
        layers[layer] = {"tables": len(mine), "rows_written": written, "seconds": round(seconds, 3),
                         "rows_per_second": round(written / seconds) if seconds else None,
                         "peak_rss_bytes": max(r["peak_rss_bytes"] for r in mine)}
    return layers
