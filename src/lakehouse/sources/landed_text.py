"""A landed file's bytes as the UTF-8 text a CSV parser reads: decompressed, decoded, its format checked.

Decisions, as Spark's and DuckDB's CSV readers make them:
- compression comes from the name's suffix (sources/file_names.compression_of); a file whose bytes
  are not valid for its codec is quarantined, never read as text;
- the encoding comes from a byte-order mark: UTF-8 (stripped), UTF-16 or UTF-32 (decoded to UTF-8).
  Without a mark the text is UTF-8, and bytes that are not are kept per row by the reader. No
  statistical guessing (charset-normalizer and the like): a wrong guess loads mojibake silently,
  while a mark is unambiguous and is what Excel and PowerShell write with their UTF-16 exports;
- NUL bytes without a mark mean UTF-16/32 without a mark or a binary file: quarantined;
- a file of another format (JSON, Parquet, a ZIP or XLSX workbook, XML, compressed data under a
  plain name) is quarantined with what it seems to be, instead of being parsed into garbage columns.
Line endings (LF, CRLF, CR) need no conversion: the parsers accept all three.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import pyarrow as pa

from lakehouse.core.errors import InputFileError
from lakehouse.sources.file_names import compression_of

_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32LE"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32BE"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16BE"),
)
_MAGIC = {"gzip": b"\x1f\x8b", "bz2": b"BZh", "zstd": b"\x28\xb5\x2f\xfd"}
# What a file's first characters say it is, when it is not CSV text (checked on the start of the
# file read as Latin-1, one character per byte, or on Spark's UTF-8 text of its first line, where
# bytes that are not UTF-8 show as U+FFFD).
_OTHER_FORMATS = (
    (re.compile(r"PAR1"), "a Parquet file"),
    (re.compile(r"PK\x03\x04"), "a ZIP archive (an .xlsx workbook is one)"),
    (re.compile(r"\x1f(\x8b|\ufffd)"), "gzip-compressed data under a name without .gz"),
    (re.compile(r"BZh[1-9]1AY&SY"), "bzip2-compressed data under a name without .bz2"),
    (re.compile(r"\((\xb5|\ufffd)/(\xfd|\ufffd)"), "zstd-compressed data under a name without .zst"),
    (re.compile(r"\s*(\{|\[\s*[\[{\"\d\]-])"), "JSON (or JSON lines)"),
    (re.compile(r"\s*<[?!a-zA-Z]"), "XML or HTML"),
)
_REEXPORT = "re-export it as CSV (UTF-8) and land it again under the same name (or delete it); the next run picks it up"


@dataclass(frozen=True)
class LandedText:
    """A file's content as UTF-8 bytes (no byte-order mark) and the encoding it was landed in."""

    data: bytes
    encoding: str = "UTF-8"

    @property
    def note(self) -> str | None:
        return None if self.encoding == "UTF-8" else f"decoded from {self.encoding} (byte-order mark)"


def decompressed(uri: str, data: bytes) -> bytes:
    """`data` decompressed by its name's codec. Storage may have decompressed it already (pyarrow's
    streams detect the suffix): a file that no longer starts with the codec's magic bytes is taken as is."""
    codec = compression_of(uri)
    if codec is None or not data.startswith(_MAGIC[codec]):
        return data
    try:
        with pa.CompressedInputStream(pa.BufferReader(data), codec) as stream:
            result: bytes = stream.read()
        return result
    except (OSError, pa.ArrowException) as exc:
        raise corrupt_compressed(uri, codec, exc) from exc


def corrupt_compressed(uri: str, codec: str, exc: BaseException | str) -> InputFileError:
    return InputFileError(
        f"{uri}: cannot be decompressed as {codec} (its name ends in a {codec} suffix): {exc}",
        hint="land the whole file again under the same name (a truncated upload fails this way), "
             "or remove the suffix if it is not compressed",
    )


def is_codec_error(exc: OSError) -> bool:
    """Whether an OSError from reading a compressed file is its content's fault, not the storage's."""
    text = str(exc).lower()
    return any(word in text for word in ("compress", "inflate", "zlib", "zstd", "bz2", "gzip", "truncated"))


def as_utf8(uri: str, data: bytes) -> LandedText:
    """The text of `data` as UTF-8 bytes, by its byte-order mark (see the module docstring)."""
    for bom, codec, label in _BOMS:
        if not data.startswith(bom):
            continue
        if codec == "utf-8":
            return LandedText(data[len(bom):])
        try:
            return LandedText(data[len(bom):].decode(codec).encode("utf-8"), label)
        except UnicodeDecodeError as exc:
            raise InputFileError(
                f"{uri}: starts with a {label} byte-order mark, but byte {exc.start + len(bom)} is not valid "
                f"{label} ({exc.reason}).",
                hint="the export was cut or mixes encodings: " + _REEXPORT,
            ) from exc
    return LandedText(data)


def check_is_text(uri: str, head: str) -> None:
    """Quarantine a file whose start (`head`: at least its first line) is not CSV text."""
    for pattern, what in _OTHER_FORMATS:
        if pattern.match(head):
            raise InputFileError(f"{uri}: this is not a CSV file, it seems to be {what}.", hint=_REEXPORT)
    first_line = re.split(r"[\r\n]", head, maxsplit=1)[0]
    if "\x00" in first_line:
        raise InputFileError(
            f"{uri}: the first line holds NUL bytes: the file is UTF-16 or UTF-32 without a byte-order mark, "
            "or not text at all.",
            hint="re-export it as UTF-8 (or as UTF-16 with a byte-order mark) and land it again under the same name",
        )


def charset_of_marked(first_line: str) -> str | None:
    """The Java charset of a file whose first line, read as UTF-8, starts with a UTF-16 or UTF-32
    byte-order mark (Java's decoder makes each of its bytes U+FFFD; the text then holds NULs)."""
    if first_line.startswith(("\ufffd\ufffd\x00\x00", "\x00\x00\ufffd\ufffd")):
        return "UTF-32"
    if first_line.startswith("\ufffd\ufffd") and "\x00" in first_line[:8]:
        return "UTF-16"
    return None


def landed_text(uri: str, data: bytes) -> LandedText:
    """Decompress, decode and check the format of one landed file's bytes (the Arrow reader's path)."""
    text = as_utf8(uri, decompressed(uri, data))
    check_is_text(uri, text.data[:4096].decode("latin-1"))
    return text
