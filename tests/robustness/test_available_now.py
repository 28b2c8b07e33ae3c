"""availableNow: one run takes every landed file, in as many batches as the batch limit needs, then exits."""

from __future__ import annotations

from lakehouse.core.storage import Storage
from lakehouse.runtime.runner import Runner
from tests.robustness.support import PIPELINE, csv_text, local_place


def _row(key: int) -> str:
    return f"{key},Customer#{key},addr,1,11-111-111-1111,1.00,BUILDING,comment {key}"


def _land(place, files: int) -> None:
    for index in range(files):
        place.land(f"part-{index:03d}.csv", csv_text([_row(index + 1)]))


def _run(place, **overrides):
    settings = place.settings().with_overrides(**overrides)
    return Runner(settings, Storage(settings.s3)).run(PIPELINE)


def _bronze(report):
    return next(table for table in report.tables if table.table == "bronze.customer_raw")


def test_one_run_takes_every_file_in_batches_of_the_limit(tmp_path):
    place = local_place(tmp_path)
    _land(place, 5)
    report = _run(place, max_files_per_batch=2)
    bronze = _bronze(report)
    assert [batch["details"]["files"] for batch in bronze.batches] == [2, 2, 1]
    assert bronze.rows_written == 5
    silver = next(table for table in report.tables if table.table == "silver.customer")
    assert silver.rows_written == 5, "silver read every bronze version of the run"
    assert _bronze(_run(place, max_files_per_batch=2)).batches == [], "nothing left for the next run"


def test_without_available_now_a_run_takes_one_batch(tmp_path):
    place = local_place(tmp_path)
    _land(place, 5)
    runs = [_bronze(_run(place, max_files_per_batch=2, available_now=False)) for _ in range(4)]
    assert [sum(batch["details"]["files"] for batch in run.batches) for run in runs] == [2, 2, 1, 0]
