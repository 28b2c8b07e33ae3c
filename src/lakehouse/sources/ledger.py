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
- ingested and unchanged                         -> done;
- ingested and since changed (size or mtime)     -> re-uploaded under the same name: not re-ingested
  (as Auto Loader without cloudFiles.allowOverwrites), reported as a warning by `run` and `status`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

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


def discover(listed: list[FileInfo], records: dict[str, FileRecord]) -> Discovery:
    found = Discovery()
    for info in listed:
        record = records.get(info.uri)
        if record is None or record.status == DEFERRED:
            found.pending.append(info)
        elif record.status == FAILED:
            if record.same_as(info):
                found.quarantined.append(record)
            else:
                found.pending.append(info)
        elif record.status in (INGESTED, EMPTY) and not record.same_as(info):
            found.overwritten.append((info, record))
    return found


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
             "the next run picks a changed file up. `lakehouse status` lists quarantined files.",
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
        found += discover(landed, ledger(log)).quarantined
    return found
