"""Reading the pipeline event log (<warehouse>/_lakehouse/event_log, written by lakehouse.runtime.events).

`read_events` is the one reader: `lakehouse events`, `lakehouse status` and the HTML report use it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import DeltaTable

from lakehouse.core.config import Settings
from lakehouse.core.errors import ConfigError
from lakehouse.core.storage import Storage
from lakehouse.runtime.events import EVENT_SCHEMA, event_log_uri, storage_options

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
FINAL_OUTCOMES = ("succeeded", "failed", "skipped")


def parse_since(value: str | datetime, now: datetime | None = None) -> datetime:
    """`value` as a UTC time: a datetime, an ISO 8601 time (naive means UTC) or a duration back from
    now such as 30m, 1h, 2d, 1w."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    match = _DURATION.match(value)
    if match:
        amount, unit = float(match.group(1)), match.group(2)
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"--since '{value}' is neither an ISO 8601 time nor a duration.",
                          hint="e.g. --since 2026-12-01T08:00:00Z, --since 1h, --since 30m, --since 2d") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def event_log_table(settings: Settings, storage: Storage) -> DeltaTable | None:
    """The event log's Delta table, or None before any run wrote it."""
    uri = event_log_uri(settings)
    options = storage_options(settings)
    if not DeltaTable.is_deltatable(uri, storage_options=options):
        return None
    return DeltaTable(uri, storage_options=options)


def read_events(settings: Settings, storage: Storage, *, table: str | None = None,
                since: str | datetime | None = None, limit: int | None = None) -> pa.Table:
    """The event log's rows, oldest first, in the schema of lakehouse.runtime.events.EVENT_SCHEMA.

    `table` keeps one table's rows (run rows have no table, so they drop out), `since` the rows at or
    after a time (see parse_since), `limit` the newest `limit` rows. Without a log: an empty table."""
    delta = event_log_table(settings, storage)
    if delta is None:
        return EVENT_SCHEMA.empty_table()
    condition = None
    if table is not None:
        condition = ds.field("table") == table
    if since is not None:
        after = ds.field("timestamp") >= pa.scalar(parse_since(since), type=EVENT_SCHEMA.field("timestamp").type)
        condition = after if condition is None else condition & after
    rows = delta.to_pyarrow_dataset().to_table(filter=condition)
    rows = rows.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)
    rows = rows.sort_by([("timestamp", "ascending")])
    if limit is not None:
        if limit < 0:
            raise ConfigError(f"limit must be 0 or more, got {limit}.")
        rows = rows.slice(max(0, rows.num_rows - limit))
    return rows


def final_rows(events: pa.Table | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per event_id: its outcome row, or its 'started' row when none followed (unfinished).
    `events` in read_events' order (oldest first), as a table or its rows."""
    latest: dict[str, dict[str, Any]] = {}
    for row in events.to_pylist() if isinstance(events, pa.Table) else events:
        known = latest.get(row["event_id"])
        if known is None or row["outcome"] in FINAL_OUTCOMES:
            latest[row["event_id"]] = row
    return list(latest.values())


def last_batches(settings: Settings, storage: Storage) -> dict[str, dict[str, Any]]:
    """Per table, its latest batch in the log: batch_id, outcome ('started' means it never finished:
    the process died mid-batch), when, the rows and the error."""
    batches = read_events(settings, storage).filter(pc.equal(pc.field("event_type"), "batch"))
    last: dict[str, dict[str, Any]] = {}
    for row in final_rows(batches):
        if row["table"] is None:
            continue
        known = last.get(row["table"])
        if known is None or row["timestamp"] >= known["timestamp"]:
            last[row["table"]] = row
    return {table: {key: row[key] for key in ("batch_id", "outcome", "timestamp", "rows_in", "rows_written",
                                               "seconds", "error")}
            for table, row in last.items()}
