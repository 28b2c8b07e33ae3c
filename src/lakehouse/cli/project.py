"""`lakehouse init DIR`: a starter project whose pipelines are files the user edits."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from lakehouse.cli.context import LakehouseContext
from lakehouse.core.errors import ConfigError, LakehouseError

if TYPE_CHECKING:
    from lakehouse.runtime.runner import Runner, RunReport
    from lakehouse.spec.model import Pipeline, TableRef

STARTER_PIPELINES = ("customer", "sales", "tpch")
SCHEMA_FILE = "pipeline.schema.json"
# The shipped files point editors at the schema inside the package; a project's at its own copy.
_SHIPPED_MODELINE = "# yaml-language-server: $schema=../spec/files/pipeline.schema.json"
_PROJECT_MODELINE = f"# yaml-language-server: $schema=../{SCHEMA_FILE}"

README = """# {name}

A local-lakehouse project: `pipelines/NAME.yaml` declares pipeline NAME (bronze append_ingest, silver scd1,
gold scd2 and fact tables). Here they are the TPC-H pipelines; edit them or add your own. Run from this
directory (or pass `--project {name}`, or set `LAKEHOUSE_PROJECT`):

```
lakehouse landing sample --scale 0.01 --tables customer,orders,lineitem,nation,region,part,supplier
lakehouse run --pipeline tpch
```

The first lands TPC-H CSV files under LAKEHOUSE_LANDING (default: ./data/landing), the second builds
bronze, silver and gold under LAKEHOUSE_WAREHOUSE. `lakehouse status --pipeline tpch` and
`lakehouse validate --pipeline tpch` look at the result.

`{schema}` is the JSON Schema of the format: the `# yaml-language-server` line at the top of each file
points editors with the YAML language server at it (completion and checks). The format's contract is
docs/pipelines.md of local-lakehouse.
"""


def starter_files(directory: Path) -> dict[Path, str]:
    """What `init` writes under `directory`, by path."""
    from lakehouse.spec.files import SCHEMA_PATH, SHIPPED_DIR

    files = {directory / "README.md": README.format(name=directory.name, schema=SCHEMA_FILE),
             directory / SCHEMA_FILE: SCHEMA_PATH.read_text(encoding="utf-8")}
    for name in STARTER_PIPELINES:
        text = (SHIPPED_DIR / f"{name}.yaml").read_text(encoding="utf-8")
        files[directory / "pipelines" / f"{name}.yaml"] = text.replace(_SHIPPED_MODELINE, _PROJECT_MODELINE, 1)
    return files


@click.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.pass_obj
def init(ctx: LakehouseContext, directory: Path) -> None:
    """Write a starter project in DIRECTORY: the TPC-H pipelines as files and a README."""
    files = starter_files(directory)
    existing = [str(path) for path in files if path.exists()]
    if existing:
        raise ConfigError(f"Not writing the starter project: {', '.join(existing)} already exist(s); nothing was written.",
                          hint="choose a new or empty directory, or move those files away first")
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory} is a file, not a directory.", hint="choose a directory path")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    ctx.emit({"project": str(directory), "files": [str(path) for path in files]},
             "\n".join(f"wrote {path}" for path in files)
             + f"\nnext: cd {directory} && lakehouse landing sample --scale 0.01 "
               "--tables customer,orders,lineitem,nation,region,part,supplier && lakehouse run --pipeline tpch")


def check_columns(ctx: LakehouseContext, pipeline: Pipeline) -> None:
    """A column the pipeline file names that a written upstream table lacks is a ConfigError naming
    file, table and field (the columns of landed data are inferred, so the file alone cannot tell)."""
    from lakehouse.ops.inspection import Inspector

    engine = Inspector(ctx.settings, ctx.storage).engine

    def columns_of(ref: TableRef) -> list[str] | None:
        return None if engine.delta_table(ref) is None else list(engine.dataset(ref).schema.names)

    ctx.pipeline_files.check_columns(pipeline, columns_of)


def run_checking_columns(ctx: LakehouseContext, runner: Runner, pipeline: Pipeline, only: str | None) -> RunReport:
    """Checks columns against the tables already written; a table written during the run (bronze on a
    first run) is checked when a later table fails, so that failure names the file's field."""
    check_columns(ctx, pipeline)
    try:
        return runner.run(pipeline, only=only)
    except LakehouseError:
        raise
    except Exception as failure:
        try:
            check_columns(ctx, pipeline)
        except ConfigError as explained:
            raise explained from failure
        raise


COMMANDS = [init]
