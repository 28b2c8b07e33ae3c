"""hash_value is the same string in Spark, DuckDB and Python for the same typed row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lakehouse.core.dialects import DUCKDB, SPARK
from lakehouse.core.hashing import hash_expression, row_hash
from tests.spark.parity import both

pytestmark = pytest.mark.spark

UTC = dt.UTC
COLUMNS = [
    ("id", "bigint"), ("text", "string"), ("amount", "decimal(18,2)"), ("day", "date"), ("at", "timestamp"),
    ("flag", "boolean"), ("count", "int"), ("ratio", "double"),
]
EDGE_ROWS = [
    (1, None, None, None, None, None, None, None),
    (2, "", Decimal("0.00"), dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, tzinfo=UTC), True, 0, 0.0),
    (3, "\\N", Decimal("-0.50"), dt.date(1970, 1, 1), dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
     False, -1, -0.5),
    (4, "a|b", Decimal("12345678901234.56"), dt.date(9999, 12, 31), dt.datetime(2024, 2, 29, 12, 0, 0, 1, tzinfo=UTC),
     None, 2147483647, 1.5),
    (5, "back\\slash|\\|", Decimal("-12345678901234.56"), dt.date(2000, 2, 29),
     dt.datetime(2024, 6, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))), True, -2147483648, 123456.25),
    (6, "ünïcødé ✓ 日本 \U0001f600", Decimal("1.00"), dt.date(2024, 12, 31),
     dt.datetime(2024, 3, 10, 2, 30, 0, 500000, tzinfo=UTC), False, 7, 0.1),
    (7, "tab\tnew\nline 'quote' \"dq\"", Decimal("0.01"), None, None, True, None, 2.0),
    (8, "|", Decimal("-0.01"), dt.date(2024, 1, 2), None, None, 1, -0.0),
    (9, "\\", Decimal("100"), dt.date(2024, 1, 3), None, None, 1, 3.0),
    (10, "year 99", Decimal("2.00"), dt.date(99, 1, 2), None, None, 3, 4.0),  # dates are zero-padded ISO
]
# Rows that differ only in NULL vs '' vs '\N' vs separators must hash differently.
DISTINCT_FROM_EACH_OTHER = [(None,), ("",), ("\\N",), ("|",), ("\\|",), ("\\",), ("a|",), ("a\\",)]


def _hashes(spark, duck_engine, spark_engine, columns, rows):
    arrow, frame = both(spark, columns, rows)
    query = lambda dialect: f"SELECT {dialect.quote('id')} AS id, {hash_expression(dialect, columns[1:])} AS h FROM rows"  # noqa: E731
    duck = {r["id"]: r["h"] for r in duck_engine.sql(query(DUCKDB), {"rows": arrow}).to_pylist()}
    sparks = {r["id"]: r["h"] for r in spark_engine.sql(query(SPARK), {"rows": frame}).collect()}
    python = {row[0]: row_hash(row[1:], [t for _, t in columns[1:]]) for row in rows}
    return duck, sparks, python


def test_spark_duckdb_and_python_hash_edge_rows_identically(spark, duck_engine, spark_engine):
    duck, sparks, python = _hashes(spark, duck_engine, spark_engine, COLUMNS, EDGE_ROWS)
    assert sparks == duck
    assert python == duck
    assert len(set(duck.values())) == len(EDGE_ROWS)


def test_null_empty_marker_and_separators_never_collide(spark, duck_engine, spark_engine):
    columns = [("id", "bigint"), ("text", "string")]
    rows = [(i, *values) for i, values in enumerate(DISTINCT_FROM_EACH_OTHER)]
    duck, sparks, python = _hashes(spark, duck_engine, spark_engine, columns, rows)
    assert sparks == duck == python
    assert len(set(sparks.values())) == len(rows)


def test_field_boundaries_matter(spark, duck_engine, spark_engine):
    # ('a|', 'b') and ('a', '|b') would collide if '|' were not escaped.
    columns = [("id", "bigint"), ("x", "string"), ("y", "string")]
    rows = [(1, "a|", "b"), (2, "a", "|b"), (3, "a\\", "|b"), (4, "a", "\\|b")]
    duck, sparks, python = _hashes(spark, duck_engine, spark_engine, columns, rows)
    assert sparks == duck == python
    assert len(set(sparks.values())) == 4
