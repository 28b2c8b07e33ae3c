"""The `lakehouse` command: a thin layer over one LakehouseContext."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from lakehouse.config import Settings
from lakehouse.errors import LakehouseError


class LakehouseContext:
    """What every command needs: settings, and lazily the storage, catalog and engine."""

    def __init__(self, settings: Settings, *, debug: bool = False, as_json: bool = False) -> None:
        self.settings = settings
        self.debug = debug
        self.as_json = as_json
        self._storage = None
        self._catalog = None

    @property
    def storage(self):
        if self._storage is None:
            from lakehouse.storage import Storage

            self._storage = Storage(self.settings.s3)
        return self._storage

    @property
    def catalog(self):
        if self._catalog is None:
            from lakehouse.catalog import open_catalog

            self._catalog = open_catalog(self.settings)
        return self._catalog

    def emit(self, payload: Any, text: str | None = None) -> None:
        """Print `payload` as JSON with --json, else `text` (or a readable form of payload)."""
        if self.as_json:
            click.echo(json.dumps(payload, indent=2, default=str))
        elif text is not None:
            click.echo(text)
        else:
            click.echo(payload if isinstance(payload, str) else json.dumps(payload, indent=2, default=str))

    def progress(self, message: str) -> None:
        """Progress goes to stderr so that --json output on stdout stays parseable."""
        click.echo(message, err=True)


pass_context = click.make_pass_decorator(LakehouseContext)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--landing", envvar="LAKEHOUSE_LANDING", help="Landing zone: a path or s3:// URI.")
@click.option("--warehouse", envvar="LAKEHOUSE_WAREHOUSE", help="Warehouse root: a path or s3:// URI.")
@click.option("--catalog", "catalog_uri", envvar="LAKEHOUSE_CATALOG", help="thrift://host:port of a Hive Metastore; default: a local catalog.")
@click.option("--engine", envvar="LAKEHOUSE_ENGINE", type=click.Choice(["embedded", "spark"]), help="Engine (default: embedded).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="local-lakehouse")
@click.pass_context
def cli(ctx: click.Context, landing, warehouse, catalog_uri, engine, as_json, debug) -> None:
    """Databricks-style medallion pipelines on delta-rs + DuckDB or Spark."""
    settings = Settings.load(landing=landing, warehouse=warehouse, catalog=catalog_uri, engine=engine)
    ctx.obj = LakehouseContext(settings, debug=debug, as_json=as_json)


def _register_commands() -> None:
    from lakehouse import cli_bench, cli_catalog, cli_landing, cli_pipeline

    for module in (cli_pipeline, cli_landing, cli_catalog, cli_bench):
        for command in module.COMMANDS:
            cli.add_command(command)


_register_commands()


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
        sys.exit(2 if not getattr(exc, "exit_code", None) else exc.exit_code)


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
