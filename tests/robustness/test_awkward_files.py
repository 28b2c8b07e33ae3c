"""Awkward landed files (docs/robustness.md, "Encodings, line endings, compression, headers"): each is
either read as Spark's and DuckDB's CSV readers read it, or quarantined at the file boundary with a
message naming it, while the good files beside it are ingested in the same run and the stored schema
is left as it was. A quarantined file is picked up once landed again fixed under the same name.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import json
import os
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse.sources import ledger

from .support import HEADER, PIPELINE, csv_text, engine, local_place
from .test_bad_inputs import BRONZE, GOOD, assert_valid, bronze_rows, rows_of

ROW = "3,Zoë 李,Straße 1,1,25-300,3.00,MACHINERY,ünï"
OTHER = "4,D,d,1,p,4.00,S,c"
# Long and repetitive: a compressed copy is far smaller than its text, so a size compared with the
# bytes read after decompression cannot match by chance.
SECOND = "5,E,e,1,p,5.00,S," + "c" * 300
BODY = csv_text([ROW, SECOND])


@pytest.fixture
def place(tmp_path):
    """A stored schema (v0) from one good file, and a second good file landed for the next run."""
    place = local_place(tmp_path)
    place.land("customer_0001.csv", csv_text(GOOD))
    place.run_in_process()
    place.land("customer_0002.csv", csv_text([OTHER]))
    return place


def stored_schemas(place) -> list[dict]:
    folder = Path(place.settings().checkpoint_uri("bronze", "customer_raw")) / "schemas"
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


def quarantined(place) -> list[ledger.FileRecord]:
    return ledger.quarantined_files(place.settings(), place.storage(), PIPELINE)


def zstd(data: bytes) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as stream:
        stream.write(data)
    return sink.getvalue().to_pybytes()


def assert_ingested(place, name: str, custkeys: list[int]) -> list[dict]:
    rows = rows_of(place, name)
    assert [r["c_custkey"] for r in rows] == custkeys, rows
    return rows


# -- read as Spark and DuckDB read them ----------------------------------------------------------------
READABLE = {
    "cr_only.csv": BODY.replace("\n", "\r").encode(),
    "crlf.csv": BODY.replace("\n", "\r\n").encode(),
    "utf16le.csv": codecs.BOM_UTF16_LE + BODY.encode("utf-16-le"),
    "utf16be.csv": codecs.BOM_UTF16_BE + BODY.encode("utf-16-be"),
    "excel.csv": codecs.BOM_UTF16_LE + BODY.replace("\n", "\r\n")
    .encode("utf-16-le"),
    "gzipped.csv.gz": gzip.compress(BODY.encode()),
    "bzipped.csv.bz2": bz2.compress(BODY.encode()),
    "zstd.csv.zst": zstd(BODY.encode()),
}


@pytest.mark.parametrize("name", sorted(READABLE))
def test_line_endings_encodings_and_compression_are_read(place, name):
    place.land(name, READABLE[name])
    run = place.cli("run")
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    rows = assert_ingested(place, name, [3, 5])
    assert rows[0]["c_name"] == "Zoë 李" and rows[0]["c_comment"] == "ünï" and rows[0]["_rescued_data"] is None
    assert [r["source_row"] for r in rows] == [2, 3]
    assert rows[1]["c_comment"] == "c" * 300  # no CR left at the end of a line's last value
    assert len(rows_of(place, "customer_0002.csv")) == 1
    assert len(stored_schemas(place)) == 1
    again = place.cli("run")  # a compressed file is not deferred or re-read: its stored size is what was planned
    assert again.returncode == 0 and "deferred" not in again.stderr + again.stdout
    assert len(bronze_rows(place)) == 5
    assert_valid(place)


def test_utf16_is_named_in_the_run_notes(place):
    place.land("utf16.csv", READABLE["utf16le.csv"])
    messages = place.run_in_process()
    assert any("utf16.csv: decoded from UTF-16LE (byte-order mark)" in m for m in messages), messages


def test_header_names_with_surrounding_spaces_are_trimmed_and_said(place):
    header = " c_custkey , c_name,c_address ,c_nationkey,c_phone,c_acctbal,c_mktsegment,c_comment"
    place.land("spaced.csv", csv_text([ROW], header))
    messages = place.run_in_process()
    assert any("spaced.csv: header names trimmed of surrounding spaces: ' c_custkey ' -> 'c_custkey'" in m
               for m in messages), messages
    row = assert_ingested(place, "spaced.csv", [3])[0]
    assert row["c_address"] == "Straße 1"
    assert len(stored_schemas(place)) == 1  # the trimmed names are the stored ones: no evolution
    assert_valid(place)


# -- quarantined, then picked up when fixed ------------------------------------------------------------
BAD_HEADER = HEADER.replace("c_comment", "C_NAME")
QUARANTINED = {
    # name: (landed bytes, words of the reason, the fixed file)
    "utf16_no_bom.csv": (csv_text([ROW]).encode("utf-16-le"), ["NUL bytes", "without a byte-order mark"],
                         csv_text([ROW]).encode()),
    "case_clash.csv": (csv_text([ROW], BAD_HEADER).encode(), ["clash once case is ignored", "'c_name' and 'C_NAME'"],
                       csv_text([ROW]).encode()),
    "stored_case.csv": (csv_text([ROW], HEADER.replace("c_custkey", "C_CUSTKEY")).encode(),
                        ["'C_CUSTKEY' in the header, stored as 'c_custkey'"], csv_text([ROW]).encode()),
    "number_names.csv": (csv_text([ROW + ",x,y"], HEADER + ",2024,1.5").encode(), ["'2024', '1.5'", "look like data"],
                         csv_text([ROW]).encode()),
    "no_header.csv": ((ROW + "\n" + OTHER + "\n").encode(), ["does not look like a header"],
                      csv_text([ROW]).encode()),
    "json_lines.csv": (b'{"c_custkey": 3, "c_name": "C"}\n{"c_custkey": 4, "c_name": "D"}\n',
                       ["not a CSV file", "JSON"], csv_text([ROW]).encode()),
    "parquet.csv": (b"PAR1\x15\x04\x15\x10" + b"\x00" * 20, ["not a CSV file", "Parquet"], csv_text([ROW]).encode()),
    "truncated.csv.gz": (gzip.compress(csv_text([ROW]).encode())[:-10], ["cannot be decompressed as gzip"],
                         gzip.compress(csv_text([ROW]).encode())),
    "not_gzip.csv.gz": (csv_text([ROW]).encode(), ["cannot be decompressed as gzip"],
                        gzip.compress(csv_text([ROW]).encode())),
    "bad_utf16.csv": (codecs.BOM_UTF16_LE + csv_text([ROW]).encode("utf-16-le") + b"\x00\xdc",
                      ["UTF-16LE byte-order mark", "is not valid"], csv_text([ROW]).encode("utf-8-sig")),
}


@pytest.mark.parametrize("name", sorted(QUARANTINED))
def test_unreadable_file_is_quarantined_beside_good_ones_then_fixed(place, name):
    bad, reason, fixed = QUARANTINED[name]
    columns_before = engine(place).table_columns(BRONZE)
    place.land(name, bad)
    run = place.cli("run")
    assert run.returncode == 3, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr
    assert f"QUARANTINED {place.landing}/customer/{name}" in run.stderr
    report = run.stderr[run.stderr.index("could not be ingested"):]
    assert name in report and all(words in report for words in reason), report
    assert "land it again under the same name" in run.stderr
    assert rows_of(place, name) == [] and len(rows_of(place, "customer_0002.csv")) == 1  # good file, same run
    assert len(stored_schemas(place)) == 1 and engine(place).table_columns(BRONZE) == columns_before
    assert [Path(r.uri).name for r in quarantined(place)] == [name]
    assert_valid(place)
    assert place.cli("run").returncode == 3  # unchanged: still quarantined
    place.land(name, fixed)
    fixed_run = place.cli("run")
    assert fixed_run.returncode == 0, fixed_run.stderr
    assert_ingested(place, name, [3])
    assert quarantined(place) == [] and len(stored_schemas(place)) == 1
    assert_valid(place)


def test_temporary_suffix_renamed_is_ingested_once(place):
    folder = Path(place.landing) / "customer"
    for suffix in (".tmp", ".crc", ".inprogress", ".partial", ".tmp-1f2e3d"):
        (folder / f"x.csv{suffix}").write_text(csv_text([ROW]))
    place.run_in_process()
    assert [r for r in bronze_rows(place) if "/x.csv" in r["source_filename"]] == []
    # Skipped at listing: never planned, so the file ledger holds no record of them either.
    from lakehouse.core.checkpoints import CheckpointLog
    from lakehouse.sources import ledger

    root = place.settings().checkpoint_uri("bronze", "customer_raw")
    assert [uri for uri in ledger.ledger(CheckpointLog(place.storage(), root)) if "x.csv" in uri] == []
    os.replace(folder / "x.csv.tmp", folder / "x.csv")
    place.run_in_process()
    place.run_in_process()
    assert [r["c_custkey"] for r in bronze_rows(place) if "/x.csv" in r["source_filename"]] == [3]
    assert quarantined(place) == []
    assert_valid(place)
