import dataclasses
import datetime as dt

import duckdb
import pyarrow as pa

from lakehouse.core.dialects import DUCKDB
from lakehouse.engines.base import duplicate_keys_sql
from lakehouse.kinds.scd1.sql import dedup_sql
from lakehouse.spec.pipelines import CUSTOMER as CUSTOMER_SPEC

COLUMNS = [("c_custkey", "bigint"), ("c_name", "string")]
CUSTOMER = dataclasses.replace(CUSTOMER_SPEC, tracked_columns=("c_name",))
WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def batch(keys, names):
    n = len(keys)
    return pa.table({
        "c_custkey": pa.array(keys, pa.int64()), "c_name": names, "c_updated_at": pa.nulls(n, pa.timestamp("us", tz="UTC")),
        "_commit_version": [0] * n, "source_file_modified": [WHEN] * n, "source_filename": ["f.csv"] * n,
        "source_row": list(range(2, n + 2)),
    })


def run(sql, changes):
    con = duckdb.connect()
    con.register("changes", changes)
    return con.sql(sql).to_arrow_table()


def test_duplicate_keys_are_counted_and_nulls_ignored():
    assert run(duplicate_keys_sql(DUCKDB, CUSTOMER.keys), batch([1, 2, 2, 3, 3, None, None], list("abcdefg"))).column(0)[0].as_py() == 2
    assert run(duplicate_keys_sql(DUCKDB, CUSTOMER.keys), batch([1, 2, None], list("abc"))).column(0)[0].as_py() == 0


def test_without_duplicates_the_unranked_form_gives_the_same_rows():
    changes = batch([3, 1, 2, None], ["c", "a", "b", "x"])
    ranked = run(dedup_sql(DUCKDB, CUSTOMER, COLUMNS, WHEN.isoformat()), changes).sort_by("c_custkey")
    plain = run(dedup_sql(DUCKDB, CUSTOMER, COLUMNS, WHEN.isoformat(), has_duplicate_keys=False), changes)
    assert plain.sort_by("c_custkey").to_pylist() == ranked.to_pylist()
    assert [r["c_custkey"] for r in ranked.to_pylist()] == [1, 2, 3]


def test_with_duplicates_the_last_occurrence_wins():
    changes = batch([1, 1], ["first", "last"])
    rows = run(dedup_sql(DUCKDB, CUSTOMER, COLUMNS, WHEN.isoformat()), changes).to_pylist()
    assert [r["c_name"] for r in rows] == ["last"]
