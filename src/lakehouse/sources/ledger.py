"""Which landed files a bronze flow still has to ingest, and what became of each one it planned.

The offset log (offsets/N) says which files batch N planned, with the size and modification time
seen when listing. Before the batch's Delta commit the driver also writes outcomes/N: per file
whether it was ingested, was empty, was quarantined ("failed", with the reason) or was deferred
because it changed between listing and reading. outcomes/N is rewritten on a replay until the batch
lands, so once the Delta commit is there it describes exactly what landed.

From those records discovery decides, per listed file:
- never planned                                  -> new, plan it;
- deferred (changed while being read)            -> plan it again;
- failed and since changed (size or mtime)       -> the user fixed it: plan it again;
- failed and unchanged                           -> still quarantined: report it, do not plan it;
- empty (or header only) and since changed       -> it was taken before it was written: plan it again,
  whole (it gave no rows, so nothing is read twice);
- ingested and unchanged                         -> done;
- ingested and since changed (size or mtime)     -> re-uploaded under the same name: not re-ingested
  (as Auto Loader without cloudFiles.allowOverwrites), reported as a warning by `run` and `status`.

A file to plan that was modified less than the settle interval ago (Settings.landing_settle_seconds)
is still being written, as far as anyone can tell: it is "settling", not planned. The run waits once
for the youngest such file to come of age and lists again; a file modified during that wait is left
to the next run (status counts it as pending). So a file copied in place is read once it is whole,
instead of half-read, flagged as re-uploaded when it grows, and its last rows never ingested.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lakehouse.core.checkpoints import CheckpointLog
from lakehouse.core.config import Settings
from lakehouse.core.errors import InputFileError
from lakehouse.core.storage import FileInfo, Storage
from lakehouse.sources.file_names import landed_data_files
from lakehouse.spec.model import Kind, Pipeline

INGESTED = "ingested"
EMPTY = "empty"
FAILED = "failed"
DEFERRED = "deferred"
PLANNED = "planned"  # planned by a batch that has not committed yet (it is replayed first)


@dataclass(frozen=True)
class FileRecord:
    uri: str
    size: int
    modified: str
    batch_id: int
    status: str
    reason: str = ""

    def same_as(self, info: FileInfo) -> bool:
        return self.size == info.size and self.modified == info.modified.isoformat()


@dataclass
class Discovery:
    pending: list[FileInfo] = field(default_factory=list)
    quarantined: list[FileRecord] = field(default_factory=list)
    overwritten: list[tuple[FileInfo, FileRecord]] = field(default_factory=list)
    # Files to plan that were modified too recently to be taken yet (not in `pending`).
    settling: list[FileInfo] = field(default_factory=list)


def outcomes_path(log: CheckpointLog, batch_id: int) -> str:
    return f"{log.root}/outcomes/{batch_id:020d}.json"


def write_outcomes(log: CheckpointLog, batch_id: int, records: list[FileRecord]) -> None:
    payload = {"files": [record.__dict__ for record in records]}
    log.storage.write_text(outcomes_path(log, batch_id), json.dumps(payload, indent=1))


def read_outcomes(log: CheckpointLog, batch_id: int) -> dict[str, FileRecord] | None:
    uri = outcomes_path(log, batch_id)
    if not log.storage.exists(uri):
        return None
    payload = json.loads(log.storage.read_text(uri))
    return {entry["uri"]: FileRecord(**entry) for entry in payload["files"]}


def ledger(log: CheckpointLog) -> dict[str, FileRecord]:
    """The latest record per file over every planned batch."""
    committed = {batch_id for batch_id, _ in log.committed_summaries()}
    records: dict[str, FileRecord] = {}
    for planned in log.planned_payloads():
        outcomes = read_outcomes(log, planned.batch_id) if planned.batch_id in committed else None
        for entry in planned.payload.get("files", []):
            record = (outcomes or {}).get(entry["uri"])
            if record is None:
                status = INGESTED if planned.batch_id in committed else PLANNED
                record = FileRecord(entry["uri"], entry["size"], entry["modified"], planned.batch_id, status)
            records[entry["uri"]] = record
    return records


def discover(listed: list[FileInfo], records: dict[str, FileRecord], settle_seconds: float = 0.0,
             now: datetime | None = None) -> Discovery:
    """What to do with each listed file, by the rules above; `now` is when it was listed."""
    found = Discovery()
    youngest_allowed = (now or datetime.now(UTC)).timestamp() - settle_seconds
    for info in listed:
        record = records.get(info.uri)
        if record is not None and record.status == FAILED and record.same_as(info):
            found.quarantined.append(record)
        elif record is not None and record.status == INGESTED and not record.same_as(info):
            found.overwritten.append((info, record))
        elif _to_plan(record, info):
            if settle_seconds > 0 and info.modified.timestamp() > youngest_allowed:
                found.settling.append(info)
            else:
                found.pending.append(info)
    return found


def spark_outcomes(log: CheckpointLog) -> dict[str, FileRecord]:
    """The latest record per file over the Spark driver's bronze batches (outcomes/N under its
    checkpoint root, <table checkpoint>/spark): Spark's file stream keeps which files it took, not
    which of them could not be read."""
    records: dict[str, FileRecord] = {}
    for info in sorted(log.storage.list_files(f"{log.root}/outcomes", recursive=False), key=lambda i: i.name):
        if info.name.removesuffix(".json").isdigit():
            for entry in json.loads(log.storage.read_text(info.uri))["files"]:
                records[entry["uri"]] = FileRecord(**entry)
    return records


def discover_taken(listed: list[FileInfo], records: dict[str, FileRecord], taken: set[str]) -> Discovery:
    """`discover` for Spark's file stream, which takes each file name once (`taken`): a quarantined
    file stays quarantined while unchanged, and once changed is never read again (reported with the
    re-uploaded files: land it under a new name)."""
    found = Discovery()
    for info in listed:
        record = records.get(info.uri)
        if record is not None and record.status == FAILED:
            if record.same_as(info):
                found.quarantined.append(record)
            else:
                found.overwritten.append((info, record))
        elif info.uri not in taken:
            found.pending.append(info)
    return found


def _to_plan(record: FileRecord | None, info: FileInfo) -> bool:
    if record is None or record.status == DEFERRED:
        return True
    return record.status in (FAILED, EMPTY) and not record.same_as(info)


def wait_for_writers(seconds: float) -> None:
    """The pause before listing settling files again (a seam: tests write to a file during it)."""
    time.sleep(seconds)


def discover_settled(list_landed: Callable[[], list[FileInfo]], records: dict[str, FileRecord],
                     settle_seconds: float) -> Discovery:
    """`discover` for a run: files settling at the first listing are waited for once (at most
    `settle_seconds`) and the folder is listed again, so a file landed just before the run is taken by
    it; one modified during the wait is still settling and left to a later run."""
    now = datetime.now(UTC)
    found = discover(list_landed(), records, settle_seconds, now)
    if not found.settling:
        return found
    youngest = max(info.modified.timestamp() for info in found.settling)
    wait_for_writers(min(settle_seconds, max(0.0, youngest + settle_seconds - now.timestamp())))
    return discover(list_landed(), records, settle_seconds, datetime.now(UTC))


def settling_note(info: FileInfo, settle_seconds: float) -> str:
    return (f"{info.uri}: not taken yet, it was modified at {info.modified.isoformat()}, less than "
            f"{settle_seconds:g} s before it was listed, so it may still be being written; a later run takes it "
            "once it is left alone (writers may also land under a temporary name such as '.name' or 'name.tmp' "
            "and rename; LAKEHOUSE_SETTLE_SECONDS sets the interval)")


def overwrite_warning(info: FileInfo, record: FileRecord) -> str:
    return (f"WARNING {info.uri} was re-uploaded with different content (size {record.size} -> {info.size}, "
            f"modified {record.modified} -> {info.modified.isoformat()}) after batch {record.batch_id} ingested it; "
            "it is NOT re-ingested. To load the new content, land it under a new file name.")


def quarantine_message(record: FileRecord) -> str:
    return f"{record.uri} (batch {record.batch_id}): {record.reason}"


def quarantine_error(records: list[FileRecord]) -> InputFileError:
    names = "\n  ".join(quarantine_message(r) for r in records)
    error = InputFileError(
        f"{len(records)} landed file(s) could not be ingested and are quarantined (every other file was ingested):"
        f"\n  {names}",
        hint="fix each file and land it again under the same name (or delete it from the landing zone); "
             "the next run picks a changed file up. On the Spark engine, whose file stream takes each file "
             "name once, land the fixed file under a new name instead. `lakehouse status` lists quarantined "
             "files.",
    )
    error.exit_code = 3
    return error


def quarantined_files(settings: Settings, storage: Storage, pipeline: Pipeline) -> list[FileRecord]:
    """Landed files of every bronze source that are quarantined and still unchanged."""
    found: list[FileRecord] = []
    for spec in pipeline.tables:
        if spec.kind is not Kind.APPEND_INGEST or spec.source is None:
            continue
        log = CheckpointLog(storage, settings.checkpoint_uri(spec.ref.schema, spec.ref.name))
        folder = settings.landing_uri(spec.source.folder)
        landed = landed_data_files(storage.list_files(folder), folder)
        # The Spark driver records its bronze batches' outcomes under <checkpoint>/spark (streaming.py).
        records = {**ledger(log), **spark_outcomes(CheckpointLog(storage, f"{log.root}/spark"))}
        found += discover(landed, records).quarantined
    return found
