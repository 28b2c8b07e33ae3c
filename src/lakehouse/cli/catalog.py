"""`lakehouse catalog apply|show|drift` and `lakehouse metastore start|stop|status`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from lakehouse.cli.context import LakehouseContext

if TYPE_CHECKING:
    from lakehouse.catalog.base import Catalog
    from lakehouse.catalog.spec import CatalogSpec

_SPEC_OPTION = click.option(
    "--spec", "spec_dir", type=click.Path(file_okay=False), default=None,
    help="Catalog spec directory (default: $LAKEHOUSE_CATALOG_SPEC or ./catalog).",
)


def _catalog_and_spec(ctx: LakehouseContext, spec_dir: str | None) -> tuple[Catalog, CatalogSpec]:
    from lakehouse.catalog.spec import load_catalog_spec

    return ctx.catalog, load_catalog_spec(spec_dir)


@click.group("catalog")
def catalog_group() -> None:
    """Schemas and tables as code (catalog/*.yaml) in the metastore or the local catalog."""


@catalog_group.command("apply")
@_SPEC_OPTION
@click.pass_obj
def catalog_apply(ctx: LakehouseContext, spec_dir: str | None) -> None:
    """Create or alter schemas and register existing Delta tables so they match the spec."""
    from lakehouse.catalog import sync

    catalog, spec = _catalog_and_spec(ctx, spec_dir)
    changed, left = sync.apply(catalog, spec, ctx.settings)
    lines = [f"catalog apply on {catalog.kind}: {len(changed)} change(s)"]
    lines += ["  " + finding.line() for finding in changed]
    if left:
        lines.append("not changed:")
        lines += ["  " + finding.line() for finding in left]
    ctx.emit({"catalog": catalog.kind, "changed": [f.as_dict() for f in changed],
              "not_changed": [f.as_dict() for f in left]}, "\n".join(lines))


@catalog_group.command("show")
@click.pass_obj
def catalog_show(ctx: LakehouseContext) -> None:
    """Print the schemas and tables registered in the catalog."""
    catalog = ctx.catalog
    if ctx.as_json:
        ctx.emit(catalog.snapshot())
    else:
        ctx.emit(None, catalog.describe())


@catalog_group.command("drift")
@_SPEC_OPTION
@click.pass_obj
def catalog_drift(ctx: LakehouseContext, spec_dir: str | None) -> None:
    """Report where the catalog and the spec disagree; exit 1 on drift."""
    from lakehouse.catalog import sync

    catalog, spec = _catalog_and_spec(ctx, spec_dir)
    findings = sync.plan(catalog, spec, ctx.settings)
    drifted = [finding for finding in findings if finding.is_drift]
    pending = [finding for finding in findings if not finding.is_drift]
    if drifted:
        lines = [f"drift: {catalog.kind} and {spec.source} disagree in {len(drifted)} place(s):"]
        lines += ["  " + finding.line() for finding in drifted]
        lines.append("fix with `lakehouse catalog apply` (entries marked as not fixable need the action in their hint)")
    else:
        lines = [f"no drift: {catalog.kind} matches {spec.source}"]
    if pending:
        lines.append("pending (not drift):")
        lines += ["  " + finding.line() for finding in pending]
    ctx.emit({"catalog": catalog.kind, "drift": [f.as_dict() for f in drifted],
              "pending": [f.as_dict() for f in pending]}, "\n".join(lines))
    if drifted:
        # sys.exit, not click's Exit: cli.main runs click with standalone_mode=False, which
        # turns Exit into an ignored return value.
        sys.exit(1)


_STATE_OPTION = click.option(
    "--state-dir", type=click.Path(file_okay=False), default=None,
    help="Where the metastore keeps its pid, logs and Derby database "
         "(default: $LAKEHOUSE_METASTORE_DIR or ./.lakehouse/metastore).",
)


@click.group("metastore")
def metastore_group() -> None:
    """A local Hive Metastore (Thrift) for development, Hive 4.0.1 on Derby, run from the JVM manifest's jars."""


@metastore_group.command("start")
@_STATE_OPTION
@click.option("--port", type=int, default=9083, show_default=True, help="Thrift port; 0 picks a free one.")
@click.option("--timeout", "timeout_seconds", type=float, default=180.0, show_default=True,
              help="Seconds to wait for the port to answer.")
@click.pass_obj
def metastore_start(ctx: LakehouseContext, state_dir: str | None, port: int, timeout_seconds: float) -> None:
    """Start the metastore in the background and print its thrift:// URI."""
    from lakehouse.catalog.metastore_server import start_metastore

    status = start_metastore(Path(state_dir) if state_dir else None, port, timeout_seconds=timeout_seconds)
    ctx.progress(f"Hive Metastore running (pid {status.pid}, state in {status.state_dir}); "
                 f"use it with: export LAKEHOUSE_CATALOG={status.uri}")
    ctx.emit(status.as_dict(), status.uri)


@metastore_group.command("stop")
@_STATE_OPTION
@click.pass_obj
def metastore_stop(ctx: LakehouseContext, state_dir: str | None) -> None:
    """Stop the metastore (nothing to do if it is not running)."""
    from lakehouse.catalog.metastore_server import stop_metastore

    was_running = stop_metastore(Path(state_dir) if state_dir else None)
    ctx.emit({"stopped": was_running}, "stopped" if was_running else "not running")


@metastore_group.command("status")
@_STATE_OPTION
@click.pass_obj
def metastore_status_command(ctx: LakehouseContext, state_dir: str | None) -> None:
    """Print whether the metastore runs; exit 1 when it does not."""
    from lakehouse.catalog.metastore_server import default_state_dir, metastore_status

    status = metastore_status(Path(state_dir) if state_dir else None)
    if status is None:
        where = Path(state_dir).resolve() if state_dir else default_state_dir()
        ctx.emit({"running": False, "state_dir": str(where)}, f"not running (no metastore state in {where})")
        sys.exit(1)
    text = (f"running: {status.uri} (pid {status.pid}, log {status.log})" if status.running
            else f"not running (last pid {status.pid}, port {status.port}; log {status.log})")
    ctx.emit(status.as_dict(), text)
    if not status.running:
        sys.exit(1)


COMMANDS: list[click.Command] = [catalog_group, metastore_group]
