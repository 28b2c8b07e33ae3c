"""The same input for DuckDB and Spark, and rows normalised so the two can be compared exactly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any


# -- building the same input for both engines ------------------------------------------------
def _arrow_type(type_name: str):
    import pyarrow as pa

    from lakehouse.core.types import decimal_precision_scale

    simple = {"string": pa.string(), "bigint": pa.int64(), "int": pa.int32(), "double": pa.float64(),
              "boolean": pa.bool_(), "date": pa.date32(), "timestamp": pa.timestamp("us", tz="UTC")}
    if type_name in simple:
        return simple[type_name]
    precision, scale = decimal_precision_scale(type_name)
    return pa.decimal128(precision, scale)


def both(spark, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]):
    """The same rows as an Arrow table (for DuckDB) and a Spark DataFrame."""
    import pyarrow as pa

    arrow = pa.table({name: pa.array([row[i] for row in rows], _arrow_type(type_name))
                      for i, (name, type_name) in enumerate(columns)})
    ddl = ", ".join(f"`{name}` {type_name}" for name, type_name in columns)
    frame = spark.createDataFrame([tuple(row) for row in rows], schema=ddl)
    return arrow, frame


def normalise(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        # Spark hands back naive local times, DuckDB aware UTC ones: compare as naive UTC.
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def duck_rows(table) -> list[tuple]:
    names = table.column_names
    return [tuple(normalise(row[n]) for n in names) for row in table.to_pylist()]


def spark_rows(frame) -> list[tuple]:
    return [tuple(normalise(v) for v in row) for row in frame.collect()]


def sort_key(row: tuple) -> tuple:
    return tuple((value is None, str(type(value)), str(value)) for value in row)


def assert_same_rows(duck_table, spark_frame) -> list[tuple]:
    assert duck_table.column_names == spark_frame.columns
    duck = sorted(duck_rows(duck_table), key=sort_key)
    spark = sorted(spark_rows(spark_frame), key=sort_key)
    assert spark == duck
    return duck

