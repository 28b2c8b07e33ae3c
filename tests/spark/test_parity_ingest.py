"""typed_projection_sql types and rescues raw text identically on Spark and DuckDB."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from lakehouse.core.dialects import DUCKDB, SPARK
from lakehouse.kinds.append_ingest.sql import MALFORMED_RECORD, typed_projection_sql
from lakehouse.spec.model import RESCUED_DATA, SOURCE_FILE_MODIFIED, SOURCE_FILENAME, SOURCE_ROW
from tests.spark.parity import assert_same_rows, both

pytestmark = pytest.mark.spark

SCHEMA = [("id", "bigint"), ("name", "string"), ("balance", "decimal(15,2)"), ("born", "date"),
          ("seen", "timestamp"), ("active", "boolean"), ("score", "double"), ("small", "int")]
EXTRA = ["unexpected"]
RAW_COLUMNS = ([(name, "string") for name, _ in SCHEMA] + [(name, "string") for name in EXTRA]
               + [(SOURCE_FILENAME, "string"), (SOURCE_FILE_MODIFIED, "timestamp"), (SOURCE_ROW, "bigint"),
                  (MALFORMED_RECORD, "string")])
MODIFIED = dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
FILE = "/landing/customer/part-0001.csv"


def raw(row_number, values, extra=None, malformed=None):
    return (*values, extra, FILE, MODIFIED, row_number, malformed)


RAW_ROWS = [
    raw(2, ["1", "plain", "10.50", "2024-01-31", "2024-01-31 10:11:12.123456", "true", "1.5", "7"]),
    raw(3, ["2", "", "0", "1970-01-01", "2024-01-31T10:11:12Z", "FALSE", "-2e3", "-7"]),
    raw(4, [None, None, None, None, None, None, None, None]),
    # Bad numbers, bad dates, too many decimals, overflow.
    raw(5, ["12x", "ok", "1.234", "2024-02-30", "yesterday", "yes", "NaN", "99999999999"]),
    raw(6, ["9999999999999999999", "ok", "12345678901234.56", "24-01-01", "2024-13-01 00:00:00", "1", "1e", "1.0"]),
    raw(7, ["+5", "ünï \"q\" \\ |", "-0.50", "2000-02-29", "2024-06-01 08:30:00+02:00", "True", ".5", "+0"]),
    # Extra column in rescue mode; malformed record.
    raw(8, ["8", "x", "1", "2024-01-01", None, None, None, None], extra="surprise \"quoted\"\ttab"),
    raw(9, [None] * 8, malformed='9,too,many,"fields",here'),
    raw(10, ["10", "unicode ✓ 日本", " 1.00", "2024-01-01 ", "2024-01-01", "false", " 1", "1 "]),
]
DATE_ADDED = "2024-05-02T03:04:05.678901+00:00"


@pytest.fixture(scope="module")
def typed(spark):
    from lakehouse.core.config import Settings
    from lakehouse.engines.embedded.engine import EmbeddedEngine
    from lakehouse.engines.spark import SparkEngine

    settings = Settings.load(landing="/tmp/unused-landing", warehouse="/tmp/unused-warehouse", env={})
    arrow, frame = both(spark, RAW_COLUMNS, RAW_ROWS)
    duck = EmbeddedEngine(settings).sql(typed_projection_sql(DUCKDB, SCHEMA, EXTRA, DATE_ADDED, "raw"), {"raw": arrow})
    sparks = SparkEngine(settings, spark=spark).sql(typed_projection_sql(SPARK, SCHEMA, EXTRA, DATE_ADDED, "raw"),
                                                    {"raw": frame})
    return duck, sparks


def test_typed_values_and_rescued_text_are_identical(typed):
    duck, sparks = typed
    rows = assert_same_rows(duck, sparks)
    assert len(rows) == len(RAW_ROWS)


def test_rescued_data_is_the_same_json_with_the_same_key_order(typed):
    duck, sparks = typed
    by_row = lambda rows: {r[SOURCE_ROW]: r[RESCUED_DATA] for r in rows}  # noqa: E731
    duck_rescued = by_row(duck.to_pylist())
    spark_rescued = by_row([r.asDict() for r in sparks.collect()])
    assert spark_rescued == duck_rescued
    parsed = {row: json.loads(text) for row, text in spark_rescued.items() if text is not None}
    assert {row: list(value) for row, value in parsed.items()} == {
        row: list(json.loads(duck_rescued[row])) for row in parsed
    }
    # The rows that hold something unparseable are rescued, with the file path; clean rows are not.
    assert sorted(parsed) == [5, 6, 8, 9, 10]
    assert parsed[5] == {"id": "12x", "balance": "1.234", "born": "2024-02-30", "seen": "yesterday",
                         "active": "yes", "score": "NaN", "small": "99999999999", "_file_path": FILE}
    assert parsed[8] == {"unexpected": "surprise \"quoted\"\ttab", "_file_path": FILE}
    assert parsed[9] == {"_corrupt_record": '9,too,many,"fields",here', "_file_path": FILE}
