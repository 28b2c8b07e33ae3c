"""Read and write landing CSV as text, keeping NULL (`,,`) apart from the empty string (`,"",`).

Python's csv module reads both as '' and DuckDB's read_csv (all_varchar) reads both as NULL, so
neither can carry the landing contract. pyarrow's reader can (quoted_strings_can_be_null=False),
and the writer below decides the quoting itself.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from lakehouse.core.errors import InputFileError

_NEEDS_QUOTES = (",", '"', "\n", "\r")


def read_header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as handle:
        try:
            return next(csv.reader(handle))
        except StopIteration:
            raise InputFileError(f"'{path}' is empty: a landing CSV needs a header row.") from None


def read_csv_text(path: Path) -> pa.Table:
    """Every column as string; an unquoted empty field is NULL, a quoted one is ''."""
    header = read_header(path)
    try:
        return pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                null_values=[""],
            ),
        )
    except pa.ArrowInvalid as exc:
        raise InputFileError(f"Cannot parse '{path}' as CSV: {exc}") from exc


def format_field(value: str | None, always_quote: bool = False) -> str:
    if value is None:
        return ""
    if always_quote or value == "" or value != value.strip() or any(c in value for c in _NEEDS_QUOTES):
        return '"' + value.replace('"', '""') + '"'
    return value


def write_csv_text(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[str | None]],
    quote_columns: Iterable[str] = (),
) -> int:
    """Write rows (None = NULL) with a header, quoting like tpchgen-cli; returns the row count.

    `quote_columns` are always quoted (tpchgen-cli quotes free-text columns such as addresses and
    comments). The file appears under its name only when complete.
    """
    quoted = [name in set(quote_columns) for name in header]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    count = 0
    with open(temporary, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(format_field(name) for name in header) + "\n")
        for row in rows:
            if len(row) != len(header):
                raise ValueError(f"row has {len(row)} fields, header has {len(header)}: {row!r}")
            out.write(",".join(format_field(v, q) for v, q in zip(row, quoted)) + "\n")
            count += 1
    os.replace(temporary, path)
    return count
