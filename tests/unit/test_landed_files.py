"""Landed names, bytes and headers before a file reaches the schema: sources/file_names.py,
sources/landed_text.py and sources/headers.py, and how bronze_rules.read_batch applies them."""

from __future__ import annotations

import codecs
import gzip

import pytest

from lakehouse.core.errors import InputFileError, SchemaEvolutionError
from lakehouse.sources import ledger
from lakehouse.sources.file_names import compression_of, is_landed_data_file, landed_data_files
from lakehouse.sources.headers import case_clashes, looks_like_data, trimmed, vet_header
from lakehouse.sources.landed_text import as_utf8, charset_of_marked, check_is_text, decompressed, landed_text
from lakehouse.sources.schema import StoredSchema
from lakehouse.spec.model import EvolutionMode

from .test_bronze_rules import Landed, run


@pytest.mark.parametrize("path,expected", [
    ("a.csv", True), ("2024/01/a.csv.gz", True), ("a.tmp.csv", True), ("kunden März.csv", True),
    ("_a.csv", False), (".a.csv", False), ("_temporary/0/a.csv", False), ("x/.hidden/a.csv", False),
    ("a.csv.tmp", False), ("a.csv.TMP", False), ("a.csv.crc", False), ("a.csv.inprogress", False),
    ("a.csv.partial", False), ("a.csv.tmp-4f2a9c", False), ("", False),
])
def test_names_auto_loader_skips(path, expected):
    assert is_landed_data_file(path) is expected


def test_listed_files_are_judged_below_their_landing_folder():
    listed = [Landed("/w/_tmp/landing/c/a.csv"), Landed("/w/_tmp/landing/c/a.csv.tmp"),
              Landed("/w/_tmp/landing/c/_x/b.csv"), Landed("/w/_tmp/landing/c/2024/b.csv.gz")]
    assert [f.uri for f in landed_data_files(listed, "/w/_tmp/landing/c/")] == [
        "/w/_tmp/landing/c/a.csv", "/w/_tmp/landing/c/2024/b.csv.gz"]


def test_compression_comes_from_the_last_suffix():
    assert [compression_of(n) for n in ("a.csv.gz", "a.CSV.GZ", "a.csv.bz2", "a.csv.zst", "a.csv", "a.gz.csv")] == [
        "gzip", "gzip", "bz2", "zstd", None, None]


def test_byte_order_marks_decide_the_encoding():
    text = "id,name\n1,Zoë\n"
    for bom, codec, label in [(codecs.BOM_UTF8, "utf-8", "UTF-8"), (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16LE"),
                              (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16BE"),
                              (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32LE"),
                              (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32BE")]:
        landed = as_utf8("x.csv", bom + text.encode(codec))
        assert (landed.data, landed.encoding) == (text.encode(), label)
    assert as_utf8("x.csv", text.encode()).note is None
    with pytest.raises(InputFileError, match="UTF-16LE byte-order mark, but byte 6 is not valid"):
        as_utf8("x.csv", codecs.BOM_UTF16_LE + "id".encode("utf-16-le") + b"\x00\xdc")


def test_compressed_bytes_are_decompressed_once_whoever_reads_them():
    text = b"id\n1\n"
    assert decompressed("a.csv.gz", gzip.compress(text)) == text
    assert decompressed("a.csv.gz", text) == text  # Storage already decompressed it
    assert decompressed("a.csv", gzip.compress(text)) == gzip.compress(text)
    with pytest.raises(InputFileError, match="cannot be decompressed as gzip"):
        decompressed("a.csv.gz", gzip.compress(text)[:-8])


@pytest.mark.parametrize("head,what", [
    ('{"id": 1}\n', "JSON"), ('  [{"id": 1}]', "JSON"), ("PAR1\x15\x04", "Parquet"), ("PK\x03\x04\x14", "ZIP"),
    ("\x1f\x8b\x08\x00", "gzip"), ("\x1f\ufffd\x08", "gzip"), ("BZh91AY&SY", "bzip2"), ("(\xb5/\xfd", "zstd"),
    ('<?xml version="1.0"?>', "XML"), ("i\x00d\x00\n\x00", "NUL bytes"),
])
def test_files_of_other_formats_are_named(head, what):
    with pytest.raises(InputFileError, match=what):
        check_is_text("x.csv", head)


def test_csv_headers_are_text():
    for head in ("id,name\n", "[id],name\n", "id\n1,\x00\n"):  # a NUL in a row is that row's to rescue
        check_is_text("x.csv", head)
    assert landed_text("x.csv", b"id\r1\r").data == b"id\r1\r"  # line endings are the parser's


def test_spark_text_of_a_byte_order_mark_names_the_charset():
    assert charset_of_marked("\ufffd\ufffdi\x00d\x00") == "UTF-16"
    assert charset_of_marked("\ufffd\ufffd\x00i\x00d") == "UTF-16"
    assert charset_of_marked("\ufffd\ufffd\x00\x00i\x00\x00\x00") == "UTF-32"
    assert charset_of_marked("\x00\x00\ufffd\ufffd\x00\x00\x00i") == "UTF-32"
    assert charset_of_marked("id,name") is None and charset_of_marked("\ufffd\ufffd,b") is None


def test_header_names_are_trimmed_with_a_note():
    note = "header names trimmed of surrounding spaces: ' name ' -> 'name'"
    assert trimmed(["id", " name "]) == (["id", "name"], note)
    assert trimmed(["id"]) == (["id"], None)


@pytest.mark.parametrize("name", ["1", "-20.00", "1e5", ".5", "2024-01-31", "2024-01-31 10:00:00", '{"a"',
                                  '"a": 1}', "[1", "a\nb"])
def test_names_that_look_like_data(name):
    assert looks_like_data(name)


@pytest.mark.parametrize("name", ["id", "c_name", "Q1 2024", "v1.5", "1st", "a-b", "x_2024"])
def test_names_that_are_names(name):
    assert not looks_like_data(name)


def test_case_clashes_in_the_header_and_with_the_stored_schema():
    assert case_clashes(["id", "Name", "NAME"], []) == ["'Name' and 'NAME' in the header"]
    assert case_clashes(["ID", "name"], ["id", "name"]) == ["'ID' in the header, stored as 'id'"]
    assert case_clashes(["id", "name"], ["id"]) == []


def test_data_like_names_are_rescued_only_in_rescue_mode_with_a_stored_schema():
    stored = ["id", "name"]
    assert vet_header(["id", "name", "2024"], stored, EvolutionMode.RESCUE, "x.csv") == ["2024"]
    for mode in (EvolutionMode.ADD_NEW_COLUMNS, EvolutionMode.NONE, EvolutionMode.FAIL_ON_NEW_COLUMNS):
        with pytest.raises(SchemaEvolutionError, match="'2024' look like data"):
            vet_header(["id", "name", "2024"], stored, mode, "x.csv")
    with pytest.raises(SchemaEvolutionError, match="'2024' look like data"):
        vet_header(["id", "name", "2024"], [], EvolutionMode.RESCUE, "x.csv")  # before v0: nothing to rescue beside
    with pytest.raises(SchemaEvolutionError, match="does not look like a header"):
        vet_header(["1", "Customer#1", "3.00"], stored, EvolutionMode.RESCUE, "x.csv")
    with pytest.raises(SchemaEvolutionError, match="does not look like a header"):
        vet_header(["7", "Customer#1", "BUILDING"], stored, EvolutionMode.RESCUE, "x.csv")  # shares no stored name


def test_read_batch_quarantines_before_the_schema_changes_and_rescues_in_rescue_mode():
    stored = StoredSchema(0, (("id", "bigint"), ("name", "string")), reason="inferred from the first file")
    files = [Landed("l/clash.csv", header=["id", "NAME", "name"], rows=[["1", "a", "b"]]),
             Landed("l/stored_case.csv", header=["ID", "name"], rows=[["1", "a"]]),
             Landed("l/numbers.csv", header=["id", "name", "2024"], rows=[["1", "a", "x"]]),
             Landed("l/good.csv", header=["id", "name"], rows=[["2", "b"]])]
    batch, saved, _, _ = run(files, EvolutionMode.ADD_NEW_COLUMNS, stored)
    assert [o.status for o in batch.outcomes] == [ledger.FAILED] * 3 + [ledger.INGESTED]
    assert saved == [] and batch.schema is stored
    assert all(note.startswith("QUARANTINED l/") for note in batch.notes[:3])
    rescued, saved, _, _ = run(files[2:], EvolutionMode.RESCUE, stored)
    assert [o.status for o in rescued.outcomes] == [ledger.INGESTED, ledger.INGESTED] and saved == []
    assert rescued.extra_columns == ["2024"]


def test_read_batch_skips_temporary_names_the_listing_let_through():
    batch, saved, _, reader = run([Landed("l/a.csv.tmp", header=["id"], rows=[["1"]]),
                                   Landed("l/a.csv", header=["id"], rows=[["1"]])])
    assert [(o.uri, o.status) for o in batch.outcomes] == [
        ("l/a.csv.tmp", ledger.EMPTY), ("l/a.csv", ledger.INGESTED)]
    assert batch.notes[0].startswith("l/a.csv.tmp: skipped") and [o.uri for o in reader.opened] == ["l/a.csv"]
