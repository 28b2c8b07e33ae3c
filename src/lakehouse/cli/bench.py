"""`lakehouse bench`: the reproducible "how fast" (see docs/benchmarks.md)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click

from lakehouse.cli.context import LakehouseContext, pass_context


def _shares(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"'{text}' is not a comma-separated list of numbers") from None
    if not values or not all(0 < v <= 1 for v in values):
        raise click.BadParameter("each share must be above 0 and at most 1, e.g. 0.001,0.01,0.1")
    return values


def output_paths(output: Path) -> tuple[Path, Path]:
    """PATH.json and PATH.md; a dot in the name stays (with_suffix would turn sf0.1 into sf0.json)."""
    stem = output.with_suffix("") if output.suffix in (".json", ".md") else output
    return stem.parent / f"{stem.name}.json", stem.parent / f"{stem.name}.md"


@click.command("bench")
@click.option("--scale", type=float, default=1.0, show_default=True, help="TPC-H scale factor of the full load.")
@click.option("--workdir", type=click.Path(path_type=Path), default=Path("data/bench"), show_default=True,
              help="Own landing zone and warehouse; never the pipeline's data/landing.")
@click.option("--shares", default="0.001,0.01,0.1", show_default=True,
              help="Incremental batch sizes, as shares of the customer and orders tables.")
@click.option("--compare-scale", type=float, default=10.0, show_default=True,
              help="Repeat the customer batches (same row counts) on a customer table at this scale; 0 skips.")
@click.option("--memory-scale", type=float, default=0.0, show_default=True,
              help="Also load customer, orders and lineitem at this scale in bounded batches; 0 skips.")
@click.option("--memory-batch-files", type=int, default=2, show_default=True,
              help="Landed files per batch in the memory run.")
@click.option("--memory-tables", default="customer,orders,lineitem", show_default=True,
              help="TPC-H tables of the memory run.")
@click.option("--memory-max-rounds", type=int, default=0, show_default=True,
              help="Stop the memory run after this many rounds; 0 runs until everything is loaded.")
@click.option("--file-mb", type=int, default=128, show_default=True, help="Size of the landed CSV files.")
@click.option("--peer", type=click.Choice(["spark", "none"]), default="spark", show_default=True,
              help="Also run every phase but memory and small files on this engine, in the same run.")
@click.option("--no-peer", is_flag=True, help="Same as --peer none: the embedded engine only.")
@click.option("--small-files", type=int, default=10_000, show_default=True,
              help="Land this many one-row customer files and run them landing->gold against one file of "
                   "the same rows; 0 skips.")
@click.option("--profile-small-files", is_flag=True,
              help="Also run the small files once more under cProfile and report each table's top costs.")
@click.option("--merge-on-read/--copy-on-write", default=None,
              help="Our engine's MERGEs write deletion vectors (its default), or rewrite files "
                   "(LAKEHOUSE_MERGE_ON_READ=false).")
@click.option("--render", "render_from", type=click.Path(exists=True, path_type=Path), default=None,
              help="Only print the markdown of an earlier run's JSON report (no measuring).")
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="Write <output>.json and <output>.md (default: <workdir>/results).")
@pass_context
def bench(obj: LakehouseContext, scale: float, workdir: Path, shares: str, compare_scale: float, memory_scale: float,
          memory_batch_files: int, memory_tables: str, memory_max_rounds: int, file_mb: int, peer: str,
          no_peer: bool, small_files: int, profile_small_files: bool, merge_on_read: bool | None, render_from: Path | None,
          output: Path | None) -> None:
    """Measure the pipeline: full load vs a DuckDB floor and the Spark engine, incremental batches,
    many small files, memory."""
    from lakehouse.bench import BenchOptions, render_markdown, run_bench

    if render_from is not None:
        earlier = json.loads(render_from.read_text())
        obj.emit(earlier, render_markdown(earlier))
        return
    options = BenchOptions(scale=scale, workdir=workdir, shares=_shares(shares),
                           compare_scale=compare_scale or None, memory_scale=memory_scale or None,
                           memory_batch_files=memory_batch_files, file_mb=file_mb,
                           memory_max_rounds=memory_max_rounds or None,
                           memory_tables=tuple(t.strip() for t in memory_tables.split(",") if t.strip()),
                           peer=None if no_peer or peer == "none" else peer, small_files=small_files or None,
                           profile_small_files=profile_small_files, merge_on_read=merge_on_read)
    command = "lakehouse bench " + shlex.join(sys.argv[2:] if sys.argv[1:2] == ["bench"] else sys.argv[1:])
    report = run_bench(options, obj.progress, command=command)
    markdown = render_markdown(report)
    json_path, markdown_path = output_paths(output or workdir / "results")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2))
    markdown_path.write_text(markdown + "\n")
    obj.progress(f"wrote {json_path} and {markdown_path}")
    obj.emit(report, markdown)


COMMANDS = [bench]
