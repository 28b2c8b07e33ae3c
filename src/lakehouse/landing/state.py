"""The change generator's memory: the latest version of every key of a table, plus batch counters.

Kept in the work dir so successive change batches build on each other and a seed reproduces a
batch exactly:

    <workdir>/changes/<table>_state.parquet   every column as text (as landed) + _effective_time
    <workdir>/changes/<table>_state.json      {"batch": last batch number, "last_time": ..., ...}
    <workdir>/changes/<table>_changes_0001.csv the batches themselves

The first batch starts from `<workdir>/<table>.csv` (what tpchgen-cli generated and we landed).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypedDict

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakehouse.core.errors import ConfigError, InputFileError
from lakehouse.landing.csvtext import read_csv_text

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Versions from the initial load count as effective at this time; batches follow it day by day.
INITIAL_EFFECTIVE_TIME = datetime(2024, 1, 1)
TIME_COLUMN = "_effective_time"

# One row as landed: every column is text, and None is NULL (kept apart from '').
TextRow = dict[str, str | None]


class StateExtra(TypedDict, total=False):
    # Keys an orders batch already used for customers not written yet (late-arriving customers).
    pending_keys: list[int]


def format_time(value: datetime) -> str:
    return value.strftime(TIME_FORMAT)


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, TIME_FORMAT)


def changes_dir(workdir: Path) -> Path:
    return Path(workdir) / "changes"


@dataclass
class TableState:
    """Latest version per key of one table; `rows` is text columns + `_effective_time`."""

    table: str
    key: str
    rows: pa.Table
    batch: int = 0
    last_time: datetime = INITIAL_EFFECTIVE_TIME
    extra: StateExtra = field(default_factory=StateExtra)

    @property
    def columns(self) -> list[str]:
        return [name for name in self.rows.column_names if name != TIME_COLUMN]

    def keys(self) -> list[int]:
        keys: list[int] = pc.cast(self.rows[self.key], pa.int64()).to_pylist()
        return keys

    def max_key(self) -> int:
        if self.rows.num_rows == 0:
            return 0
        return int(pc.max(pc.cast(self.rows[self.key], pa.int64())).as_py())

    def take(self, indices: list[int]) -> list[TextRow]:
        rows: list[TextRow] = self.rows.take(pa.array(indices, pa.int64())).to_pylist()
        return rows

    def replace(self, new_rows: list[TextRow]) -> None:
        """Make `new_rows` (full rows incl. _effective_time) the latest versions of their keys."""
        if not new_rows:
            return
        replaced = pa.array({row[self.key] for row in new_rows}, pa.string())
        kept = self.rows.filter(pc.invert(pc.is_in(self.rows[self.key], value_set=replaced)))
        added = pa.Table.from_pylist(new_rows, schema=self.rows.schema)
        combined = pa.concat_tables([kept, added])
        # Sorted by key so that the next batch's random choices do not depend on update history.
        order = pc.sort_indices(pc.cast(combined[self.key], pa.int64()))
        self.rows = combined.take(order)


def _paths(workdir: Path, table: str) -> tuple[Path, Path]:
    folder = changes_dir(workdir)
    return folder / f"{table}_state.parquet", folder / f"{table}_state.json"


def load_state(workdir: Path, table: str, key: str) -> TableState:
    """The saved state, or a fresh one from `<workdir>/<table>.csv`."""
    data_path, meta_path = _paths(workdir, table)
    if data_path.is_file() and meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        extra: StateExtra = meta.get("extra", {})
        return TableState(
            table=table,
            key=key,
            rows=pq.read_table(data_path),
            batch=int(meta["batch"]),
            last_time=parse_time(meta["last_time"]),
            extra=extra.copy(),
        )
    source = Path(workdir) / f"{table}.csv"
    if not source.is_file():
        raise InputFileError(
            f"No {table} data to build change batches on: '{source}' does not exist.",
            hint="generate and land it first: lakehouse landing sample --tables " + table,
        )
    rows = read_csv_text(source)
    if key not in rows.column_names:
        raise InputFileError(f"'{source}' has no key column '{key}' (columns: {rows.column_names}).")
    times = pa.array([format_time(INITIAL_EFFECTIVE_TIME)] * rows.num_rows, pa.string())
    rows = rows.append_column(TIME_COLUMN, times)
    return TableState(table=table, key=key, rows=rows.take(pc.sort_indices(pc.cast(rows[key], pa.int64()))))


def save_state(workdir: Path, state: TableState) -> None:
    """Write data then counters, each atomically; the counters are what marks a batch as done."""
    data_path, meta_path = _paths(workdir, state.table)
    data_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = data_path.with_name(f".{data_path.name}.tmp")
    pq.write_table(state.rows, temporary)
    os.replace(temporary, data_path)
    meta = {"batch": state.batch, "last_time": format_time(state.last_time), "extra": state.extra}
    temporary = meta_path.with_name(f".{meta_path.name}.tmp")
    temporary.write_text(json.dumps(meta, indent=2, sort_keys=True))
    os.replace(temporary, meta_path)


def reset_state(workdir: Path, table: str) -> bool:
    """Forget the change history of `table` (state and batch files). Returns whether any existed."""
    folder = changes_dir(workdir)
    removed = False
    for path in [*_paths(workdir, table), *folder.glob(f"{table}_changes_[0-9]*.csv")]:
        if path.exists():
            path.unlink()
            removed = True
    return removed


def check_share(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"--{name.replace('_', '-')} must be a share between 0 and 1, got {value}.")
    return value


def check_count(name: str, value: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise ConfigError(f"--{name.replace('_', '-')} must be a whole number >= 0, got {value!r}.")
    return int(value)
