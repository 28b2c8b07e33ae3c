"""Faults from real servers: the S3 server (versitygw) stops in the middle of a run and starts again
on the same data folder; the run that hit it fails with a message naming the storage location and
what to do (no traceback, nonzero exit), and the rerun leaves every table equal to a clean run's.
The Hive Metastore stops before a run: the first table's data is committed, the run says it is not
registered; once the metastore is back, the rerun registers it and runs the rest."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from lakehouse.catalog import open_catalog
from lakehouse.catalog.metastore_server import stop_metastore
from lakehouse.core.storage import unreachable_store_error

from .server_faults_support import RestartableS3, restart_metastore, run_held_at
from .support import (
    PHASE1,
    PHASE2,
    TABLES,
    Place,
    check_checkpoints,
    clone,
    no_bronze_duplicates,
    s3_place,
    snapshot,
    table_version,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def own_s3(tmp_path_factory):
    s3 = RestartableS3(tmp_path_factory.mktemp("versitygw-restartable"))
    s3.start()
    try:
        yield s3
    finally:
        s3.stop()


@pytest.fixture(scope="module")
def backend(own_s3):
    """The first landing run, the second one landed; and the clean run of that second landing."""
    template = s3_place(own_s3.endpoint)
    template.land_all(PHASE1)
    template.run_in_process()
    template.land_all(PHASE2)
    clean = clone(template, _new_warehouse(template))
    clean.run_in_process()
    return template, snapshot(clean)


def _new_warehouse(template: Place) -> str:
    bucket = template.warehouse[len("s3://"):].split("/")[0]
    return f"s3://{bucket}/warehouse-{uuid.uuid4().hex[:8]}"


# Where the server goes away (the batch is planned, its offsets written): before bronze's append,
# before silver's MERGE, and after bronze's commit landed but before its commit log entry. The value
# says whether the batch's data landed before the server went.
POINTS = {
    "bronze-write": ("bronze.customer_raw:after-read", False),
    "silver-merge": ("silver.customer:after-read", False),
    "checkpoint-write": ("bronze.customer_raw:after-commit", True),
}


@pytest.mark.slow  # 20-35 s a case: the failed run retries every request before it gives up
@pytest.mark.parametrize("point,landed", POINTS.values(), ids=POINTS.keys())
def test_s3_server_stops_mid_run_then_rerun_equals_clean_run(own_s3, backend, tmp_path, point, landed):
    template, baseline = backend
    place = clone(template, _new_warehouse(template))
    held = run_held_at(place, point, tmp_path / "paused")
    own_s3.stop()
    try:
        failed = held.release()
    finally:
        own_s3.start()
    assert failed.returncode == 2, failed.stderr
    assert "Traceback" not in failed.stderr, failed.stderr
    error = next(line for line in failed.stderr.splitlines() if line.startswith("error: "))
    assert f"The object store at {own_s3.endpoint} is unreachable: {place.warehouse}/" in error, error
    assert "start the S3 server" in failed.stderr and "run the same command again" in failed.stderr

    rerun = place.cli("run")
    assert rerun.returncode == 0, rerun.stderr
    assert "replaying batch" in rerun.stderr
    assert ("replayed batch(es) already landed" in rerun.stderr) is landed, rerun.stderr
    assert snapshot(place) == baseline
    no_bronze_duplicates(place)
    check_checkpoints(place)


def test_only_an_unreachable_server_is_turned_into_that_error():
    refused = OSError("Generic S3 error: Error performing GET http://127.0.0.1:9/b/wh/t/_delta_log/x in 1s, "
                      "after 5 retries - tcp connect error: Connection refused (os error 111)")
    try:
        try:
            raise refused
        finally:  # clean-up meeting the same dead server: the first failure is the one reported
            raise RuntimeError('Could not connect to the endpoint URL: "http://127.0.0.1:9/b/wh/_locks/p.lock"')
    except RuntimeError as during_cleanup:
        error = unreachable_store_error(during_cleanup, "http://127.0.0.1:9")
    assert error is not None and "s3://b/wh/t/_delta_log/x" in error.message and "OSError" in error.message
    pyarrow_style = OSError("When reading information for key 'wh/a.json' in bucket 'b': AWS Error "
                            "NETWORK_CONNECTION during HeadObject operation: curlCode: 7, Couldn't connect to server")
    assert "s3://b/wh/a.json" in unreachable_store_error(pyarrow_style, None).message
    assert unreachable_store_error(OSError("Access Denied for s3://b/wh"), "http://x") is None
    assert unreachable_store_error(ValueError("Connection was fine"), None) is None


@pytest.mark.slow  # the metastore's JVM starts again: 15-40 s
def test_metastore_down_data_commits_then_registration_catches_up(s3_server, hive_metastore, postgres_cluster):
    prefix = f"faults{uuid.uuid4().hex[:6]}_"
    place = s3_place(s3_server.endpoint)
    place.env.update({"LAKEHOUSE_CATALOG": hive_metastore.uri, "LAKEHOUSE_CATALOG_PREFIX": prefix})
    place.land_all(PHASE1)
    clean = s3_place(s3_server.endpoint)
    clean.land_all(PHASE1)
    clean.run_in_process()

    stop_metastore(Path(hive_metastore.state_dir))
    try:
        failed = place.cli("run")
    finally:
        restart_metastore(hive_metastore, postgres_cluster.database("metastore"), s3_server.env())
    assert failed.returncode == 2, failed.stderr
    assert "Traceback" not in failed.stderr, failed.stderr
    error = next(line for line in failed.stderr.splitlines() if line.startswith("error: "))
    assert "bronze.customer_raw is committed (table version 0) but is not registered in the catalog" in error
    assert f"Cannot reach the Hive Metastore at {hive_metastore.uri}" in error, error
    assert "run the same command again: it registers bronze.customer_raw" in failed.stderr
    assert [table_version(place, ref) for ref in TABLES] == [0, None, None]

    rerun = place.cli("run")
    assert rerun.returncode == 0, rerun.stderr
    catalog = open_catalog(place.settings(), prefix=prefix)
    registered = {str(ref): catalog.get_table(ref.schema, ref.name) for ref in TABLES}
    assert all(registered.values()), registered
    assert snapshot(place) == snapshot(clean)
    no_bronze_duplicates(place)
    check_checkpoints(place)
