"""What `status` and `validate` read from each engine's checkpoints: one small view per engine.

The inspector picks the view by the engine that owns the table (lakehouse.core.checkpoints.table_engine),
so status and validate work the same whichever engine wrote the tables.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from lakehouse.core.checkpoints import CheckpointLog
from lakehouse.core.errors import InputFileError, SchemaEvolutionError
from lakehouse.core.storage import FileInfo
from lakehouse.kinds.base import Reads
from lakehouse.kinds.registry import reads_of
from lakehouse.sources import ledger
from lakehouse.sources.file_names import landed_data_files
from lakehouse.spec.model import TableSpec

if TYPE_CHECKING:
    from lakehouse.ops.inspection import Inspector


class CheckpointView:
    """What `status` and `validate` need from one engine's checkpoints of one table.

    - last_batch: the last committed batch ({"batch_id": N, ...what the engine recorded about it}) or None;
    - upstream_version_done: the last upstream version a change-fed table has read (-1: none);
    - discover_files: a bronze table's landed files still to ingest, quarantined and re-uploaded;
    - landed_records: per file a committed batch took, the records it holds (-1: cannot be recounted).
    """

    def __init__(self, inspector: Inspector, spec: TableSpec, root: str, engine: str | None) -> None:
        self.inspector = inspector
        self.storage = inspector.storage
        self.settings = inspector.settings
        self.spec = spec
        self.root = root
        self.engine = engine

    def last_batch(self) -> dict[str, Any] | None:
        raise NotImplementedError

    def upstream_version_done(self) -> int:
        raise NotImplementedError

    def discover_files(self) -> ledger.Discovery:
        raise NotImplementedError

    def landed_records(self) -> dict[str, int]:
        raise NotImplementedError

    def _landed(self) -> list[FileInfo]:
        assert self.spec.source is not None
        folder = self.settings.landing_uri(self.spec.source.folder)
        return landed_data_files(self.storage.list_files(folder), folder)


class EmbeddedCheckpoints(CheckpointView):
    """The embedded driver's offset log in the checkpoint root: offsets/N, commits/N (with the batch's
    summary), outcomes/N per bronze batch."""

    def log(self) -> CheckpointLog:
        return CheckpointLog(self.storage, self.root)

    def last_batch(self) -> dict[str, Any] | None:
        log = self.log()
        last = log.last_committed()
        if last is None:
            return None
        return {"batch_id": last.batch_id, **dict(log.committed_summaries()).get(last.batch_id, {})}

    def upstream_version_done(self) -> int:
        last = self.log().last_committed()
        return -1 if last is None else last.payload["end_version"]

    def discover_files(self) -> ledger.Discovery:
        return ledger.discover(self._landed(), ledger.ledger(self.log()))

    def landed_records(self) -> dict[str, int]:
        landed: dict[str, int] = {}
        for record in ledger.ledger(self.log()).values():
            if record.status == ledger.PLANNED:
                continue
            current = self.storage.file_info(record.uri)
            if record.status != ledger.INGESTED or current is None or not record.same_as(current):
                # Quarantined, deferred or empty: no rows; deleted or re-uploaded since: cannot be recounted.
                landed[record.uri] = 0 if record.status != ledger.INGESTED else -1
                continue
            landed[record.uri] = self.inspector.count_records(self.spec, current)
        return landed


class SparkCheckpoints(CheckpointView):
    """The Spark driver's checkpoints under `<root>/spark/` (runtime/drivers/streaming.py):

    - a streaming flow's Structured Streaming checkpoint `spark/<flow>/`: `offsets/N` (three lines:
      `v1`, the batch metadata, one line per source with its offset), `commits/N` once batch N
      committed; bronze's flow `files` also keeps the file source's log `sources/0/N` (and every
      tenth batch a `N.compact`), one JSON line per file taken ({"path", "timestamp", "batchId"});
      a change-fed flow, named after its upstream, holds a Delta source offset
      ({"reservoirVersion": V, "index": -1, ...}: every version before V was read);
    - the fact's offset log `spark/inputs/` (lakehouse.core.checkpoints.CheckpointLog, as the embedded one).
    """

    def flow_root(self) -> str:
        if reads_of(self.spec.kind) is Reads.CHANGE_FEEDS:
            return f"{self.root}/spark/inputs"
        if reads_of(self.spec.kind) is Reads.LANDED_FILES:
            autoloader = f"{self.root}/spark/autoloader"
            return autoloader if self.storage.exists(autoloader) else f"{self.root}/spark/files"
        return f"{self.root}/spark/{self.spec.upstream[0]}"

    def _ids(self, folder: str) -> list[int]:
        return sorted(int(info.name) for info in self.storage.list_files(f"{self.flow_root()}/{folder}",
                                                                         recursive=False)
                      if info.name.isdigit())

    def _last_committed(self) -> int | None:
        ids = self._ids("commits")
        return ids[-1] if ids else None

    def _offsets(self, batch_id: int) -> list[dict[str, Any]]:
        """The source offsets of batch N (one per source, after the version and metadata lines)."""
        text = self.storage.read_text(f"{self.flow_root()}/offsets/{batch_id}")
        return [json.loads(line) if line.strip() not in ("", "-") else {} for line in text.splitlines()[2:]]

    def last_batch(self) -> dict[str, Any] | None:
        if reads_of(self.spec.kind) is Reads.CHANGE_FEEDS:
            return EmbeddedCheckpoints(self.inspector, self.spec, self.flow_root(), self.engine).last_batch()
        last = self._last_committed()
        if last is None:
            return None
        entry: dict[str, Any] = {"batch_id": last}
        if reads_of(self.spec.kind) is Reads.LANDED_FILES:
            entry["files"] = sum(1 for batch, _ in self._files_taken().values() if batch == last)
        else:
            entry["upstream_version"] = self.upstream_version_done()
        return entry

    def upstream_version_done(self) -> int:
        if reads_of(self.spec.kind) is Reads.CHANGE_FEEDS:
            return EmbeddedCheckpoints(self.inspector, self.spec, self.flow_root(), self.engine).upstream_version_done()
        last = self._last_committed()
        if last is None:
            return -1
        offsets = self._offsets(last)
        offset = offsets[0] if offsets else {}
        if "reservoirVersion" not in offset:
            return -1
        version, index = int(offset["reservoirVersion"]), int(offset.get("index", -1))
        # index -1: version V not started; Delta's end-of-version index (near Long.MAX): V fully read;
        # any other index: V partly read.
        return version if index >= 2 ** 62 else version - 1

    def _files_taken(self) -> dict[str, tuple[int, int]]:
        """uri -> (the batch that took it, its modification time in ms then), from the file source's
        log; entries of committed batches only."""
        folder = f"{self.flow_root()}/sources/0"
        infos = self.storage.list_files(folder, recursive=False)
        names = sorted((info for info in infos if info.name.removesuffix(".compact").isdigit()),
                       key=lambda info: int(info.name.removesuffix(".compact")))
        # A N.compact holds every entry up to batch N: start from the newest one.
        compacts = [i for i, info in enumerate(names) if info.name.endswith(".compact")]
        if compacts:
            names = names[compacts[-1]:]
        last = self._last_committed()
        taken: dict[str, tuple[int, int]] = {}
        for info in names:
            for line in self.storage.read_text(info.uri).splitlines()[1:]:
                if not line.strip():
                    continue
                entry = json.loads(line)
                batch = int(entry.get("batchId", -1))
                if last is not None and batch <= last:
                    taken[_location(entry["path"])] = (batch, int(entry.get("timestamp", -1)))
        return taken

    def discover_files(self) -> ledger.Discovery:
        """A file taken is done, except one its batch quarantined (the driver's outcomes/N under
        spark/): listed until it changes, then with the re-uploaded files, as Spark never takes it again."""
        taken = self._files_taken() if self.storage.exists(f"{self.flow_root()}/sources") else {}
        records = ledger.spark_outcomes(CheckpointLog(self.storage, f"{self.root}/spark"))
        return ledger.discover_taken(self._landed(), records, set(taken))

    def landed_records(self) -> dict[str, int]:
        landed: dict[str, int] = {}
        for uri, (_, taken_ms) in self._files_taken().items():
            current = self.storage.file_info(uri)
            if current is None or _milliseconds(current.modified) != taken_ms:
                landed[uri] = -1  # deleted or re-uploaded since: cannot be recounted
                continue
            try:
                landed[uri] = self.inspector.count_records(self.spec, current)
            except (InputFileError, SchemaEvolutionError):
                landed[uri] = 0  # the batch could not read it either: no rows
        return landed


def _milliseconds(moment: datetime) -> int:
    """A modification time as Hadoop's file status gives it (whole milliseconds since the epoch)."""
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def _location(path: str) -> str:
    """A path in Spark's checkpoint (file:/..., s3a://...) in our location form (local path, s3://...)."""
    if path.startswith(("s3a://", "s3n://")):
        return "s3://" + path.split("://", 1)[1]
    if path.startswith("file:"):
        return unquote(urlsplit(path).path)
    return path
