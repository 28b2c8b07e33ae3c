"""The Delta log as merge-on-read needs it: log replay with each file's DV, the protocol upgrade,
file statistics and a put-if-absent commit. Section names are those of PROTOCOL.md (delta-io/delta).

delta-rs's get_add_actions shows neither the raw statistics nor the DV descriptor, hence the replay.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakehouse.core.merge_plan import DELETION_VECTORS_PROPERTY
from lakehouse.core.optional import require
from lakehouse.engines.embedded.deletion_vectors.format import CommitConflictError, DeletionVectorError

DV_FEATURE = "deletionVectors"
_LEGACY_WRITER_FEATURES = ((2, ("AppendOnly", "Invariants")), (3, ("CheckConstraints",)),
                           (4, ("ChangeDataFeed", "GeneratedColumns")), (5, ("ColumnMapping",)), (6, ("IdentityColumns",)))


def _read_checkpoint(log_dir: Path) -> tuple[int, list[dict[str, Any]]]:
    last_checkpoint = log_dir / "_last_checkpoint"
    if not last_checkpoint.exists():
        return -1, []
    pointer = json.loads(last_checkpoint.read_text())
    version = int(pointer["version"])
    checkpoint = log_dir / f"{version:020d}.checkpoint.parquet"
    if pointer.get("parts") or not checkpoint.exists():
        raise DeletionVectorError(f"{log_dir}: checkpoint {pointer} is multi-part or a V2 checkpoint",
                                  hint="the prototype replays single-part checkpoints only")
    adds = [add for add in pq.read_table(checkpoint, columns=["add"]).column("add").to_pylist() if add]
    for add in adds:
        # A map column comes back from parquet as (key, value) pairs.
        add["partitionValues"] = dict(add.get("partitionValues") or [])
    return version, adds


def _file_id(action: dict[str, Any]) -> tuple[str, str | None]:
    """"Action Reconciliation": a logical file is (path, DV uniqueId); uniqueId per "Derived Fields"."""
    descriptor = action.get("deletionVector")
    if not descriptor:
        return action["path"], None
    suffix = "" if descriptor.get("offset") is None else f"@{descriptor['offset']}"
    return action["path"], f"{descriptor['storageType']}{descriptor['pathOrInlineDv']}{suffix}"


def active_files(table_dir: Path) -> dict[str, dict[str, Any]]:
    """Log replay: path -> live `add` action, with its deletionVector. Keyed by (path, DV) because a
    commit may hold the new add of a path before the remove of its old DV (delta-spark's DELETE does).
    delta-rs's get_add_actions shows neither the raw stats nor the DV descriptor, hence this replay."""
    log_dir = table_dir / "_delta_log"
    version, checkpointed = _read_checkpoint(log_dir)
    files = {_file_id(add): add for add in checkpointed}
    for commit in sorted(log_dir.glob("[0-9]" * 20 + ".json")):
        if int(commit.stem) <= version:
            continue
        for line in commit.read_text().splitlines():
            action = json.loads(line) if line.strip() else {}
            if "add" in action:
                files[_file_id(action["add"])] = action["add"]
            elif "remove" in action:
                files.pop(_file_id(action["remove"]), None)
    return {add["path"]: add for add in files.values()}

def enable_deletion_vectors(table_uri: str) -> None:
    """"Table Features": reader 3 / writer 7 with deletionVectors in both lists, by delta-rs's own
    ALTER ... ADD FEATURE (its own commit). The table property is set in the DV commit itself
    (metadata_with_dvs_enabled): delta-rs's set_table_properties would also add variantType."""
    deltalake = require("deltalake")
    table = deltalake.DeltaTable(table_uri)
    protocol = table.protocol()
    if DV_FEATURE not in (protocol.reader_features or []):
        # "Table Features for New and Existing Tables": writer 7 must list what the legacy writer
        # version implied; delta-rs's add_feature drops them (delta-spark then refuses a CDF table).
        implied = [name for version, names in _LEGACY_WRITER_FEATURES if version <= protocol.min_writer_version < 7
                   for name in names]
        features = [getattr(deltalake.TableFeatures, name) for name in ("DeletionVectors", *implied)]
        table.alter.add_feature(features, allow_protocol_versions_increase=True)


def metadata_with_dvs_enabled(table: Any, enabled: bool = True) -> dict[str, Any] | None:
    """"Deletion Vectors": writers write DVs only where delta.enableDeletionVectors is true, so a
    `metaData` action turning it on joins the first DV commit ("Change Metadata": the whole action).
    None: the property already has that value."""
    metadata = table.metadata()
    value = str(enabled).lower()
    if metadata.configuration.get(DELETION_VECTORS_PROPERTY) == value:
        return None
    return {"metaData": {
        "id": metadata.id, "name": metadata.name, "description": metadata.description,
        "format": {"provider": "parquet", "options": {}}, "schemaString": table.schema().to_json(),
        "partitionColumns": list(metadata.partition_columns), "createdTime": metadata.created_time,
        "configuration": {**metadata.configuration, DELETION_VECTORS_PROPERTY: value}}}


def turn_off_deletion_vectors(table_uri: str) -> int | None:
    """delta.enableDeletionVectors set to false in a commit of its own, so writers that follow it
    (delta-spark) rewrite files again; the DVs already written stay valid. Our own `metaData` action:
    delta-rs's set_table_properties would add the variantType feature too. Returns the version, None
    when the property was not true. Put-if-absent like every commit here."""
    deltalake = require("deltalake")
    table = deltalake.DeltaTable(table_uri)
    metadata = metadata_with_dvs_enabled(table, enabled=False)
    if table.metadata().configuration.get(DELETION_VECTORS_PROPERTY) != "true" or metadata is None:
        return None
    commit_info = {"commitInfo": {
        "timestamp": int(time.time() * 1000), "operation": "SET TBLPROPERTIES", "engineInfo": "local-lakehouse",
        "operationParameters": {"properties": json.dumps({DELETION_VECTORS_PROPERTY: "false"})},
        "isBlindAppend": True}}
    return commit_actions(Path(table_uri.removeprefix("file://")), table.version(), [commit_info, metadata])


def _wide_stats(stats: str | None, num_records: int) -> str:
    # "Per-file Statistics": with a DV, numRecords must count the physical rows and the bounds are no
    # longer tight (the deleted rows still count towards them).
    parsed = json.loads(stats) if stats else {}
    parsed["numRecords"] = num_records
    parsed["tightBounds"] = False
    return json.dumps(parsed, separators=(",", ":"))


def file_stats(rows: pa.Table) -> str:
    minimum, maximum, nulls = {}, {}, {}
    for name, column in zip(rows.column_names, rows.columns, strict=True):
        if not pa.types.is_nested(column.type):  # nested columns' nullCount is a nested object
            nulls[name] = column.null_count
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type) or pa.types.is_string(column.type):
            bounds = pc.min_max(column).as_py()
            if bounds["min"] is not None:
                minimum[name], maximum[name] = bounds["min"], bounds["max"]
    stats = {"numRecords": rows.num_rows, "minValues": minimum, "maxValues": maximum, "nullCount": nulls}
    return json.dumps(stats, separators=(",", ":"))


def write_data_file(table_dir: Path, rows: pa.Table, now_ms: int) -> dict[str, Any]:
    name = f"part-00000-{uuid.uuid4()}-c000.snappy.parquet"
    pq.write_table(rows, table_dir / name, compression="snappy")
    return {"path": name, "partitionValues": {}, "size": (table_dir / name).stat().st_size,
            "modificationTime": now_ms, "dataChange": True, "stats": file_stats(rows)}


def commit_actions(table_dir: Path, read_version: int, actions: Sequence[dict[str, Any]]) -> int:
    """Write `_delta_log/<read_version + 1>.json` only if absent (a hard link, as delta-rs does on a
    local store), so a concurrent commit of that version wins and this one fails; returns the version."""
    log_dir, version = table_dir / "_delta_log", read_version + 1
    target = log_dir / f"{version:020d}.json"
    # A name starting with '.' is ignored by every reader's log listing.
    staged = log_dir / f".{uuid.uuid4()}.json.tmp"
    staged.write_text("".join(json.dumps(action, separators=(",", ":")) + "\n" for action in actions))
    try:
        os.link(staged, target)
    except FileExistsError as exc:
        raise CommitConflictError(
            f"{target} already exists: another writer committed version {version} after this one read "
            f"version {read_version}", hint="read the table again and re-apply the batch") from exc
    finally:
        staged.unlink()
    return version


def replace_with_dv(add: dict[str, Any], num_records: int, descriptor: dict[str, Any],
                     now_ms: int) -> list[dict[str, Any]]:
    """"Deletion Vectors": the same file with a new DV is a remove of (path, old DV) and an add of
    (path, new DV); the remove names the old DV so readers reconcile on (path, DV uniqueId)."""
    remove = {"path": add["path"], "deletionTimestamp": now_ms, "dataChange": True,
              "extendedFileMetadata": True, "partitionValues": add.get("partitionValues") or {},
              "size": add["size"]}
    if add.get("deletionVector"):
        remove["deletionVector"] = add["deletionVector"]
    new_add = {key: value for key, value in add.items() if value is not None}
    new_add.update({"modificationTime": add["modificationTime"], "dataChange": True,
                    "stats": _wide_stats(add.get("stats"), num_records), "deletionVector": descriptor})
    return [{"remove": remove}, {"add": new_add}]
