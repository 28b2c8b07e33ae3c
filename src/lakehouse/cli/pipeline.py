"""`lakehouse run|reset|status|validate|read|sql|history`."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import click

from lakehouse.cli.context import LakehouseContext
from lakehouse.core.errors import ValidationFailed

if TYPE_CHECKING:
    from lakehouse.ops.inspection import Inspector
    from lakehouse.runtime.runner import Runner
    from lakehouse.spec.model import Pipeline


class ViolationsFound(ValidationFailed):
    """`lakehouse validate` exits 1 on violations, apart from the 2 of a command that could not run."""

    exit_code = 1


def _runner(ctx: LakehouseContext) -> Runner:
    from lakehouse.runtime.runner import Runner

    return Runner(ctx.settings, ctx.storage, catalog=ctx.catalog, progress=ctx.progress)


def _inspector(ctx: LakehouseContext) -> Inspector:
    from lakehouse.ops.inspection import Inspector

    return Inspector(ctx.settings, ctx.storage, pipelines=ctx.pipeline_files.all)


def _format_table(rows: Sequence[Mapping[str, object]], columns: list[str]) -> str:
    widths = {c: max(len(c), *(len(_cell(r.get(c))) for r in rows)) if rows else len(c) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(_cell(r.get(c)).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if k in ("batch_id", "rows_written", "rows_in"))
    return str(value)


@click.command()
@click.option("--pipeline", "pipeline_name", default="customer", show_default=True, help="Pipeline to run.")
@click.option("--only", help="Run one table only (schema.table), as the per-table jobs do.")
@click.option("--watch", is_flag=True, help="Keep polling for new input until interrupted.")
@click.option("--interval", default=10.0, show_default=True, help="Seconds between polls with --watch.")
@click.pass_obj
def run(ctx: LakehouseContext, pipeline_name: str, only: str | None, watch: bool, interval: float) -> None:
    """Process everything available, then exit (or keep polling with --watch)."""
    from lakehouse.cli.project import run_checking_columns

    pipeline = ctx.pipeline(pipeline_name)
    runner = _runner(ctx)
    while True:
        report = run_checking_columns(ctx, runner, pipeline, only)
        rows = [
            {"table": t.table, "batches": len(t.batches), "rows_written": t.rows_written, "version": t.version,
             "seconds": t.seconds}
            for t in report.tables
        ]
        ctx.emit(report.to_dict(), _format_table(rows, ["table", "batches", "rows_written", "version", "seconds"])
                 + f"\n{report.pipeline} pipeline on the {report.engine} engine: {report.seconds:.2f}s")
        if not watch:
            _fail_on_quarantined_files(ctx, pipeline)
            return
        time.sleep(interval)


def _fail_on_quarantined_files(ctx: LakehouseContext, pipeline: Pipeline) -> None:
    """Every other file is ingested, but the run exits 3 while a landed file stays quarantined."""
    from lakehouse.sources import ledger

    quarantined = ledger.quarantined_files(ctx.settings, ctx.storage, pipeline)
    if quarantined:
        raise ledger.quarantine_error(quarantined)


@click.command()
@click.option("--pipeline", "pipeline_name", default="customer", show_default=True)
@click.option("--table", help="Reset this table (and everything fed from it) instead of the whole pipeline.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def reset(ctx: LakehouseContext, pipeline_name: str, table: str | None, yes: bool) -> None:
    """Drop tables and their checkpoints, like the source project's reset notebook. Landing files stay."""
    pipeline = ctx.pipeline(pipeline_name)
    target = table or f"every table of pipeline '{pipeline.name}'"
    if not yes and not click.confirm(f"Drop {target} and its checkpoints under {ctx.settings.warehouse}?"):
        raise click.exceptions.Abort()
    dropped = _runner(ctx).reset(pipeline, table)
    ctx.emit({"dropped": dropped}, "dropped: " + (", ".join(dropped) if dropped else "nothing (already clean)"))


@click.command()
@click.option("--pipeline", "pipeline_name", default="customer", show_default=True)
@click.pass_obj
def status(ctx: LakehouseContext, pipeline_name: str) -> None:
    """Per table: version, rows, last batch, pending input, the engine whose checkpoints it has."""
    rows = _inspector(ctx).status(ctx.pipeline(pipeline_name))
    for row in rows:
        row["pending"] = row.get("files_pending", row.get("versions_pending"))
    text = _format_table(rows, ["table", "kind", "version", "rows", "last_batch", "outcome", "pending", "engine"])
    for row in rows:
        event = row.get("last_event") or {}
        if event.get("outcome") == "failed":
            text += f"\nFAILED {row['table']}: batch {event['batch_id']} at {event['timestamp']}: {event['error']}"
        elif event.get("outcome") == "started":
            text += (f"\nUNFINISHED {row['table']}: batch {event['batch_id']} started at {event['timestamp']} and never "
                     "finished (the process died); the next run replays it")
        for item in row.get("files_quarantined", []):
            text += f"\nQUARANTINED {row['table']}: {item['uri']} (batch {item['batch_id']}): {item['reason']}"
        counted = row.get("expectations") or {}
        for item in counted.get("expectations", []):
            text += (f"\nEXPECTATION {row['table']}: {item['name']} ({item['on_violation']}) in batch "
                     f"{counted['batch_id']}: {item['passed_rows']} passed, {item['failed_rows']} failed")
        for item in row.get("files_overwritten", []):
            text += (f"\nWARNING {row['table']}: {item['uri']} was re-uploaded with different content after batch "
                     f"{item['batch_id']} ingested it (size {item['ingested_size']} -> {item['size_now']}); "
                     "it is not re-ingested: land the new content under a new file name")
    ctx.emit(rows, text)


@click.command()
@click.option("--pipeline", "pipeline_name", default="customer", show_default=True)
@click.pass_obj
def validate(ctx: LakehouseContext, pipeline_name: str) -> None:
    """Check the invariants; exit 1 on any violation."""
    from lakehouse.cli.project import check_columns

    pipeline = ctx.pipeline(pipeline_name)
    check_columns(ctx, pipeline)
    checked, violations = _inspector(ctx).validate(pipeline)
    payload = {"checked": checked, "violations": [v.__dict__ for v in violations]}
    lines = [f"checked  {c}" for c in checked] + [f"VIOLATION {v.table}: {v.rule}: {v.detail}" for v in violations]
    if not violations:
        lines.append("all invariants hold" if checked else "no tables yet: nothing to check (run the pipeline first)")
    text = "\n".join(lines)
    ctx.emit(payload, text)
    if violations:
        raise ViolationsFound(f"{len(violations)} invariant violation(s).", hint="see the lines above")


@click.command()
@click.argument("table")
@click.option("--version", type=int, help="Read the table as of this version (time travel).")
@click.option("--timestamp", help="Read the table as of this time (ISO 8601).")
@click.option("--limit", default=20, show_default=True)
@click.pass_obj
def read(ctx: LakehouseContext, table: str, version: int | None, timestamp: str | None, limit: int) -> None:
    """Show a table (schema.table), now or as of a version or timestamp."""
    data = _inspector(ctx).read(table, version=version, timestamp=timestamp)
    rows = data.slice(0, limit).to_pylist()
    ctx.emit({"rows": rows, "total": data.num_rows},
             _format_table(rows, data.column_names) + f"\n({data.num_rows} row(s) in all)")


@click.command()
@click.argument("query")
@click.option("--at", "as_of", multiple=True, metavar="TABLE=VERSION|TIMESTAMP",
              help="Time travel for one table in the query, e.g. --at silver.customer=3")
@click.option("--limit", default=50, show_default=True)
@click.pass_obj
def sql(ctx: LakehouseContext, query: str, as_of: tuple[str, ...], limit: int) -> None:
    """Run DuckDB SQL over the tables, named schema.table."""
    points: dict[str, str] = {}
    for item in as_of:
        name, sep, point = item.partition("=")
        if not sep:
            raise click.BadParameter(f"'{item}' is not TABLE=VERSION or TABLE=TIMESTAMP", param_hint="--at")
        points[name] = point
    data = _inspector(ctx).sql(query, points)
    rows = data.slice(0, limit).to_pylist()
    ctx.emit({"rows": rows, "total": data.num_rows}, _format_table(rows, data.column_names))


@click.command()
@click.argument("table")
@click.option("--limit", default=10, show_default=True)
@click.pass_obj
def history(ctx: LakehouseContext, table: str, limit: int) -> None:
    """A table's Delta commits, newest first."""
    from lakehouse.spec.model import TableRef

    entries = _inspector(ctx).engine.history(TableRef.parse(table), limit)
    rows = [{"version": e.get("version"), "timestamp": e.get("timestamp"), "operation": e.get("operation"),
             "batch": e.get("lakehouse.batch_id")} for e in entries]
    ctx.emit(entries, _format_table(rows, ["version", "timestamp", "operation", "batch"]))


COMMANDS = [run, reset, status, validate, read, sql, history]
