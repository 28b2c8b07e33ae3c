"""Messy landed files: each case has a documented outcome (docs/robustness.md) and none crashes the
run or loses data. Bad records are rescued with their file and line; a file that cannot be ingested
at all is quarantined (recorded in the offset log with the reason, reported by `run` and `status`,
exit 3) while every other file is ingested; fixing the file under the same name picks it up."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lakehouse.core.storage import Storage
from lakehouse.ops.inspection import Inspector
from lakehouse.spec.model import TableRef

from .support import HEADER, PIPELINE, csv_text, engine, local_place

BRONZE = TableRef("bronze", "customer_raw")
GOOD = ["1,Customer#1,Addr 1,5,25-100,100.50,BUILDING,first", "2,Customer#2,Addr 2,7,25-200,-20.00,AUTOMOBILE,c"]


@pytest.fixture
def place(tmp_path):
    place = local_place(tmp_path)
    place.land("customer_0001.csv", csv_text(GOOD))
    return place


def bronze_rows(place, where: str = "TRUE") -> list[dict]:
    eng = engine(place)
    return eng.sql(f"SELECT * FROM t WHERE {where} ORDER BY source_filename, source_row",
                   {"t": eng.read_table(BRONZE)}).to_pylist()


def rows_of(place, name: str) -> list[dict]:
    return [r for r in bronze_rows(place) if r["source_filename"].endswith("/" + name)]


def rescued(row: dict) -> dict:
    return json.loads(row["_rescued_data"]) if row["_rescued_data"] else {}


def assert_valid(place) -> None:
    settings = place.settings()
    checked, violations = Inspector(settings, Storage(settings.s3)).validate(PIPELINE)
    assert checked and not violations, violations


def test_malformed_row_unclosed_quote_is_rescued_with_its_line(place):
    place.land("bad.csv", csv_text(['3,C,"unclosed,1,p,3.00,S,c', "4,D,d,1,p,4.00,S,c"]))
    messages = place.run_in_process()
    rows = rows_of(place, "bad.csv")
    # The open quote runs to the end of the file: one malformed record, kept whole, at line 2.
    assert len(rows) == 1 and rows[0]["c_custkey"] is None and rows[0]["source_row"] == 2
    assert rescued(rows[0])["_corrupt_record"] == '3,C,"unclosed,1,p,3.00,S,c\n4,D,d,1,p,4.00,S,c'
    assert rescued(rows[0])["_file_path"].endswith("/bad.csv")
    assert any("malformed row(s)" in m and "lines 2" in m for m in messages)
    assert len(rows_of(place, "customer_0001.csv")) == 2
    assert_valid(place)


def test_wrong_column_count_rows_are_rescued_others_kept(place):
    place.land("cols.csv", csv_text(["3,C,c,1,p,3.00,S", "4,D,d,1,p,4.00,S,c,extra", "5,E,e,1,p,5.00,S,c"]))
    place.run_in_process()
    rows = rows_of(place, "cols.csv")
    assert [r["source_row"] for r in rows] == [2, 3, 4]
    assert rescued(rows[0])["_corrupt_record"] == "3,C,c,1,p,3.00,S"
    assert rescued(rows[1])["_corrupt_record"] == "4,D,d,1,p,4.00,S,c,extra"
    assert rows[2]["c_custkey"] == 5 and rows[2]["_rescued_data"] is None
    assert_valid(place)


def test_unparseable_numbers_and_dates_are_rescued_not_nulled(tmp_path):
    place = local_place(tmp_path)
    header = HEADER + ",c_since"
    place.land("a.csv", csv_text(["1,A,a,1,p,1.00,S,c,2024-01-31"], header))
    place.land("b.csv", csv_text(["2,B,b,x7,p,1.0.0,S,c,2024-13-45", "3,C,c,3,p,3.00,S,c,31/01/2024"], header))
    place.run_in_process()
    rows = rows_of(place, "b.csv")
    assert rows[0]["c_nationkey"] is None and rows[0]["c_acctbal"] is None and rows[0]["c_since"] is None
    assert {k: v for k, v in rescued(rows[0]).items() if k != "_file_path"} == {
        "c_nationkey": "x7", "c_acctbal": "1.0.0", "c_since": "2024-13-45"}
    assert rescued(rows[1])["c_since"] == "31/01/2024" and rows[1]["c_acctbal"] is not None
    assert str(rows_of(place, "a.csv")[0]["c_since"]) == "2024-01-31"
    assert_valid(place)


def test_empty_file_is_recorded_and_skipped(place):
    place.land("empty.csv", b"")
    place.land("blank.csv", b"\n\n")
    messages = place.run_in_process()
    assert any("empty.csv: empty file" in m for m in messages)
    assert rows_of(place, "empty.csv") == [] and len(bronze_rows(place)) == 2
    assert "[1/3] bronze.customer_raw: nothing new (version 0)" in place.run_in_process()  # not re-planned
    assert_valid(place)


def test_header_only_file_first_does_not_fix_the_schema(tmp_path):
    place = local_place(tmp_path)
    place.land("a_header_only.csv", csv_text([], HEADER + ",c_since"))
    messages = place.run_in_process()
    assert any("header only" in m for m in messages)
    assert engine(place).table_version(BRONZE) is None
    place.land("b.csv", csv_text(["1,A,a,1,p,1.00,S,c,2024-01-31"], HEADER + ",c_since"))
    place.run_in_process()
    types = dict(engine(place).table_columns(BRONZE))
    assert types["c_since"] == "date"  # inferred from the file with rows, not as string from the header
    assert_valid(place)


def test_non_utf8_bytes_keep_the_row_and_its_text(place):
    place.land("latin1.csv", (HEADER + "\n3,Jos\xe9,c,1,p,3.00,S,c\n4,D,d,1,p,4.00,S,c\n").encode("latin-1"))
    messages = place.run_in_process()
    rows = rows_of(place, "latin1.csv")
    assert rows[0]["c_custkey"] == 3 and rows[0]["c_name"] is None
    assert rescued(rows[0])["_corrupt_record"] == "3,Jos\\xe9,c,1,p,3.00,S,c"
    assert rows[1]["c_name"] == "D" and rows[1]["_rescued_data"] is None
    assert any("not UTF-8" in m for m in messages)
    assert_valid(place)


def test_byte_order_mark_is_stripped(place):
    place.land("bom.csv", b"\xef\xbb\xbf" + csv_text(["3,C,c,1,p,3.00,S,c"]).encode())
    place.run_in_process()
    assert "\ufeffc_custkey" not in dict(engine(place).table_columns(BRONZE))
    assert rows_of(place, "bom.csv")[0]["c_custkey"] == 3
    assert_valid(place)


def test_semicolon_file_is_quarantined_then_picked_up_when_fixed(place):
    bad = csv_text(["3,C,c,1,p,3.00,S,c"]).replace(",", ";")
    place.land("semi colon.csv", bad)
    place.land("customer_0002.csv", csv_text(["4,D,d,1,p,4.00,S,c"]))
    first = place.cli("run")
    assert first.returncode == 3, first.stderr
    assert "semi colon.csv" in first.stderr and "';' (semicolon)" in first.stderr
    assert "hint: fix each file and land it again under the same name" in first.stderr
    assert "Traceback" not in first.stderr
    assert len(bronze_rows(place)) == 3  # both other files ingested, nothing from the bad one
    assert "c_custkey;c_name" not in "".join(n for n, _ in engine(place).table_columns(BRONZE))
    status = place.cli("status")
    assert "QUARANTINED bronze.customer_raw:" in status.stdout and "semi colon.csv" in status.stdout
    assert place.cli("validate").returncode == 0
    again = place.cli("run")  # unchanged: still quarantined, not re-read, still exit 3
    assert again.returncode == 3 and len(bronze_rows(place)) == 3
    place.land("semi colon.csv", bad.replace(";", ","))  # fixed under the same name
    fixed = place.cli("run")
    assert fixed.returncode == 0, fixed.stderr
    assert rows_of(place, "semi colon.csv")[0]["c_custkey"] == 3
    assert "QUARANTINED" not in place.cli("status").stdout
    assert_valid(place)


def test_duplicate_header_column_is_quarantined(place):
    place.land("dup.csv", "c_custkey,c_name,c_name\n3,C,D\n")
    place.land("customer_0002.csv", csv_text(["4,D,d,1,p,4.00,S,c"]))
    messages = place.run_in_process()
    assert any(m.startswith("bronze.customer_raw: QUARANTINED") and "dup.csv" in m and "twice" in m
               for m in messages)
    assert len(bronze_rows(place)) == 3
    assert_valid(place)


def test_new_column_evolves_the_schema(place):
    place.land("new.csv", csv_text(["3,C,c,1,p,3.00,S,c,gold"], HEADER + ",c_tier"))
    messages = place.run_in_process()
    assert any("schema evolved to v1 (addNewColumns: c_tier)" in m for m in messages)
    rows = bronze_rows(place)
    assert [r["c_tier"] for r in rows] == [None, None, "gold"]
    assert engine(place).read_table(TableRef("silver", "customer")).num_rows == 3
    assert_valid(place)


def test_missing_column_is_null_not_rescued(place):
    header = HEADER.replace(",c_comment", "")
    place.land("missing.csv", csv_text(["3,C,c,1,p,3.00,S"], header))
    place.run_in_process()
    row = rows_of(place, "missing.csv")[0]
    assert row["c_custkey"] == 3 and row["c_comment"] is None and row["_rescued_data"] is None
    assert_valid(place)


def test_type_change_number_column_holding_text_is_rescued(place):
    place.land("text.csv", csv_text(["3,C,c,one,p,n/a,S,c"]))
    place.run_in_process()
    row = rows_of(place, "text.csv")[0]
    assert row["c_nationkey"] is None and row["c_acctbal"] is None
    assert rescued(row)["c_nationkey"] == "one" and rescued(row)["c_acctbal"] == "n/a"
    assert dict(engine(place).table_columns(BRONZE))["c_acctbal"] == "decimal(15,2)"
    assert_valid(place)


def test_reuploaded_file_is_not_reingested_but_reported(place):
    place.run_in_process()
    uri = place.land("customer_0001.csv", csv_text(GOOD + ["9,New,n,1,p,9.00,S,c"]))
    run = place.cli("run")
    assert run.returncode == 0, run.stderr
    assert f"WARNING {uri} was re-uploaded with different content" in run.stderr
    assert "NOT re-ingested" in run.stderr
    assert len(bronze_rows(place)) == 2
    status = place.cli("status")
    assert "was re-uploaded with different content" in status.stdout
    assert place.cli("validate").returncode == 0


def test_temporary_names_are_ignored_until_renamed(place):
    folder = Path(place.landing) / "customer"
    (folder / ".partial.csv").write_text(csv_text(["3,C,c,1,p,3.00,S,c"]))
    (folder / "_COPYING_customer.csv").write_text(csv_text(["4,D,d,1,p,4.00,S,c"]))
    place.run_in_process()
    assert len(bronze_rows(place)) == 2
    os.replace(folder / ".partial.csv", folder / "partial.csv")
    place.run_in_process()
    assert len(rows_of(place, "partial.csv")) == 1
    assert_valid(place)


def test_file_growing_between_listing_and_reading_is_deferred_not_half_read(place, monkeypatch):
    uri = place.land("growing.csv", csv_text(["3,C,c,1,p,3.00,S,c"]))
    real_read = Storage.read_bytes

    def writer_still_appending(self, path):
        if path == uri:
            with open(uri, "a") as handle:  # the writer adds a row after the listing
                handle.write("4,D,d,1,p,4.00,S,c\n")
        return real_read(self, path)

    monkeypatch.setattr(Storage, "read_bytes", writer_still_appending)
    messages = place.run_in_process()
    monkeypatch.setattr(Storage, "read_bytes", real_read)
    assert any("growing.csv: deferred" in m for m in messages)
    assert rows_of(place, "growing.csv") == [] and len(bronze_rows(place)) == 2
    assert_valid(place)
    place.run_in_process()  # the writer is done: the whole file is read
    assert [r["c_custkey"] for r in rows_of(place, "growing.csv")] == [3, 4]
    assert_valid(place)


def test_very_long_field(place):
    long_value = "x" * (5 * 1024 * 1024)
    place.land("long.csv", csv_text([f"3,C,{long_value},1,p,3.00,S,c"]))
    place.run_in_process()
    assert rows_of(place, "long.csv")[0]["c_address"] == long_value
    assert_valid(place)


def test_unicode_and_spaces_in_file_names_and_values(place):
    place.land("kunden März 2024 (1).csv", csv_text(['3,Zoë 李 "Ω",Straße 1,1,p,3.00,S,ünïcödé']))
    place.run_in_process()
    row = rows_of(place, "kunden März 2024 (1).csv")[0]
    assert row["c_name"] == 'Zoë 李 "Ω"' and row["c_comment"] == "ünïcödé"
    silver = engine(place).read_table(TableRef("silver", "customer")).to_pylist()
    assert any(r["c_name"] == 'Zoë 李 "Ω"' for r in silver)
    assert_valid(place)
