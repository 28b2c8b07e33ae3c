"""A local warehouse on the embedded engine, with helpers to land handmade TPC-H CSV files."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse.core.checkpoints import CheckpointLog
from lakehouse.core.config import Settings
from lakehouse.core.storage import Storage
from lakehouse.ops.inspection import Inspector
from lakehouse.runtime.runner import Runner
from lakehouse.spec import get_pipeline
from lakehouse.spec.model import TableRef


@dataclass
class SalesLakehouse:
    settings: Settings
    storage: Storage
    landed_files: int = 0

    def land(self, table: str, name: str, header: str, lines: list[str]) -> None:
        uri = f"{self.settings.landing}/{table}/{name}"
        self.storage.write_bytes(uri, ("\n".join([header, *lines]) + "\n").encode("utf-8"))
        # Landing order is modification time, then name: make it explicit on fast local disks.
        self.landed_files += 1
        stamp = time.time() - 10_000 + self.landed_files
        os.utime(uri, (stamp, stamp))

    def run(self, pipeline: str = "tpch"):
        return Runner(self.settings, self.storage).run(get_pipeline(pipeline))

    def table(self, name: str) -> pa.Table:
        return Inspector(self.settings, self.storage).read(name)

    def rows(self, name: str, *sort_by: str) -> list[dict]:
        return sorted(self.table(name).to_pylist(), key=lambda r: tuple(r[c] for c in sort_by))

    def version(self, name: str) -> int | None:
        return Runner(self.settings, self.storage).engine.table_version(TableRef.parse(name))

    def versions(self, pipeline: str = "tpch") -> dict[str, int | None]:
        return {str(spec.ref): self.version(str(spec.ref)) for spec in get_pipeline(pipeline).tables}

    def forget_last_commit(self, name: str) -> int:
        """Remove the offset log's last commits/N, as a crash after the Delta commit would leave it."""
        ref = TableRef.parse(name)
        log = CheckpointLog(self.storage, self.settings.checkpoint_uri(ref.schema, ref.name))
        last = log.last_committed()
        assert last is not None
        self.storage.delete_file(f"{log.root}/commits/{last.batch_id:020d}.json")
        return last.batch_id


@pytest.fixture
def lake(tmp_path: Path) -> SalesLakehouse:
    settings = Settings.load(landing=str(tmp_path / "landing"), warehouse=str(tmp_path / "warehouse"),
                             engine="embedded", env={})
    return SalesLakehouse(settings, Storage(settings.s3))
