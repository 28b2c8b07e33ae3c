"""JSON lines landing files on the embedded engine: Auto Loader's behaviour, through bronze and silver."""

from __future__ import annotations

import datetime as dt
import decimal

from lakehouse.sources.json.lines import field_text, parse_object
from lakehouse.sources.json.lines import json_lines as parsed_lines
from lakehouse.spec.model import EvolutionMode
from tests.formats.support import SILVER, Lake, gzipped, json_lines, pipeline


def test_schema_inferred_from_text_values_and_stored(tmp_path):
    lake = Lake(tmp_path)
    lake.land("1.jsonl", json_lines({"id": 1, "name": "a", "score": 1.25, "day": "2024-01-31", "ok": True,
                                     "tags": ["x", 1], "meta": {"k": {"deep": None}}}))
    pipe = pipeline("json")
    lake.run(pipe)
    [stored] = lake.schemas(pipe)
    assert stored.columns == (("id", "bigint"), ("name", "string"), ("score", "decimal(18,2)"), ("day", "date"),
                              ("ok", "boolean"), ("tags", "string"), ("meta", "string"))
    assert stored.source_file.endswith("1.jsonl")
    [row] = lake.rows()
    # Nested values stay JSON text, compact, as Auto Loader reads them into a string column.
    assert (row["tags"], row["meta"], row["day"]) == ('["x",1]', '{"k":{"deep":null}}', dt.date(2024, 1, 31))


def test_hints_type_fields_and_a_misfit_value_is_rescued(tmp_path):
    lake = Lake(tmp_path)
    lake.land("1.json", json_lines({"id": "7", "amount": 10}, {"id": 8, "amount": "ten"}))
    pipe = pipeline("json", {"id": "string", "amount": "decimal(10,2)"})
    lake.run(pipe)
    assert lake.schemas(pipe)[0].columns == (("id", "string"), ("amount", "decimal(10,2)"))
    first, second = lake.rows()
    assert (first["id"], first["amount"], first["_rescued_data"]) == ("7", decimal.Decimal("10.00"), None)
    assert second["id"] == "8" and second["amount"] is None
    assert '"amount":"ten"' in second["_rescued_data"] and '"_file_path":' in second["_rescued_data"]


def test_new_field_evolves_the_schema_and_a_missing_one_is_null(tmp_path):
    lake = Lake(tmp_path)
    pipe = pipeline("json")
    lake.land("1.jsonl", json_lines({"id": 1, "name": "a"}))
    lake.run(pipe)
    lake.land("2.jsonl", json_lines({"id": 2, "joined": "2024-02-01"}))
    lake.run(pipe)
    history = lake.schemas(pipe)
    assert [s.version for s in history] == [0, 1]
    assert history[1].columns[-1] == ("joined", "date") and history[1].reason == "addNewColumns: joined"
    rows = {r["id"]: r for r in lake.rows()}
    assert rows[1]["joined"] is None and rows[2]["name"] is None and rows[2]["joined"] == dt.date(2024, 2, 1)


def test_rescue_mode_keeps_a_new_field_in_rescued_data(tmp_path):
    lake = Lake(tmp_path)
    pipe = pipeline("json", mode=EvolutionMode.RESCUE)
    lake.land("1.jsonl", json_lines({"id": 1}))
    lake.land("2.jsonl", json_lines({"id": 2, "surprise": {"a": 1}}))
    lake.run(pipe)
    assert [s.columns for s in lake.schemas(pipe)] == [(("id", "bigint"),)]
    second = lake.rows()[1]
    assert '"surprise":"{\\"a\\":1}"' in second["_rescued_data"]


def test_lineage_columns_and_malformed_lines(tmp_path):
    lake = Lake(tmp_path)
    path = lake.land("1.json.gz", gzipped(json_lines({"id": 1}, "", "[1, 2]", "{not json", '"scalar"', {"id": 2})))
    lake.run(pipeline("json"))
    rows = lake.rows()
    assert [r["source_row"] for r in rows] == [1, 3, 4, 5, 6]  # line numbers; the blank line 2 is no record
    assert {r["source_filename"] for r in rows} == {path}
    assert all(r["source_file_modified"] == dt.datetime.fromtimestamp(1_700_000_001, dt.UTC) for r in rows)
    assert all(r["date_added"] is not None for r in rows)
    malformed = [r for r in rows if r["id"] is None]
    assert [r["source_row"] for r in malformed] == [3, 4, 5]
    assert '"_corrupt_record":"{not json"' in malformed[1]["_rescued_data"]


def test_bad_files_are_quarantined_while_good_ones_are_ingested(tmp_path):
    lake = Lake(tmp_path)
    lake.land("1-good.jsonl", json_lines({"id": 1}))
    lake.land("2-csv.json", b"id,name\n2,b\n")
    lake.land("3-pretty.json", b'{\n  "id": 3\n}\n')
    lake.land("4-truncated.json.gz", gzipped(json_lines({"id": 4}))[:12])
    lake.land("5-good.json", json_lines({"id": 5}))
    report = lake.run(pipeline("json"))
    assert [r["id"] for r in lake.rows()] == [1, 5]
    details = report.tables[0].batches[0]["details"]
    assert sorted(name.rsplit("/", 1)[-1] for name in details["failed_files"]) == [
        "2-csv.json", "3-pretty.json", "4-truncated.json.gz"]
    notes = " ".join(details["notes"])
    assert "2-csv.json: no line is a JSON object" in notes and "cannot be decompressed as gzip" in notes


def test_silver_scd1_upserts_from_json_bronze(tmp_path):
    lake = Lake(tmp_path)
    pipe = pipeline("json", with_silver=True)
    lake.land("1.jsonl", json_lines({"id": 1, "name": "a"}, {"id": 2, "name": "b"}))
    lake.run(pipe)
    lake.land("2.jsonl", json_lines({"id": 2, "name": "b2"}, {"id": 3, "name": "c"}))
    lake.run(pipe)
    assert sorted((r["id"], r["name"]) for r in lake.rows(SILVER)) == [(1, "a"), (2, "b2"), (3, "c")]
    assert lake.violations(pipe) == []


def test_values_are_the_text_spark_gives_a_string_column():
    # Integers keep their digits; other numbers are printed as Java prints the double (Jackson).
    assert [field_text(v) for v in (7, -0, 12345678901234567890, True, None, "x")] == [
        "7", "0", "12345678901234567890", "true", None, "x"]
    parsed = parse_object('{"a": 1.50e3, "b": 1e20, "c": 0.0001, "d": 12345678.0, "e": 2.0, "f": [1, {"g": 0.5}]}')
    assert [field_text(v) for v in parsed.values()] == ["1500.0", "1.0E20", "1.0E-4", "1.2345678E7", "2.0",
                                                        '[1,{"g":0.5}]']
    assert field_text({"s": "é\n\"q\""}) == '{"s":"é\\n\\"q\\""}'


def test_what_counts_as_a_record_line():
    lines = list(parsed_lines('{"a":1}\r\n\r\n[{"a":2}]\r 3 \n{"a":4} tail\n{"a":\n\t\n{"a":5,"a":6}'))
    assert [(line.number, line.fields) for line in lines] == [
        (1, {"a": "1"}), (3, None), (4, None), (5, {"a": "4"}), (6, None), (8, {"a": "6"})]


def test_compressed_and_marked_files_are_read(tmp_path):
    import bz2

    lake = Lake(tmp_path)
    lake.land("1.json.bz2", bz2.compress(json_lines({"id": 1, "name": "bz2"})))
    lake.land("2.json", "\ufeff".encode() + json_lines({"id": 2, "name": "utf-8 mark"}))
    lake.land("3.json", "\ufeff".encode("utf-16-be") + json_lines({"id": 3, "name": "zoë"}).decode().encode("utf-16-be"))
    report = lake.run(pipeline("json"))
    assert [(r["id"], r["name"]) for r in lake.rows()] == [(1, "bz2"), (2, "utf-8 mark"), (3, "zoë")]
    assert any("decoded from UTF-16BE" in note for note in report.tables[0].batches[0]["details"]["notes"])
