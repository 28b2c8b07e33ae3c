"""Least-privilege users on the tests' S3 server, made by the stack's own init (scripts/s3_least_privilege.py).

`least_privilege(server)` creates a fresh landing and warehouse bucket and the three users
(landing-writer, pipeline, reader) with the bucket policies of that script, and returns its Layout;
`client_for(layout, user)` is a boto3 client signing as that user.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from types import ModuleType

from tests.services.s3_server import S3Server

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "s3_least_privilege.py"


def init_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("s3_least_privilege", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script loads
    spec.loader.exec_module(module)
    return module


def least_privilege(server: S3Server):
    script = init_script()
    suffix = uuid.uuid4().hex[:10]
    # Fresh users per call: the server is shared by the session, and a user keeps the secret it was made with.
    users = {name: script.Credentials(f"{name}-{suffix}", f"{name}-secret-{uuid.uuid4().hex}")
             for name in script.USER_NAMES}
    layout = script.Layout(endpoint=server.endpoint, root=script.Credentials(server.access_key, server.secret_key),
                           users=users, landing_bucket=f"landing-{suffix}", warehouse_bucket=f"warehouse-{suffix}",
                           region=server.region)
    script.initialise(layout, say=lambda line: None)
    return layout


def client_for(layout, user: str):
    import boto3

    credentials = layout.users[user]
    return boto3.client("s3", endpoint_url=layout.endpoint, region_name=layout.region,
                        aws_access_key_id=credentials.access_key, aws_secret_access_key=credentials.secret_key)


def env_for(layout, user: str) -> dict[str, str]:
    """The AWS_* variables of a process running as `user`."""
    credentials = layout.users[user]
    return {"AWS_ENDPOINT_URL": layout.endpoint, "AWS_ACCESS_KEY_ID": credentials.access_key,
            "AWS_SECRET_ACCESS_KEY": credentials.secret_key, "AWS_REGION": layout.region, "AWS_ALLOW_HTTP": "true"}
