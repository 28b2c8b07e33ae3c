"""Upsert by key with deletion vectors: the first prototype, kept as the simplest use of the package
(its interop tests with delta-spark and Polars use it). Strategies go through merge.py instead.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.core.optional import require
from lakehouse.engines.embedded.deletion_vectors.format import (
    DeletionVectorError,
    read_deletion_vector,
    serialize_row_indexes,
    write_dv_file,
)
from lakehouse.engines.embedded.deletion_vectors.log import (
    active_files,
    commit_actions,
    enable_deletion_vectors,
    metadata_with_dvs_enabled,
    replace_with_dv,
    write_data_file,
)


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
    return (Path(table_uri.removeprefix("file://")), table.version(), metadata_with_dvs_enabled(table),
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
            actions.extend(replace_with_dv(add, num_records, {
                "storageType": "u", "pathOrInlineDv": encoded_path, "offset": offset,
                "sizeInBytes": len(data), "cardinality": cardinality}, now_ms))
    new_file = write_data_file(table_dir, rows, now_ms)
    actions.append({"add": new_file})
    written += new_file["size"]
    if change_feed:
        actions.append(_change_data_action(table_dir, preimages, rows, key_columns))
        written += actions[-1]["cdc"]["size"]
    version = commit_actions(table_dir, read_version, actions)
    written += (table_dir / "_delta_log" / f"{version:020d}.json").stat().st_size
    return DvUpsertResult(version, len(touched), deleted, rows.num_rows, written)
