"""Compaction that purges deletion vectors: files whose DV marks enough of their rows are rewritten
without those rows, in one OPTIMIZE commit. Section names are those of PROTOCOL.md (delta-io/delta).

The data does not change, only where it lives: every action has dataChange false, so there is no
`cdc` action ("Add CDC File") and streaming readers skip the commit. The commit is made at the
version that was read (put-if-absent), so a writer that commits in between makes it fail
(CommitConflictError) instead of having its DVs or files dropped.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakehouse.core.optional import require
from lakehouse.engines.embedded.deletion_vectors.format import DeletionVectorError, read_deletion_vector
from lakehouse.engines.embedded.deletion_vectors.log import active_files, commit_actions, write_data_file

# Writer features whose files carry more than rows: a rewrite would have to keep them (row IDs,
# physical column names), which this module does not.
_UNSUPPORTED_FEATURES = ("rowTracking", "columnMapping")


@dataclass(frozen=True)
class CompactionResult:
    """What one compaction did. bytes_* count the data files rewritten and their replacements."""

    version: int | None  # the commit's version; None when nothing needed rewriting
    files_rewritten: int
    rows_purged: int  # deleted rows dropped from disk
    rows_kept: int
    bytes_before: int
    bytes_after: int


def _local_table_dir(table_uri: str) -> Path:
    parsed = urlparse(table_uri)
    # A one-letter scheme is a Windows drive, not a URL.
    if parsed.scheme and len(parsed.scheme) > 1 and parsed.scheme != "file":
        raise DeletionVectorError(
            f"{table_uri} is not a local table ({parsed.scheme}://): compaction of deletion vectors "
            "commits with a local put-if-absent (a hard link)",
            hint="run it on a local warehouse, or on this table use the Spark engine "
                 "(lakehouse --engine spark optimize TABLE)")
    return Path(unquote(parsed.path) if parsed.scheme == "file" else table_uri)


def _open_table(table_uri: str, table_dir: Path) -> Any:
    deltalake = require("deltalake")
    if not (table_dir / "_delta_log").is_dir():
        raise DeletionVectorError(f"{table_uri} is not a Delta table (no _delta_log)",
                                  hint="check the table name, or run the pipeline first")
    table = deltalake.DeltaTable(table_uri)
    metadata = table.metadata()
    if metadata.partition_columns:
        raise DeletionVectorError(f"{table_uri} is partitioned by {list(metadata.partition_columns)}",
                                  hint="compaction of deletion vectors handles unpartitioned tables only; "
                                       "use the Spark engine (REORG TABLE ... APPLY (PURGE)) for this table")
    features = set(table.protocol().writer_features or [])
    if metadata.configuration.get("delta.columnMapping.mode", "none") != "none":
        features.add("columnMapping")
    unsupported = sorted(features & set(_UNSUPPORTED_FEATURES))
    if unsupported:
        raise DeletionVectorError(f"{table_uri} uses {unsupported}, which a rewrite would have to preserve",
                                  hint="use the Spark engine (REORG TABLE ... APPLY (PURGE)) for this table")
    return table


def _num_records(table_dir: Path, add: dict[str, Any]) -> int:
    stats = json.loads(add["stats"]) if add.get("stats") else {}
    if "numRecords" in stats:
        return int(stats["numRecords"])
    return int(pq.ParquetFile(table_dir / unquote(add["path"])).metadata.num_rows)


def _conform(rows: pa.Table, schema: pa.Schema) -> pa.Table:
    """The table's physical schema: its columns in its order and types; a column added to the table
    after the file was written is null in it (as readers see it)."""
    columns = [rows.column(field.name) if field.name in rows.column_names else pa.nulls(rows.num_rows, field.type)
               for field in schema]
    return pa.Table.from_arrays(columns, schema=schema.with_metadata(None))


def _remove(add: dict[str, Any], now_ms: int) -> dict[str, Any]:
    # As log.replace_with_dv builds it, but dataChange false; it names the old DV so that readers
    # reconcile on (path, DV uniqueId) ("Action Reconciliation").
    return {"remove": {"path": add["path"], "deletionTimestamp": now_ms, "dataChange": False,
                       "extendedFileMetadata": True, "partitionValues": add.get("partitionValues") or {},
                       "size": add["size"], "deletionVector": add["deletionVector"]}}


def compact_deleted_files(table_uri: str, *, min_deleted_share: float = 0.2) -> CompactionResult:
    """Rewrite every live file whose DV cardinality / numRecords >= min_deleted_share (0: every file
    with a DV) without its deleted rows, in one OPTIMIZE commit: per file a remove (with its DV) and
    the new file's add (none when every row was deleted). Raises CommitConflictError when another
    writer committed since the table was read."""
    if not 0 <= min_deleted_share <= 1:
        raise DeletionVectorError(f"min_deleted_share {min_deleted_share} is outside 0..1",
                                  hint="the share of a file's rows that are deleted, e.g. 0.2; 0 rewrites "
                                       "every file with a deletion vector")
    table_dir = _local_table_dir(table_uri)
    table = _open_table(table_uri, table_dir)
    read_version = table.version()
    schema = pa.schema(table.schema().to_arrow())
    now_ms = int(time.time() * 1000)
    actions: list[dict[str, Any]] = []
    rewritten = added = purged = kept = bytes_before = bytes_after = 0
    # A commit after read_version makes the replay newer than read_version, and then the commit of
    # read_version + 1 below fails: nothing is lost either way.
    for add in active_files(table_dir).values():
        descriptor = add.get("deletionVector")
        if not descriptor:
            continue
        num_records = _num_records(table_dir, add)
        share = int(descriptor["cardinality"]) / num_records if num_records else 1.0
        if share < min_deleted_share:
            continue
        deleted = pa.array(read_deletion_vector(table_dir, descriptor), pa.int64())
        rows = pq.read_table(table_dir / unquote(add["path"]))
        live = pc.invert(pc.is_in(pa.array(range(rows.num_rows), pa.int64()), value_set=deleted))
        survivors = rows.filter(live)
        actions.append(_remove(add, now_ms))
        rewritten += 1
        purged += rows.num_rows - survivors.num_rows
        kept += survivors.num_rows
        bytes_before += int(add["size"])
        if survivors.num_rows:
            new_file = write_data_file(table_dir, _conform(survivors, schema), now_ms)
            new_file["dataChange"] = False
            actions.append({"add": new_file})
            added += 1
            bytes_after += new_file["size"]
    if not rewritten:
        return CompactionResult(None, 0, 0, 0, 0, 0)
    commit_info = {"commitInfo": {
        "timestamp": now_ms, "operation": "OPTIMIZE", "engineInfo": "local-lakehouse deletion-vector compaction",
        # Spark's DESCRIBE HISTORY reads operationParameters as strings (JSON-encoded where not).
        "operationParameters": {"predicate": "[]", "zOrderBy": "[]", "purgeDeletionVectors": "true",
                                "minDeletedShare": json.dumps(min_deleted_share)},
        "readVersion": read_version, "isolationLevel": "SnapshotIsolation", "isBlindAppend": False,
        "operationMetrics": {"numRemovedFiles": str(rewritten), "numAddedFiles": str(added),
                             "numRemovedBytes": str(bytes_before), "numAddedBytes": str(bytes_after),
                             "numDeletionVectorsRemoved": str(rewritten),
                             "numDeletionVectorRowsRemoved": str(purged), "numOutputRows": str(kept)}}}
    version = commit_actions(table_dir, read_version, [commit_info, *actions])
    return CompactionResult(version, rewritten, purged, kept, bytes_before, bytes_after)
