"""`lakehouse landing ...`: generate TPC-H data, chunk it, land it, and make change batches."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from lakehouse.cli.context import LakehouseContext

DEFAULT_WORKDIR = "data/tpch"
F = TypeVar("F", bound=Callable[..., Any])

workdir_option = click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_WORKDIR,
    show_default=True,
    help="Local folder for generated CSV, chunks and change-batch state.",
)


def tables_option(default: tuple[str, ...] | None) -> Callable[[F], F]:
    return click.option(
        "--tables",
        "-t",
        multiple=True,
        default=default,
        help="TPC-H tables, repeated or comma-separated"
        + (f" [default: {','.join(default)}]" if default else " [default: every generated table]"),
    )


@click.group("landing")
def landing() -> None:
    """Generate TPC-H data and land it (and change batches) under <landing>/<table>/."""


@landing.command("generate")
@click.option("--scale", "-s", type=float, required=True, help="TPC-H scale factor, e.g. 0.01 or 1.")
@tables_option(None)
@workdir_option
@click.pass_obj
def generate_command(ctx: LakehouseContext, scale: float, tables: tuple[str, ...], workdir: Path) -> None:
    """Write <workdir>/<table>.csv with tpchgen-cli (skipped when already there at this scale)."""
    from lakehouse.landing import DEFAULT_TABLES, generate_tpch

    started = time.monotonic()
    paths = generate_tpch(scale, workdir, tables or DEFAULT_TABLES, progress=ctx.progress)
    files = {table: str(path) for table, path in paths.items()}
    payload = {
        "scale": scale,
        "workdir": str(workdir),
        "files": files,
        "seconds": round(time.monotonic() - started, 3),
    }
    ctx.emit(payload, "\n".join(f"{table}: {path}" for table, path in files.items()))


def _generated_tables(workdir: Path, tables: tuple[str, ...]) -> tuple[str, ...]:
    from lakehouse.core.errors import ConfigError
    from lakehouse.landing.tpch import read_manifest, validate_tables

    if tables:
        return validate_tables(tables)
    generated = tuple(read_manifest(workdir).get("tables", {}))
    if not generated:
        raise ConfigError(
            f"No generated TPC-H data in '{workdir}'.",
            hint="run: lakehouse landing generate --scale 0.01 (or pass --workdir)",
        )
    return generated


@landing.command("chunk")
@click.option("--chunks", "-n", type=click.IntRange(min=1), required=True, help="Files per table.")
@tables_option(None)
@workdir_option
@click.pass_obj
def chunk_command(ctx: LakehouseContext, chunks: int, tables: tuple[str, ...], workdir: Path) -> None:
    """Split <workdir>/<table>.csv into <workdir>/chunks/<table>/<table>_0001.csv ..."""
    from lakehouse.landing import chunk_csv

    result: dict[str, list[str]] = {}
    for table in _generated_tables(workdir, tables):
        paths = chunk_csv(workdir / f"{table}.csv", chunks, workdir / "chunks" / table, table, progress=ctx.progress)
        result[table] = [str(p) for p in paths]
    ctx.emit(result, "\n".join(f"{table}: {len(files)} files" for table, files in result.items()))


@landing.command("upload")
@tables_option(None)
@workdir_option
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def upload_command(ctx: LakehouseContext, tables: tuple[str, ...], workdir: Path, files: tuple[Path, ...]) -> None:
    """Land chunk files under <landing>/<table>/, in name order.

    With FILES, land those under the one table given with --tables; otherwise land every chunk of
    <workdir>/chunks/<table>/.
    """
    from lakehouse.core.errors import ConfigError
    from lakehouse.landing import land_files

    plan: dict[str, list[Path]] = {}
    if files:
        if len(tables) != 1 or "," in tables[0]:
            raise ConfigError("Landing FILES needs exactly one --tables value: the folder to land them in.")
        plan[tables[0]] = list(files)
    else:
        for table in _generated_tables(workdir, tables):
            chunk_paths = sorted((workdir / "chunks" / table).glob(f"{table}_[0-9]*.csv"))
            if not chunk_paths:
                raise ConfigError(
                    f"No chunks of '{table}' in '{workdir / 'chunks' / table}'.",
                    hint=f"run: lakehouse landing chunk --tables {table} --chunks 4",
                )
            plan[table] = chunk_paths
    result = {
        table: land_files(ctx.storage, paths, ctx.settings.landing, table, progress=ctx.progress)
        for table, paths in plan.items()
    }
    ctx.emit(result, "\n".join(f"{table}: {len(uris)} files under {ctx.settings.landing}/{table}" for table, uris in result.items()))


@landing.command("sample")
@click.option("--scale", "-s", type=float, default=0.01, show_default=True, help="TPC-H scale factor.")
@click.option("--chunks", "-n", type=click.IntRange(min=1), default=4, show_default=True, help="Files per table.")
@tables_option(("customer",))
@workdir_option
@click.pass_obj
def sample_command(ctx: LakehouseContext, scale: float, chunks: int, tables: tuple[str, ...], workdir: Path) -> None:
    """Generate, chunk and land TPC-H tables in one go (the README's first command)."""
    from lakehouse.landing import land_sample

    summary = land_sample(ctx.settings, ctx.storage, scale, chunks, tables, workdir, progress=ctx.progress)
    lines = [
        f"{table}: {info['rows']} rows in {len(info['files'])} files under {summary['landing']}/{table}"
        for table, info in summary["tables"].items()
    ]
    ctx.emit(summary, "\n".join(lines + [f"done in {summary['seconds']:.1f}s"]))


@landing.command("changes")
@click.option("--table", type=click.Choice(["customer"]), default="customer", show_default=True)
@click.option("--share", type=click.FloatRange(0, 1), default=0.01, show_default=True, help="Share of existing keys to change.")
@click.option("--new", "new", type=click.IntRange(min=0), default=10, show_default=True, help="New keys above the current maximum.")
@click.option("--resend", type=click.IntRange(min=0), default=5, show_default=True, help="Existing keys sent again unchanged.")
@click.option("--duplicates", type=click.IntRange(min=0), default=3, show_default=True, help="Keys sent twice in the file (the last row wins).")
@click.option("--seed", type=int, default=None, help="Random seed (the summary reports the one used).")
@click.option("--effective-time", is_flag=True, help="Add a c_updated_at column; later batches carry later times.")
@click.option("--out-of-order", type=click.FloatRange(0, 1), default=0.0, show_default=True, help="Share of changed keys stamped older than their current version (needs --effective-time).")
@click.option("--land/--no-land", default=True, show_default=True, help="Land the batch under <landing>/<table>/.")
@click.option("--reset", is_flag=True, help="Forget earlier batches and start again from <workdir>/<table>.csv.")
@workdir_option
@click.pass_obj
def changes_command(ctx: LakehouseContext, table: str, share: float, new: int, resend: int, duplicates: int,
                    seed: int | None, effective_time: bool, out_of_order: float, land: bool, reset: bool,
                    workdir: Path) -> None:
    """Make the next change batch (<table>_changes_NNNN.csv) from the current state and land it."""
    from lakehouse.landing import land_files, make_customer_changes, reset_state

    if reset and reset_state(workdir, table):
        ctx.progress(f"forgot earlier {table} change batches in {workdir}")
    batch = make_customer_changes(
        workdir, share=share, new=new, resend=resend, duplicates=duplicates, seed=seed,
        effective_time=effective_time, out_of_order=out_of_order,
    )
    payload = batch.to_dict()
    if land:
        landed = land_files(ctx.storage, [batch.path], ctx.settings.landing, table, progress=ctx.progress)
        payload["landed"] = landed
    text = (
        f"batch {batch.batch} (seed {batch.seed}): {batch.rows} rows = {batch.changed} changed, "
        f"{batch.out_of_order} out of order, {batch.new} new, {batch.resent} re-sent, {batch.duplicates} duplicates\n"
        + (f"landed {landed[0]}" if land else f"written {batch.path} (not landed)")
    )
    ctx.emit(payload, text)


COMMANDS: list[click.Command] = [landing]
