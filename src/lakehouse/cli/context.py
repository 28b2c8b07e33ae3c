"""The one object every command receives: settings, and lazily the storage and catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lakehouse.core.config import Settings

if TYPE_CHECKING:
    from lakehouse.catalog.base import Catalog
    from lakehouse.cli.progress import ProgressDisplay
    from lakehouse.core.storage import Storage
    from lakehouse.spec.files import PipelineFiles
    from lakehouse.spec.model import Pipeline


class LakehouseContext:
    """What every command needs: settings, and lazily the storage, catalog and engine."""

    def __init__(self, settings: Settings, *, debug: bool = False, as_json: bool = False,
                 project_dir: Path | None = None) -> None:
        self.settings = settings
        self.debug = debug
        self.as_json = as_json
        # Where `pipelines/NAME.yaml` files are looked for (--project, LAKEHOUSE_PROJECT, else the current directory).
        self.project_dir = (project_dir if project_dir is not None else Path.cwd()).absolute()
        self._storage: Storage | None = None
        self._catalog: Catalog | None = None
        self._pipeline_files: PipelineFiles | None = None
        self._progress: ProgressDisplay | None = None

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            from lakehouse.core.storage import Storage

            self._storage = Storage(self.settings.s3)
        return self._storage

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            from lakehouse.catalog import open_catalog

            self._catalog = open_catalog(self.settings)
        return self._catalog

    @property
    def pipeline_files(self) -> PipelineFiles:
        """The project's pipeline files, then the shipped ones."""
        if self._pipeline_files is None:
            from lakehouse.spec.files import PipelineFiles

            self._pipeline_files = PipelineFiles(self.project_dir)
        return self._pipeline_files

    def pipeline(self, name: str) -> Pipeline:
        """Every command's --pipeline NAME: `<project>/pipelines/NAME.yaml`, else the shipped pipeline NAME."""
        return self.pipeline_files.get(name)

    def emit(self, payload: Any, text: str | None = None) -> None:
        """Print `payload` as JSON with --json, else `text` (or a readable form of payload)."""
        if self.as_json:
            click.echo(json.dumps(payload, indent=2, default=str))
        elif text is not None:
            click.echo(text)
        else:
            click.echo(payload if isinstance(payload, str) else json.dumps(payload, indent=2, default=str))

    def progress(self, message: str) -> None:
        """Progress goes to stderr so that --json output on stdout stays parseable; on a terminal
        "[done/total] ..." steps draw a bar (cli/progress.py), with --json always plain lines."""
        if self._progress is None:
            from lakehouse.cli.progress import ProgressDisplay

            self._progress = ProgressDisplay(bars=False) if self.as_json else ProgressDisplay()
        self._progress(message)


pass_context = click.make_pass_decorator(LakehouseContext)
