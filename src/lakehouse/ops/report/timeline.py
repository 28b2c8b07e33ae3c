"""An SCD2 dimension's history for a few business keys: each version's validity interval, the
tracked attributes that changed from the version before, and the fact rows that point at it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.core.errors import ConfigError
from lakehouse.engines.embedded.engine import EmbeddedEngine
from lakehouse.kinds.fact.options import FactRules
from lakehouse.spec.model import Kind, TableRef, TableSpec

# Without --keys the report shows the keys with the most versions, this many.
DEFAULT_KEY_COUNT = 5
VALID_FROM = "start_date"
VALID_TO = "end_date"
CURRENT = "is_current"
INFERRED = "is_inferred"
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass
class DimensionVersion:
    surrogate: int
    start: datetime | None
    end: datetime | None
    current: bool
    inferred: bool
    changed: list[str]
    fact_rows: int


@dataclass
class KeyHistory:
    key: str
    versions: list[DimensionVersion] = field(default_factory=list)


@dataclass
class Timeline:
    dimension: str
    key_column: str
    fact_tables: list[str]
    keys: list[KeyHistory]
    missing_keys: list[str] = field(default_factory=list)


def dimension_spec(specs: Sequence[TableSpec], name: str | None) -> TableSpec | None:
    """The named dimension, or the first SCD2 table of `specs` (None: the pipeline has none)."""
    dimensions = [spec for spec in specs if spec.kind is Kind.SCD2_FROM_CHANGES]
    if name is None:
        return dimensions[0] if dimensions else None
    for spec in dimensions:
        if str(spec.ref) == name:
            return spec
    raise ConfigError(f"'{name}' is not an SCD2 dimension of this pipeline or the tables it reads.",
                      hint="valid dimensions: " + (", ".join(str(s.ref) for s in dimensions) or "none"))


def linked_facts(specs: Sequence[TableSpec], dimension: TableRef) -> list[tuple[TableRef, str]]:
    """Fact tables that resolve `dimension`, with the column holding its surrogate key."""
    links = []
    for spec in specs:
        if spec.kind is Kind.FACT and isinstance(spec.options, FactRules) \
                and spec.options.dimension.table == dimension:
            links.append((spec.ref, spec.options.dimension.output))
    return links


def build_timeline(engine: EmbeddedEngine, dimension: TableSpec, facts: Sequence[tuple[TableRef, str]],
                   keys: Sequence[str] | None) -> Timeline | None:
    """None when the dimension table does not exist yet."""
    if engine.delta_table(dimension.ref) is None:
        return None
    key_column = dimension.keys[0]
    table = engine.read_table(dimension.ref)
    as_text = pc.cast(table[key_column], pa.string())
    chosen = list(keys) if keys else _busiest_keys(as_text)
    rows = table.filter(pc.is_in(as_text, value_set=pa.array(chosen, pa.string()))).to_pylist()
    surrogate = dimension.surrogate_key or ""
    counts = _fact_counts(engine, facts, [row[surrogate] for row in rows])
    tracked = list(dimension.tracked_columns or [])
    histories = []
    for key in chosen:
        versions = sorted((r for r in rows if str(r[key_column]) == key), key=_start_order(surrogate))
        if versions:
            histories.append(KeyHistory(key, _versions(versions, surrogate, tracked, counts)))
    found = {h.key for h in histories}
    return Timeline(str(dimension.ref), key_column, [str(ref) for ref, _ in facts], histories,
                    [key for key in chosen if key not in found])


def _start_order(surrogate: str) -> Callable[[dict[str, Any]], tuple[bool, datetime, int]]:
    def order(row: dict[str, Any]) -> tuple[bool, datetime, int]:
        start = row.get(VALID_FROM)
        # A version without a start sorts first; ties keep surrogate order (versions are numbered as made).
        return (start is not None, start or _EARLIEST, int(row[surrogate]))
    return order


def _busiest_keys(keys: pa.ChunkedArray) -> list[str]:
    counted = pa.table({"key": keys}).group_by("key").aggregate([("key", "count")])
    ordered = counted.sort_by([("key_count", "descending"), ("key", "ascending")])
    return [str(value) for value in ordered["key"].to_pylist()[:DEFAULT_KEY_COUNT]]


def _fact_counts(engine: EmbeddedEngine, facts: Sequence[tuple[TableRef, str]], surrogates: list[Any]) -> dict[Any, int]:
    counts: dict[Any, int] = {}
    for ref, column in facts:
        if engine.delta_table(ref) is None or not surrogates:
            continue
        dataset = engine.dataset(ref)
        linked = dataset.to_table(columns=[column], filter=pc.field(column).isin(surrogates))
        for entry in linked.group_by(column).aggregate([(column, "count")]).to_pylist():
            counts[entry[column]] = counts.get(entry[column], 0) + entry[f"{column}_count"]
    return counts


def _versions(rows: list[dict[str, Any]], surrogate: str, tracked: list[str],
              counts: dict[Any, int]) -> list[DimensionVersion]:
    versions = []
    previous: dict[str, Any] | None = None
    for row in rows:
        # An inferred member has no attributes: what its successor fills in is not a change.
        changed = [] if previous is None or previous.get(INFERRED) else \
            [c for c in tracked if row.get(c) != previous.get(c)]
        versions.append(DimensionVersion(
            int(row[surrogate]), row.get(VALID_FROM), row.get(VALID_TO), bool(row.get(CURRENT)),
            bool(row.get(INFERRED)), changed, counts.get(row[surrogate], 0)))
        previous = row
    return versions
