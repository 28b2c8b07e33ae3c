"""Two runs of the same pipeline at once: the second fails fast (exit 2, ConcurrentRunError naming the
holder) and nothing is corrupted. A lock left behind by a SIGKILLed run does not block the rerun."""

from __future__ import annotations

import json
import os
import time

import pytest

from lakehouse.core.errors import ConcurrentRunError
from lakehouse.runtime.locking import pipeline_lock

from .support import (
    PHASE1,
    TABLES,
    Place,
    check_checkpoints,
    check_time_columns,
    engine,
    local_place,
    lock_holder,
    no_bronze_duplicates,
    s3_client,
    s3_place,
)

pytestmark = pytest.mark.integration
PAUSE = {"LAKEHOUSE_PAUSE_AT": "bronze.customer_raw:after-read@3"}


def _second_run_fails_fast(place: Place) -> None:
    place.land_all(PHASE1)
    first = place.popen("run", extra_env=PAUSE)
    try:
        deadline = time.monotonic() + 60
        while (lock_holder(place) or {}).get("pid") != first.pid:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first run never took the lock"
            time.sleep(0.05)
        started = time.monotonic()
        second = place.cli("run")
        assert time.monotonic() - started < 30
        assert second.returncode == 2, (second.returncode, second.stderr)
        assert "Another run of pipeline 'customer' holds the lock" in second.stderr
        assert f"pid {first.pid}" in second.stderr or f'"pid": {first.pid}' in second.stderr
        assert "hint: wait for it to finish" in second.stderr
        assert "Traceback" not in second.stderr
        assert first.poll() is None, "the first run should still be paused while the second is refused"
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert lock_holder(place) is None or not place.on_s3  # S3: the lock object is removed on release
    again = place.cli("run")
    assert again.returncode == 0, again.stderr
    assert "nothing new" in again.stderr
    validated = place.cli("validate")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    eng = engine(place)
    counts = {str(ref): eng.read_table(ref).num_rows for ref in TABLES}
    assert counts == {"bronze.customer_raw": 6, "silver.customer": 6, "gold.dim_customer": 6}
    no_bronze_duplicates(place)
    check_checkpoints(place)
    check_time_columns(place)


def test_second_run_fails_fast_local(tmp_path):
    _second_run_fails_fast(local_place(tmp_path))


def test_second_run_fails_fast_s3(s3_server):
    _second_run_fails_fast(s3_place(s3_server.endpoint))


def _put_lock(place: Place, holder: dict) -> None:
    bucket, _, prefix = place.warehouse[len("s3://"):].partition("/")
    s3_client(place.env["AWS_ENDPOINT_URL"]).put_object(
        Bucket=bucket, Key=f"{prefix}/_locks/customer.lock", Body=json.dumps(holder).encode())


def test_s3_lock_held_elsewhere_is_respected_until_its_lease_ends(s3_server):
    place = s3_place(s3_server.endpoint)
    settings = place.settings()
    live = {"host": "other-host", "pid": 4242, "since": "2030-01-01T00:00:00+00:00", "expires": time.time() + 600}
    _put_lock(place, live)
    with pytest.raises(ConcurrentRunError, match="host other-host, pid 4242"), pipeline_lock(settings, "customer"):
        pass
    _put_lock(place, {**live, "expires": time.time() - 1})  # its lease ran out: the holder crashed
    with pipeline_lock(settings, "customer"):
        assert lock_holder(place)["pid"] == os.getpid()
    assert lock_holder(place) is None


def test_local_lock_names_the_holder(tmp_path):
    place = local_place(tmp_path)
    settings = place.settings()
    with pipeline_lock(settings, "customer"):
        refused = place.cli("run")
    assert refused.returncode == 2
    assert f'"pid": {os.getpid()}' in refused.stderr
    assert place.cli("run").returncode == 0
