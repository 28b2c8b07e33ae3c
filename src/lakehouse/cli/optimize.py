"""`lakehouse optimize TABLE`: rewrite the files whose deletion vectors mark enough deleted rows."""

from __future__ import annotations

from typing import Any

import click

from lakehouse.cli.context import LakehouseContext


def _optimize(ctx: LakehouseContext, table: str, min_deleted_share: float) -> dict[str, Any]:
    from lakehouse.engines.registry import make_engine
    from lakehouse.spec.model import TableRef

    ref = TableRef.parse(table)
    result: dict[str, Any] = make_engine(ctx.settings, ctx.storage).optimize(ref, min_deleted_share=min_deleted_share)
    return result


def _summary(result: dict[str, Any]) -> str:
    table = result.get("ref", "the table")
    if result.get("version") is None:
        return f"{table}: nothing to rewrite, no commit"
    if "rows_purged" in result:
        return (f"{table}: version {result['version']}, {result['files_rewritten']} files rewritten, "
                f"{result['rows_purged']} deleted rows purged, {result['rows_kept']} kept, "
                f"{result['bytes_before']} -> {result['bytes_after']} bytes")
    metrics = result.get("metrics") or {}
    return (f"{table}: version {result['version']} ({result.get('operation')}), {result['files_rewritten']} files "
            f"rewritten, {metrics.get('numRemovedBytes', '?')} -> {metrics.get('numAddedBytes', '?')} bytes")


@click.command()
@click.argument("table")
@click.option("--min-deleted-share", type=click.FloatRange(0, 1), default=0.2, show_default=True,
              help="Rewrite a file when this share of its rows is deleted (0: every file with a deletion "
                   "vector). The Spark engine's REORG ... APPLY (PURGE) takes no threshold and purges all.")
@click.pass_obj
def optimize(ctx: LakehouseContext, table: str, min_deleted_share: float) -> None:
    """Purge deletion vectors: rewrite TABLE's files without their deleted rows (schema.table)."""
    result = _optimize(ctx, table, min_deleted_share)
    ctx.emit(result, _summary(result))


COMMANDS: list[click.Command] = [optimize]
