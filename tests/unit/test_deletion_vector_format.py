"""The merge-on-read prototype's DV format against PROTOCOL.md's examples, and its commits read back by
delta-rs (its DataFusion scan) and Polars."""

from __future__ import annotations

import struct
import uuid
import zlib
from pathlib import Path

import polars
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from lakehouse.engines.embedded import deletion_vectors as dv
from tests.delta_readers import names_by_id

# PROTOCOL.md, "JSON Example 3 — Inline": row indexes 3, 4, 7, 11, 18, 29.
PROTOCOL_INLINE_EXAMPLE = "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L"


def test_bucket_bytes_match_the_protocol_example():
    ours = dv.serialize_row_indexes([29, 3, 4, 7, 11, 18])
    magic, buckets, key = struct.unpack_from("<iqi", ours)
    assert (magic, buckets, key) == (dv.PORTABLE_MAGIC, 1, 0)
    # The example's header is the older big-endian "native" layout (magic 1681511376); its 32-bit
    # Roaring bucket is the standard format and must equal ours byte for byte.
    example = dv.z85_decode(PROTOCOL_INLINE_EXAMPLE)
    assert struct.unpack(">i", example[:4]) == (dv.PORTABLE_MAGIC - 1,)
    assert ours[16:] == example[-len(ours[16:]):]


def test_round_trip_across_32_bit_buckets():
    indexes = [0, 5, 2**32 - 1, 2**32, 2**32 + 7, 3 * 2**32 + 1]
    data = dv.serialize_row_indexes(indexes)
    assert struct.unpack_from("<q", data, 4) == (3,)
    assert dv.deserialize_row_indexes(data) == indexes
    with pytest.raises(dv.DeletionVectorError, match="outside"):
        dv.serialize_row_indexes([-1])


def test_z85_uuid_path_matches_the_protocol_example():
    # PROTOCOL.md, "JSON Example 1": prefix "ab" and a Z85-encoded UUID.
    descriptor = {"storageType": "u", "pathOrInlineDv": "ab^-aqEH.-t@S}K{vb[*k^"}
    expected = Path("/t/ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin")
    assert dv.dv_file_path(Path("/t"), descriptor) == expected
    assert dv.z85_encode(uuid.UUID("d2c639aa-8816-431a-aaf6-d3fe2512ff61").bytes) == "^-aqEH.-t@S}K{vb[*k^"


def test_dv_file_layout_and_checksum(tmp_path):
    vectors = [dv.serialize_row_indexes([1, 2]), dv.serialize_row_indexes([9])]
    encoded, offsets = dv.write_dv_file(tmp_path, vectors)
    raw = dv.dv_file_path(tmp_path, {"storageType": "u", "pathOrInlineDv": encoded}).read_bytes()
    assert raw[0] == dv.FILE_FORMAT_VERSION and offsets == [1, 1 + 8 + len(vectors[0])]
    assert struct.unpack_from(">I", raw, 1 + 4 + len(vectors[0])) == (zlib.crc32(vectors[0]),)
    second = {"storageType": "u", "pathOrInlineDv": encoded, "offset": offsets[1],
              "sizeInBytes": len(vectors[1]), "cardinality": 1}
    assert dv.read_deletion_vector(tmp_path, second) == [9]
    with pytest.raises(dv.DeletionVectorError, match="CRC-32"):
        dv.read_deletion_vector(tmp_path, {**second, "sizeInBytes": len(vectors[1]) - 1})


def _three_file_table(path: Path) -> str:
    for part in range(3):
        ids = list(range(part * 10, part * 10 + 10))
        write_deltalake(str(path), pa.table({"id": pa.array(ids, pa.int64()), "name": [f"n{i}" for i in ids]}),
                        mode="append")
    return str(path)


def test_upsert_keeps_files_and_delta_rs_and_polars_read_the_result(tmp_path):
    uri = _three_file_table(tmp_path / "t")
    before = {add["path"] for add in dv.active_files(Path(uri)).values()}
    updates = pa.table({"id": pa.array([1, 15, 99], pa.int64()), "name": ["u1", "u15", "new99"]})
    result = dv.upsert_with_deletion_vectors(uri, updates, ["id"], app_id="pipeline", app_version=4)
    assert (result.files_touched, result.rows_deleted, result.rows_added) == (2, 2, 3)
    expected = {i: f"n{i}" for i in range(30)} | {1: "u1", 15: "u15", 99: "new99"}
    assert names_by_id(uri) == expected
    table = DeltaTable(uri)
    assert table.transaction_version("pipeline") == 4
    assert "deletionVectors" in table.protocol().reader_features
    assert table.metadata().configuration["delta.enableDeletionVectors"] == "true"
    after = dv.active_files(Path(uri))
    assert before <= set(after), "touched files are kept, not rewritten"
    # A second batch on a file that already has a DV unites the old and new deleted rows.
    dv.upsert_with_deletion_vectors(uri, pa.table({"id": pa.array([2], pa.int64()), "name": ["u2"]}), ["id"])
    assert names_by_id(uri) == expected | {2: "u2"}
    frame = polars.read_delta(uri)
    assert dict(zip(frame["id"].to_list(), frame["name"].to_list(), strict=True)) == expected | {2: "u2"}


def test_commit_fails_when_the_version_exists(tmp_path):
    uri = _three_file_table(tmp_path / "t")
    log = Path(uri) / "_delta_log"
    with pytest.raises(dv.CommitConflictError, match="00000000000000000002.json already exists"):
        dv.commit_actions(Path(uri), 1, [{"commitInfo": {"operation": "MERGE"}}])
    assert sorted(p.name for p in log.iterdir() if p.name.startswith(".")) == []
    assert dv.commit_actions(Path(uri), 2, [{"commitInfo": {"operation": "MERGE"}}]) == 3


def test_change_data_files_hold_every_change_and_delta_rs_reads_them(tmp_path):
    uri = str(tmp_path / "cdf")
    write_deltalake(uri, pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]}),
                    configuration={"delta.enableChangeDataFeed": "true"})
    updates = pa.table({"id": pa.array([2, 9], pa.int64()), "name": ["b2", "new9"]})
    version = dv.upsert_with_deletion_vectors(uri, updates, ["id"]).version
    changes = pa.table(DeltaTable(uri).load_cdf(starting_version=version, ending_version=version).read_all())
    got = sorted(zip(changes.column("_change_type").to_pylist(), changes.column("id").to_pylist(),
                     changes.column("name").to_pylist(), strict=True))
    assert got == [("insert", 9, "new9"), ("update_postimage", 2, "b2"), ("update_preimage", 2, "b")]
    assert names_by_id(uri) == {1: "a", 2: "b2", 3: "c", 9: "new9"}
    # Writer 4 implied changeDataFeed; at writer 7 it must be listed, or delta-spark refuses the table.
    assert {"changeDataFeed", "deletionVectors"} <= set(DeltaTable(uri).protocol().writer_features)


def test_z85_rejects_damaged_text_and_batches_that_do_not_fit(tmp_path):
    with pytest.raises(dv.DeletionVectorError, match="'~' is not a Z85 character"):
        dv.z85_decode("~0000")
    uri = _three_file_table(tmp_path / "t")
    with pytest.raises(dv.DeletionVectorError, match="exactly the table's columns"):
        dv.upsert_with_deletion_vectors(uri, pa.table({"id": pa.array([1], pa.int64())}), ["id"])
    # Types are the table's: an int32 batch lands as int64 like the existing files.
    dv.upsert_with_deletion_vectors(uri, pa.table({"id": pa.array([1], pa.int32()), "name": ["u1"]}), ["id"])
    assert names_by_id(uri)[1] == "u1"
