"""Key order of Arrow relations, found without sorting: the embedded engine's shortcuts.

A change feed read from several Parquet files arrives as sorted runs in no particular order; a
sort of 6M lineitem rows with their payload took 8 s, checking and moving runs takes milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

# More runs than this are not worth a Python sort of their first keys: a real sort is cheaper.
MAX_RUNS_TO_REORDER = 100_000
# Runs shorter than this on average mean rows in no order (a batch of random keys). Seen: a 6M-row
# feed of 735 record batches had 209 descents; a 6M-row join output about 30,000.
MIN_AVERAGE_RUN_ROWS = 64
FEW_RUNS = 16
# Legitimate feeds line up in a few rounds (each splits every overlapping run at once); interleaved
# runs (2, 4, 6 ... then 1, 3, 5 ..., as 1,000 one-row files gave) split one row per round: quadratic.
MAX_ROUNDS = 32


def in_run_order(relation: pa.Table, columns: Sequence[str]) -> pa.Table | None:
    """`relation` in `columns` order if moving whole sorted runs gets it there, else None.

    A change feed read from several Parquet files interleaves their record batches (and a batch can
    join the tail of one file to the head of another), so it is a sequence of sorted runs in no
    particular order. The runs are ordered by their first key, a run reaching past the next run's
    first key is split there, and that repeats until the runs line up: zero-copy slices and key
    comparisons, milliseconds where sorting 6M lineitem rows with their payload took 8 s.
    """
    try:
        descents = _descents(relation, columns)
    except pa.ArrowNotImplementedError:  # no comparison kernels for the type (string_view keys)
        return None
    if descents is None:
        return relation
    if len(descents) > FEW_RUNS and len(descents) * MIN_AVERAGE_RUN_ROWS > relation.num_rows:
        return None  # rows in no order (a batch of random keys): not worth splitting into runs
    batch_ends = _batch_ends(relation)
    bounds = sorted({0, relation.num_rows, *descents, *batch_ends})
    runs = [(start, stop) for start, stop in zip(bounds, bounds[1:]) if stop > start]
    if len(runs) > MAX_RUNS_TO_REORDER:
        return None
    keys = _Keys(relation, columns, [i for start, stop in runs for i in (start, stop - 1)])
    if any(None in keys[start] for start, _ in runs):
        return None
    for _ in range(MAX_ROUNDS):
        runs.sort(key=lambda run: keys[run[0]])
        overlapping = [i for i in range(len(runs) - 1) if keys[runs[i][1] - 1] > keys[runs[i + 1][0]]]
        if not overlapping:
            return pa.concat_tables([relation.slice(start, stop - start) for start, stop in runs])
        after_split = len(runs) + len(overlapping)
        if after_split > MAX_RUNS_TO_REORDER or (
                after_split > FEW_RUNS and after_split * MIN_AVERAGE_RUN_ROWS > relation.num_rows):
            return None  # the runs keep splitting into short ones: a real sort is cheaper
        for i in reversed(overlapping):
            start, stop = runs[i]
            head = start + _rows_not_after(relation.slice(start, stop - start), columns, keys[runs[i + 1][0]])
            if start < head < stop:
                runs[i:i + 1] = [(start, head), (head, stop)]
    return None


class _Keys:
    """Key tuples by row position, fetched in one take for the positions known up front (a Python
    lookup per row position cost 0.8 s for the 60,812 lookups of a 6M-row fact's runs)."""

    def __init__(self, relation: pa.Table, columns: Sequence[str], positions: list[int]) -> None:
        self.relation, self.columns = relation, list(columns)
        taken = relation.select(self.columns).take(pa.array(positions, pa.int64()))
        self.known = dict(zip(positions, zip(*(taken.column(c).to_pylist() for c in self.columns))))

    def __getitem__(self, position: int) -> tuple[Any, ...]:
        key = self.known.get(position)
        if key is None:
            key = self.known[position] = tuple(self.relation.column(c)[position].as_py() for c in self.columns)
        return key


def _batch_ends(relation: pa.Table) -> list[int]:
    ends, offset = [], 0
    for batch in relation.to_batches():
        offset += batch.num_rows
        ends.append(offset)
    return ends


def _rows_not_after(run: pa.Table, columns: Sequence[str], key: tuple[Any, ...]) -> int:
    """How many leading rows of the sorted `run` are <= `key` (lexicographic)."""
    not_after = None
    for name, value in reversed(list(zip(columns, key))):
        column = run.column(name)
        if not_after is None:
            step = pc.less_equal(column, value)
        else:
            step = pc.or_(pc.less(column, value), pc.and_(pc.equal(column, value), not_after))
        not_after = step
    return int(pc.sum(pc.cast(not_after, pa.int64())).as_py() or 0)


def _descents(relation: pa.Table, columns: Sequence[str]) -> list[int] | None:
    """Row positions where `columns` order breaks (row i-1 > row i, lexicographic; a NULL key counts
    as a break), or None when the relation is already in order."""
    if relation.num_rows < 2:
        return None
    in_order = None  # row i <= row i+1, built from the last column backwards
    for name in reversed(list(columns)):
        column = relation.column(name)
        before, after = column.slice(0, len(column) - 1), column.slice(1)
        if in_order is None:
            step = pc.less_equal(before, after)
        else:
            step = pc.or_(pc.less(before, after), pc.and_(pc.equal(before, after), in_order))
        in_order = pc.fill_null(step, False)
    if pc.all(in_order).as_py():
        return None
    return [i + 1 for i in pc.indices_nonzero(pc.invert(in_order)).to_pylist()]


def neighbours_share_a_key(relation: pa.Table, keys: Sequence[str]) -> bool | None:
    """Whether a key occurs twice, for a relation already in key order (a duplicate then sits in two
    neighbouring rows: milliseconds where grouping 6M lineitem keys took 0.6-1 s); None otherwise."""
    try:
        if _descents(relation, keys) is not None:
            return None
    except pa.ArrowNotImplementedError:
        return None
    same = None
    for name in keys:
        column = relation.column(name)
        equal = pc.equal(column.slice(0, len(column) - 1), column.slice(1))
        same = equal if same is None else pc.and_(same, equal)
    return bool(pc.any(same).as_py()) if same is not None and len(same) else False
