"""Read one landed JSON lines file as text columns plus lineage, for batch engines (Arrow tables).

The columns are the top-level fields of the file's objects in first-seen order; each value is text
(sources/json/lines). A malformed line keeps its text in MALFORMED_RECORD (it goes to
_rescued_data._corrupt_record) and NULL in every column; source_row is the line number. A file in
which no line is a JSON object is not JSON lines (a CSV, a pretty-printed document, a binary file)
and is quarantined rather than loaded as a file of malformed rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from lakehouse.core.errors import InputFileError
from lakehouse.core.storage import FileInfo, Storage
from lakehouse.sources.base import MALFORMED_RECORD, read_unchanged
from lakehouse.sources.csv.arrow_reader import RawFile
from lakehouse.sources.json.lines import json_lines
from lakehouse.sources.landed_text import as_utf8, decompressed
from lakehouse.spec.model import SOURCE_FILE_MODIFIED, SOURCE_FILENAME, SOURCE_ROW

NOT_JSON_LINES_HINT = ("write one JSON object per line (JSON lines), not a pretty-printed document or an array, "
                       "and land the file again under the same name (or delete it); the next run picks it up")


def not_json_lines(uri: str, first_line: str) -> InputFileError:
    return InputFileError(f"{uri}: no line is a JSON object, so this is not a JSON lines file "
                          f"(its first line starts {first_line[:60]!r}).", hint=NOT_JSON_LINES_HINT)


def with_lineage(columns: dict[str, pa.Array], info: FileInfo, rows: pa.Array, corrupt: pa.Array) -> pa.Table:
    """Text `columns` plus the lineage columns and MALFORMED_RECORD, as every Arrow reader hands them over."""
    count = len(rows)
    filename = pa.DictionaryArray.from_arrays(pa.repeat(pa.scalar(0, pa.int32()), count),
                                              pa.array([info.uri], pa.string()))
    return pa.table({
        **columns,
        SOURCE_FILENAME: filename,
        SOURCE_FILE_MODIFIED: pa.repeat(pa.scalar(info.modified, pa.timestamp("us", tz="UTC")), count),
        SOURCE_ROW: rows,
        MALFORMED_RECORD: corrupt,
    })


def read_json_lines(info: FileInfo, data: bytes) -> RawFile | None:
    """Parse `data` (the stored bytes of `info`: maybe compressed, maybe with a byte-order mark).
    Returns None for a file without a non-blank line."""
    landed = as_utf8(info.uri, decompressed(info.uri, data))
    text = landed.data.decode("utf-8", errors="replace")  # as Spark decodes: U+FFFD for bytes that are not UTF-8
    lines = list(json_lines(text))
    if not lines:
        return None
    header: list[str] = []
    seen: set[str] = set()
    for line in lines:
        for name in line.fields or ():
            if name not in seen:
                seen.add(name)
                header.append(name)
    malformed = [line for line in lines if line.fields is None]
    if len(malformed) == len(lines):
        raise not_json_lines(info.uri, lines[0].text)
    columns = {name: pa.array([None if line.fields is None else line.fields.get(name) for line in lines],
                              pa.string()) for name in header}
    rows = with_lineage(columns, info, pa.array([line.number for line in lines], pa.int64()),
                        pa.array([line.text if line.fields is None else None for line in lines], pa.string()))
    notes = [note for note in (landed.note,) if note]
    if "\ufffd" in text:
        notes.append("bytes that are not UTF-8 read as U+FFFD")
    if malformed:
        notes.append(f"{len(malformed)} malformed line(s) (not a JSON object) kept in _rescued_data, lines "
                     + ", ".join(str(line.number) for line in malformed[:5]) + (" ..." if len(malformed) > 5 else ""))
    return RawFile(info=info, header=header, rows=rows, malformed=len(malformed), notes=notes)


class ArrowJsonReader:
    """sources.base.LandingReader for JSON lines into Arrow tables, for batch engines (FileInfo as planned)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def open(self, file: FileInfo) -> RawFile | None:
        return read_json_lines(file, read_unchanged(self.storage, file))

    def combine(self, parts: Sequence[pa.Table]) -> pa.Table:
        # Promoted: in rescue mode files bring different extra columns; a file without one gets NULLs.
        return pa.concat_tables(parts, promote_options="default")
