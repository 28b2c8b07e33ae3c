"""A landed file the Spark engine cannot read is quarantined as on the embedded engine
(test_awkward_files.py, test_bad_inputs.py): `lakehouse run` exits 3 naming the file, the reason and
what to do, and `lakehouse status` lists it until it changes. Spark's file stream takes each file
name once, so a file fixed under the same name is then reported as not read again (land it under a
new name), never silently dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lakehouse.core.checkpoints import CheckpointLog
from lakehouse.core.storage import FileInfo
from lakehouse.sources import ledger
from lakehouse.spec.model import TableRef
from lakehouse.spec.pipelines import CUSTOMER_PIPELINE

from .support import csv_text, local_place, status_json
from .test_awkward_files import QUARANTINED
from .test_bad_inputs import GOOD, rows_of
from .test_spark_crash import RUN_TIMEOUT, spark_place

BRONZE = TableRef("bronze", "customer_raw")


def test_spark_outcomes_feed_quarantine_and_discovery(tmp_path):
    place = local_place(tmp_path)
    bad = place.land("bad.csv.gz", b"not gzip")
    good = place.land("customer_0001.csv", csv_text(GOOD))
    settings, storage = place.settings(), place.storage()
    spark_log = CheckpointLog(storage, f"{settings.checkpoint_uri('bronze', 'customer_raw')}/spark")
    infos = {info.uri: info for info in storage.list_files(f"{place.landing}/customer")}
    records = [ledger.FileRecord(uri, infos[uri].size, infos[uri].modified.isoformat(), 0, status, reason)
               for uri, status, reason in [(bad, ledger.FAILED, "cannot be decompressed as gzip"),
                                           (good, ledger.INGESTED, "")]]
    ledger.write_outcomes(spark_log, 0, records)
    quarantined = ledger.quarantined_files(settings, storage, CUSTOMER_PIPELINE)
    assert [(r.uri, r.reason) for r in quarantined] == [(bad, "cannot be decompressed as gzip")]
    found = ledger.discover_taken(list(infos.values()), ledger.spark_outcomes(spark_log), {bad, good})
    assert [r.uri for r in found.quarantined] == [bad] and found.pending == [] and found.overwritten == []
    changed = FileInfo(modified=infos[bad].modified + timedelta(seconds=1), uri=bad, size=infos[bad].size)
    later = ledger.discover_taken([changed, infos[good]], ledger.spark_outcomes(spark_log), {bad, good})
    assert later.quarantined == [] and [(i.uri, r.batch_id) for i, r in later.overwritten] == [(bad, 0)]
    new = FileInfo(modified=datetime.now(UTC), uri=f"{place.landing}/customer/new.csv", size=3)
    assert ledger.discover_taken([new], {}, {bad, good}).pending == [new]


@pytest.mark.spark
@pytest.mark.slow
def test_spark_run_exits_3_and_status_lists_the_quarantined_file(tmp_path):
    name = "not_gzip.csv.gz"
    bad, reason, fixed = QUARANTINED[name]
    place = spark_place(tmp_path)
    place.land("customer_0001.csv", csv_text(GOOD))
    place.land(name, bad)
    run = place.cli("run", "--only", str(BRONZE), timeout=RUN_TIMEOUT)
    assert run.returncode == 3, (run.returncode, run.stderr[-3000:])
    assert "Traceback" not in run.stderr
    report = run.stderr[run.stderr.index("could not be ingested"):]
    assert f"{place.landing}/customer/{name} (batch 0)" in report and all(w in report for w in reason), report
    assert "land it again under the same name" in report and "under a new name" in report
    assert rows_of(place, name) == [] and len(rows_of(place, "customer_0001.csv")) == 2
    bronze = next(row for row in status_json(place) if row["table"] == str(BRONZE))
    assert [item["uri"] for item in bronze["files_quarantined"]] == [f"{place.landing}/customer/{name}"]
    assert bronze["files_pending"] == 0 and bronze["engine"] == "spark"

    place.land(name, fixed)  # fixed under the same name: Spark's file stream will not take it again
    again = place.cli("run", "--only", str(BRONZE), timeout=RUN_TIMEOUT)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"WARNING {place.landing}/customer/{name} was quarantined by batch 0" in again.stderr
    bronze = next(row for row in status_json(place) if row["table"] == str(BRONZE))
    assert bronze["files_quarantined"] == []
    assert [item["uri"] for item in bronze["files_overwritten"]] == [f"{place.landing}/customer/{name}"]
