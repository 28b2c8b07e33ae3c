from __future__ import annotations

import pytest

from lakehouse.core.errors import ConfigError, InputFileError
from lakehouse.landing import chunk_csv
from lakehouse.landing.csvtext import format_field, read_csv_text, write_csv_text

from .conftest import TINY_CUSTOMERS

HEADER = b"id,name,note\n"
# NULL name (,,), empty-string name (,"",), a quoted newline, an escaped quote, a comma in quotes.
HANDMADE_ROWS = [
    b'1,,"null name"\n',
    b'2,"","empty name"\n',
    b'3,"two\nlines","x"\n',
    b'4,"say ""hi""",y\n',
    b'5,"a,b",\n',
    b'6,plain,""\n',
    b'7,last,z\n',
]


def body(path) -> bytes:
    data = path.read_bytes()
    assert data.startswith(HEADER) or data.startswith(b"c_custkey,")
    return data.split(b"\n", 1)[1]


@pytest.fixture
def handmade(tmp_path):
    path = tmp_path / "handmade.csv"
    path.write_bytes(HEADER + b"".join(HANDMADE_ROWS))
    return path


def test_chunks_keep_every_byte_and_the_header(handmade, tmp_path):
    files = chunk_csv(handmade, 3, tmp_path / "out")
    assert [f.name for f in files] == ["handmade_0001.csv", "handmade_0002.csv", "handmade_0003.csv"]
    assert all(f.read_bytes().startswith(HEADER) for f in files)
    assert b"".join(body(f) for f in files) == b"".join(HANDMADE_ROWS)


def test_a_quoted_newline_is_never_cut(handmade, tmp_path):
    for chunks in range(1, 8):
        for f in chunk_csv(handmade, chunks, tmp_path / f"out{chunks}"):
            read_csv_text(f)  # raises on a record cut in half


def test_null_and_empty_string_survive_chunking(handmade, tmp_path):
    rows = []
    for f in chunk_csv(handmade, 4, tmp_path / "out", prefix="people"):
        rows.extend(read_csv_text(f).to_pylist())
    by_id = {row["id"]: row for row in rows}
    assert len(by_id) == len(HANDMADE_ROWS)
    assert by_id["1"]["name"] is None
    assert by_id["2"]["name"] == ""
    assert by_id["3"]["name"] == "two\nlines"
    assert by_id["4"]["name"] == 'say "hi"'
    assert by_id["5"]["note"] is None
    assert by_id["6"]["note"] == ""


def test_customer_chunks_hold_every_row_evenly(tiny_tpch, tmp_path):
    files = chunk_csv(tiny_tpch / "customer.csv", 4, tmp_path / "chunks")
    assert [f.name for f in files] == [f"customer_{i:04d}.csv" for i in range(1, 5)]
    counts = [read_csv_text(f).num_rows for f in files]
    assert sum(counts) == TINY_CUSTOMERS
    assert max(counts) - min(counts) <= 1
    assert b"".join(body(f) for f in files) == body(tiny_tpch / "customer.csv")


def test_more_chunks_than_rows_gives_one_row_per_file(tiny_tpch, tmp_path):
    files = chunk_csv(tiny_tpch / "region.csv", 10, tmp_path / "chunks")
    assert [read_csv_text(f).num_rows for f in files] == [1] * 5


def test_header_only_file_gives_one_header_only_chunk(tmp_path):
    source = tmp_path / "empty.csv"
    source.write_bytes(HEADER)
    files = chunk_csv(source, 3, tmp_path / "out")
    assert [f.read_bytes() for f in files] == [HEADER]


def test_last_line_without_newline_is_kept(tmp_path):
    source = tmp_path / "t.csv"
    source.write_bytes(b"a,b\n1,2\n3,4")
    files = chunk_csv(source, 2, tmp_path / "out")
    assert [f.read_bytes() for f in files] == [b"a,b\n1,2\n", b"a,b\n3,4"]


def test_rechunking_removes_older_chunks(handmade, tmp_path):
    chunk_csv(handmade, 5, tmp_path / "out")
    files = chunk_csv(handmade, 2, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f.name for f in files]


def test_unbalanced_quote_is_reported_with_the_file(tmp_path):
    source = tmp_path / "broken.csv"
    source.write_bytes(b'a,b\n1,"open\n')
    with pytest.raises(InputFileError, match="broken.csv"):
        chunk_csv(source, 1, tmp_path / "out")


@pytest.mark.parametrize("chunks", [0, -2, 1.5, True])
def test_bad_chunk_counts_are_refused(handmade, tmp_path, chunks):
    with pytest.raises(ConfigError):
        chunk_csv(handmade, chunks, tmp_path / "out")


def test_missing_source_names_the_next_step(tmp_path):
    with pytest.raises(InputFileError, match="landing generate"):
        chunk_csv(tmp_path / "nope.csv", 2, tmp_path / "out")


def test_writer_keeps_null_apart_from_empty_string(tmp_path):
    assert format_field(None) == ""
    assert format_field("") == '""'
    assert format_field('a "b", c') == '"a ""b"", c"'
    assert format_field("plain", always_quote=True) == '"plain"'
    path = tmp_path / "w.csv"
    write_csv_text(path, ["k", "v"], [["1", None], ["2", ""], ["3", " padded "]])
    assert path.read_text() == 'k,v\n1,\n2,""\n3," padded "\n'
    assert read_csv_text(path).column("v").to_pylist() == [None, "", " padded "]


@pytest.mark.parametrize("block_size", [1, 7, 16, 64])
def test_small_read_blocks_mix_fast_and_careful_paths(handmade, tmp_path, monkeypatch, block_size):
    # Real blocks are 16 MB; tiny ones put block edges inside records and quoted fields.
    from lakehouse.landing import chunking

    monkeypatch.setattr(chunking, "_BLOCK", block_size)
    source = tmp_path / "mixed.csv"
    rows = [b"%d,plain,row\n" % i for i in range(20)] + HANDMADE_ROWS + [b"%d,x,y\n" % i for i in range(30, 40)]
    source.write_bytes(HEADER + b"".join(rows))
    for chunks in (1, 3, 8):
        files = chunk_csv(source, chunks, tmp_path / f"out{chunks}")
        assert b"".join(body(f) for f in files) == b"".join(rows)
        assert sum(read_csv_text(f).num_rows for f in files) == len(rows)
