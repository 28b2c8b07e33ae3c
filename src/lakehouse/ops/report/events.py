"""The event log summarised for the report: recent batches per table (a bounded number, however
many thousands were recorded), expectation counts and the latest errors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

# Rows the page holds per table; its script pages through them, the rest are only counted.
BATCHES_PER_TABLE = 200
RECENT_ERRORS = 20


@dataclass
class TableBatches:
    table: str
    total: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    rows_written: int = 0
    recent: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ExpectationCount:
    table: str
    expectation: str
    checked: int = 0
    # Batches with failing rows, the rows that failed (kept by warn, set aside by drop) and those dropped.
    failed: int = 0
    failing_rows: int = 0
    rows_dropped: int = 0


@dataclass
class EventSummary:
    recorded: int
    batches: list[TableBatches]
    expectations: list[ExpectationCount]
    errors: list[dict[str, Any]]


def summarise(events: pa.Table | None) -> EventSummary:
    if events is None:
        return EventSummary(0, [], [], [])
    rows = events.sort_by([("timestamp", "descending")]).to_pylist()
    batches: dict[str, TableBatches] = {}
    expectations: dict[tuple[str, str], ExpectationCount] = {}
    errors: list[dict[str, Any]] = []
    for row in rows:
        kind = row.get("event_type")
        if kind == "batch":
            _add_batch(batches.setdefault(row.get("table") or "-", TableBatches(row.get("table") or "-")), row)
        elif kind == "expectation":
            _add_expectation(expectations, row)
        elif (kind == "error" or row.get("outcome") == "failed") and len(errors) < RECENT_ERRORS:
            errors.append(row)
    return EventSummary(len(rows), sorted(batches.values(), key=lambda b: b.table),
                        sorted(expectations.values(), key=lambda e: (e.table, e.expectation)), errors)


def _add_batch(summary: TableBatches, row: dict[str, Any]) -> None:
    summary.total += 1
    outcome = row.get("outcome") or "-"
    summary.outcomes[outcome] = summary.outcomes.get(outcome, 0) + 1
    summary.rows_written += int(row.get("rows_written") or 0)
    if len(summary.recent) < BATCHES_PER_TABLE:
        summary.recent.append(row)


def _add_expectation(counts: dict[tuple[str, str], ExpectationCount], row: dict[str, Any]) -> None:
    table = row.get("table") or "-"
    name = expectation_name(row.get("details"))
    entry = counts.setdefault((table, name), ExpectationCount(table, name))
    entry.checked += 1
    entry.rows_dropped += int(row.get("rows_dropped") or 0)
    failing = int(row.get("rows_in") or 0) - int(row.get("rows_written") or 0)
    if row.get("outcome") == "failed" or failing > 0:
        entry.failed += 1
        entry.failing_rows += failing


def expectation_name(details: object) -> str:
    """The expectation's name from an event's details (a JSON object), else 'unnamed'."""
    if not isinstance(details, str) or not details:
        return "unnamed"
    try:
        parsed = json.loads(details)
    except ValueError:
        return "unnamed"
    if isinstance(parsed, dict):
        for field_name in ("name", "expectation"):
            if isinstance(parsed.get(field_name), str):
                return str(parsed[field_name])
    return "unnamed"

