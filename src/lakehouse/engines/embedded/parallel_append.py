"""Large appends to local Delta tables, with the Parquet files encoded on every CPU.

delta-rs encodes an unpartitioned write on one thread (its parallel writer is for partitioned
tables), so a 6M-row append left the second CPU idle: 4.3 s against 2.4 s for the same rows in two
Parquet files written at once. Here the rows are cut into one slice per CPU, pyarrow writes each
slice's file on its own thread, and delta-rs commits the files as one transaction with the batch's
app transaction, exactly as its own writer would. Files written before a crash are never committed
and so never read (a later VACUUM removes them), as with delta-rs's writer.

Statistics (record count, null counts, min/max of numbers, dates and short text) go into each add
action, so readers can skip files by key as they do for files delta-rs wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Schema
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from lakehouse.engines.embedded.parquet_reads import is_plain_parquet_table
from lakehouse.spec.model import HASH_VALUE

# Below this many rows one file is written by delta-rs: threads and statistics are not worth it.
PARALLEL_APPEND_MIN_ROWS = 500_000
ROW_GROUP_ROWS = 1 << 20
# A hash column is unique random text: the Parquet writer's dictionary attempt on it is wasted work
# (about a third of the CPU time of writing 3M fact rows). Both writers leave it out.
NO_DICTIONARY_COLUMNS = (HASH_VALUE,)
ROWS_PER_FILE_AT_LEAST = 250_000
MAX_FILES = 8
# Delta readers compare text statistics as given; longer values would have to be truncated, and a
# truncated maximum is wrong, so only short text gets min/max.
MAX_TEXT_STATISTIC = 32


def can_append_in_parallel(table: DeltaTable | None, data: pa.Table) -> bool:
    """A local append of many rows whose columns are the table's, in the table's types (no schema
    evolution: that stays with delta-rs, which merges schemas)."""
    if data.num_rows < PARALLEL_APPEND_MIN_ROWS or not _plain_types(data.schema):
        return False
    if table is None:
        return True
    return is_plain_parquet_table(table) and pa.schema(table.schema().to_arrow()) == data.schema


def append_in_parallel(
    table_uri: str, table: DeltaTable | None, data: pa.Table, *, configuration: dict[str, str] | None,
    commit_properties: CommitProperties, workers: int | None = None,
) -> None:
    # One file per CPU, but no file under ROWS_PER_FILE_AT_LEAST rows and no more than MAX_FILES.
    workers = workers or max(1, min(os.cpu_count() or 1, data.num_rows // ROWS_PER_FILE_AT_LEAST, MAX_FILES))
    step = -(-data.num_rows // workers)
    slices = [data.slice(start, step) for start in range(0, data.num_rows, step)]
    with ThreadPoolExecutor(len(slices)) as pool:
        actions = list(pool.map(lambda part: _write_file(table_uri, part), slices))
    if table is None:
        create_table_with_add_actions(
            table_uri, Schema.from_arrow(data.schema), actions, mode="error", configuration=configuration,
            commit_properties=commit_properties,
        )
    else:
        writes: list[AddAction | RemoveAction] = [*actions]  # its parameter is an invariant list of either
        table.create_write_transaction(writes, mode="append", schema=table.schema(),
                                       commit_properties=commit_properties)


def _write_file(table_uri: str, rows: pa.Table) -> AddAction:
    name = f"part-00000-{uuid.uuid4()}-c000.snappy.parquet"
    path = os.path.join(table_uri, name)
    os.makedirs(table_uri, exist_ok=True)
    dictionary = [column for column in rows.column_names if column not in NO_DICTIONARY_COLUMNS]
    pq.write_table(rows, path, compression="snappy", use_dictionary=dictionary, row_group_size=ROW_GROUP_ROWS)
    metadata = pq.read_metadata(path)
    return AddAction(
        path=name,
        size=os.path.getsize(path),
        partition_values={},
        modification_time=int(time.time() * 1000),
        data_change=True,
        stats=json.dumps(_statistics(rows.schema, metadata)),
    )


def _statistics(schema: pa.Schema, metadata: pq.FileMetaData) -> dict[str, Any]:
    minimum: dict[str, Any] = {}
    maximum: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    for index, arrow_field in enumerate(schema):
        per_group = [metadata.row_group(g).column(index).statistics for g in range(metadata.num_row_groups)]
        if any(s is None for s in per_group):
            continue
        nulls[arrow_field.name] = sum(s.null_count for s in per_group)
        bounded = [s for s in per_group if s.has_min_max]
        if not bounded or not _has_min_max_statistic(arrow_field.type):
            continue
        low = min(s.min for s in bounded)
        high = max(s.max for s in bounded)
        if isinstance(low, str) and max(len(low), len(high)) > MAX_TEXT_STATISTIC:
            continue
        if isinstance(low, float) and not (math.isfinite(low) and math.isfinite(high)):
            continue  # NaN says nothing, and JSON has no infinity
        if isinstance(low, Decimal) and not (_exact_as_json(low) and _exact_as_json(high)):
            continue
        minimum[arrow_field.name], maximum[arrow_field.name] = _json_value(low), _json_value(high)
    return {"numRecords": metadata.num_rows, "minValues": minimum, "maxValues": maximum, "nullCount": nulls}


def _has_min_max_statistic(arrow_type: pa.DataType) -> bool:
    # Timestamps are left out: Delta keeps them at millisecond precision, and a maximum cut to the
    # millisecond would be below the file's real maximum.
    return bool(pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type)
                or pa.types.is_date32(arrow_type) or pa.types.is_string(arrow_type))


def _exact_as_json(value: Decimal) -> bool:
    """A JSON number is read back as a double: exact for up to 15 significant digits."""
    return len(value.as_tuple().digits) <= 15


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _plain_types(schema: pa.Schema) -> bool:
    """Types delta-rs would write as they are (it converts views, unsigned and zone-less timestamps)."""
    for arrow_field in schema:
        arrow_type = arrow_field.type
        if pa.types.is_timestamp(arrow_type):
            if arrow_type.tz not in ("UTC", "+00:00") or arrow_type.unit != "us":
                return False
        elif not (pa.types.is_boolean(arrow_type) or pa.types.is_signed_integer(arrow_type)
                  or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type)
                  or pa.types.is_date32(arrow_type) or pa.types.is_string(arrow_type)):
            return False
    return True
