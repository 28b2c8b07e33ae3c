"""Split one CSV into N files that each keep the header, streaming (lineitem never sits in memory).

Bytes are copied as they are, so quoting survives untouched: `,,` (NULL) and `,"",` (empty string)
reach the landing zone exactly as written. Cuts happen only between records: a line whose quotes
are unbalanced continues the record on the next line (a quoted field holding a newline).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from lakehouse.errors import ConfigError, InputFileError

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
    if isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 1:
        raise ConfigError(f"The number of chunks must be a whole number of at least 1, got {chunks!r}.")
    if not path.is_file():
        raise InputFileError(f"Cannot chunk '{path}': no such file.", hint="generate it first: lakehouse landing generate")
    prefix = prefix or path.stem
    records = count_lines(path)
    chunks = max(1, min(chunks, records))
    # The first `extra` chunks take one more record, so sizes differ by at most one.
    base, extra = divmod(records, chunks)
    targets = [base + (1 if i < extra else 0) for i in range(chunks)]

    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(f"{prefix}_[0-9][0-9][0-9][0-9].csv"):
        stale.unlink()

    written: list[Path] = []
    with open(path, "rb") as source:
        header = source.readline()
        if not header.strip():
            raise InputFileError(f"'{path}' is empty: a landing CSV needs a header row.")
        if not header.endswith(b"\n"):
            header += b"\n"
        report_every = max(1, math.ceil(chunks / 20))
        line_iter = iter(source)
        for index, target in enumerate(targets, start=1):
            out_path = out_dir / chunk_name(prefix, index)
            is_last = index == len(targets)
            with open(out_path, "wb") as out:
                out.write(header)
                _copy_records(line_iter, out, None if is_last else target, path)
            written.append(out_path)
            if progress and (index % report_every == 0 or is_last):
                progress(f"chunked {path.name}: {index}/{len(targets)} files")
    return written


def _copy_records(lines, out, limit: int | None, source: Path) -> None:
    """Copy `limit` records (all remaining when None) from `lines` to `out`."""
    copied = 0
    open_quote = False
    for line in lines:
        out.write(line)
        # An odd count of quote characters flips whether we are inside a quoted field;
        # an escaped quote ("") counts twice and so changes nothing.
        if line.count(b'"') % 2:
            open_quote = not open_quote
        if open_quote:
            continue
        copied += 1
        if limit is not None and copied >= limit:
            return
    if open_quote:
        raise InputFileError(
            f"'{source}' ends inside a quoted field (unbalanced '\"').",
            hint="the file is truncated or not RFC 4180 CSV; regenerate it",
        )
    # Running out early is fine: with quoted newlines there are fewer records than lines counted,
    # so the last chunks come out shorter.
