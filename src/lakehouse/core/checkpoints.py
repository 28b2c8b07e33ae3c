"""A write-ahead offset log per flow, as Structured Streaming keeps one.

For batch N the driver first writes offsets/N (what the batch will read), then commits the data
with Delta app transaction (app_id, N), then writes commits/N. After a crash at any point the
next run finds offsets/N without commits/N and replays exactly that batch; the app transaction
tells whether its data already landed, so it is never written twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lakehouse.core.errors import LakehouseError
from lakehouse.core.storage import Storage

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
        payload: dict[str, Any] = json.loads(self.storage.read_text(self._path(folder, batch_id)))
        return payload


# -- which engine owns a table's checkpoints ---------------------------------------------------
# Each engine keeps its own record of what a table has read (the embedded driver's offset log in
# the checkpoint root, Spark's streaming checkpoints under `spark/`), but both commit under the same
# app transaction (`lakehouse:<table>`, N). A table written by one engine and then by the other
# would have the second engine start from its own batch 0: it re-reads input the first already
# took (files ingested twice) and takes its batch N for a replay whenever the first engine's
# transaction reached N (input skipped). Neither record can be translated into the other, so a
# table belongs to the engine that first wrote its checkpoints; the other engine is refused until
# the table is reset. Tables are claimed one by one: a silver table on Spark may read an embedded
# bronze (each reads its upstream's change feed from its own checkpoint).

ENGINE_MARKER = "engine.json"
# What each engine's checkpoints look like inside <warehouse>/_checkpoints/<schema>/<table>/.
_ENGINE_FOLDERS = {"embedded": ("offsets", "commits"), "spark": ("spark",)}


class MixedEnginesError(LakehouseError):
    """A table's checkpoints belong to another engine than the one asked to run it."""


def engine_marker_path(root: str) -> str:
    return f"{root}/{ENGINE_MARKER}"


def recorded_engine(storage: Storage, root: str) -> str | None:
    """The engine named by the table's marker (None when there is none)."""
    path = engine_marker_path(root)
    if not storage.exists(path):
        return None
    try:
        return str(json.loads(storage.read_text(path))["engine"])
    except (ValueError, KeyError, TypeError):
        return None


def engines_with_checkpoints(storage: Storage, root: str, candidates: tuple[str, ...] | None = None) -> list[str]:
    """The engines whose checkpoint folders exist under `root`, in a fixed order."""
    names = candidates or tuple(_ENGINE_FOLDERS)
    # An engine without a line here is known by its marker only.
    return [name for name in names if any(storage.exists(f"{root}/{folder}") for folder in _ENGINE_FOLDERS.get(name, ()))]


def table_engine(storage: Storage, root: str) -> str | None:
    """Which engine wrote the table's checkpoints: the marker, else the folders found (None: neither)."""
    recorded = recorded_engine(storage, root)
    if recorded is not None:
        return recorded
    found = engines_with_checkpoints(storage, root)
    return found[0] if len(found) == 1 else ("both" if found else None)


def mixed_engines_error(table: str, owner: str, engine: str, pipeline: str, root: str) -> MixedEnginesError:
    written = ("both engines (its checkpoints disagree)" if owner == "both"
               else f"the {owner} engine")
    rerun = "" if owner == "both" else f"run it with --engine {owner} (LAKEHOUSE_ENGINE={owner}), or "
    return MixedEnginesError(
        f"{table} was written by {written}, not by the {engine} engine asked to run it now. Each engine "
        f"keeps its own checkpoints ({root}), so the {engine} engine would re-read input already "
        "ingested or skip batches it never ran; nothing was run.",
        hint=f"{rerun}rebuild it on the {engine} engine with `lakehouse reset --pipeline {pipeline} --table {table} "
        f"--yes` (drops {table}, the tables fed from it and their checkpoints; landing files stay)",
    )


def check_engine(storage: Storage, root: str, engine: str, table: str, pipeline: str) -> str | None:
    """Refuses `engine` on a table whose checkpoints another engine wrote (or both engines did).
    Returns the engine the marker names (`engine`, or None when there is no marker yet).

    The common case, the owner running again, costs one marker read and one existence check."""
    recorded = recorded_engine(storage, root)
    others = tuple(name for name in _ENGINE_FOLDERS if name != engine)
    foreign = engines_with_checkpoints(storage, root, others)
    if not foreign and recorded in (None, engine):
        return recorded
    owners = set(foreign) | ({recorded} if recorded else set())
    if engines_with_checkpoints(storage, root, (engine,)):
        owners.add(engine)
    owner = "both" if len(owners) > 1 else owners.pop()
    raise mixed_engines_error(table, owner, engine, pipeline, root)


def record_engine(storage: Storage, root: str, engine: str) -> None:
    """Writes the marker once the engine has checkpoints for the table (a no-op after the first time)."""
    if recorded_engine(storage, root) == engine:
        return
    if engines_with_checkpoints(storage, root, (engine,)):
        storage.write_text(engine_marker_path(root), json.dumps({"engine": engine}))
