"""Read one landed Parquet file for batch engines: its own types, its values as text, plus lineage.

Auto Loader takes a Parquet file's schema as the inferred one, so the file's column types become
the stored types (sources/bronze_rules types the first file with them; hints still win). The raw
rows stay text, as the reader contract wants, so the one ingest SQL types every format the same way:
a value whose type does not fit the stored schema (a string in a bigint column, a fraction in an int
one) fails to parse there and is rescued into _rescued_data. The text of each type is what the Spark
reader (sources/parquet/spark_reader.py) writes for it:
- integers, decimals, booleans and dates as SQL casts them; floats as Java prints them ('2.0', '1.0E20');
- timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (a zoned one converted, a naive one as written);
- binary as base64; a struct, list or map as compact JSON (null struct fields left out, as to_json does).
source_row is the row's ordinal in the file, from 1. A file that is not Parquet, or whose footer or
pages are broken, or one under a compressed name (.parquet.gz), is quarantined with its name.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakehouse.core.errors import InputFileError
from lakehouse.core.storage import FileInfo, Storage
from lakehouse.sources.base import read_unchanged
from lakehouse.sources.csv.arrow_reader import RawFile
from lakehouse.sources.file_names import compression_of
from lakehouse.sources.json.arrow_reader import with_lineage
from lakehouse.sources.json.lines import compact_json, java_number_text

_UNREADABLE_HINT = ("land the whole file again under the same name (a truncated upload fails this way), or move a "
                    "file of another format out of this Parquet source; files already ingested are kept")


def type_name(arrow_type: pa.DataType) -> str:
    """The stored-schema type of a Parquet column (core/types names); nested and binary ones are text."""
    if pa.types.is_dictionary(arrow_type):
        return type_name(arrow_type.value_type)
    # Unsigned ones as Spark reads them: a type that holds every value (uint64 as decimal(20,0)).
    if pa.types.is_int8(arrow_type) or pa.types.is_int16(arrow_type) or pa.types.is_int32(arrow_type) \
            or pa.types.is_uint8(arrow_type) or pa.types.is_uint16(arrow_type):
        return "int"
    if pa.types.is_uint64(arrow_type):
        return "decimal(20,0)"
    if pa.types.is_integer(arrow_type):
        return "bigint"
    if pa.types.is_floating(arrow_type):
        return "double"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    return "string"


def _nested(value: Any) -> Any:
    """A nested value from to_pylist shaped as Spark's to_json writes it."""
    if isinstance(value, dict):
        return {key: _nested(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        if value and all(isinstance(item, tuple) and len(item) == 2 for item in value):  # a map's pairs
            return {str(key): _nested(item) for key, item in value}
        return [_nested(item) for item in value]
    return value


def text_column(column: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """One Parquet column as the text the ingest SQL parses (see the module docstring)."""
    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if pa.types.is_dictionary(column.type):
        column = column.cast(kind)
    if pa.types.is_timestamp(kind):
        utc = column.cast(pa.timestamp("us", tz="UTC" if kind.tz else None), safe=False)
        return pc.strftime(utc, "%Y-%m-%d %H:%M:%S")
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        return pa.array([None if v is None else base64.b64encode(v).decode("ascii") for v in column.to_pylist()],
                        pa.string())
    if pa.types.is_nested(kind):
        return pa.array([None if v is None else compact_json(_nested(v)) for v in column.to_pylist()], pa.string())
    if pa.types.is_floating(kind):
        return float_text(column)
    if pa.types.is_null(kind):
        return pa.nulls(len(column), pa.string())
    return column.cast(pa.string())


def float_text(column: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Java's spelling of a float's shortest digits ('2.0', '1.0E20'), as Spark's cast writes it: the
    text decides whether the value fits an int column, and is the value of a string one."""
    shortest = column.cast(pa.string())
    magnitude = pc.abs(column.cast(pa.float64()))
    # From 1e-3 up to 1e7 (and zero) both print plain digits; Java adds '.0' to an integral one.
    plain = pc.or_(pc.and_(pc.greater_equal(magnitude, 1e-3), pc.less(magnitude, 1e7)), pc.equal(magnitude, 0))
    if pc.all(pc.fill_null(plain, True)).as_py():
        return pc.if_else(pc.match_substring(shortest, "."), shortest,
                          pc.binary_join_element_wise(shortest, pa.scalar(".0"), ""))
    return pa.array([None if v is None else java_number_text(v) for v in shortest.to_pylist()], pa.string())


@dataclass
class ParquetFile(RawFile):
    """A Parquet file's rows as text with lineage, and its own column types (sources.base.TypedFile)."""

    column_types: Mapping[str, str] = field(default_factory=dict)


def compressed_parquet(uri: str) -> InputFileError:
    return InputFileError(
        f"{uri}: a Parquet file under a compressed name ({compression_of(uri)}) is not read: Parquet compresses "
        "inside the file, and Spark's Parquet source does not decompress a whole file.",
        hint="land the .parquet file itself (write it with the codec you want, e.g. snappy or zstd)")


def read_parquet(info: FileInfo, data: bytes) -> ParquetFile | None:
    """`data` (the stored bytes of `info`) as text rows; None for a file without columns."""
    if compression_of(info.uri) is not None:
        raise compressed_parquet(info.uri)
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        raise InputFileError(f"{info.uri}: cannot be read as Parquet: {exc}", hint=_UNREADABLE_HINT) from exc
    if table.num_columns == 0:
        return None
    header = list(table.column_names)
    columns = {name: text_column(table.column(name)) for name in header}
    positions = pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), table.num_rows))
    rows = with_lineage(columns, info, positions, pa.nulls(table.num_rows, pa.string()))
    return ParquetFile(info=info, header=header, rows=rows,
                       column_types={name: type_name(table.schema.field(name).type) for name in header})


class ArrowParquetReader:
    """sources.base.LandingReader for Parquet into Arrow tables, for batch engines (FileInfo as planned)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def open(self, file: FileInfo) -> ParquetFile | None:
        return read_parquet(file, read_unchanged(self.storage, file))

    def combine(self, parts: Sequence[pa.Table]) -> pa.Table:
        return pa.concat_tables(parts, promote_options="default")
