"""How: what every kind's strategy shares. A batch opens (replay check), computes, and commits once.

The batch driver calls each strategy's `process_batch` for each planned batch; the streaming driver
calls the same methods from `foreachBatch`. A kind's SQL lives in its folder, in the engine's dialect.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lakehouse.core.errors import LakehouseError
from lakehouse.core.faults import crash_during, crashpoint
from lakehouse.engines.base import EngineAdapter, Transaction
from lakehouse.spec.model import TableSpec

CDF_PROPERTIES = {"delta.enableChangeDataFeed": "true"}


class Reads(enum.Enum):
    """What a kind's batches are made of. Drivers plan and read by this, never by kind, so a new kind
    fed like an existing one (one change feed, say) needs no driver change."""

    LANDED_FILES = "landed files"  # new files of a landing source
    CHANGE_FEED = "one change feed"  # one upstream's change rows between two versions
    CHANGE_FEEDS = "several change feeds"  # version ranges of several inputs, planned together


def app_id(spec: TableSpec) -> str:
    return f"lakehouse:{spec.ref}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class BatchResult:
    table: str
    batch_id: int
    rows_in: int = 0
    rows_written: int = 0
    committed: bool = False
    skipped_as_replay: bool = False
    details: dict[str, Any] = field(default_factory=dict)


def table_properties(spec: TableSpec) -> dict[str, str]:
    properties = dict(CDF_PROPERTIES) if spec.change_data_feed else {}
    return properties


def with_sequence_column(
    engine: EngineAdapter, spec: TableSpec, changes: Any, upstream_columns: Sequence[tuple[str, str]]
) -> tuple[Any, list[tuple[str, str]]]:
    """Adds the spec's sequence_by column as NULL when the upstream has none yet.

    The initial TPC-H load has no effective time; only later change batches bring the column. NULL
    means "no effective time": such a row predates every dated change.
    """
    columns = list(upstream_columns)
    if not spec.sequence_by or spec.sequence_by in dict(columns):
        return changes, columns
    q = engine.dialect.quote
    added = engine.sql(
        f"SELECT *, CAST(NULL AS {engine.dialect.sql_type('timestamp')}) AS {q(spec.sequence_by)} FROM changes",
        {"changes": changes},
    )
    return added, columns + [(spec.sequence_by, "timestamp")]


def clustered(engine: EngineAdapter, spec: TableSpec, relation: Any) -> Any:
    """`relation` sorted by the spec's cluster_by columns, so written files hold narrow key ranges and a
    later MERGE of a few keys rewrites few files (delta-rs rewrites every file a MERGE matches)."""
    return engine.cluster(relation, spec.cluster_by) if spec.cluster_by else relation


def landed_replay(engine: EngineAdapter, spec: TableSpec, batch_id: int) -> bool:
    """Whether batch `batch_id` already landed, so this is a replay after a crash and must commit nothing.

    The one replay check of every driver and strategy: it also refuses a replay when a later batch
    landed too, which only another writer can have done (skipping would drop the batch's input)."""
    txn = Transaction(app_id(spec), batch_id)
    if not engine.already_committed(spec.ref, txn):
        return False
    if engine.already_committed(spec.ref, Transaction(txn.app_id, batch_id + 1)):
        # A replay is of the last batch planned, so the table cannot hold a later one from this
        # checkpoint: another writer (the other engine, or checkpoints lost) committed under the app id.
        raise LakehouseError(
            f"{spec.ref}: batch {batch_id} is not new, but the table already holds a later batch under "
            f"app transaction '{txn.app_id}'; another engine or an older checkpoint wrote it, and skipping "
            "this batch would drop its input.",
            hint=f"run the engine that wrote {spec.ref}, or rebuild it with `lakehouse reset --table "
            f"{spec.ref} --yes`",
        )
    return True


def open_batch(engine: EngineAdapter, spec: TableSpec, batch_id: int, rows_in: int) -> tuple[BatchResult, Transaction]:
    """The batch's result and app transaction; a replay of a batch that already landed is marked skipped."""
    result = BatchResult(str(spec.ref), batch_id, rows_in=rows_in)
    result.skipped_as_replay = landed_replay(engine, spec, batch_id)
    return result, Transaction(app_id(spec), batch_id)


def write_batch(
    engine: EngineAdapter,
    spec: TableSpec,
    txn: Transaction,
    result: BatchResult,
    *,
    merge_source: Any = None,
    plan: Any = None,
    first_rows: Any = None,
    new_keys_only: bool = False,
) -> BatchResult:
    """One commit: MERGE `merge_source` with `plan` into the existing table, or (no plan) create the table
    from `first_rows`, sorted by the spec's cluster_by columns.

    With `new_keys_only` (no row of the batch has a stored row: new orders, new customers) the MERGE
    could only insert, so `merge_source` is appended instead: the same rows and change feed (inserts),
    without the MERGE's scan of the target and its in-memory copy of the batch. The table's single
    writer (the run's lock) keeps that true until the commit."""
    crashpoint(f"{spec.ref}:after-read")
    with crash_during(f"{spec.ref}:during-commit"):
        if plan is not None and new_keys_only:
            engine.append(spec.ref, clustered(engine, spec, merge_source), txn, properties={}, evolve_schema=True)
        elif plan is not None:
            engine.merge(spec.ref, merge_source, plan, txn, evolve_schema=True)
        else:
            engine.append(spec.ref, clustered(engine, spec, first_rows), txn, properties=table_properties(spec),
                          evolve_schema=False)
    result.committed = True
    return result
