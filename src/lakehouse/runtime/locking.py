"""One run of a pipeline at a time per warehouse: a second run fails fast with a clear message.

Local warehouses use an OS file lock (released by the kernel if the process dies). S3 warehouses
use an object created with a conditional put (If-None-Match: *), holding the owner and a lease
expiry that a heartbeat thread renews while the run lasts. A crashed run's lock is taken over once
its lease has run out, or at once when it was held on this host by a process that no longer lives
(so a rerun right after a SIGKILL does not have to wait for the lease).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from lakehouse.core.config import Settings
from lakehouse.core.errors import ConcurrentRunError

LEASE_SECONDS = 5 * 60
HEARTBEAT_SECONDS = 60


def _owner(token: str = "") -> dict[str, object]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "since": datetime.now(UTC).isoformat(),
            "expires": time.time() + LEASE_SECONDS, "token": token}


def _holder_is_dead(holder: dict[str, object]) -> bool:
    """True only when the holder ran on this host and its process is gone (or the pid was reused)."""
    if holder.get("host") != socket.gethostname():
        return False
    try:
        pid = int(holder.get("pid"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        since = datetime.fromisoformat(str(holder.get("since"))).timestamp()
        return process.create_time() > since + 1  # the pid now belongs to a later process
    except psutil.NoSuchProcess:
        return True
    except (psutil.Error, ValueError):
        return False


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
    handle = open(path, "a+")  # noqa: SIM115 (held open: the lock lives as long as the handle)
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
    token = uuid.uuid4().hex

    def read_holder() -> dict[str, object] | None:
        try:
            return json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        except ValueError:
            return {}

    for attempt in range(3):
        try:
            client.put_object(Bucket=bucket, Key=key, Body=json.dumps(_owner(token)).encode(), IfNoneMatch="*")
            break
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise
            holder = read_holder()
            if holder is None:
                continue  # released between our put and our read: try again
            stale = float(holder.get("expires", 0)) < time.time() or _holder_is_dead(holder)
            if attempt < 2 and stale:
                client.delete_object(Bucket=bucket, Key=key)  # the holder crashed: take its lock over
                continue
            raise ConcurrentRunError(
                f"Another run of pipeline '{name}' holds the lock s3://{bucket}/{key} "
                f"(host {holder.get('host')}, pid {holder.get('pid')}, since {holder.get('since')}).",
                hint="wait for it to finish and run again; nothing was changed by this run (a crashed run's lock "
                     f"is taken over when its process is gone, or {LEASE_SECONDS // 60} minutes after its last heartbeat)",
            ) from None
    else:
        raise ConcurrentRunError(f"Could not take the lock s3://{bucket}/{key} for pipeline '{name}'.",
                                 hint="another run keeps taking it: wait for it to finish and run again")
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            holder = read_holder()
            if not holder or holder.get("token") != token:
                return  # taken over: never overwrite another run's lock
            renewed = {**holder, "expires": time.time() + LEASE_SECONDS}
            client.put_object(Bucket=bucket, Key=key, Body=json.dumps(renewed).encode())

    beat = threading.Thread(target=heartbeat, name=f"lock-heartbeat-{name}", daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join(timeout=10)
        holder = read_holder()
        if holder is not None and holder.get("token") == token:
            client.delete_object(Bucket=bucket, Key=key)
