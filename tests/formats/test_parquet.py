"""Parquet landing files on the embedded engine: the file's types are the schema, misfits are rescued."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest

from lakehouse.core.errors import SchemaEvolutionError
from lakehouse.sources.json.lines import java_number_text
from lakehouse.sources.parquet.arrow_reader import float_text
from lakehouse.spec.model import EvolutionMode
from tests.formats.support import SILVER, Lake, parquet_bytes, pipeline


def _things(**columns: pa.Array) -> bytes:
    return parquet_bytes(pa.table(columns))


def test_the_files_types_are_the_stored_schema(tmp_path):
    lake = Lake(tmp_path)
    at = dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC)
    lake.land("1.parquet", _things(
        id=pa.array([1], pa.int64()), code=pa.array(["007"]), qty=pa.array([3], pa.int32()),
        price=pa.array([decimal.Decimal("9.99")], pa.decimal128(7, 2)), ratio=pa.array([0.5]),
        day=pa.array([dt.date(2024, 1, 31)]), at=pa.array([at], pa.timestamp("us", tz="UTC")),
        ok=pa.array([False]), parts=pa.array([[1, 2]], pa.list_(pa.int32()))))
    pipe = pipeline("parquet")
    lake.run(pipe)
    [stored] = lake.schemas(pipe)
    # "007" stays a string: the file says so, where CSV inference would have made it a bigint.
    assert stored.columns == (("id", "bigint"), ("code", "string"), ("qty", "int"), ("price", "decimal(7,2)"),
                              ("ratio", "double"), ("day", "date"), ("at", "timestamp"), ("ok", "boolean"),
                              ("parts", "string"))
    [row] = lake.rows()
    assert (row["code"], row["price"], row["ratio"], row["at"], row["ok"], row["parts"]) == (
        "007", decimal.Decimal("9.99"), 0.5, at, False, "[1,2]")


def test_hints_override_the_files_types(tmp_path):
    lake = Lake(tmp_path)
    lake.land("1.parquet", _things(id=pa.array([1, 2], pa.int64()), amount=pa.array(["1.50", "n/a"])))
    pipe = pipeline("parquet", {"id": "string", "amount": "decimal(10,2)"})
    lake.run(pipe)
    assert lake.schemas(pipe)[0].columns == (("id", "string"), ("amount", "decimal(10,2)"))
    first, second = lake.rows()
    assert (first["id"], first["amount"]) == ("1", decimal.Decimal("1.50"))
    assert second["amount"] is None and '"amount":"n/a"' in second["_rescued_data"]


def test_a_value_whose_type_does_not_fit_is_rescued_and_a_new_column_evolves(tmp_path):
    lake = Lake(tmp_path)
    pipe = pipeline("parquet")
    lake.land("1.parquet", _things(id=pa.array([1], pa.int64()), qty=pa.array([1], pa.int32())))
    lake.run(pipe)
    lake.land("2.parquet", _things(id=pa.array(["2", "three"]), qty=pa.array([2.0, 2.5]),
                                   added=pa.array([dt.date(2024, 3, 1), None])))
    lake.run(pipe)
    history = lake.schemas(pipe)
    assert [s.columns[-1] for s in history] == [("qty", "int"), ("added", "date")]
    assert history[1].reason == "addNewColumns: added"
    rows = {(r["source_filename"].rsplit("/", 1)[-1], r["source_row"]): r for r in lake.rows()}
    # A double 2.0 is '2.0' as text, which is no int: rescued, as Auto Loader rescues a type mismatch.
    assert rows[("2.parquet", 1)]["id"] == 2 and rows[("2.parquet", 1)]["qty"] is None
    assert '"qty":"2.0"' in rows[("2.parquet", 1)]["_rescued_data"]
    misfit = rows[("2.parquet", 2)]
    assert misfit["id"] is None and '"id":"three"' in misfit["_rescued_data"] and '"qty":"2.5"' in misfit["_rescued_data"]
    assert rows[("1.parquet", 1)]["added"] is None and rows[("2.parquet", 1)]["added"] == dt.date(2024, 3, 1)


def test_fail_on_new_columns_fails_the_run_naming_the_file_and_column(tmp_path):
    lake = Lake(tmp_path)
    pipe = pipeline("parquet", mode=EvolutionMode.FAIL_ON_NEW_COLUMNS)
    lake.land("1.parquet", _things(id=pa.array([1], pa.int64())))
    lake.run(pipe)
    lake.land("2.parquet", _things(id=pa.array([2], pa.int64()), extra=pa.array(["x"])))
    with pytest.raises(SchemaEvolutionError, match=r"2\.parquet has new column\(s\) extra"):
        lake.run(pipe)
    assert [r["id"] for r in lake.rows()] == [1]


def test_lineage_columns(tmp_path):
    lake = Lake(tmp_path)
    path = lake.land("1.parquet", _things(id=pa.array([10, 20, 30], pa.int64())))
    lake.run(pipeline("parquet"))
    rows = lake.rows()
    assert [(r["id"], r["source_row"]) for r in rows] == [(10, 1), (20, 2), (30, 3)]
    assert {r["source_filename"] for r in rows} == {path}
    assert {r["source_file_modified"] for r in rows} == {dt.datetime.fromtimestamp(1_700_000_001, dt.UTC)}
    assert all(r["date_added"] is not None and r["_rescued_data"] is None for r in rows)


def test_unreadable_parquet_files_are_quarantined_while_good_ones_are_ingested(tmp_path):
    lake = Lake(tmp_path)
    good = _things(id=pa.array([1], pa.int64()))
    lake.land("1-good.parquet", good)
    lake.land("2-truncated.parquet", good[: len(good) // 2])
    lake.land("3-csv.parquet", b"id\n3\n")
    lake.land("4-zipped.parquet.gz", good)
    lake.land("5-good.parquet", _things(id=pa.array([5], pa.int64())))
    report = lake.run(pipeline("parquet"))
    assert [r["id"] for r in lake.rows()] == [1, 5]
    details = report.tables[0].batches[0]["details"]
    assert sorted(name.rsplit("/", 1)[-1] for name in details["failed_files"]) == [
        "2-truncated.parquet", "3-csv.parquet", "4-zipped.parquet.gz"]
    assert any("2-truncated.parquet: cannot be read as Parquet" in note for note in details["notes"])


def test_silver_scd1_upserts_from_parquet_bronze(tmp_path):
    lake = Lake(tmp_path)
    pipe = pipeline("parquet", with_silver=True)
    lake.land("1.parquet", _things(id=pa.array([1, 2], pa.int64()), name=pa.array(["a", "b"])))
    lake.run(pipe)
    lake.land("2.parquet", _things(id=pa.array([2, 3], pa.int64()), name=pa.array(["b2", "c"])))
    lake.run(pipe)
    assert sorted((r["id"], r["name"]) for r in lake.rows(SILVER)) == [(1, "a"), (2, "b2"), (3, "c")]
    assert lake.violations(pipe) == []


def test_a_zero_row_file_types_nothing_first_but_evolves_a_stored_schema(tmp_path):
    lake = Lake(tmp_path)
    pipe = pipeline("parquet")
    empty = pa.table({"id": pa.array([], pa.int64()), "joined": pa.array([], pa.date32())})
    lake.land("1-empty.parquet", parquet_bytes(empty))
    lake.run(pipe)
    assert lake.schemas(pipe) == []  # as a header-only CSV file: the schema waits for a file with rows
    lake.land("2.parquet", _things(id=pa.array([1], pa.int64())))
    lake.land("3-empty.parquet", parquet_bytes(empty))
    lake.run(pipe)
    assert [s.columns for s in lake.schemas(pipe)] == [(("id", "bigint"),), (("id", "bigint"), ("joined", "date"))]
    assert [r["id"] for r in lake.rows()] == [1]


def test_float_text_is_javas_spelling_of_the_shortest_digits():
    values = [0.0, -0.0, 1.0, -2.5, 0.001, 9_999_999.0, 1e7, 1e20, 1.5e-7, 0.1 + 0.2, 123456.789, None]
    as_text = float_text(pa.chunked_array([pa.array(values, pa.float64())])).to_pylist()
    assert as_text == ["0.0", "-0.0", "1.0", "-2.5", "0.001", "9999999.0", "1.0E7", "1.0E20", "1.5E-7",
                       "0.30000000000000004", "123456.789", None]
    # The plain range takes the vectorised path; the same values mixed with others take the per-value one.
    plain = [0.0, 1.0, -2.5, 0.001, 9_999_999.0, 123456.789]
    assert float_text(pa.chunked_array([pa.array(plain)])).to_pylist() == [java_number_text(repr(v)) for v in plain]
    assert float_text(pa.chunked_array([pa.array([1.1, 3.0], pa.float32())])).to_pylist() == ["1.1", "3.0"]
