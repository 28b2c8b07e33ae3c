"""Read one landed CSV file as text columns plus lineage, without losing a single record.

Every value stays text here; typing and rescue happen in the ingest SQL, the same for all engines.
Records with the wrong number of fields and values that are not UTF-8 are kept as malformed
records (their text goes to _rescued_data._corrupt_record) with their line number.
A clean file is parsed multi-threaded; a file with such a record is read again by the exact,
single-threaded path, so the result is the same either way.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from lakehouse.core.errors import InputFileError
from lakehouse.core.storage import FileInfo, Storage
from lakehouse.sources.base import MALFORMED_RECORD, SCHEMA_SAMPLE_ROWS, read_unchanged
from lakehouse.sources.headers import trimmed
from lakehouse.sources.landed_text import landed_text
from lakehouse.sources.schema import check_header
from lakehouse.spec.model import SOURCE_FILE_MODIFIED, SOURCE_FILENAME, SOURCE_ROW

DELIMITER_CANDIDATES = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "',' (comma)", ";": "';' (semicolon)", "\t": "a tab", "|": "'|' (pipe)"}


@dataclass
class RawFile:
    """A file's header and its rows as text, with lineage columns appended."""

    info: FileInfo
    header: list[str]
    rows: pa.Table
    malformed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return self.info.uri

    def sample_rows(self) -> list[list[str | None]]:
        """The first rows, malformed ones included (their values NULL), as lists in header order."""
        sample = self.rows.slice(0, SCHEMA_SAMPLE_ROWS)
        columns = [sample.column(name).to_pylist() for name in self.header]
        return [list(values) for values in zip(*columns, strict=True)] if columns else []

    def raw_rows(self, schema_names: Sequence[str], extra_columns: Sequence[str]) -> pa.Table:
        return conform(self, schema_names, extra_columns)


class ArrowCsvReader:
    """sources.base.LandingReader for CSV into Arrow tables, for batch engines (FileInfo as planned)."""

    def __init__(self, storage: Storage, delimiter: str = ",") -> None:
        self.storage = storage
        self.delimiter = delimiter

    def open(self, file: FileInfo) -> RawFile | None:
        return read_csv_text(file, read_unchanged(self.storage, file), self.delimiter)

    def combine(self, parts: Sequence[pa.Table]) -> pa.Table:
        # Promoted: in rescue mode files bring different extra columns; a file without one gets NULLs.
        return pa.concat_tables(parts, promote_options="default")


def read_header(data: bytes, delimiter: str) -> list[str]:
    """The first line's fields. It ends at LF, CRLF or a lone CR: a CR-only file is one line to a
    reader that splits at LF, and csv.reader refuses a CR inside an unquoted field."""
    # Sliced rather than split: split would copy the whole (possibly GB-sized) rest of the file.
    ends = [index for index in (data.find(b"\n"), data.find(b"\r")) if index >= 0]
    first_line = data[: min(ends)] if ends else data
    text = first_line.decode("utf-8", errors="backslashreplace")
    try:
        return next(iter(csv.reader([text], delimiter=delimiter)), [])
    except csv.Error as exc:
        raise InputFileError(f"cannot read the header line as CSV: {exc}",
                             hint="fix the header line and land the file again under the same name") from exc


def read_csv_text(info: FileInfo, data: bytes, delimiter: str = ",") -> RawFile | None:
    """Parse `data` (the bytes of `info`, as stored: compressed, or in UTF-16 with a byte-order mark,
    see sources/landed_text). Returns None for an empty (0-byte or blank) file."""
    landed = landed_text(info.uri, data)
    data = landed.data
    if not data or data.isspace():  # isspace scans without copying, unlike strip
        return None
    try:
        parsed_header = read_header(data, delimiter)
    except InputFileError as exc:
        raise InputFileError(f"{info.uri}: {exc.message}", hint=exc.hint) from exc
    _check_delimiter(info, parsed_header, delimiter)
    header, trim_note = trimmed(parsed_header)
    check_header(header, info.uri)  # before parsing: a name used twice would break the columns
    notes = [note for note in (landed.note, trim_note) if note]
    # Parsed under the names as written, which is how the parser reads the header; named as trimmed.
    table = _parse_threaded(data, parsed_header, delimiter)
    if table is not None:
        columns: dict[str, pa.Array | pa.ChunkedArray] = {
            name: table.column(index) for index, name in enumerate(header)}
        malformed: list[tuple[int, str]] = []
        bad_rows: dict[int, str] = {}
    else:
        table, malformed = _parse_exact(info, data, parsed_header, delimiter)
        decoded, bad_rows = _decode_utf8(table, parsed_header)
        columns = {name: decoded[raw] for name, raw in zip(header, parsed_header)}
    if bad_rows:
        notes.append(f"{len(bad_rows)} row(s) with bytes that are not UTF-8 kept in _rescued_data")
    positions = _row_positions(table.num_rows, [number for number, _ in malformed])
    corrupt = pa.nulls(table.num_rows, pa.string())
    if bad_rows:
        texts: list[str | None] = [None] * table.num_rows
        for index, text in bad_rows.items():
            texts[index] = text
        corrupt = pa.array(texts, pa.string())
    rows = pa.table(columns if columns else {"__empty": pa.nulls(table.num_rows, pa.string())})
    rows = _with_lineage(rows, info, positions, corrupt)
    if malformed:
        notes.append(
            f"{len(malformed)} malformed row(s) (wrong number of fields, expected {len(header)}) "
            f"kept in _rescued_data, lines " + ", ".join(str(n) for n, _ in malformed[:5])
            + (" ..." if len(malformed) > 5 else "")
        )
        bad = pa.table({name: pa.nulls(len(malformed), pa.string()) for name in columns})
        bad = _with_lineage(bad, info, [n for n, _ in malformed], [t for _, t in malformed])
        rows = pa.concat_tables([rows, bad]).sort_by(SOURCE_ROW)
    if "__empty" in rows.column_names:
        rows = rows.drop(["__empty"])
    # The threaded parse gives one chunk per block, the lineage columns one chunk: re-slice (no copy)
    # so every column has the same chunks, which SQL engines scan as record batches.
    rows = pa.Table.from_batches(rows.to_batches(), schema=rows.schema)
    return RawFile(info=info, header=header, rows=rows, malformed=len(malformed) + len(bad_rows), notes=notes)


# Blocks of 4 MB give the parser threads work to share; a record longer than a block cannot be
# parsed this way and takes the exact path.
_THREADED_BLOCK_SIZE = 4 << 20


def _convert_options(column_type: pa.DataType, header: list[str]) -> pacsv.ConvertOptions:
    return pacsv.ConvertOptions(
        column_types={name: column_type for name in header},
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        null_values=[""],
    )


def _parse_threaded(data: bytes, header: list[str], delimiter: str) -> pa.Table | None:
    """The fast path for a clean file: a multi-threaded parse straight to UTF-8 text columns.

    Returns None when the file is not clean (a record with the wrong number of fields, bytes that
    are not UTF-8, anything else the parser refuses): the exact path then reads it again, single-
    threaded, because only there are the line numbers of malformed records reliable. For a clean
    file both paths give the same values, and rows are numbered from line 2 either way.
    """
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(use_threads=True, block_size=_THREADED_BLOCK_SIZE),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=_convert_options(pa.string(), header),
        )
    except pa.ArrowException:
        return None
    if table.column_names != header or any(column.type != pa.string() for column in table.columns):
        return None
    return table


def _parse_exact(
    info: FileInfo, data: bytes, header: list[str], delimiter: str
) -> tuple[pa.Table, list[tuple[int, str]]]:
    """Single-threaded parse to binary columns, keeping each malformed record with its line number."""
    malformed: list[tuple[int, str]] = []

    def keep_malformed(row: pacsv.InvalidRow) -> str:
        malformed.append((row.number, row.text))
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(use_threads=False, block_size=64 << 20),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, invalid_row_handler=keep_malformed, newlines_in_values=True
            ),
            convert_options=_convert_options(pa.binary(), header),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:  # the content's fault
        raise InputFileError(
            f"{info.uri}: cannot be parsed as CSV with delimiter {delimiter!r}: {exc}",
            hint="fix or remove the file in the landing zone, then run again; files already ingested are kept",
        ) from exc
    if table.column_names != header:  # a header line the parser splits otherwise (a quoted line break)
        raise InputFileError(
            f"{info.uri}: the parser reads the header as {table.column_names[:10]}, not {header[:10]}.",
            hint="write the header on one line, without quotes around line breaks, and land the file again",
        )
    return table, malformed


def _check_delimiter(info: FileInfo, header: list[str], delimiter: str) -> None:
    """A one-column header holding another usual delimiter means the file uses that delimiter.

    We do not sniff and re-read such a file: a wrong guess would load garbage. It is quarantined.
    """
    if len(header) != 1:
        return
    found = [c for c in DELIMITER_CANDIDATES if c != delimiter and c in header[0]]
    if found:
        shown, expected = _DELIMITER_NAMES[found[0]], _DELIMITER_NAMES.get(delimiter, repr(delimiter))
        raise InputFileError(
            f"{info.uri}: the header has a single column '{header[0][:80]}', which contains {shown}: the file "
            f"seems to use {shown} as its delimiter, but this source expects {expected}.",
            hint=f"re-export the file with {expected} as the delimiter and land it again under the same name "
                 "(or delete it); the next run picks it up",
        )


def _decode_utf8(table: pa.Table, header: list[str]) -> tuple[dict[str, pa.Array], dict[int, str]]:
    """Binary columns to UTF-8 text. A value that is not UTF-8 becomes NULL and its row is reported."""
    columns: dict[str, pa.Array] = {}
    bad_rows: dict[int, str] = {}
    for name in header:
        column = table.column(name).combine_chunks()
        try:
            columns[name] = column.cast(pa.string())
            continue
        except pa.ArrowInvalid:
            pass
        values = column.to_pylist()
        decoded: list[str | None] = []
        for index, value in enumerate(values):
            if value is None:
                decoded.append(None)
                continue
            try:
                decoded.append(value.decode("utf-8"))
            except UnicodeDecodeError:
                decoded.append(None)
                bad_rows[index] = ""
        columns[name] = pa.array(decoded, pa.string())
    for index in bad_rows:
        raw_values = [table.column(name)[index].as_py() for name in header]
        bad_rows[index] = ",".join(
            "" if v is None else v.decode("utf-8", errors="backslashreplace") for v in raw_values
        )
    return columns, bad_rows


def _row_positions(good_rows: int, malformed_lines: list[int]) -> pa.Array | list[int]:
    """Line numbers of the good rows, filling the gaps the malformed ones leave (header is line 1)."""
    if not malformed_lines:
        # Lines 2..n+1, built in C: the per-row Python loop below cost seconds per million rows.
        return pc.add(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), good_rows)), 1)
    taken = set(malformed_lines)
    positions: list[int] = []
    line = 2
    while len(positions) < good_rows:
        if line not in taken:
            positions.append(line)
        line += 1
    return positions


def _with_lineage(
    rows: pa.Table, info: FileInfo, positions: pa.Array | list[int], corrupt: pa.Array | list[str | None]
) -> pa.Table:
    count = rows.num_rows
    modified = pa.scalar(info.modified, pa.timestamp("us", tz="UTC"))
    # The file name is the same on every row: dictionary-encoded, it is one string and an index
    # per row instead of a million copies (~75 MB for a 1M-row file); SQL reads it as plain text.
    filename = pa.DictionaryArray.from_arrays(
        pa.repeat(pa.scalar(0, pa.int32()), count), pa.array([info.uri], pa.string())
    )
    # pa.repeat builds the constant columns in C; Python lists of a million scalars took seconds.
    return (
        rows.append_column(SOURCE_FILENAME, filename)
        .append_column(SOURCE_FILE_MODIFIED, pa.repeat(modified, count))
        .append_column(SOURCE_ROW, positions if isinstance(positions, pa.Array) else pa.array(positions, pa.int64()))
        .append_column(MALFORMED_RECORD, corrupt if isinstance(corrupt, pa.Array) else pa.array(corrupt, pa.string()))
    )


def conform(raw: RawFile, schema_names: Sequence[str], extra_columns: Sequence[str] = ()) -> pa.Table:
    """Line `raw` up with the stored schema: missing columns NULL, `extra_columns` kept only to rescue them."""
    rows = raw.rows
    count = rows.num_rows
    columns = {}
    for name in schema_names:
        columns[name] = rows.column(name) if name in raw.header else pa.nulls(count, pa.string())
    for name in extra_columns:
        columns[name] = rows.column(name)
    for name in (SOURCE_FILENAME, SOURCE_FILE_MODIFIED, SOURCE_ROW, MALFORMED_RECORD):
        columns[name] = rows.column(name)
    return pa.table(columns)
