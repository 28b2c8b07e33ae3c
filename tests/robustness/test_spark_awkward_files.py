"""The Spark engine reads the awkward files the embedded one reads (test_awkward_files.py): a CR-only
file, UTF-16 exports with a byte-order mark and .gz/.bz2 files, beside a plain file, in one
`lakehouse --engine spark run`; a .zst file is set aside when Hadoop's native zstd codec is missing.
Spark opens the files itself; sources/csv/spark_reader.py makes the same decisions on what it reads."""

from __future__ import annotations

import pytest

from .support import csv_text
from .test_awkward_files import QUARANTINED, READABLE, assert_ingested
from .test_bad_inputs import GOOD, bronze_rows, rows_of
from .test_spark_crash import RUN_TIMEOUT, spark_place

pytestmark = [pytest.mark.spark, pytest.mark.slow]
CORRUPT = ["truncated.csv.gz", "not_gzip.csv.gz"]
NAMES = ["cr_only.csv", "utf16le.csv", "utf16be.csv", "excel.csv", "gzipped.csv.gz", "bzipped.csv.bz2"]


def test_spark_reads_cr_only_and_utf16_files(tmp_path):
    place = spark_place(tmp_path)
    place.land("customer_0001.csv", csv_text(GOOD))
    for name in [*NAMES, "zstd.csv.zst"]:
        place.land(name, READABLE[name])
    for name in CORRUPT:
        place.land(name, QUARANTINED[name][0])
    run = place.cli("run", timeout=RUN_TIMEOUT)
    # Every other file is ingested; the two corrupt ones stay quarantined (exit 3), as on the embedded engine.
    assert run.returncode == 3, run.stderr[-3000:]
    report = run.stderr[run.stderr.index("could not be ingested"):]
    assert all(f"{place.landing}/customer/{name} (batch 0)" in report for name in CORRUPT), report
    assert "Traceback" not in run.stderr
    for name in NAMES:
        rows = assert_ingested(place, name, [3, 5])
        assert rows[0]["c_name"] == "Zoë 李" and rows[0]["c_comment"] == "ünï", (name, rows[0])
        assert rows[1]["c_comment"] == "c" * 300 and rows[1]["_rescued_data"] is None, (name, rows[1])
        assert [r["source_row"] for r in rows] == [2, 3]
    assert len(bronze_rows(place)) == 2 + 2 * len(NAMES)
    # Hadoop's zstd codec needs the native Hadoop library: without it the file is set aside, not the batch failed.
    assert "zstd.csv.zst: Spark cannot decompress .zst here" in run.stderr
    assert rows_of(place, "zstd.csv.zst") == []
    for name in CORRUPT:  # read whole when opened: set aside, the batch goes on
        assert f"QUARANTINED {place.landing}/customer/{name}: cannot be decompressed as gzip" in run.stderr
        assert rows_of(place, name) == []
