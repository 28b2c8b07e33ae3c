"""A real S3 server for the tests: versitygw (posix backend) on 127.0.0.1, one per test session.

The binary is built by `bash scripts/build-s3-server.sh` into a cache outside git; when it is missing
the fixture runs that script (a few minutes, once) and fails, naming the command, if the build fails.
The server stores objects as plain files under a temporary folder (metadata in extended attributes,
or in a sidecar folder where the file system has none). See docs/s3.md.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-s3-server.sh"
BUILD_COMMAND = "bash scripts/build-s3-server.sh"
VERSITYGW_VERSION = "v1.8.0"  # keep in step with scripts/build-s3-server.sh
# The root credentials of the server (tests/robustness/support.py signs with the same pair).
ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    data_dir: Path
    access_log: Path | None = None  # one line per request (operation, key, HTTP status) when asked for
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION

    def env(self) -> dict[str, str]:
        """The AWS_* variables that point boto3, pyarrow, delta-rs and DuckDB at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_ALLOW_HTTP": "true",
        }

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key)


def versitygw_binary() -> Path:
    """The pinned versitygw, built by the project's script when it is not in the cache yet."""
    bin_dir = Path(os.environ.get("LAKEHOUSE_BIN_DIR") or Path.home() / ".cache" / "local-lakehouse" / "bin")
    binary = bin_dir / f"versitygw-{VERSITYGW_VERSION}"
    if os.access(binary, os.X_OK):
        return binary
    try:
        built = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"the S3 server (versitygw) is not built and building it failed ({exc}); run: {BUILD_COMMAND}",
                    pytrace=False)
    if built.returncode != 0:
        tail = "\n".join(built.stderr.splitlines()[-20:])
        pytest.fail(f"the S3 server (versitygw) is not built and `{BUILD_COMMAND}` failed "
                    f"(exit {built.returncode}):\n{tail}", pytrace=False)
    binary = Path(built.stdout.strip().splitlines()[-1])
    if not os.access(binary, os.X_OK):
        pytest.fail(f"`{BUILD_COMMAND}` printed {binary}, which is not an executable", pytrace=False)
    return binary


def _has_xattrs(folder: Path) -> bool:
    """versitygw's posix backend keeps object metadata (ETag, content type) in user.* xattrs."""
    with tempfile.NamedTemporaryFile(dir=folder) as probe:
        try:
            os.setxattr(probe.name, "user.lakehouse-probe", b"1")
        except OSError:
            return False
    return True


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_it_answers(server: S3Server, process: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    """Until ListBuckets succeeds: the port being open is not enough, the API must answer signed calls."""
    import boto3
    from botocore.config import Config

    client = boto3.client("s3", endpoint_url=server.endpoint, region_name=server.region,
                          aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key,
                          config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=2))
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"versitygw exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            client.list_buckets()
            return
        except Exception as exc:
            last = exc
            time.sleep(0.1)
    raise TimeoutError(f"versitygw did not answer on {server.endpoint} within {timeout}s ({last}):\n"
                       f"{log.read_text(errors='replace')}")


def start_versitygw(root: Path, *, access_log: bool = False, port: int | None = None,
                    ) -> tuple[S3Server, subprocess.Popen]:
    """Start a server storing under `root` (on `port`, default a free one: a restart passes the port
    it had so that clients keep their endpoint); the caller stops it with stop(process)."""
    binary = versitygw_binary()
    data_dir = root / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    backend_options: list[str] = []
    if not _has_xattrs(data_dir):
        (root / "sidecar").mkdir(exist_ok=True)
        backend_options = ["--sidecar", str(root / "sidecar")]
    port = port or _free_port()
    server = S3Server(endpoint=f"http://127.0.0.1:{port}", data_dir=data_dir,
                      access_log=root / "access.log" if access_log else None)
    logging = ["--access-log", str(server.access_log)] if server.access_log else []
    log = root / "versitygw.log"
    # The internal IAM: users besides root (tests/services/s3_users.py, scripts/s3_least_privilege.py).
    iam_dir = root / "iam"
    iam_dir.mkdir(exist_ok=True)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(binary), "--port", f"127.0.0.1:{port}", "--access", ACCESS_KEY, "--secret", SECRET_KEY,
             "--region", REGION, "--quiet", *logging, "--iam-dir", str(iam_dir), "posix", *backend_options,
             str(data_dir)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_it_answers(server, process, log)
    except BaseException:
        stop(process)
        raise
    return server, process


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> S3Server:
    """versitygw on 127.0.0.1 at a free port, root credentials testing/testing, data in a temp folder."""
    server, process = start_versitygw(tmp_path_factory.mktemp("versitygw"))
    try:
        yield server
    finally:
        stop(process)
