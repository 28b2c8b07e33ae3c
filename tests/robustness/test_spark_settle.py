"""The settle interval on the Spark driver (sources/spark_files.wait_for_settled, called before the
bronze stream starts): Spark's file stream lists the folder itself and takes each name once, so the run
can only wait, once and at most the interval, for a young file to come of age; a file still written
during that wait is returned so the run warns that Spark takes it as it is."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from lakehouse.core.storage import Storage
from lakehouse.sources import ledger
from lakehouse.sources.spark_files import wait_for_settled

SETTLE = 30.0


def _listing(folder: Path):
    storage = Storage(None)
    return lambda: storage.list_files(str(folder))


def _age(path: Path, seconds: float) -> None:
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


def test_young_file_is_waited_for_once_then_the_stream_may_start(tmp_path, monkeypatch):
    young = tmp_path / "customer_0002.csv"
    young.write_text("c_custkey\n2\n")
    _age(young, 5)
    (tmp_path / "customer_0001.csv").write_text("c_custkey\n1\n")
    _age(tmp_path / "customer_0001.csv", 600)
    waits: list[float] = []

    def writer_finishes(seconds: float) -> None:
        waits.append(seconds)
        _age(young, 600)

    monkeypatch.setattr(ledger, "wait_for_writers", writer_finishes)
    assert wait_for_settled(_listing(tmp_path), SETTLE) == []
    assert len(waits) == 1 and SETTLE - 6 < waits[0] <= SETTLE - 4  # until the young file is 30 s old


def test_file_written_during_the_wait_is_returned_for_the_warning(tmp_path, monkeypatch):
    young = tmp_path / "customer_0001.csv"
    young.write_text("c_custkey\n1\n")

    def writer_keeps_writing(seconds: float) -> None:
        with young.open("a") as out:
            out.write("2\n")

    monkeypatch.setattr(ledger, "wait_for_writers", writer_keeps_writing)
    assert [Path(info.uri).name for info in wait_for_settled(_listing(tmp_path), SETTLE)] == [young.name]


def test_no_wait_when_every_file_is_old_or_the_interval_is_zero(tmp_path, monkeypatch):
    old = tmp_path / "customer_0001.csv"
    old.write_text("c_custkey\n1\n")
    monkeypatch.setattr(ledger, "wait_for_writers", lambda seconds: pytest.fail("no wait expected"))
    assert wait_for_settled(_listing(tmp_path), 0.0) == []
    _age(old, 600)
    assert wait_for_settled(_listing(tmp_path), SETTLE) == []
