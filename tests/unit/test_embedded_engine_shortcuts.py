"""Shortcuts of the embedded engine: a feed of sorted runs is put in key order without a sort (or
refused), duplicate keys of a sorted feed are found by comparing neighbours, and read_matching reads
Parquet through DuckDB with the same result as the Delta reader."""

import random

import pyarrow as pa
import pytest

from lakehouse.core.config import Settings
from lakehouse.engines.embedded import key_order
from lakehouse.engines.embedded.engine import EmbeddedEngine
from lakehouse.engines.embedded.key_order import in_run_order


def table_of_batches(*batches: list[tuple[int, int]]) -> pa.Table:
    """One record batch per list of (key, line) rows, as a multi-file change feed arrives."""
    return pa.Table.from_batches([
        pa.record_batch({"k": [k for k, _ in rows], "n": [n for _, n in rows], "v": [f"{k}-{n}" for k, n in rows]})
        for rows in batches
    ])


def rows(table: pa.Table) -> list[tuple[int, int]]:
    return list(zip(table.column("k").to_pylist(), table.column("n").to_pylist()))


def test_sorted_input_comes_back_as_it_is():
    table = table_of_batches([(1, 1), (1, 2), (2, 1)], [(3, 1)])
    assert in_run_order(table, ["k", "n"]) is table


def test_interleaved_file_batches_are_put_in_order_with_their_payload():
    a = [(k, 1) for k in range(0, 100)]
    b = [(k, 1) for k in range(100, 200)]
    table = table_of_batches(b[:50], a[:50], b[50:], a[50:])
    ordered = in_run_order(table, ["k", "n"])
    assert rows(ordered) == sorted(rows(table))
    assert ordered.column("v").to_pylist() == [f"{k}-{n}" for k, n in rows(ordered)]


def test_a_batch_joining_the_tail_of_one_file_to_the_head_of_another_is_split():
    # [10..19] + [50..54] arrive in one batch, [20..49] and [55..59] in others: no descent marks the seam.
    table = table_of_batches([(k, 1) for k in [*range(10, 20), *range(50, 55)]],
                             [(k, 1) for k in range(20, 50)], [(k, 1) for k in range(55, 60)])
    ordered = in_run_order(table, ["k", "n"])
    assert rows(ordered) == sorted(rows(table))


def test_second_key_column_breaks_ties():
    table = table_of_batches([(2, 1), (2, 3)], [(1, 5), (2, 2)])
    ordered = in_run_order(table, ["k", "n"])
    assert rows(ordered) == [(1, 5), (2, 1), (2, 2), (2, 3)]


def test_two_interleaved_runs_are_left_to_a_real_sort_in_a_few_rounds(monkeypatch):
    # Many one-row files gave 2, 4, ..., 1000 then 1, 3, ..., 999: splitting one row per round was
    # quadratic (9 s of a 10 s silver batch at 1,000 rows).
    table = table_of_batches([(k, 1) for k in range(2, 1001, 2)], [(k, 1) for k in range(1, 1000, 2)])
    splits = []
    split = key_order._rows_not_after
    monkeypatch.setattr(key_order, "_rows_not_after", lambda *args: splits.append(1) or split(*args))
    assert in_run_order(table, ["k", "n"]) is None
    assert len(splits) < key_order.MAX_ROUNDS


def test_shuffled_rows_are_left_to_a_real_sort():
    keys = list(range(5000))
    random.Random(7).shuffle(keys)
    table = table_of_batches([(k, 1) for k in keys])
    assert in_run_order(table, ["k", "n"]) is None


def test_null_keys_are_refused():
    table = pa.table({"k": [2, None, 1], "n": [1, 1, 1]})
    assert in_run_order(table, ["k", "n"]) is None


@pytest.fixture
def engine(tmp_path) -> EmbeddedEngine:
    return EmbeddedEngine(Settings(landing=str(tmp_path / "landing"), warehouse=str(tmp_path / "warehouse")))


@pytest.mark.parametrize("k, n, expected", [
    ([1, 1, 2, 3], [1, 2, 1, 1], False),      # sorted, distinct
    ([1, 1, 2, 3], [1, 1, 1, 1], True),       # sorted, neighbours equal
    ([3, 1, 2, 1], [1, 1, 1, 1], True),       # unsorted: counted by SQL
    ([3, 1, 2, 4], [1, 1, 1, 1], False),
    ([1, None, None], [1, 1, 1], False),      # NULL keys are not duplicates (SQL path)
    ([1], [1], False),
])
def test_duplicate_keys(engine, k, n, expected):
    assert engine.has_duplicate_keys(pa.table({"k": k, "n": n}), ["k", "n"]) is expected


def test_read_matching_reads_parquet_directly_and_fills_columns_added_later(engine):
    from lakehouse.engines.base import Transaction
    from lakehouse.spec.model import TableRef

    ref = TableRef("silver", "t")
    engine.append(ref, pa.table({"k": [1, 2, 3], "v": ["a", "b", "c"]}), Transaction("t", 1), properties={},
                  evolve_schema=False)
    engine.append(ref, pa.table({"k": [4, 5], "v": ["d", "e"], "w": [1.5, None]}), Transaction("t", 2),
                  properties={}, evolve_schema=True)
    keys = pa.table({"k": [2, 4, 9]})
    assert engine._plain_parquet_files(engine.delta_table(ref))
    got = engine.read_matching(ref, keys, ["k"], columns=["k", "v", "w"]).sort_by("k")
    assert got.to_pylist() == [{"k": 2, "v": "b", "w": None}, {"k": 4, "v": "d", "w": 1.5}]
    assert engine.read_matching(ref, keys, ["k"], version=0).sort_by("k").to_pylist() == [{"k": 2, "v": "b"}]
    whole = engine.read_table(ref, columns=["k", "w"]).sort_by("k").to_pylist()
    assert whole == [{"k": 1, "w": None}, {"k": 2, "w": None}, {"k": 3, "w": None}, {"k": 4, "w": 1.5},
                     {"k": 5, "w": None}]
    assert engine.read_table(ref, version=0).num_rows == 3


@pytest.mark.parametrize("merge_on_read", [False, True], ids=["copy-on-write", "merge-on-read"])
def test_change_feed_of_appends_read_directly_equals_the_delta_change_feed(engine, monkeypatch, merge_on_read):
    from lakehouse.core.merge_plan import MergePlan
    from lakehouse.engines.base import Transaction
    from lakehouse.spec.model import TableRef

    engine = EmbeddedEngine(engine.settings.with_overrides(merge_on_read=merge_on_read))

    ref = TableRef("bronze", "feed")
    cdf = {"delta.enableChangeDataFeed": "true"}
    engine.append(ref, pa.table({"k": [1, 2], "v": ["a", "b"]}), Transaction("t", 1), properties=cdf, evolve_schema=False)
    engine.append(ref, pa.table({"k": [3], "v": ["c"]}), Transaction("t", 2), properties=cdf, evolve_schema=False)
    plan = MergePlan(on="t.k = s.k", update_condition=None, update_set={"v": "s.v"}, insert_values={"k": "s.k", "v": "s.v"})
    engine.merge(ref, pa.table({"k": [1], "v": ["z"]}), plan, Transaction("t", 3), evolve_schema=False)

    def feed(start, end, columns=None):
        table = engine.read_changes(ref, start, end, columns=columns)
        return sorted((r["k"], r["v"], r["_change_type"], r["_commit_version"]) for r in table.to_pylist())

    from lakehouse.engines.embedded import parquet_reads

    uri = engine.table_uri(ref)
    assert [v for v, _, _ in parquet_reads.appended_commits(uri, 0, 1)] == [0, 1]
    # The MERGE rewrote a file, or marked rows deleted (after its protocol commit): Delta's reader answers.
    merge_version = engine.table_version(ref)
    assert merge_version == (3 if merge_on_read else 2)
    assert parquet_reads.appended_commits(uri, 0, merge_version) is None
    direct = feed(0, 1), feed(1, 1, columns=["k", "v"])
    monkeypatch.setattr(parquet_reads, "appended_commits", lambda *args: None)
    assert direct == (feed(0, 1), feed(1, 1, columns=["k", "v"]))
    assert direct[0] == [(1, "a", "insert", 0), (2, "b", "insert", 0), (3, "c", "insert", 1)]


def test_kept_table_state_follows_other_writers_resets_and_time_travel(engine, tmp_path):
    from lakehouse.engines.base import Transaction
    from lakehouse.spec.model import TableRef

    ref = TableRef("silver", "kept")
    other = EmbeddedEngine(engine.settings)  # another process, as far as the kept state knows
    other.append(ref, pa.table({"k": [1]}), Transaction("t", 1), properties={}, evolve_schema=False)
    assert engine.table_version(ref) == 0
    other.append(ref, pa.table({"k": [2]}), Transaction("t", 2), properties={}, evolve_schema=False)
    assert engine.table_version(ref) == 1
    assert engine.read_table(ref, version=0).num_rows == 1
    assert engine.table_version(ref) == 1 and engine.read_table(ref).num_rows == 2
    other.drop_table(ref)
    assert engine.table_version(ref) is None
    other.append(ref, pa.table({"k": [3, 4, 5]}), Transaction("t", 1), properties={}, evolve_schema=False)
    assert engine.table_version(ref) == 0 and engine.read_table(ref).num_rows == 3
