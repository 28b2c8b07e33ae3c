"""One run of a pipeline at a time per warehouse: a second run fails fast with a clear message.

Local warehouses use an OS file lock (released by the kernel if the process dies). S3 warehouses
use an object created with a conditional put (If-None-Match: *), holding the owner and a lease
expiry, so that a crashed run's lock can be taken over once its lease has run out.
"""

from __future__ import annotations

import json
import os
import socket
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from lakehouse.config import Settings
from lakehouse.errors import ConcurrentRunError

LEASE_SECONDS = 15 * 60


def _owner() -> dict[str, object]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "since": datetime.now(timezone.utc).isoformat(),
            "expires": time.time() + LEASE_SECONDS}


@contextmanager
def pipeline_lock(settings: Settings, name: str) -> Iterator[None]:
    if settings.warehouse.startswith("s3://"):
        with _s3_lock(settings, name):
            yield
    else:
        with _local_lock(settings, name):
            yield


@contextmanager
def _local_lock(settings: Settings, name: str) -> Iterator[None]:
    import fcntl

    folder = os.path.join(settings.warehouse, "_locks")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{name}.lock")
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise ConcurrentRunError(
            f"Another run of pipeline '{name}' holds the lock {path} ({holder}).",
            hint="wait for it to finish; nothing was changed by this run",
        ) from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(_owner()))
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


@contextmanager
def _s3_lock(settings: Settings, name: str) -> Iterator[None]:
    import boto3
    from botocore.exceptions import ClientError

    bucket, _, prefix = settings.warehouse[len("s3://"):].partition("/")
    key = f"{prefix}/_locks/{name}.lock".lstrip("/")
    client = boto3.client(
        "s3",
        endpoint_url=settings.s3.endpoint_url,
        region_name=settings.s3.region,
        aws_access_key_id=settings.s3.access_key_id,
        aws_secret_access_key=settings.s3.secret_access_key,
    )
    body = json.dumps(_owner()).encode()
    for attempt in range(2):
        try:
            client.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")
            break
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise
            holder = json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
            if attempt == 0 and float(holder.get("expires", 0)) < time.time():
                client.delete_object(Bucket=bucket, Key=key)  # the holder's lease ran out: it crashed
                continue
            raise ConcurrentRunError(
                f"Another run of pipeline '{name}' holds the lock s3://{bucket}/{key} "
                f"(host {holder.get('host')}, pid {holder.get('pid')}, since {holder.get('since')}).",
                hint=f"wait for it to finish; a crashed run's lock expires {LEASE_SECONDS // 60} minutes after it started",
            ) from None
    try:
        yield
    finally:
        client.delete_object(Bucket=bucket, Key=key)
