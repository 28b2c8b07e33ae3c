"""The one seam where every kind's batch meets its table's expectations: a driver hands the batch's
rows here before the strategy sees them, and the strategy gets the rows a drop expectation keeps.
A fact's rows are formed inside its strategy from several feeds, so the fact strategy calls it
itself, with its changed fact rows, before it writes anything (inferred members included).

Order within a batch, so a failed or crashed batch is safe to rerun:
1. judge the rows and count, per expectation; a fail expectation with a violation raises before
   anything is written (no target rows, no quarantine rows, and the driver advances no checkpoint);
2. append the dropped rows to <schema>.<table>_quarantine under the table's app transaction for this
   batch, so a replay after a crash does not write them twice;
3. run the strategy on the kept rows, then record the counts for `lakehouse status`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lakehouse.core.config import Settings
from lakehouse.core.errors import ConfigError, ExpectationFailedError
from lakehouse.engines.base import EngineAdapter, Transaction
from lakehouse.kinds.base import BatchResult, app_id, landed_replay, now_iso
from lakehouse.kinds.expectations import sql
from lakehouse.spec.expectations import OnViolation
from lakehouse.spec.model import TableRef, TableSpec

QUARANTINE_SUFFIX = "_quarantine"
COUNTS_FILE = "expectations_last_batch.json"


def quarantine_ref(ref: TableRef) -> TableRef:
    return TableRef(ref.schema, f"{ref.name}{QUARANTINE_SUFFIX}")


@dataclass(frozen=True)
class Judged:
    """A batch's verdicts: `counts` as BatchResult.details["expectations"] holds them."""

    view: Any  # the judged rows with their verdict columns
    counts: list[dict[str, Any]]


def screened(
    engine: EngineAdapter,
    spec: TableSpec,
    batch_id: int,
    rows: Any,
    process: Callable[[Any], BatchResult],
    *,
    judged_rows: Any = None,
    row_key: Sequence[str] = (),
) -> BatchResult:
    """`process(kept rows)` after the table's expectations judged the batch.

    The expressions run over `judged_rows` (default: `rows`); when those are another form of the
    batch (bronze's typed rows for its raw text), `row_key` names the columns that link the two."""
    if not spec.expectations or landed_replay(engine, spec, batch_id):
        return process(rows)
    judged_input = rows if judged_rows is None else judged_rows
    columns = engine.column_names(judged_input)
    condition = sql.checked_rows_condition(engine.dialect, columns, spec.apply_as_deletes)
    judged = judge(engine, spec, judged_input, condition)
    raise_on_failure(engine, spec, judged, columns)
    kept = rows
    if sql.indexes_of(spec.expectations, OnViolation.DROP):
        dropped = engine.sql(sql.quarantine_sql(engine.dialect, spec.expectations, columns, "judged", batch_id,
                                                now_iso()), {"judged": judged.view})
        quarantine(engine, spec, dropped, batch_id)
        if judged_rows is None:
            kept = engine.sql(sql.kept_sql(engine.dialect, spec.expectations, condition, "rows"), {"rows": rows})
        else:
            kept = engine.sql(sql.kept_by_key_sql(engine.dialect, row_key, "rows", "dropped"),
                              {"rows": rows, "dropped": dropped})
    result = process(kept)
    result.details["expectations"] = judged.counts
    if result.committed:
        record_counts(engine, spec, batch_id, judged.counts)
    return result


def judge(engine: EngineAdapter, spec: TableSpec, rows: Any, condition: str) -> Judged:
    try:
        view = engine.sql(sql.judged_sql(engine.dialect, spec.expectations, condition, "rows"), {"rows": rows})
        text = engine.first_value(engine.sql(sql.failed_counts_sql(engine.dialect, spec.expectations, "judged"),
                                             {"judged": view}))
    except Exception as exc:  # the engine's own error type: duckdb.Error, Spark's AnalysisException, ...
        raise_if_invalid(engine, spec, rows, exc)
        raise
    judged_count, *failed = (int(part) for part in str(text).split(","))
    counts = [{"name": e.name, "on_violation": e.on_violation.value, "passed_rows": judged_count - failed[i],
               "failed_rows": failed[i]} for i, e in enumerate(spec.expectations)]
    return Judged(view, counts)


def raise_if_invalid(engine: EngineAdapter, spec: TableSpec, rows: Any, exc: Exception) -> None:
    """A ConfigError naming the expression the engine cannot run over the batch's columns, if one is."""
    columns = engine.column_names(rows)
    candidates = [(f"expectation '{e.name}'", e.expr) for e in spec.expectations]
    if spec.apply_as_deletes is not None:
        candidates.append(("apply_as_deletes", spec.apply_as_deletes))
    for what, expr in candidates:
        try:
            probe = f"SELECT COALESCE(({expr}), FALSE) AS v FROM {engine.dialect.quote('rows')} LIMIT 1"
            engine.row_count(engine.sql(probe, {"rows": rows}))
        except Exception:  # this expression is the one the engine refused
            raise ConfigError(
                f"{spec.ref}: {what} ({expr}) cannot be evaluated by the {engine.name} engine over the batch: {exc}",
                hint=f"write a boolean in the engine's SQL over the columns: {', '.join(columns)}",
            ) from exc


def raise_on_failure(engine: EngineAdapter, spec: TableSpec, judged: Judged, columns: Sequence[str]) -> None:
    for index in sql.indexes_of(spec.expectations, OnViolation.FAIL):
        failed = judged.counts[index]["failed_rows"]
        if failed:
            sample = first_row(engine.sql(sql.offending_sql(engine.dialect, index, columns, "judged"),
                                          {"judged": judged.view}))
            expectation = spec.expectations[index]
            raise ExpectationFailedError(str(spec.ref), expectation.name, expectation.expr, failed, sample,
                                         judged.counts)


def quarantine(engine: EngineAdapter, spec: TableSpec, dropped: Any, batch_id: int) -> None:
    target = quarantine_ref(spec.ref)
    txn = Transaction(app_id(spec), batch_id)
    if engine.row_count(dropped) == 0 or engine.already_committed(target, txn):
        return
    engine.append(target, dropped, txn, properties={}, evolve_schema=True)


def first_row(relation: Any) -> dict[str, Any]:
    """The relation's first row as a dict: an Arrow table (embedded) or a Spark DataFrame."""
    if hasattr(relation, "to_pylist"):
        rows: list[dict[str, Any]] = relation.slice(0, 1).to_pylist()
        return rows[0] if rows else {}
    row = relation.first()
    return {} if row is None else dict(row.asDict())


def counts_uri(settings: Settings, ref: TableRef) -> str:
    return f"{settings.checkpoint_uri(ref.schema, ref.name)}/{COUNTS_FILE}"


def record_counts(engine: EngineAdapter, spec: TableSpec, batch_id: int, counts: list[dict[str, Any]]) -> None:
    """The last committed batch's counts, where `lakehouse status` reads them on any engine (Spark keeps
    its own checkpoint layout, so our offset log is not the common place)."""
    engine.storage.write_text(counts_uri(engine.settings, spec.ref), json.dumps({"batch_id": batch_id,
                                                                         "expectations": counts}))


def last_counts(settings: Settings, storage: Any, ref: TableRef) -> dict[str, Any] | None:
    """{"batch_id", "expectations": [...]} of the table's last committed batch that had expectations."""
    uri = counts_uri(settings, ref)
    if not storage.exists(uri):
        return None
    recorded: dict[str, Any] = json.loads(storage.read_text(uri))
    return recorded
