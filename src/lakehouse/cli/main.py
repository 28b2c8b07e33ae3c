"""The `lakehouse` command: a thin layer over one LakehouseContext."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from lakehouse.cli import bench, catalog, events, landing, observe, optimize, pipeline, project
from lakehouse.cli.context import LakehouseContext
from lakehouse.core.config import Settings
from lakehouse.core.errors import LakehouseError
from lakehouse.core.storage import unreachable_store_error
from lakehouse.engines.registry import ENGINES


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--landing", envvar="LAKEHOUSE_LANDING", help="Landing zone: a path or s3:// URI.")
@click.option("--warehouse", envvar="LAKEHOUSE_WAREHOUSE", help="Warehouse root: a path or s3:// URI.")
@click.option("--catalog", "catalog_uri", envvar="LAKEHOUSE_CATALOG", help="thrift://host:port of a Hive Metastore; default: a local catalog.")
@click.option("--engine", envvar="LAKEHOUSE_ENGINE", type=click.Choice(list(ENGINES)), help="Engine (default: embedded).")
@click.option("--project", "project_dir", envvar="LAKEHOUSE_PROJECT", type=click.Path(path_type=Path, file_okay=False),
              help="Project directory whose pipelines/NAME.yaml files --pipeline finds (default: the current directory).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="local-lakehouse")
@click.pass_context
def cli(ctx: click.Context, landing: str | None, warehouse: str | None, catalog_uri: str | None, engine: str | None,
        project_dir: Path | None, as_json: bool, debug: bool) -> None:
    """Databricks-style medallion pipelines on delta-rs + DuckDB or Spark."""
    settings = Settings.load(landing=landing, warehouse=warehouse, catalog=catalog_uri, engine=engine)
    ctx.obj = LakehouseContext(settings, debug=debug, as_json=as_json, project_dir=project_dir)


# Each command group is one module with its COMMANDS; a new group is one module and one entry here.
for _module in (pipeline, landing, catalog, bench, events, observe, optimize, project):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def _json_after_command(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_object(LakehouseContext).as_json = True  # type: ignore[union-attr]


def _accept_json_everywhere(command: click.Command) -> None:
    """`lakehouse status --json` as well as `lakehouse --json status`: every command takes the flag."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _accept_json_everywhere(sub)
    if command is not cli:
        command.params.append(click.Option(["--json"], is_flag=True, expose_value=False, is_eager=False,
                                           callback=_json_after_command, help="Machine-readable output."))


_accept_json_everywhere(cli)


def main(argv: list[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except LakehouseError as exc:
        if debug:
            raise
        click.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            click.echo(f"  hint: {exc.hint}", err=True)
        # An error may carry its own exit status (quarantined files: 3); getattr because
        # core.errors does not declare the attribute.
        sys.exit(getattr(exc, "exit_code", None) or 2)
    except Exception as exc:
        # A dead S3 server surfaces as OSError (delta-rs, pyarrow) or botocore's own error class.
        unreachable = unreachable_store_error(exc, os.environ.get("AWS_ENDPOINT_URL"))
        if debug or unreachable is None:
            raise
        click.echo(f"error: {unreachable.message}", err=True)
        click.echo(f"  hint: {unreachable.hint}", err=True)
        sys.exit(2)


def console_main() -> None:
    """The `lakehouse` executable: `main`, then a hard exit once output is flushed.

    Native thread pools (Arrow's, delta-rs' async runtime) can abort during interpreter teardown
    ("terminate called without an active exception", seen once under heavy load), which would turn
    a command that already finished and committed into exit code -6. Nothing is left to clean up
    at that point, so the process skips the teardown.
    """
    code = 1
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    except BaseException:  # --debug re-raises: show the traceback, then exit like Python would.
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)
