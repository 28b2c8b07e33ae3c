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
from typing import Any

from lakehouse.core.config import Settings
from lakehouse.core.errors import ConcurrentRunError, StorageAccessError
from lakehouse.core.optional import require
from lakehouse.core.storage import s3_client

LEASE_SECONDS = 5 * 60
HEARTBEAT_SECONDS = 60


def _owner(token: str = "") -> dict[str, object]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "since": datetime.now(UTC).isoformat(),
            "expires": time.time() + LEASE_SECONDS, "token": token}


def _holder_is_dead(holder: dict[str, object]) -> bool:
    """True only when the holder ran on this host and its process is gone (or the pid was reused)."""
    if holder.get("host") != socket.gethostname():
        return False
    written = holder.get("pid")
    try:
        pid = int(written) if isinstance(written, int | str) else None
    except ValueError:
        pid = None
    if pid is None:
        return False
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        since = datetime.fromisoformat(str(holder.get("since"))).timestamp()
        created: float = process.create_time()
        return created > since + 1  # the pid now belongs to a later process
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


def _error_code(exc: Exception) -> str | None:
    """The S3 error code of a botocore ClientError."""
    response: dict[str, Any] = getattr(exc, "response", {})
    code = response.get("Error", {}).get("Code")
    return None if code is None else str(code)


class _S3Lock:
    """The lock object s3://bucket/key: taken with a conditional put, renewed, released if still ours."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.name = name
        self.bucket, _, prefix = settings.warehouse[len("s3://"):].partition("/")
        self.key = f"{prefix}/_locks/{name}.lock".lstrip("/")
        self.token = uuid.uuid4().hex
        # boto3 ships no type information: its client and errors are Any here.
        self.client: Any = s3_client(settings.s3)
        self.access_key_id = settings.s3.access_key_id or "from the environment's default chain"
        self.client_error: type[Exception] = require("botocore.exceptions").ClientError

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def denied(self, exc: Exception, action: str) -> Exception:
        """A refusal of the credentials as our error (no traceback); any other S3 error as it is."""
        if _error_code(exc) not in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return exc
        return StorageAccessError(
            f"The object store refused to {action} the pipeline lock {self.uri} ({_error_code(exc)}): the "
            f"credentials in use (access key {self.access_key_id}) may not {action} the warehouse.",
            hint="run the pipeline with credentials that read and write the warehouse bucket (the 'pipeline' user "
                 "of scripts/s3_least_privilege.py); a reader's credentials can only read tables",
        )

    def holder(self) -> dict[str, object] | None:
        """Who holds the lock (None: nobody; {}: an object that is not ours to read)."""
        try:
            text = self.client.get_object(Bucket=self.bucket, Key=self.key)["Body"].read()
        except self.client_error as exc:
            if _error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise self.denied(exc, "read") from exc
        try:
            found = json.loads(text)
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}

    def acquire(self) -> None:
        for attempt in range(3):
            try:
                self.client.put_object(Bucket=self.bucket, Key=self.key, Body=json.dumps(_owner(self.token)).encode(),
                                       IfNoneMatch="*")
                return
            except self.client_error as exc:
                if _error_code(exc) not in ("PreconditionFailed", "ConditionalRequestConflict"):
                    raise self.denied(exc, "write") from exc
            holder = self.holder()
            if holder is None:
                continue  # released between our put and our read: try again
            if attempt < 2 and _is_stale(holder):
                self.client.delete_object(Bucket=self.bucket, Key=self.key)  # the holder crashed: take its lock over
                continue
            raise ConcurrentRunError(
                f"Another run of pipeline '{self.name}' holds the lock {self.uri} "
                f"(host {holder.get('host')}, pid {holder.get('pid')}, since {holder.get('since')}).",
                hint="wait for it to finish and run again; nothing was changed by this run (a crashed run's lock "
                     f"is taken over when its process is gone, or {LEASE_SECONDS // 60} minutes after its last heartbeat)",
            )
        raise ConcurrentRunError(f"Could not take the lock {self.uri} for pipeline '{self.name}'.",
                                 hint="another run keeps taking it: wait for it to finish and run again")

    def renew_until(self, stop: threading.Event) -> None:
        """The heartbeat: extends the lease until `stop`, or until another run has taken the lock over."""
        while not stop.wait(HEARTBEAT_SECONDS):
            holder = self.holder()
            if not holder or holder.get("token") != self.token:
                return  # taken over: never overwrite another run's lock
            renewed = {**holder, "expires": time.time() + LEASE_SECONDS}
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=json.dumps(renewed).encode())

    def release(self) -> None:
        holder = self.holder()
        if holder is not None and holder.get("token") == self.token:
            self.client.delete_object(Bucket=self.bucket, Key=self.key)


def _is_stale(holder: dict[str, object]) -> bool:
    expires = holder.get("expires", 0)
    lease_over = not isinstance(expires, int | float) or expires < time.time()
    return lease_over or _holder_is_dead(holder)


@contextmanager
def _s3_lock(settings: Settings, name: str) -> Iterator[None]:
    lock = _S3Lock(settings, name)
    lock.acquire()
    stop = threading.Event()
    beat = threading.Thread(target=lock.renew_until, args=(stop,), name=f"lock-heartbeat-{name}", daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join(timeout=10)
        lock.release()
