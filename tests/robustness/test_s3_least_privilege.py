"""Least-privilege S3 users on the real S3 server (versitygw), made by scripts/s3_least_privilege.py:
every action each user needs works, every other tried here is refused, and the pipeline runs as
`pipeline`, with files landed as `landing-writer`, its tables read as `reader` (docs/s3.md)."""

from __future__ import annotations

import os
import subprocess
import sys

import botocore.exceptions
import pytest

from lakehouse.core.config import Settings
from lakehouse.core.storage import Storage
from lakehouse.engines.embedded.engine import EmbeddedEngine
from lakehouse.spec.model import TableRef
from tests.services.s3_users import client_for, env_for, least_privilege

from .support import REPO, csv_text
from .test_bad_inputs import GOOD

pytestmark = pytest.mark.integration

ALLOWED, DENIED = True, False


@pytest.fixture(scope="module")
def layout(s3_server):
    return least_privilege(s3_server)


def _attempt(client, action: str, bucket: str) -> bool:
    """Whether `action` succeeds; False only for AccessDenied (any other error fails the test)."""
    key = "customer/probe.csv"
    calls = {
        "put": lambda: client.put_object(Bucket=bucket, Key=key, Body=b"a\n1\n"),
        "list": lambda: client.list_objects_v2(Bucket=bucket, Prefix="customer/"),
        "get": lambda: client.get_object(Bucket=bucket, Key="customer/seed.csv")["Body"].read(),
        "delete": lambda: client.delete_object(Bucket=bucket, Key="customer/seed.csv"),
    }
    try:
        calls[action]()
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] in ("AccessDenied", "403"):
            return False
        raise
    return True


# (user, action, bucket) -> allowed. "delete" of the seed object is tried last for each bucket.
MATRIX = [
    ("landing-writer", "put", "landing", ALLOWED),
    ("landing-writer", "list", "landing", ALLOWED),
    ("landing-writer", "get", "landing", DENIED),
    ("landing-writer", "delete", "landing", DENIED),
    ("landing-writer", "list", "warehouse", DENIED),
    ("landing-writer", "get", "warehouse", DENIED),
    ("landing-writer", "put", "warehouse", DENIED),
    ("landing-writer", "delete", "warehouse", DENIED),
    ("pipeline", "get", "landing", ALLOWED),
    ("pipeline", "list", "landing", ALLOWED),
    ("pipeline", "put", "landing", DENIED),
    ("pipeline", "delete", "landing", DENIED),
    ("pipeline", "list", "warehouse", ALLOWED),
    ("pipeline", "get", "warehouse", ALLOWED),
    ("pipeline", "put", "warehouse", ALLOWED),
    ("reader", "list", "warehouse", ALLOWED),
    ("reader", "get", "warehouse", ALLOWED),
    ("reader", "put", "warehouse", DENIED),
    ("reader", "delete", "warehouse", DENIED),
    ("reader", "get", "landing", DENIED),
    ("reader", "list", "landing", DENIED),
    ("reader", "put", "landing", DENIED),
    ("pipeline", "delete", "warehouse", ALLOWED),
]


def test_each_user_can_do_what_it_needs_and_nothing_else(layout, s3_server):
    buckets = {"landing": layout.landing_bucket, "warehouse": layout.warehouse_bucket}
    root = s3_server.client()
    for bucket in buckets.values():
        root.put_object(Bucket=bucket, Key="customer/seed.csv", Body=b"a\n1\n")
    outcomes = {(user, action, where): _attempt(client_for(layout, user), action, buckets[where])
                for user, action, where, _ in MATRIX}
    expected = {(user, action, where): allowed for user, action, where, allowed in MATRIX}
    wrong = {case: outcome for case, outcome in outcomes.items() if outcome != expected[case]}
    assert not wrong, f"allowed (True) or denied (False) against the policy: {wrong}"
    assert root.get_object(Bucket=layout.landing_bucket, Key="customer/seed.csv")["Body"].read() == b"a\n1\n"


def test_pipeline_runs_as_the_pipeline_user_on_files_landed_by_the_writer(layout):
    landing = f"s3://{layout.landing_bucket}/landing"
    warehouse = f"s3://{layout.warehouse_bucket}/warehouse"
    writer = Settings.load(landing=landing, warehouse=warehouse, env=env_for(layout, "landing-writer"))
    Storage(writer.s3).write_bytes(f"{landing}/customer/customer_0001.csv", csv_text(GOOD).encode())

    def lakehouse(user: str, *args: str) -> subprocess.CompletedProcess:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("LAKEHOUSE_", "AWS_"))}
        env.update(env_for(layout, user), LAKEHOUSE_LANDING=landing, LAKEHOUSE_WAREHOUSE=warehouse)
        return subprocess.run([sys.executable, "-m", "lakehouse", *args], env=env, capture_output=True, text=True,
                              timeout=180, cwd=str(REPO))

    run = lakehouse("pipeline", "run")
    assert run.returncode == 0, run.stderr
    reader = Settings.load(landing=landing, warehouse=warehouse, env=env_for(layout, "reader"))
    tables = EmbeddedEngine(reader, Storage(reader.s3))
    assert sorted(tables.read_table(TableRef("bronze", "customer_raw")).column("c_custkey").to_pylist()) == [1, 2]
    assert tables.read_table(TableRef("gold", "dim_customer")).num_rows == 2

    refused = lakehouse("reader", "run")  # the reader may not take the run's lock in the warehouse
    assert refused.returncode == 2 and "AccessDenied" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr and "may not write the warehouse" in refused.stderr, refused.stderr
    assert layout.users["reader"].secret_key not in refused.stdout + refused.stderr
    assert tables.read_table(TableRef("gold", "dim_customer")).num_rows == 2
