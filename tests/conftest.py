"""Shared fixtures. Tests that need something absent skip with a one-line reason."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Session fixtures for the services the tests run for real (tests/services/).
pytest_plugins = ["tests.services.s3_server", "tests.services.metastore"]

# Tests land files and run at once; a run would wait for each fresh file to settle (2 s in a folder).
# The settle rule has its own tests (tests/robustness/test_files_being_written.py), which set it.
os.environ.setdefault("LAKEHOUSE_SETTLE_SECONDS", "0")


def env_without_lakehouse_settings() -> dict[str, str]:
    """This process's environment for a child `lakehouse`, without the LAKEHOUSE_* settings a test
    sets itself; the suite's settle interval stays."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_") or k == "LAKEHOUSE_SETTLE_SECONDS"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    """Point AWS_* at the real S3 server (versitygw, tests/services/s3_server.py) and create a fresh
    bucket; yields the bucket's s3:// root."""
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=bucket)
    yield f"s3://{bucket}"


def java_available() -> bool:
    return shutil.which("java") is not None


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
