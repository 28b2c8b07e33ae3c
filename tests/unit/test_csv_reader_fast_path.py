"""The embedded CSV reader's threaded fast path gives exactly what the exact single-threaded path gives.

A clean file is parsed multi-threaded straight to text; a file with a malformed record, bytes that
are not UTF-8 or anything else the fast parse refuses is read again by the exact path (the only one
with reliable line numbers). Either way the rows, lineage, malformed count and notes are the same.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pytest

from lakehouse.core.dialects import DUCKDB
from lakehouse.core.storage import FileInfo
from lakehouse.kinds.append_ingest.sql import MALFORMED_RECORD, _member, parses, typed_projection_sql
from lakehouse.sources.csv import arrow_reader as csv_reader
from lakehouse.sources.csv.arrow_reader import conform, read_csv_text

URI = "file:///landing/things/things_0001.csv"


def _info(data: bytes) -> FileInfo:
    return FileInfo(modified=dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), uri=URI, size=len(data))


def _exact(data: bytes, delimiter: str = ","):
    """What the reader returns when only the exact path is used (the behaviour before the fast path)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(csv_reader, "_parse_threaded", lambda *args: None)
        return read_csv_text(_info(data), data, delimiter)


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records, per read, whether the fast path returned a table."""
    calls: list[bool] = []
    real = csv_reader._parse_threaded

    def spy(*args):
        table = real(*args)
        calls.append(table is not None)
        return table

    monkeypatch.setattr(csv_reader, "_parse_threaded", spy)
    return calls


def _same(fast, exact) -> None:
    assert (fast is None) == (exact is None)
    if fast is None:
        return
    assert fast.header == exact.header
    assert fast.malformed == exact.malformed
    assert fast.notes == exact.notes
    assert fast.rows.schema == exact.rows.schema
    assert fast.rows.to_pylist() == exact.rows.to_pylist()


CLEAN = {
    "plain": b'id,name,balance\n1,alice,10.50\n2,bob,-3\n',
    "bom_crlf": b'\xef\xbb\xbfid,name\r\n1,"a"\r\n2,b\r\n',
    "quoted_newlines_and_empties": b'id,name,note\n1,"two\nlines",""\n2,,"say ""hi"""\n3,"a, b",\n',
    "unicode": 'id,name\n1,ünïcødé ✓ 日本\n2,x\n'.encode(),
    "semicolon": b'id;name\n1;a,b\n2;c\n',
    "header_only": b'id,name\n',
    "no_trailing_newline": b'id,name\n1,a\n2,b',
    "blank_lines": b'id,name\n\n1,a\n\n2,b\n\n',
}
DIRTY = {
    "too_many_fields": b'id,name\n1,a\n2,b,extra\n3,c\n',
    "too_few_fields": b'id,name\n1,a\n2\n3,c\n',
    "not_utf8": b'id,name\n1,a\n2,caf\xe9\n3,c\n',
    "malformed_and_not_utf8": b'id,name\n1,\xff\xfe\n2,b,c\n3,"multi\nline"\n4\n5,e\n',
}


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_clean_file_takes_the_fast_path_with_the_same_result(name, monkeypatch):
    data = CLEAN[name]
    delimiter = ";" if name == "semicolon" else ","
    exact = _exact(data, delimiter)
    calls = _spy(monkeypatch)
    fast = read_csv_text(_info(data), data, delimiter)
    assert calls == [True]
    _same(fast, exact)


@pytest.mark.parametrize("name", sorted(DIRTY))
def test_dirty_file_falls_back_to_the_exact_path(name, monkeypatch):
    data = DIRTY[name]
    exact = _exact(data)
    calls = _spy(monkeypatch)
    result = read_csv_text(_info(data), data)
    assert calls == [False]
    _same(result, exact)
    assert result.malformed > 0


def test_malformed_and_not_utf8_rows_keep_their_positions():
    data = DIRTY["malformed_and_not_utf8"]
    raw = read_csv_text(_info(data), data)
    rows = raw.rows.to_pylist()
    # Numbered by record (the header is 1), as the exact path's parser counts them.
    assert [r["source_row"] for r in rows] == [2, 3, 4, 5, 6]
    by_row = {r["source_row"]: r for r in rows}
    assert by_row[2]["id"] == "1" and by_row[2]["name"] is None and by_row[2][MALFORMED_RECORD] == "1,\\xff\\xfe"
    assert by_row[3]["id"] is None and by_row[3][MALFORMED_RECORD] == "2,b,c"
    assert by_row[4]["name"] == "multi\nline" and by_row[4][MALFORMED_RECORD] is None
    assert by_row[5][MALFORMED_RECORD] == "4"
    assert by_row[6]["name"] == "e" and by_row[6][MALFORMED_RECORD] is None
    assert raw.malformed == 3
    assert raw.notes == [
        "1 row(s) with bytes that are not UTF-8 kept in _rescued_data",
        "2 malformed row(s) (wrong number of fields, expected 2) kept in _rescued_data, lines 3, 5",
    ]


def test_empty_files_are_none_on_both_paths():
    for data in (b"", b"\xef\xbb\xbf", b"  \n\n"):
        assert read_csv_text(_info(data), data) is None
        assert _exact(data) is None


def test_many_blocks_with_newlines_in_values(monkeypatch):
    """Quoted newlines across block boundaries; a record longer than a block falls back."""
    lines = [b"id,text,amount"]
    for i in range(3000):
        lines.append(b'%d,"line %d\nsecond, part",%d.%02d' % (i, i, i, i % 100))
    data = b"\n".join(lines) + b"\n"
    exact = _exact(data)
    monkeypatch.setattr(csv_reader, "_THREADED_BLOCK_SIZE", 4096)
    calls = _spy(monkeypatch)
    fast = read_csv_text(_info(data), data)
    assert calls == [True]
    assert fast.rows.column("id").num_chunks > 1
    _same(fast, exact)

    long_record = b'id,text\n1,"' + b"x" * 10_000 + b'"\n2,b\n'
    calls.clear()
    result = read_csv_text(_info(long_record), long_record)
    assert calls == [False]  # straddles blocks: the exact path reads it
    _same(result, _exact(long_record))


def test_lineage_columns():
    data = CLEAN["plain"]
    rows = read_csv_text(_info(data), data).rows
    assert rows.column("source_filename").to_pylist() == [URI, URI]
    assert rows.column("source_row").to_pylist() == [2, 3]
    assert rows.column(MALFORMED_RECORD).to_pylist() == [None, None]
    assert rows.column("source_file_modified").type == pa.timestamp("us", tz="UTC")
    # Every column is chunked alike (SQL engines scan the table as record batches).
    assert len({tuple(len(c) for c in column.chunks) for column in rows.columns}) == 1


# -- typed_projection_sql: each value parsed once, the same result as parsing it twice ------------------


def _reference_sql(schema, extra_columns, date_added_iso, source_view="raw") -> str:
    """The projection as it was written before: each parse check evaluated for the value and the rescue."""
    d, q = DUCKDB, DUCKDB.quote
    select, rescued = [], []
    for name, type_name in schema:
        ok = parses(d, q(name), type_name)
        select.append(f"CASE WHEN {ok} THEN {d.try_cast(q(name), type_name)} END AS {q(name)}")
        if type_name != "string":
            rescued.append((f"NOT {ok}", _member(d, name, q(name))))
    for name in extra_columns:
        rescued.append((f"{q(name)} IS NOT NULL", _member(d, name, q(name))))
    rescued.append((f"{q(MALFORMED_RECORD)} IS NOT NULL", _member(d, "_corrupt_record", q(MALFORMED_RECORD))))
    any_rescued = " OR ".join(f"({c})" for c, _ in rescued)
    members = ", ".join(f"CASE WHEN {c} THEN {m} END" for c, m in rescued)
    file_path = _member(d, "_file_path", q("source_filename"))
    select += [
        f"{d.cast(d.literal(date_added_iso), 'timestamp')} AS {q('date_added')}",
        q("source_filename"), q("source_file_modified"), q("source_row"),
        f"CASE WHEN {any_rescued} THEN '{{' || concat_ws(',', {members}, {file_path}) || '}}' END AS {q('_rescued_data')}",
    ]
    return "SELECT " + ", ".join(select) + f" FROM {source_view}"


def test_typed_projection_matches_the_double_evaluation():
    data = (
        b'id,amount,day,at,flag,ratio,small,name,__typed_1,extra\n'
        b'1,10.50,2024-01-31,2024-01-31 10:00:00,true,1.5e3,7,a,5,\n'
        b'2,,,,,,,,,\n'
        b' 3,1.234,2024-02-30,2024-13-01,yes,abc,99999999999,"",x,kept\n'
        b'+4,-0.5,24-01-01,2024-01-01T00:00:00Z,FALSE,.5,-12,"q""uote",-7,\n'
        b'12345678901234567890,1e3,2024-1-1,2024-01-01 00:00:00.1234567,1,NaN,+0,b,0x1,\n'
        b'5,too,many,fields,here,x,x,x,x,x,x\n'
        b'-9223372036854775808,9999999999999.99,0001-01-01,2024-01-01 00:00:00+01:00,False,-1.,2147483648,z,1_0,\n'
    )
    raw = read_csv_text(_info(data), data)
    schema = [("id", "bigint"), ("amount", "decimal(15,2)"), ("day", "date"), ("at", "timestamp"),
              ("flag", "boolean"), ("ratio", "double"), ("small", "int"), ("name", "string"),
              ("__typed_1", "bigint")]
    extras = ["extra"]
    table = conform(raw, [n for n, _ in schema], extras)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("raw", table)
    got = con.sql(typed_projection_sql(DUCKDB, schema, extras, "2024-01-01T00:00:00Z", "raw")).to_arrow_table()
    want = con.sql(_reference_sql(schema, extras, "2024-01-01T00:00:00Z", "raw")).to_arrow_table()
    assert got.schema == want.schema
    assert got.to_pylist() == want.to_pylist()
    rescued = [r["_rescued_data"] for r in got.to_pylist()]
    assert rescued[1] is None  # all NULL: nothing to rescue
    assert '"id":" 3"' in rescued[2] and '"extra":"kept"' in rescued[2]
    assert '"__typed_1":"x"' in rescued[2]
