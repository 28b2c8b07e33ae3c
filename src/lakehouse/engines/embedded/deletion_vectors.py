"""Merge-on-read prototype: upsert rows into a Delta table by deletion vectors instead of rewriting files.

delta-rs's MERGE is copy-on-write: a batch of keys spread over every file rewrites every file. Here a
touched file keeps its bytes; its replaced rows are marked in a deletion vector (DV) and the new rows
land in one new file. Off by default and not wired into any strategy: this measures the gain.

Protocol references are to PROTOCOL.md of the Delta Lake repository (delta-io/delta), by section name.
Limits: local tables only (put-if-absent is a hard link), unpartitioned, single-part checkpoints
only in the log replay. Change data files are written where delta.enableChangeDataFeed=true.
"""

from __future__ import annotations

import json
import os
import struct
import time
import uuid
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakehouse.core.errors import LakehouseError
from lakehouse.core.optional import require

# "Deletion Vector Format": the magic number of the portable RoaringBitmapArray serialization.
PORTABLE_MAGIC = 1681511377
# "Deletion Vector File Storage Format": version byte of the on-disk file.
FILE_FORMAT_VERSION = 1
# "Deletion Vector Descriptor Schema": a 'u' path ends in the Z85 encoding of a 16-byte UUID.
_ENCODED_UUID_LENGTH = 20
_Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
_Z85_INDEX = {char: position for position, char in enumerate(_Z85)}
DV_FEATURE = "deletionVectors"
_LEGACY_WRITER_FEATURES = ((2, ("AppendOnly", "Invariants")), (3, ("CheckConstraints",)),
                           (4, ("ChangeDataFeed", "GeneratedColumns")), (5, ("ColumnMapping",)), (6, ("IdentityColumns",)))


class DeletionVectorError(LakehouseError):
    """A deletion vector cannot be read or written, or the table does not fit the prototype."""


class CommitConflictError(DeletionVectorError):
    """Another writer committed the version this commit was about to write."""


def z85_encode(data: bytes) -> str:
    """Z85 (ZeroMQ RFC 32), the Base85 variant the descriptor uses because it is JSON-friendly."""
    if len(data) % 4:
        raise DeletionVectorError(f"Z85 encodes whole 4-byte words; got {len(data)} bytes",
                                  hint="pad the data to a multiple of 4 bytes")
    # Each big-endian 32-bit word becomes five base-85 digits, most significant first.
    return "".join(_Z85[word // 85**power % 85] for (word,) in struct.iter_unpack(">I", data)
                   for power in range(4, -1, -1))


def z85_decode(text: str) -> bytes:
    if len(text) % 5:
        raise DeletionVectorError(f"Z85 text has {len(text)} characters, not a multiple of 5: {text!r}",
                                  hint="the descriptor's pathOrInlineDv is damaged")
    try:
        words = [sum(_Z85_INDEX[char] * 85**(4 - place) for place, char in enumerate(text[start:start + 5]))
                 for start in range(0, len(text), 5)]
    except KeyError as exc:
        raise DeletionVectorError(f"{exc.args[0]!r} is not a Z85 character in {text!r}",
                                  hint="the descriptor's pathOrInlineDv is damaged") from exc
    return struct.pack(f">{len(words)}I", *words)


def serialize_row_indexes(row_indexes: Iterable[int]) -> bytes:
    """"Deletion Vector Format": magic (LE int32), then the 64-bit portable Roaring format: bucket
    count (LE int64), and per bucket in ascending key order its key (LE int32, top bit 0) and a
    standard 32-bit Roaring bitmap (pyroaring's serialize writes the portable 32-bit format)."""
    pyroaring = require("pyroaring")
    buckets: dict[int, list[int]] = {}
    for index in row_indexes:
        if index < 0 or index >> 63:
            raise DeletionVectorError(f"row index {index} is outside 0..2**63-1",
                                      hint="row indexes are positions in a parquet file, counted from 0")
        buckets.setdefault(index >> 32, []).append(index & 0xFFFFFFFF)
    parts = [struct.pack("<iq", PORTABLE_MAGIC, len(buckets))]
    for key in sorted(buckets):
        bitmap = pyroaring.BitMap(buckets[key])
        bitmap.run_optimize()
        parts.append(struct.pack("<i", key) + bitmap.serialize())
    return b"".join(parts)


def deserialize_row_indexes(data: bytes) -> list[int]:
    pyroaring = require("pyroaring")
    if len(data) < 12:
        raise DeletionVectorError(f"a deletion vector needs at least 12 bytes, got {len(data)}",
                                  hint="the DV file or inline descriptor is truncated")
    magic, bucket_count = struct.unpack_from("<iq", data)
    if magic != PORTABLE_MAGIC:
        raise DeletionVectorError(f"deletion vector magic number {magic}, expected {PORTABLE_MAGIC}",
                                  hint="only the portable RoaringBitmapArray format is supported")
    position, indexes = 12, list[int]()
    for _ in range(bucket_count):
        (key,) = struct.unpack_from("<i", data, position)
        bitmap = pyroaring.BitMap.deserialize(data[position + 4:])
        # Re-serializing gives the bucket's byte length: deserialize does not report what it consumed.
        position += 4 + len(bitmap.serialize())
        indexes.extend((key << 32) | low for low in bitmap)
    return indexes


def write_dv_file(table_dir: Path, vectors: Sequence[bytes]) -> tuple[str, list[int]]:
    """"Deletion Vector File Storage Format" (big endian): version byte, then per DV its size, its
    bytes and their CRC-32. Returns the 'u' descriptor path (no random prefix) and each DV's offset,
    which points at its size field as delta-spark's DeletionVectorStore writes it."""
    file_id = uuid.uuid4()
    offsets, chunks, position = [], [bytes([FILE_FORMAT_VERSION])], 1
    for data in vectors:
        offsets.append(position)
        chunks.append(struct.pack(">i", len(data)) + data + struct.pack(">I", zlib.crc32(data)))
        position += 8 + len(data)
    (table_dir / f"deletion_vector_{file_id}.bin").write_bytes(b"".join(chunks))
    return z85_encode(file_id.bytes), offsets


def dv_file_path(table_dir: Path, descriptor: dict[str, Any]) -> Path:
    """"Derived Fields", absolutePath: `<table>/<random prefix>/deletion_vector_<uuid>.bin`."""
    if descriptor["storageType"] == "p":
        return Path(str(descriptor["pathOrInlineDv"]).removeprefix("file://"))
    encoded = str(descriptor["pathOrInlineDv"])
    prefix, file_id = encoded[:-_ENCODED_UUID_LENGTH], uuid.UUID(bytes=z85_decode(encoded[-_ENCODED_UUID_LENGTH:]))
    return table_dir / prefix / f"deletion_vector_{file_id}.bin"


def read_deletion_vector(table_dir: Path, descriptor: dict[str, Any]) -> list[int]:
    """Row indexes a descriptor marks deleted; checks the stored size and checksum."""
    size = int(descriptor["sizeInBytes"])
    if descriptor["storageType"] == "i":
        # Inline DVs are padded to whole Z85 words; sizeInBytes is the true length.
        return deserialize_row_indexes(z85_decode(descriptor["pathOrInlineDv"])[:size])
    path = dv_file_path(table_dir, descriptor)
    offset = int(descriptor.get("offset") or 0)
    with path.open("rb") as handle:
        handle.seek(offset)
        (stored_size,) = struct.unpack(">i", handle.read(4))
        data = handle.read(size)
        (checksum,) = struct.unpack(">I", handle.read(4))
    if stored_size != size or zlib.crc32(data) != checksum:
        raise DeletionVectorError(f"{path} at offset {offset}: size {stored_size} (descriptor says {size}) or "
                                  "CRC-32 does not match", hint="the DV file is damaged or was overwritten")
    return deserialize_row_indexes(data)


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
    (_metadata_with_dvs_enabled): delta-rs's set_table_properties would also add variantType."""
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


def _metadata_with_dvs_enabled(table: Any) -> dict[str, Any] | None:
    """"Deletion Vectors": writers write DVs only where delta.enableDeletionVectors is true, so a
    `metaData` action turning it on joins the first DV commit ("Change Metadata": the whole action)."""
    metadata = table.metadata()
    if metadata.configuration.get("delta.enableDeletionVectors") == "true":
        return None
    return {"metaData": {
        "id": metadata.id, "name": metadata.name, "description": metadata.description,
        "format": {"provider": "parquet", "options": {}}, "schemaString": table.schema().to_json(),
        "partitionColumns": list(metadata.partition_columns), "createdTime": metadata.created_time,
        "configuration": {**metadata.configuration, "delta.enableDeletionVectors": "true"}}}

@dataclass(frozen=True)
class DvUpsertResult:
    """What one merge-on-read commit did; bytes_written counts data, DV and log files."""

    version: int
    files_touched: int
    rows_deleted: int
    rows_added: int
    bytes_written: int


def _new_deleted_rows(table_dir: Path, add: dict[str, Any], keys: pa.Table,
                      key_columns: Sequence[str]) -> tuple[list[int], int, list[int]]:
    """Row indexes of `add`'s file whose key is in `keys`, united with its current DV; its row count;
    and the newly deleted indexes alone."""
    # `path` is a URI reference ("Add File and Remove File"): percent-encoded.
    data = pq.read_table(table_dir / unquote(add["path"]), columns=list(key_columns))
    data = data.append_column("__row_index", pa.array(range(data.num_rows), pa.int64()))
    matched = data.join(keys, keys=list(key_columns), join_type="left semi").column("__row_index")
    already = set(read_deletion_vector(table_dir, add["deletionVector"])) if add.get("deletionVector") else set()
    new = set(matched.to_pylist()) - already
    return (sorted(already | new) if new else []), data.num_rows, sorted(new)


def _change_data_action(table_dir: Path, preimages: list[pa.Table], rows: pa.Table,
                        key_columns: Sequence[str]) -> dict[str, Any]:
    """"Change Data Files" and "Add CDC File": a version with a `cdc` action is read from its change
    files alone, so they hold every change: replaced rows as update_preimage, their new values as
    update_postimage, new keys as insert."""
    schema = preimages[0].schema if preimages else rows.schema
    before = pa.concat_tables(preimages) if preimages else schema.empty_table()
    rows = rows.select(schema.names).cast(schema)
    replaced = before.select(list(key_columns))
    parts = {"update_preimage": before,
             "update_postimage": rows.join(replaced, keys=list(key_columns), join_type="left semi"),
             "insert": rows.join(replaced, keys=list(key_columns), join_type="left anti")}
    changes = [part.append_column("_change_type", pa.array([kind] * part.num_rows, pa.string()))
               for kind, part in parts.items()]
    name = f"_change_data/cdc-00000-{uuid.uuid4()}.c000.snappy.parquet"
    (table_dir / "_change_data").mkdir(exist_ok=True)
    pq.write_table(pa.concat_tables(changes), table_dir / name, compression="snappy")
    return {"cdc": {"path": name, "partitionValues": {}, "size": (table_dir / name).stat().st_size,
                    "dataChange": False}}


def _wide_stats(stats: str | None, num_records: int) -> str:
    # "Per-file Statistics": with a DV, numRecords must count the physical rows and the bounds are no
    # longer tight (the deleted rows still count towards them).
    parsed = json.loads(stats) if stats else {}
    parsed["numRecords"] = num_records
    parsed["tightBounds"] = False
    return json.dumps(parsed, separators=(",", ":"))


def _file_stats(rows: pa.Table) -> str:
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


def _write_data_file(table_dir: Path, rows: pa.Table, now_ms: int) -> dict[str, Any]:
    name = f"part-00000-{uuid.uuid4()}-c000.snappy.parquet"
    pq.write_table(rows, table_dir / name, compression="snappy")
    return {"path": name, "partitionValues": {}, "size": (table_dir / name).stat().st_size,
            "modificationTime": now_ms, "dataChange": True, "stats": _file_stats(rows)}


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


def _check_table(table_uri: str, rows: pa.Table,
                 key_columns: Sequence[str]) -> tuple[Path, int, dict[str, Any] | None, bool, pa.Table]:
    deltalake = require("deltalake")
    table = deltalake.DeltaTable(table_uri)
    metadata = table.metadata()
    if metadata.partition_columns:
        raise DeletionVectorError(f"{table_uri} is partitioned by {metadata.partition_columns}",
                                  hint="the merge-on-read prototype handles unpartitioned tables only")
    schema = pa.schema(table.schema().to_arrow())
    if set(rows.column_names) != set(schema.names) or not set(key_columns) <= set(schema.names):
        raise DeletionVectorError(f"batch columns {rows.column_names} or keys {list(key_columns)} do not fit "
                                  f"{table_uri}", hint=f"the batch needs exactly the table's columns: {schema.names}")
    # Only a table the prototype can handle gets its protocol upgraded.
    enable_deletion_vectors(table_uri)
    table = deltalake.DeltaTable(table_uri)
    change_feed = metadata.configuration.get("delta.enableChangeDataFeed") == "true"
    # Cast to the table's types so the new file's physical schema is the table's (no schema evolution).
    return (Path(table_uri.removeprefix("file://")), table.version(), _metadata_with_dvs_enabled(table),
            change_feed, rows.select(schema.names).cast(schema))


def upsert_with_deletion_vectors(table_uri: str, rows: pa.Table, key_columns: Sequence[str],
                                 app_id: str | None = None, app_version: int | None = None) -> DvUpsertResult:
    """Replace the rows whose key is in `rows` and insert the rest: touched files get a DV (remove
    plus add carrying `deletionVector`), `rows` land in one new file, with the app's `txn` in the
    same commit. Each row of `rows` is written, changed or not (no change detection here)."""
    table_dir, read_version, metadata_action, change_feed, rows = _check_table(table_uri, rows, key_columns)
    keys = rows.select(list(key_columns))
    now_ms = int(time.time() * 1000)
    touched, vectors, deleted, preimages = [], [], 0, []
    for add in active_files(table_dir).values():
        indexes, num_records, new = _new_deleted_rows(table_dir, add, keys, key_columns)
        if indexes:
            if change_feed:
                preimages.append(pq.read_table(table_dir / unquote(add["path"])).take(new))
            touched.append((add, num_records, len(indexes)))
            vectors.append(serialize_row_indexes(indexes))
            deleted += len(indexes) - int((add.get("deletionVector") or {}).get("cardinality", 0))
    actions: list[dict[str, Any]] = [{"commitInfo": {
        "timestamp": now_ms, "operation": "MERGE", "engineInfo": "local-lakehouse merge-on-read prototype",
        "operationParameters": {"mode": "deletionVectors", "keys": json.dumps(list(key_columns))},
        "isBlindAppend": False, "operationMetrics": {"numTargetRowsDeleted": str(deleted),
                                                      "numOutputRows": str(rows.num_rows)}}}]
    if metadata_action is not None:
        actions.append(metadata_action)
    if app_id is not None and app_version is not None:
        actions.append({"txn": {"appId": app_id, "version": app_version, "lastUpdated": now_ms}})
    written = 0
    if vectors:
        encoded_path, offsets = write_dv_file(table_dir, vectors)
        written += sum(8 + len(data) for data in vectors) + 1
        for (add, num_records, cardinality), data, offset in zip(touched, vectors, offsets, strict=True):
            actions.extend(_replace_with_dv(add, num_records, {
                "storageType": "u", "pathOrInlineDv": encoded_path, "offset": offset,
                "sizeInBytes": len(data), "cardinality": cardinality}, now_ms))
    new_file = _write_data_file(table_dir, rows, now_ms)
    actions.append({"add": new_file})
    written += new_file["size"]
    if change_feed:
        actions.append(_change_data_action(table_dir, preimages, rows, key_columns))
        written += actions[-1]["cdc"]["size"]
    version = commit_actions(table_dir, read_version, actions)
    written += (table_dir / "_delta_log" / f"{version:020d}.json").stat().st_size
    return DvUpsertResult(version, len(touched), deleted, rows.num_rows, written)


def _replace_with_dv(add: dict[str, Any], num_records: int, descriptor: dict[str, Any],
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
