"""The report as one HTML file: inline CSS, inline SVG and a few lines of inline script (paging
through batches), nothing fetched from a server or the internet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from lakehouse.ops.report.events import EventSummary, TableBatches
from lakehouse.ops.report.timeline import Timeline
from lakehouse.ops.report.timeline_svg import timeline_svg

STATUS_COLUMNS = ("table", "kind", "version", "rows", "last_batch", "pending", "engine", "last_commit")
BATCH_COLUMNS = ("timestamp", "batch_id", "engine", "outcome", "rows_in", "rows_written", "rows_dropped", "seconds")
PAGE_SIZE = 20

STYLE = """
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:24px;color:#1d2733;background:#fafbfc}
h1{font-size:22px}h2{font-size:17px;margin-top:32px;border-bottom:1px solid #d5dbe3;padding-bottom:4px}
table{border-collapse:collapse;font-size:12px;margin:8px 0}th,td{border:1px solid #d5dbe3;padding:3px 8px;
text-align:left}th{background:#eef2f7}.scroll{overflow-x:auto;background:#fff;border:1px solid #d5dbe3;padding:6px}
.muted{color:#6b7683}.failed{color:#c0392b;font-weight:bold}details{margin:6px 0}summary{cursor:pointer}
button{margin:0 4px;font-size:12px}
"""

# Shows one page of each batch table at a time; without script every recorded row stays visible.
SCRIPT = """
document.querySelectorAll('table.paged').forEach(function (table) {
  var rows = Array.prototype.slice.call(table.tBodies[0].rows), size = PAGE_SIZE, page = 0;
  var pages = Math.max(1, Math.ceil(rows.length / size));
  var bar = document.createElement('div'), label = document.createElement('span');
  function show() {
    rows.forEach(function (row, i) { row.style.display = Math.floor(i / size) === page ? '' : 'none'; });
    label.textContent = 'page ' + (page + 1) + ' of ' + pages;
  }
  [['newer', -1], ['older', 1]].forEach(function (spec) {
    var button = document.createElement('button');
    button.textContent = spec[0];
    button.addEventListener('click', function () { page = Math.min(pages - 1, Math.max(0, page + spec[1])); show(); });
    bar.appendChild(button);
  });
  bar.appendChild(label);
  table.parentNode.insertBefore(bar, table);
  show();
});
""".replace("PAGE_SIZE", str(PAGE_SIZE))


def _cell(value: object) -> str:
    if value is None:
        return '<span class="muted">-</span>'
    if isinstance(value, datetime):
        return escape(f"{value:%Y-%m-%d %H:%M:%S}")
    if isinstance(value, Mapping):
        return escape(", ".join(f"{k}={v}" for k, v in value.items() if k in ("batch_id", "rows_written")))
    return escape(str(value))


def html_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], css_class: str = "") -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows)
    attribute = f' class="{css_class}"' if css_class else ""
    return f"<table{attribute}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def status_section(status: Sequence[Mapping[str, Any]]) -> str:
    rows = [{**row, "pending": row.get("files_pending", row.get("versions_pending")),
             "last_commit": _commit_time(row.get("last_commit"))} for row in status]
    return "<h2>Tables</h2>" + html_table(rows, STATUS_COLUMNS)


def _commit_time(value: object) -> object:
    # Delta's history stamps commits in epoch milliseconds.
    return datetime.fromtimestamp(value / 1000, UTC) if isinstance(value, int) else value


def batches_section(summary: EventSummary) -> str:
    if summary.recorded == 0:
        return "<h2>Recent batches</h2><p class=\"muted\" id=\"no-events\">No events recorded yet: the event " \
               "log (_lakehouse/event_log under the warehouse) is empty or absent.</p>"
    parts = [f"<h2>Recent batches</h2><p class=\"muted\">{summary.recorded} event(s) in the log.</p>"]
    for table in summary.batches:
        parts.append(_table_batches(table))
    return "".join(parts)


def _table_batches(table: TableBatches) -> str:
    outcomes = ", ".join(f"{name} {count}" for name, count in sorted(table.outcomes.items()))
    shown = f"newest {len(table.recent)} of {table.total}" if table.total > len(table.recent) else f"all {table.total}"
    return (f"<details class=\"batches\" data-table=\"{escape(table.table)}\"><summary><b>{escape(table.table)}</b>: "
            f"{table.total} batch(es) ({escape(outcomes)}), {table.rows_written} row(s) written; showing {shown}"
            f"</summary>{html_table(table.recent, BATCH_COLUMNS, 'paged')}</details>")


def expectations_section(summary: EventSummary) -> str:
    if not summary.expectations:
        return "<h2>Expectations</h2><p class=\"muted\">No expectation results recorded: 0 failed.</p>"
    rows = [vars(e) for e in summary.expectations]
    return "<h2>Expectations</h2>" + html_table(rows, ("table", "expectation", "checked", "failed", "failing_rows", "rows_dropped"))


def errors_section(summary: EventSummary) -> str:
    if not summary.errors:
        return ""
    return "<h2>Latest errors</h2>" + html_table(summary.errors, ("timestamp", "table", "event_type", "error"))


def timeline_section(timeline: Timeline | None, note: str) -> str:
    if timeline is None:
        return f"<h2>Dimension history</h2><p class=\"muted\">{escape(note)}</p>"
    facts = ", ".join(timeline.fact_tables) or "no fact table"
    parts = [f"<h2>Dimension history: {escape(timeline.dimension)}</h2>",
             f"<p class=\"muted\">Versions per {escape(timeline.key_column)}; fact rows counted in {escape(facts)}. "
             "Dashed: the open (current) version.</p>"]
    if timeline.missing_keys:
        parts.append(f"<p class=\"failed\">No versions for {escape(', '.join(timeline.missing_keys))}.</p>")
    parts.append(f'<div class="scroll">{timeline_svg(timeline)}</div>')
    rows = [{"key": key.key, "version": v.surrogate, "valid from": v.start, "valid to": v.end,
             "current": v.current, "changed": ", ".join(v.changed) or ("inferred" if v.inferred else "-"),
             "fact rows": v.fact_rows} for key in timeline.keys for v in key.versions]
    parts.append(html_table(rows, ("key", "version", "valid from", "valid to", "current", "changed", "fact rows")))
    return "".join(parts)


def page(title: str, subtitle: str, sections: Sequence[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{escape(title)}</h1><p class=\"muted\">{escape(subtitle)}</p>"
            + "".join(sections) + f"<script>{SCRIPT}</script></body></html>\n")
