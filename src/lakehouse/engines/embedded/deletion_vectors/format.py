"""The deletion-vector bytes: Z85 descriptors, the portable Roaring bitmap array and the DV file.

Section names are those of PROTOCOL.md in the Delta Lake repository (delta-io/delta).
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lakehouse.core.errors import LakehouseError
from lakehouse.core.optional import require

# "Deletion Vector Format": the magic number of the portable RoaringBitmapArray serialization.
PORTABLE_MAGIC = 1681511377
# "Deletion Vector File Storage Format": version byte of the on-disk file.
FILE_FORMAT_VERSION = 1
# "Deletion Vector Descriptor Schema": a 'u' path ends in the Z85 encoding of a 16-byte UUID.
_ENCODED_UUID_LENGTH = 20
_Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
_Z85_INDEX = {char: position for position, char in enumerate(_Z85)}


class DeletionVectorError(LakehouseError):
    """A deletion vector cannot be read or written, or the table does not fit the prototype."""


class CommitConflictError(DeletionVectorError):
    """Another writer committed the version this commit was about to write."""



def z85_encode(data: bytes) -> str:
    """Z85 (ZeroMQ RFC 32), the Base85 variant the descriptor uses because it is JSON-friendly."""
    if len(data) % 4:
        raise DeletionVectorError(f"Z85 encodes whole 4-byte words; got {len(data)} bytes",
                                  hint="pad the data to a multiple of 4 bytes")
    # Each big-endian 32-bit word becomes five base-85 digits, most significant first.
    return "".join(_Z85[word // 85**power % 85] for (word,) in struct.iter_unpack(">I", data)
                   for power in range(4, -1, -1))


def z85_decode(text: str) -> bytes:
    if len(text) % 5:
        raise DeletionVectorError(f"Z85 text has {len(text)} characters, not a multiple of 5: {text!r}",
                                  hint="the descriptor's pathOrInlineDv is damaged")
    try:
        words = [sum(_Z85_INDEX[char] * 85**(4 - place) for place, char in enumerate(text[start:start + 5]))
                 for start in range(0, len(text), 5)]
    except KeyError as exc:
        raise DeletionVectorError(f"{exc.args[0]!r} is not a Z85 character in {text!r}",
                                  hint="the descriptor's pathOrInlineDv is damaged") from exc
    return struct.pack(f">{len(words)}I", *words)


def serialize_row_indexes(row_indexes: Iterable[int]) -> bytes:
    """"Deletion Vector Format": magic (LE int32), then the 64-bit portable Roaring format: bucket
    count (LE int64), and per bucket in ascending key order its key (LE int32, top bit 0) and a
    standard 32-bit Roaring bitmap (pyroaring's serialize writes the portable 32-bit format)."""
    pyroaring = require("pyroaring")
    buckets: dict[int, list[int]] = {}
    for index in row_indexes:
        if index < 0 or index >> 63:
            raise DeletionVectorError(f"row index {index} is outside 0..2**63-1",
                                      hint="row indexes are positions in a parquet file, counted from 0")
        buckets.setdefault(index >> 32, []).append(index & 0xFFFFFFFF)
    parts = [struct.pack("<iq", PORTABLE_MAGIC, len(buckets))]
    for key in sorted(buckets):
        bitmap = pyroaring.BitMap(buckets[key])
        bitmap.run_optimize()
        parts.append(struct.pack("<i", key) + bitmap.serialize())
    return b"".join(parts)


def deserialize_row_indexes(data: bytes) -> list[int]:
    pyroaring = require("pyroaring")
    if len(data) < 12:
        raise DeletionVectorError(f"a deletion vector needs at least 12 bytes, got {len(data)}",
                                  hint="the DV file or inline descriptor is truncated")
    magic, bucket_count = struct.unpack_from("<iq", data)
    if magic != PORTABLE_MAGIC:
        raise DeletionVectorError(f"deletion vector magic number {magic}, expected {PORTABLE_MAGIC}",
                                  hint="only the portable RoaringBitmapArray format is supported")
    position, indexes = 12, list[int]()
    for _ in range(bucket_count):
        (key,) = struct.unpack_from("<i", data, position)
        bitmap = pyroaring.BitMap.deserialize(data[position + 4:])
        # Re-serializing gives the bucket's byte length: deserialize does not report what it consumed.
        position += 4 + len(bitmap.serialize())
        indexes.extend((key << 32) | low for low in bitmap)
    return indexes


def write_dv_file(table_dir: Path, vectors: Sequence[bytes]) -> tuple[str, list[int]]:
    """"Deletion Vector File Storage Format" (big endian): version byte, then per DV its size, its
    bytes and their CRC-32. Returns the 'u' descriptor path (no random prefix) and each DV's offset,
    which points at its size field as delta-spark's DeletionVectorStore writes it."""
    file_id = uuid.uuid4()
    offsets, chunks, position = [], [bytes([FILE_FORMAT_VERSION])], 1
    for data in vectors:
        offsets.append(position)
        chunks.append(struct.pack(">i", len(data)) + data + struct.pack(">I", zlib.crc32(data)))
        position += 8 + len(data)
    (table_dir / f"deletion_vector_{file_id}.bin").write_bytes(b"".join(chunks))
    return z85_encode(file_id.bytes), offsets


def dv_file_path(table_dir: Path, descriptor: dict[str, Any]) -> Path:
    """"Derived Fields", absolutePath: `<table>/<random prefix>/deletion_vector_<uuid>.bin`."""
    if descriptor["storageType"] == "p":
        return Path(str(descriptor["pathOrInlineDv"]).removeprefix("file://"))
    encoded = str(descriptor["pathOrInlineDv"])
    prefix, file_id = encoded[:-_ENCODED_UUID_LENGTH], uuid.UUID(bytes=z85_decode(encoded[-_ENCODED_UUID_LENGTH:]))
    return table_dir / prefix / f"deletion_vector_{file_id}.bin"


def read_deletion_vector(table_dir: Path, descriptor: dict[str, Any]) -> list[int]:
    """Row indexes a descriptor marks deleted; checks the stored size and checksum."""
    size = int(descriptor["sizeInBytes"])
    if descriptor["storageType"] == "i":
        # Inline DVs are padded to whole Z85 words; sizeInBytes is the true length.
        return deserialize_row_indexes(z85_decode(descriptor["pathOrInlineDv"])[:size])
    path = dv_file_path(table_dir, descriptor)
    offset = int(descriptor.get("offset") or 0)
    with path.open("rb") as handle:
        handle.seek(offset)
        (stored_size,) = struct.unpack(">i", handle.read(4))
        data = handle.read(size)
        (checksum,) = struct.unpack(">I", handle.read(4))
    if stored_size != size or zlib.crc32(data) != checksum:
        raise DeletionVectorError(f"{path} at offset {offset}: size {stored_size} (descriptor says {size}) or "
                                  "CRC-32 does not match", hint="the DV file is damaged or was overwritten")
    return deserialize_row_indexes(data)
