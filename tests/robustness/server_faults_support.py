"""Stopping real servers at a precise point of a run: a versitygw of our own that a test can stop and
start again on the same port and data folder, and a run held at a crash point until the test lets it go
(LAKEHOUSE_PAUSE_AT + LAKEHOUSE_PAUSE_FILE, src/lakehouse/core/faults.py)."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.services.s3_server import S3Server, start_versitygw, stop

from .support import Place


@dataclass
class RestartableS3:
    """A dedicated versitygw: the session's shared server must stay up for the other tests."""

    root: Path
    server: S3Server | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> S3Server:
        port = int(self.server.endpoint.rsplit(":", 1)[1]) if self.server else None
        self.server, self.process = start_versitygw(self.root, port=port)
        return self.server

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    @property
    def endpoint(self) -> str:
        assert self.server is not None
        return self.server.endpoint


@dataclass
class HeldRun:
    """A `lakehouse run` process waiting at a crash point for `release()`."""

    process: subprocess.Popen
    marker: Path

    def release(self, timeout: float = 120) -> subprocess.CompletedProcess:
        self.marker.unlink()
        stdout, stderr = self.process.communicate(timeout=timeout)
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, stdout, stderr)


def run_held_at(place: Place, point: str, marker: Path, *args: str, timeout: float = 90) -> HeldRun:
    """Start `lakehouse run` and return once it reached `point` (a crash-point name, table:point)."""
    marker.unlink(missing_ok=True)
    process = place.popen("run", *args, extra_env={"LAKEHOUSE_PAUSE_AT": point, "LAKEHOUSE_PAUSE_FILE": str(marker)})
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if process.poll() is not None:
            stdout, stderr = process.communicate()
            raise AssertionError(f"the run ended (exit {process.returncode}) before reaching {point}:\n{stderr}")
        if time.monotonic() > deadline:
            process.kill()
            process.communicate()
            raise AssertionError(f"the run did not reach {point} within {timeout}s")
        time.sleep(0.05)
    return HeldRun(process, marker)


def restart_metastore(status, database, s3_env: dict[str, str]) -> None:
    """Start the session's metastore again on its port, state folder and database, reaching S3 as
    tests/services/metastore.py started it (core-site.xml reads AWS_* once, at start)."""
    import os

    from lakehouse.catalog.metastore_server import start_metastore

    saved = {key: os.environ.get(key) for key in s3_env}
    os.environ.update(s3_env)
    try:
        start_metastore(Path(status.state_dir), port=status.port, database=database, timeout_seconds=240)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
