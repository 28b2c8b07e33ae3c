"""Where a pipeline named NAME is found: `<project>/pipelines/NAME.yaml`, else the shipped file."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

from lakehouse.core.errors import ConfigError
from lakehouse.spec.files.columns import missing_columns
from lakehouse.spec.files.loader import DeclaredElsewhere, load_pipeline_file
from lakehouse.spec.files.reading import Where, read_yaml
from lakehouse.spec.model import Pipeline, TableRef

# The pipelines this package ships (package data: lakehouse/pipelines/*.yaml).
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "pipelines"
PIPELINE_SUFFIX = ".yaml"


class PipelineFiles:
    """The pipelines of one project (None: the shipped ones only), each read once when first asked."""

    def __init__(self, project_dir: Path | None = None) -> None:
        self.project_dir = project_dir
        self._loaded: dict[str, Pipeline] = {}
        self._loading: list[str] = []
        # The file that declares each table read so far (an included table: the file it is declared in).
        self._declared_in: dict[TableRef, Path] = {}

    @property
    def folders(self) -> tuple[Path, ...]:
        """Where files are looked for, first match wins: the project's own, then the shipped ones."""
        own = () if self.project_dir is None else (self.project_dir / "pipelines",)
        return (*own, SHIPPED_DIR)

    def paths(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for folder in reversed(self.folders):
            if folder.is_dir():
                found.update({path.stem: path for path in sorted(folder.glob(f"*{PIPELINE_SUFFIX}"))})
        return dict(sorted(found.items()))

    def names(self) -> list[str]:
        return list(self.paths())

    def get(self, name: str) -> Pipeline:
        if name in self._loaded:
            return self._loaded[name]
        path = self.paths().get(name)
        if path is None:
            looked = " and ".join(str(folder) for folder in self.folders)
            raise ConfigError(f"Unknown pipeline '{name}': no {name}{PIPELINE_SUFFIX} in {looked}.",
                              hint="valid pipelines: " + ", ".join(self.names()) +
                                   "; run from the project directory or pass --project DIR")
        if name in self._loading:
            chain = " -> ".join([*self._loading[self._loading.index(name):], name])
            raise ConfigError(f"{path}: field 'include': pipelines include each other in a cycle: {chain}.",
                              hint="remove one of these includes")
        self._loading.append(name)
        try:
            pipeline = load_pipeline_file(path, include=self.get,
                                          elsewhere=functools.partial(self.declared_elsewhere, exclude=name))
        finally:
            self._loading.pop()
        self._loaded[name] = pipeline
        for spec in pipeline.tables:
            self._declared_in.setdefault(spec.ref, path)
        return pipeline

    def all(self) -> dict[str, Pipeline]:
        return {name: self.get(name) for name in self.names()}

    def declared_elsewhere(self, ref: TableRef, exclude: str) -> DeclaredElsewhere | None:
        """A table declared by another pipeline's file (read shallowly: its table entries only, so a
        pipeline fed from another pipeline's table does not load that pipeline, and files never recurse)."""
        for name, path in self.paths().items():
            if name == exclude:
                continue
            tables = read_yaml(path).get("tables")
            for entry in tables if isinstance(tables, list) else ():
                if isinstance(entry, dict) and entry.get("name") == str(ref):
                    return DeclaredElsewhere(str(path), entry.get("change_data_feed") is True)
        return None

    def check_columns(self, pipeline: Pipeline, columns_of: Callable[[TableRef], Sequence[str] | None]) -> None:
        """Refuse a table that reads a column its upstream table lacks (`columns_of`: the columns of a
        written table, None while it is not written), naming the file, table and field."""
        for spec in pipeline.tables:
            for field, column, upstream, available in missing_columns(spec, columns_of)[:1]:
                where = Where(str(self._declared_in.get(spec.ref, f"pipeline '{pipeline.name}'")), f"'{spec.ref}'",
                              field)
                raise where.error(f"'{column}' is no column of {upstream}.",
                                  hint=f"columns of {upstream}: " + ", ".join(available))


@functools.cache
def shipped_pipelines() -> dict[str, Pipeline]:
    """The pipelines this package ships, by name."""
    return PipelineFiles().all()
