"""Files still being written when a run lists them (docs/robustness.md, "Files still being written").

A file modified less than the settle interval before the listing is not taken: the run waits once for
it and lists again, and a file still being modified then is left for a later run, which takes it whole.
A file first taken while empty is taken again, whole, once it has rows. Modification times are set
with os.utime (on S3: on the server's backing file) instead of sleeping.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from lakehouse.core.config import Settings
from lakehouse.core.errors import ConfigError
from lakehouse.sources import ledger

from .support import csv_text, local_place, s3_place
from .test_bad_inputs import GOOD, assert_valid, bronze_rows, rows_of

ROWS = ["3,C,c,1,p,3.00,S,c", "4,D,d,1,p,4.00,S,c", "5,E,e,1,p,5.00,S,c"]
WHOLE = csv_text(ROWS)
# What a reader sees of a file a writer is copying: the header, a row and the start of the next line.
HALF = WHOLE[: WHOLE.index("4,D,d") + 5]


def settled(path: Path, seconds_ago: float = 600.0) -> None:
    stamp = time.time() - seconds_ago
    os.utime(path, (stamp, stamp))


@pytest.fixture
def place(tmp_path):
    """One good file ingested; settle interval 30 s, so only a real wait or an old mtime lets a file in."""
    place = local_place(tmp_path)
    place.env["LAKEHOUSE_SETTLE_SECONDS"] = "30"
    place.land("customer_0001.csv", csv_text(GOOD))
    place.run_in_process()
    return place


def test_settle_interval_comes_from_the_environment_and_is_checked(tmp_path):
    assert Settings.load(landing=str(tmp_path), env={}).landing_settle_seconds == 2.0
    assert Settings.load(landing="s3://b/landing", env={}).landing_settle_seconds == 0.0
    assert Settings.load(landing=str(tmp_path), env={"LAKEHOUSE_SETTLE_SECONDS": "0"}).landing_settle_seconds == 0.0
    assert Settings.load(landing="s3://b/l", env={"LAKEHOUSE_SETTLE_SECONDS": "5"}).landing_settle_seconds == 5.0
    with pytest.raises(ConfigError, match="'soon'"):
        Settings.load(landing=str(tmp_path), env={"LAKEHOUSE_SETTLE_SECONDS": "soon"})
    with pytest.raises(ConfigError, match="-1"):
        Settings.load(landing=str(tmp_path), env={"LAKEHOUSE_SETTLE_SECONDS": "-1"})


def test_file_still_being_written_is_left_until_it_settles_then_taken_whole(place, monkeypatch):
    path = Path(place.landing) / "customer" / "copying.csv"
    path.write_text(HALF)
    waits: list[float] = []

    def writer_keeps_writing(seconds: float) -> None:
        waits.append(seconds)
        with open(path, "a") as stream:  # the copy goes on while the run waits
            stream.write("-still-coming")

    monkeypatch.setattr(ledger, "wait_for_writers", writer_keeps_writing)
    messages = place.run_in_process()
    assert len(waits) == 1 and 0 < waits[0] <= 30
    assert any(f"{path}: not taken yet" in m and "may still be being written" in m for m in messages), messages
    assert rows_of(place, "copying.csv") == [] and len(bronze_rows(place)) == 2
    assert str(path) not in ledger.ledger(_bronze_log(place))  # never planned: nothing to re-upload later

    path.write_text(WHOLE)  # the copy finished; nobody touches it for longer than the interval
    settled(path)
    monkeypatch.setattr(ledger, "wait_for_writers", lambda seconds: pytest.fail("nothing settling: no wait"))
    messages = place.run_in_process()
    rows = rows_of(place, "copying.csv")
    assert [r["c_custkey"] for r in rows] == [3, 4, 5]
    assert all(r["_rescued_data"] is None for r in rows), rows  # no truncated last line kept as a corrupt row
    assert not any("re-uploaded" in m for m in messages)
    assert "bronze.customer_raw: nothing new" in " ".join(place.run_in_process())
    assert len(rows_of(place, "copying.csv")) == 3
    assert_valid(place)


def test_file_landed_just_before_the_run_is_waited_for_and_taken_by_it(tmp_path, monkeypatch):
    place = local_place(tmp_path)
    place.env["LAKEHOUSE_SETTLE_SECONDS"] = "1"
    uri = place.land("customer_0001.csv", csv_text(GOOD))
    settled(Path(uri), seconds_ago=0.6)
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(ledger, "wait_for_writers", wait)
    place.run_in_process()
    assert len(waits) == 1 and 0.2 < waits[0] <= 0.5, waits
    assert len(rows_of(place, "customer_0001.csv")) == 2
    assert_valid(place)


def test_file_taken_while_empty_is_ingested_whole_once_written(tmp_path):
    place = local_place(tmp_path)
    place.env["LAKEHOUSE_SETTLE_SECONDS"] = "0"  # the writer created the file, then paused: taken empty
    place.land("customer_0001.csv", csv_text(GOOD))
    uri = place.land("late.csv", b"")
    assert any("late.csv: empty file" in m for m in place.run_in_process())
    Path(uri).write_text(WHOLE)
    settled(Path(uri))
    messages = place.run_in_process()
    assert not any("re-uploaded" in m for m in messages), messages
    assert [r["c_custkey"] for r in rows_of(place, "late.csv")] == [3, 4, 5]
    assert "bronze.customer_raw: nothing new" in " ".join(place.run_in_process())
    assert len(rows_of(place, "late.csv")) == 3
    assert_valid(place)


def test_file_taken_with_its_header_only_is_ingested_whole_once_written(tmp_path):
    place = local_place(tmp_path)
    place.env["LAKEHOUSE_SETTLE_SECONDS"] = "0"
    place.land("customer_0001.csv", csv_text(GOOD))
    place.run_in_process()  # the schema is stored: a header alone is no longer skipped for inference
    uri = place.land("late.csv", csv_text([]))
    place.run_in_process()
    assert ledger.ledger(_bronze_log(place))[uri].status == ledger.EMPTY
    Path(uri).write_text(WHOLE)
    settled(Path(uri))
    messages = place.run_in_process()
    assert not any("re-uploaded" in m for m in messages), messages
    assert [r["c_custkey"] for r in rows_of(place, "late.csv")] == [3, 4, 5]
    assert_valid(place)


def test_settling_file_is_pending_in_status_and_the_run_exits_0(place):
    path = Path(place.landing) / "customer" / "copying.csv"
    path.write_text(HALF)
    settled(path, seconds_ago=-3600)  # a clock an hour ahead: still settling after the run's one wait
    run = place.cli("run", extra_env={"LAKEHOUSE_SETTLE_SECONDS": "1"})
    assert run.returncode == 0, run.stderr
    assert f"{path}: not taken yet" in run.stderr
    status = json.loads(place.cli("--json", "status").stdout)
    bronze = next(row for row in status if row["table"] == "bronze.customer_raw")
    assert bronze["files_pending"] == 1 and bronze["files_quarantined"] == []
    assert rows_of(place, "copying.csv") == []


@pytest.mark.integration
def test_s3_object_is_taken_once_it_settles(s3_server, monkeypatch):
    """On S3 an object is listed only once whole, so the default interval there is 0; set one, and the
    object's LastModified (the server's clock, second precision) decides as a file's mtime does."""
    place = s3_place(s3_server.endpoint)
    place.env["LAKEHOUSE_SETTLE_SECONDS"] = "30"
    uri = place.land("customer_0001.csv", csv_text(GOOD))
    monkeypatch.setattr(ledger, "wait_for_writers", lambda seconds: None)
    messages = place.run_in_process()
    assert any(f"{uri}: not taken yet" in m for m in messages), messages
    assert ledger.ledger(_bronze_log(place)) == {}

    bucket, _, key = uri[len("s3://"):].partition("/")
    settled(s3_server.data_dir / bucket / key)  # the posix backend reports the backing file's mtime
    place.run_in_process()
    assert [r["c_custkey"] for r in rows_of(place, "customer_0001.csv")] == [1, 2]
    assert "bronze.customer_raw: nothing new" in " ".join(place.run_in_process())
    del place.env["LAKEHOUSE_SETTLE_SECONDS"]
    monkeypatch.delenv("LAKEHOUSE_SETTLE_SECONDS", raising=False)
    assert place.settings().landing_settle_seconds == 0.0
    fresh = place.land("customer_0002.csv", csv_text(ROWS))
    place.run_in_process()  # the default on S3 takes a fresh object at once
    assert len(rows_of(place, fresh.rsplit("/", 1)[-1])) == 3
    assert_valid(place)


def _bronze_log(place):
    from lakehouse.core.checkpoints import CheckpointLog

    settings = place.settings()
    return CheckpointLog(place.storage(), settings.checkpoint_uri("bronze", "customer_raw"))
