"""A small lakehouse over one landing source of a given format: bronze (append-ingest) and silver (scd1)."""

from __future__ import annotations

import gzip
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.core.config import Settings
from lakehouse.core.storage import Storage
from lakehouse.ops.inspection import Inspector
from lakehouse.runtime.runner import Runner
from lakehouse.spec.model import EvolutionMode, Kind, LandingSource, Pipeline, TableRef, TableSpec

BRONZE = TableRef("bronze", "things_raw")
SILVER = TableRef("silver", "things")


def pipeline(fmt: str, hints: dict[str, str] | None = None,
             mode: EvolutionMode = EvolutionMode.ADD_NEW_COLUMNS, with_silver: bool = False) -> Pipeline:
    """Bronze over the `things` folder, and with `with_silver` an scd1 silver table keyed by `id`."""
    source = LandingSource(name="things", folder="things", format=fmt, schema_hints=hints or {}, evolution_mode=mode)
    bronze = TableSpec(ref=BRONZE, kind=Kind.APPEND_INGEST, source=source, change_data_feed=True)
    silver = TableSpec(ref=SILVER, kind=Kind.SCD1_UPSERT, upstream=(BRONZE,), keys=("id",), change_data_feed=True)
    return Pipeline(name=f"things_{fmt}", tables=(bronze, silver) if with_silver else (bronze,))


def json_lines(*records: Any) -> bytes:
    """One line per record: a dict or list is written as JSON, a str as it is (to land broken lines)."""
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records).encode("utf-8")


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data)


@dataclass
class Lake:
    root: Path
    engine: str = "embedded"
    landed: int = 0

    @property
    def settings(self) -> Settings:
        return Settings.load(landing=str(self.root / "landing"), warehouse=str(self.root / "warehouse"),
                             engine=self.engine, env={})

    def land(self, name: str, data: bytes) -> str:
        path = self.root / "landing" / "things" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        # Landing order is modification time, then name: distinct, increasing times.
        self.landed += 1
        stamp = 1_700_000_000 + self.landed
        os.utime(path, (stamp, stamp))
        return str(path)

    def run(self, pipe: Pipeline):
        return Runner(self.settings, Storage(self.settings.s3)).run(pipe)

    def rows(self, table: TableRef = BRONZE) -> list[dict[str, Any]]:
        read = Inspector(self.settings, Storage(self.settings.s3)).read(str(table))
        return sorted(read.to_pylist(), key=lambda r: (r.get("source_filename") or "", r.get("source_row") or 0))

    def schemas(self, pipe: Pipeline) -> list[Any]:
        from lakehouse.engines.embedded.engine import EmbeddedEngine
        from lakehouse.runtime.drivers.batch import BatchDriver
        from lakehouse.sources.schema_store import SchemaStore

        driver = BatchDriver(EmbeddedEngine(self.settings))
        return SchemaStore(driver.checkpoints(pipe.table(BRONZE))).history()

    def violations(self, pipe: Pipeline) -> list[Any]:
        """What `lakehouse validate` finds wrong (bronze recounts each landed file with its format's reader)."""
        checked, violations = Inspector(self.settings, Storage(self.settings.s3)).validate(pipe)
        assert checked, "validate checked no table"
        return violations

    def notes(self, report) -> str:
        return json.dumps(report.to_dict(), default=str)
