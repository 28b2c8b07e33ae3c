"""A configured S3 secret key never appears in what the CLI prints (text, --json, --debug tracebacks,
status, errors) nor in what a run writes to the warehouse (event log, checkpoints), on the real S3
server with a least-privilege user whose secret is random."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from lakehouse.core.config import S3Settings, Settings
from lakehouse.core.storage import Storage
from tests.services.s3_users import env_for, least_privilege

from .support import REPO, csv_text
from .test_bad_inputs import GOOD

pytestmark = pytest.mark.integration


def test_secret_key_is_never_printed_or_stored(s3_server):
    layout = least_privilege(s3_server)
    secret = layout.users["pipeline"].secret_key
    landing = f"s3://{layout.landing_bucket}/landing"
    warehouse = f"s3://{layout.warehouse_bucket}/warehouse"
    writer = Settings.load(landing=landing, warehouse=warehouse, env=env_for(layout, "landing-writer"))
    Storage(writer.s3).write_bytes(f"{landing}/customer/customer_0001.csv", csv_text(GOOD).encode())
    base = {key: value for key, value in os.environ.items() if not key.startswith(("LAKEHOUSE_", "AWS_"))}
    base.update(env_for(layout, "pipeline"), LAKEHOUSE_LANDING=landing, LAKEHOUSE_WAREHOUSE=warehouse)
    wrong_secret = f"wrong-{uuid.uuid4().hex}"
    commands = [
        (["run"], {}, 0),
        (["--json", "status"], {}, 0),
        (["status"], {}, 0),
        (["--json", "validate"], {}, 0),
        (["--debug", "run"], {"AWS_SECRET_ACCESS_KEY": wrong_secret}, None),  # refused by the server
        (["--json", "status"], {"AWS_SECRET_ACCESS_KEY": wrong_secret}, None),
        (["--debug", "run", "--pipeline", "no-such-pipeline"], {}, None),
        (["--debug", "--json", "run"], {"LAKEHOUSE_WAREHOUSE": f"s3://missing-{uuid.uuid4().hex[:8]}/w"}, None),
    ]
    for args, extra, expected_code in commands:
        done = subprocess.run([sys.executable, "-m", "lakehouse", *args], env={**base, **extra}, cwd=str(REPO),
                              capture_output=True, text=True, timeout=180)
        if expected_code is not None:
            assert done.returncode == expected_code, (args, done.stderr)
        else:
            assert done.returncode != 0, (args, done.stdout)
        for shown in (secret, wrong_secret):
            assert shown not in done.stdout + done.stderr, (args, "printed the secret key")
    root = s3_server.client()
    for page in root.get_paginator("list_objects_v2").paginate(Bucket=layout.warehouse_bucket):
        for item in page.get("Contents", []):
            body = root.get_object(Bucket=layout.warehouse_bucket, Key=item["Key"])["Body"].read()
            assert secret.encode() not in body, f"{item['Key']} holds the secret key"


def test_settings_repr_hides_the_secret_key():
    settings = S3Settings(endpoint_url="http://127.0.0.1:1", access_key_id="key", secret_access_key="s3cr3t-value")
    assert "s3cr3t-value" not in repr(settings) and "s3cr3t-value" not in repr(
        Settings(landing="/l", warehouse="/w", s3=settings))
    assert "key" in repr(settings)
