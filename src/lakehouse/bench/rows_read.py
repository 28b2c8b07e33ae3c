"""Rows a table run read, from the Delta commits it made: the same JSON log on both engines.

Why the commit log: both engines already write it, reading it costs a few small JSON files per
batch, and it is the same format for delta-rs and Delta on Spark. What it shows:

- `rows_in`: the rows the batch read from its input (the landed files or the upstream feed); that
  number comes from the run's BatchResults, the log does not hold it.
- `target_rows_rewritten`: rows of the table's existing files that a MERGE read and wrote again
  (copied + updated + deleted, the engines' own MERGE metrics). A batch that re-reads the whole
  table shows it here as about `table_rows`.
- `rows_added` / files added and removed: from the commits' add and remove actions.

Not counted: lookups that read a table without writing it (a dimension read by the fact). The log
only records what was committed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from lakehouse.bench.results import RowsRead

LOG = "_delta_log"
# Spark writes camelCase metric names as strings; delta-rs writes snake_case numbers.
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
REWRITTEN = ("num_target_rows_copied", "num_target_rows_updated", "num_target_rows_deleted")


def snake_case(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def latest_version(table_path: str) -> int | None:
    """The table's newest commit version, None when the table does not exist yet (local paths only)."""
    log = Path(table_path) / LOG
    if not log.is_dir():
        return None
    versions = [int(entry.name[:-5]) for entry in log.iterdir()
                if entry.name.endswith(".json") and entry.name[:-5].isdigit()]
    return max(versions) if versions else None


def _metrics(commit_info: dict[str, Any]) -> dict[str, int]:
    metrics: dict[str, int] = {}
    for name, value in (commit_info.get("operationMetrics") or {}).items():
        try:
            metrics[snake_case(name)] = int(value)
        except (TypeError, ValueError):
            continue
    return metrics


def _records(action: dict[str, Any]) -> int:
    stats = action.get("stats")
    if not stats:
        return 0
    return int(json.loads(stats).get("numRecords", 0))


def read_commit(path: Path) -> tuple[str, dict[str, int], int, int, int]:
    """(operation, metrics, files added, rows added, files removed) of one commit file."""
    operation, metrics = "?", {}
    files_added = rows_added = files_removed = 0
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        action = json.loads(line)
        if "commitInfo" in action:
            operation = str(action["commitInfo"].get("operation", "?"))
            metrics = _metrics(action["commitInfo"])
        elif "add" in action and action["add"].get("dataChange", True):
            files_added += 1
            rows_added += _records(action["add"])
        elif "remove" in action and action["remove"].get("dataChange", True):
            files_removed += 1
    return operation, metrics, files_added, rows_added, files_removed


def table_rows(table_path: str) -> int | None:
    """Live rows of the table's current version, from its files' statistics (no data read): a file's
    records less the rows its deletion vector marks deleted."""
    if latest_version(table_path) is None:
        return None
    from deltalake import DeltaTable

    table = DeltaTable(table_path)
    if "deletionVectors" in (table.protocol().reader_features or []):
        # delta-rs's add actions leave out the DV descriptor and its cardinality.
        from lakehouse.engines.embedded.deletion_vectors.log import active_files

        adds = active_files(Path(table_path)).values()
        if any(not add.get("stats") for add in adds):
            return None
        return sum(_records(add) - int((add.get("deletionVector") or {}).get("cardinality", 0)) for add in adds)
    actions = table.get_add_actions(flatten=True)
    if "num_records" not in actions.schema.names:
        return None
    return int(sum(value or 0 for value in actions.column("num_records").to_pylist()))


def rows_read(table_path: str, after_version: int | None, rows_in: int) -> RowsRead:
    """What the commits after `after_version` (None: every commit) read and wrote."""
    latest = latest_version(table_path)
    first = 0 if after_version is None else after_version + 1
    operations: dict[str, int] = {}
    rewritten = source_rows = files_added = rows_added = files_removed = 0
    for version in range(first, (latest if latest is not None else -1) + 1):
        commit = Path(table_path) / LOG / f"{version:020d}.json"
        if not commit.is_file():
            continue
        operation, metrics, added, added_rows, removed = read_commit(commit)
        operations[operation] = operations.get(operation, 0) + 1
        rewritten += sum(metrics.get(name, 0) for name in REWRITTEN)
        source_rows += metrics.get("num_source_rows", 0)
        files_added += added
        rows_added += added_rows
        files_removed += removed
    return {"rows_in": rows_in, "commits": sum(operations.values()), "operations": operations,
            "merge_source_rows": source_rows, "target_rows_rewritten": rewritten, "rows_added": rows_added,
            "files_added": files_added, "files_removed": files_removed, "table_rows": table_rows(table_path)}
