"""`lakehouse events`: the pipeline event log, newest rows last."""

from __future__ import annotations

import json

import click

from lakehouse.cli.context import LakehouseContext

COLUMNS = ["timestamp", "event_type", "table", "batch_id", "outcome", "rows_in", "rows_written", "rows_dropped",
           "seconds", "input", "error"]


@click.command()
@click.option("--table", help="Only this table's events (schema.table).")
@click.option("--since", help="Only events at or after this time: ISO 8601, or a duration back from now (30m, 1h, 2d).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=0), help="The newest N events.")
@click.pass_obj
def events(ctx: LakehouseContext, table: str | None, since: str | None, limit: int) -> None:
    """The pipeline event log: runs, flows, batches, expectations and errors, from both engines."""
    from lakehouse.ops.events import read_events

    rows = read_events(ctx.settings, ctx.storage, table=table, since=since, limit=limit).to_pylist()
    for row in rows:
        row["timestamp"] = row["timestamp"].isoformat()
    if ctx.as_json:
        for row in rows:
            row["details"] = json.loads(row["details"]) if row["details"] else {}
        ctx.emit(rows)
        return
    from lakehouse.cli.pipeline import _format_table

    shown = [{**row, "seconds": None if row["outcome"] == "started" else f"{row['seconds']:.3f}"} for row in rows]
    ctx.emit(rows, _format_table(shown, COLUMNS) if rows else "no events yet (run a pipeline first)")


COMMANDS: list[click.Command] = [events]
