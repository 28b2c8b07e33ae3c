"""A write-ahead offset log per flow, as Structured Streaming keeps one.

For batch N the driver first writes offsets/N (what the batch will read), then commits the data
with Delta app transaction (app_id, N), then writes commits/N. After a crash at any point the
next run finds offsets/N without commits/N and replays exactly that batch; the app transaction
tells whether its data already landed, so it is never written twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

from lakehouse.storage import Storage

_WIDTH = 20


@dataclass(frozen=True)
class PlannedBatch:
    batch_id: int
    payload: dict[str, Any]


class CheckpointLog:
    def __init__(self, storage: Storage, root: str) -> None:
        self.storage = storage
        self.root = root

    def _ids(self, folder: str) -> list[int]:
        ids = []
        for info in self.storage.list_files(f"{self.root}/{folder}", recursive=False):
            stem = info.name.removesuffix(".json")
            if stem.isdigit():
                ids.append(int(stem))
        return sorted(ids)

    def _path(self, folder: str, batch_id: int) -> str:
        return f"{self.root}/{folder}/{batch_id:0{_WIDTH}d}.json"

    def last_committed(self) -> PlannedBatch | None:
        ids = self._ids("commits")
        if not ids:
            return None
        return PlannedBatch(ids[-1], self._read("offsets", ids[-1]))

    def pending(self) -> PlannedBatch | None:
        """The batch planned but not committed, which must be replayed as it was planned."""
        planned = self._ids("offsets")
        committed = set(self._ids("commits"))
        for batch_id in planned:
            if batch_id not in committed:
                return PlannedBatch(batch_id, self._read("offsets", batch_id))
        return None

    def next_batch_id(self) -> int:
        planned = self._ids("offsets")
        return planned[-1] + 1 if planned else 0

    def plan(self, batch_id: int, payload: dict[str, Any]) -> PlannedBatch:
        self.storage.write_text(self._path("offsets", batch_id), json.dumps(payload, indent=1, default=str))
        return PlannedBatch(batch_id, payload)

    def commit(self, batch_id: int, summary: dict[str, Any]) -> None:
        self.storage.write_text(self._path("commits", batch_id), json.dumps(summary, indent=1, default=str))

    def planned_payloads(self) -> Iterator[PlannedBatch]:
        for batch_id in self._ids("offsets"):
            yield PlannedBatch(batch_id, self._read("offsets", batch_id))

    def committed_summaries(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for batch_id in self._ids("commits"):
            yield batch_id, self._read("commits", batch_id)

    def _read(self, folder: str, batch_id: int) -> dict[str, Any]:
        return json.loads(self.storage.read_text(self._path(folder, batch_id)))
