"""Which landed names are data files, and how a data file is compressed: decided by its name alone.

Auto Loader (and Spark's file sources) skip names starting with '_' or '.' anywhere in the path, and
writers that cannot rename atomically use a temporary suffix until the file is whole. A file still
under such a name must never be ingested: once renamed it is a new file, and it would land twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

# Suffixes of files still being written (uploaders, Hadoop and Flink sinks, our own Storage.write_bytes
# writes `<name>.tmp-<hex>`) or of checksums beside data files.
TEMPORARY_SUFFIXES = (".tmp", ".crc", ".inprogress", ".partial")
# The codec of each compressed suffix; the file is decompressed before it is parsed.
COMPRESSION_SUFFIXES = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}


def is_landed_data_file(path: str) -> bool:
    """False for names a listing must skip: a hidden or underscore part anywhere in `path` (relative to
    the landing folder, or a bare name) and temporary suffixes, compared case-insensitively."""
    parts = [part for part in path.replace("\\", "/").split("/") if part]
    if not parts or any(part.startswith((".", "_")) for part in parts):
        return False
    name = parts[-1].lower()
    suffix = name[name.rfind("."):] if "." in name else ""
    return not (suffix in TEMPORARY_SUFFIXES or suffix.startswith(".tmp-"))


class _Listed(Protocol):
    @property
    def uri(self) -> str: ...


Listed = TypeVar("Listed", bound=_Listed)


def landed_data_files(listed: Iterable[Listed], folder_uri: str) -> list[Listed]:
    """`listed` (FileInfo from Storage.list_files(folder_uri), or Spark's LandedFile) without the names
    a listing must skip, judged on each path below `folder_uri` so the folders above it do not count."""
    prefix = folder_uri.rstrip("/") + "/"

    def below(uri: str) -> str:
        return uri[len(prefix):] if uri.startswith(prefix) else uri.rsplit("/", 1)[-1]

    return [file for file in listed if is_landed_data_file(below(file.uri))]


def skipped_name_reason(uri: str) -> str:
    return (f"{uri}: skipped, its name marks a file still being written or not data "
            f"(names starting with '.' or '_', suffixes {', '.join(TEMPORARY_SUFFIXES)})")


def compression_of(uri: str) -> str | None:
    """The codec named by the file's last suffix ('gzip', 'bz2', 'zstd'), or None for a plain file."""
    name = uri.rsplit("/", 1)[-1].lower()
    for suffix, codec in COMPRESSION_SUFFIXES.items():
        if name.endswith(suffix):
            return codec
    return None
