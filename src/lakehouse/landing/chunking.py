"""Split one CSV into N files that each keep the header, streaming (lineitem never sits in memory).

Bytes are copied as they are, so quoting survives untouched: `,,` (NULL) and `,"",` (empty string)
reach the landing zone exactly as written. Cuts happen only between records: a line whose quotes
are unbalanced continues the record on the next line (a quoted field holding a newline).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from lakehouse.core.errors import ConfigError, InputFileError

_BLOCK = 16 * 1024 * 1024


def count_lines(path: Path) -> int:
    """Newlines after the header (an upper bound on records), counted in blocks: fast on GBs."""
    total = 0
    last = b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            total += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        total += 1  # the last record has no trailing newline
    return max(total - 1, 0)


def chunk_name(prefix: str, index: int) -> str:
    return f"{prefix}_{index:04d}.csv"


def chunk_csv(
    path: Path,
    chunks: int,
    out_dir: Path,
    prefix: str | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write `<out_dir>/<prefix>_0001.csv` ... with the rows of `path` split evenly; returns them.

    `prefix` defaults to the file's stem (`customer.csv` -> `customer_0001.csv`). Chunk sizes
    differ by at most one record. With fewer records than `chunks`, one file per record is written
    (no header-only files); an empty table gives one header-only file. Older chunk files with the
    same prefix in `out_dir` are removed first, so the result is exactly the returned list.
    """
    path = Path(path)
    out_dir = Path(out_dir)
    _check_chunk_input(path, chunks)
    prefix = prefix or path.stem
    targets = _chunk_sizes(count_lines(path), chunks)
    _remove_chunks(out_dir, prefix)

    written: list[Path] = []
    with open(path, "rb") as source:
        header = _header_line(source, path)
        report_every = max(1, math.ceil(len(targets) / 20))
        records = _RecordStream(_record_units(source, path))
        for index, target in enumerate(targets, start=1):
            out_path = out_dir / chunk_name(prefix, index)
            is_last = index == len(targets)
            with open(out_path, "wb") as out:
                out.write(header)
                records.copy_to(out, None if is_last else target)  # the last chunk takes whatever is left
            written.append(out_path)
            if progress and (index % report_every == 0 or is_last):
                progress(f"[{index}/{len(targets)}] chunked {path.name}")
    return written


def _check_chunk_input(path: Path, chunks: int) -> None:
    if isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 1:
        raise ConfigError(f"The number of chunks must be a whole number of at least 1, got {chunks!r}.")
    if not path.is_file():
        raise InputFileError(f"Cannot chunk '{path}': no such file.", hint="generate it first: lakehouse landing generate")


def _chunk_sizes(records: int, chunks: int) -> list[int]:
    """Records per chunk: never more chunks than records (but at least one chunk)."""
    chunks = max(1, min(chunks, records))
    # The first `extra` chunks take one more record, so sizes differ by at most one.
    base, extra = divmod(records, chunks)
    return [base + (1 if i < extra else 0) for i in range(chunks)]


def _remove_chunks(out_dir: Path, prefix: str) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(f"{prefix}_[0-9][0-9][0-9][0-9].csv"):
        stale.unlink()


def _header_line(source: BinaryIO, path: Path) -> bytes:
    header = source.readline()
    if not header.strip():
        raise InputFileError(f"'{path}' is empty: a landing CSV needs a header row.")
    return header if header.endswith(b"\n") else header + b"\n"


class _RecordStream:
    """The records of a CSV body, handed out in runs of whole records across chunk files."""

    def __init__(self, units: Iterator[tuple[bytes, int]]) -> None:
        self._units = units
        # The rest of a piece that was cut at a chunk's end: the next chunk starts with it.
        self._pending: tuple[bytes, int] | None = None

    def copy_to(self, out: BinaryIO, records: int | None) -> None:
        """Write the next `records` records to `out`; None writes all that are left."""
        remaining = records
        while remaining is None or remaining > 0:
            unit = self._pending or next(self._units, None)
            self._pending = None
            if unit is None:
                break
            data, count = unit
            if remaining is None or count <= remaining:
                out.write(data)
                remaining = None if remaining is None else remaining - count
            else:
                cut = _end_of_line(data, remaining)
                out.write(data[:cut])
                self._pending = (data[cut:], count - remaining)
                remaining = 0


# Every byte except the quote and the newline: deleting these leaves each line's quotes.
_NOT_QUOTE_OR_NEWLINE = bytes(b for b in range(256) if b not in b'"\n')


def _has_open_quote_line(block: bytes) -> bool:
    """Whether some line of `block` has an odd number of quotes (a quoted field spans lines).

    Runs at C speed: strip all but quotes and newlines, drop quote pairs (they cannot pair
    across a newline, which sits between them), and look for a quote left over.
    """
    return b'"' in block.translate(None, _NOT_QUOTE_OR_NEWLINE).replace(b'""', b"")


def _record_units(source: BinaryIO, path: Path) -> Iterator[tuple[bytes, int]]:
    """Yield (bytes, record count) pieces of `source`, each ending at a record boundary.

    Fast path: a block of whole lines with no line-spanning quoted field is one piece. Otherwise
    the block is walked line by line and each record is its own piece.
    """
    while block := source.read(_BLOCK):
        if not block.endswith(b"\n"):
            block += source.readline()  # whole lines only
        if not _has_open_quote_line(block):
            yield block, block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
            continue
        lines = io.BytesIO(block)
        record, open_quote = b"", False
        while True:
            line = lines.readline() or (source.readline() if open_quote else b"")
            if not line:
                break
            record += line
            # An odd count of quotes flips whether we are inside a quoted field;
            # an escaped quote ("") counts twice and so changes nothing.
            if line.count(b'"') % 2:
                open_quote = not open_quote
            if not open_quote:
                yield record, 1
                record = b""
        if open_quote:
            raise InputFileError(
                f"'{path}' ends inside a quoted field (unbalanced '\"').",
                hint="the file is truncated or not RFC 4180 CSV; regenerate it",
            )


def _end_of_line(data: bytes, lines: int) -> int:
    """Offset just after the `lines`-th newline of `data`."""
    position = -1
    for _ in range(lines):
        position = data.index(b"\n", position + 1)
    return position + 1
