"""`lakehouse graph|report`: the pipeline as a DAG, and one self-contained HTML report."""

from __future__ import annotations

from pathlib import Path

import click

from lakehouse.cli.context import LakehouseContext

GRAPH_FORMATS = ("text", "svg", "png", "dot")


@click.command()
@click.option("--pipeline", "pipeline_name", default="customer", show_default=True)
@click.option("--format", "output_format", type=click.Choice(GRAPH_FORMATS), default="text", show_default=True,
              help="svg and dot need no system package; png needs Pillow (pip install \"local-lakehouse[graph]\").")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of stdout (png always needs a file).")
@click.pass_obj
def graph(ctx: LakehouseContext, pipeline_name: str, output_format: str, output: Path | None) -> None:
    """The pipeline's tables from landing folders to gold, each with kind, version, rows, last batch,
    pending input and failed expectations."""
    from lakehouse.core.errors import ConfigError
    from lakehouse.ops.graph import pipeline_graph, read_events, render

    pipeline = ctx.pipeline(pipeline_name)
    if output_format == "png" and output is None:
        raise ConfigError("--format png writes binary data and needs --output.",
                          hint=f"for example: lakehouse graph --pipeline {pipeline_name} --format png --output graph.png")
    drawn = pipeline_graph(ctx.settings, ctx.storage, pipeline, read_events(ctx.settings, ctx.storage))
    rendered = render(drawn, output_format)
    if output is None:
        ctx.emit(drawn.to_dict(), str(rendered).rstrip("\n"))
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(rendered, bytes):
        output.write_bytes(rendered)
    else:
        output.write_text(rendered)
    ctx.emit({"pipeline": pipeline.name, "format": output_format, "output": str(output),
              "nodes": len(drawn.nodes), "edges": len(drawn.edges)},
             f"wrote {output} ({len(drawn.nodes)} nodes, {len(drawn.edges)} flows)")


@click.command()
@click.option("--pipeline", "pipeline_name", default="customer", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"),
              show_default=True)
@click.option("--keys", help="Business keys whose dimension history to draw, comma-separated "
              "(default: the keys with the most versions).")
@click.option("--dimension", help="The SCD2 dimension (schema.table) of the timeline; default: the pipeline's own.")
@click.pass_obj
def report(ctx: LakehouseContext, pipeline_name: str, output: Path, keys: str | None, dimension: str | None) -> None:
    """One self-contained HTML file: graph, tables, recent batches, expectations, a dimension's history."""
    from lakehouse.ops.report import build_report

    pipeline = ctx.pipeline(pipeline_name)
    chosen = [key.strip() for key in keys.split(",") if key.strip()] if keys else None
    html = build_report(ctx.settings, ctx.storage, pipeline, keys=chosen, dimension=dimension)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(html, encoding="utf-8")
    ctx.emit({"pipeline": pipeline.name, "output": str(output), "bytes": len(html.encode("utf-8"))},
             f"wrote {output} ({len(html.encode('utf-8')) // 1024} KiB)")


COMMANDS = [graph, report]
