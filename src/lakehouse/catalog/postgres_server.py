"""A throwaway Postgres cluster for the Hive Metastore's database, from the distribution's packages.

initdb + pg_ctl on a free 127.0.0.1 port in a fresh folder; as the `postgres` system user when we
are root (Postgres refuses to run as root). Used by the test services and by anyone who wants the
stack's metastore-on-Postgres shape without Docker.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lakehouse.core.errors import CatalogError

POSTGRES_INSTALL_HINT = "install Postgres: apt-get install postgresql (Debian/Ubuntu; gives initdb and pg_ctl)"


@dataclass(frozen=True)
class MetastoreDatabase:
    """The metastore's backing database: what SERVICE_OPTS gives the Docker image."""

    db_type: str  # schematool's -dbType: derby | postgres
    url: str
    driver: str
    user: str = "APP"
    password: str = "mine"

    def system_properties(self) -> list[str]:
        return [
            f"-Djavax.jdo.option.ConnectionDriverName={self.driver}",
            f"-Djavax.jdo.option.ConnectionURL={self.url}",
            f"-Djavax.jdo.option.ConnectionUserName={self.user}",
            f"-Djavax.jdo.option.ConnectionPassword={self.password}",
        ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port



POSTGRES_USER = "hive"
POSTGRES_PASSWORD = "hive"
POSTGRES_SYSTEM_USER = "postgres"  # Postgres refuses to run as root; the Debian packages create this user


def postgres_bin_dir(packages_dir: Path = Path("/usr/lib/postgresql")) -> Path:
    """Where initdb and pg_ctl are: on PATH, else the newest /usr/lib/postgresql/<major>/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    candidates = sorted(Path(packages_dir).glob("*/bin/initdb"),
                        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0)
    if candidates:
        return candidates[-1].parent
    raise CatalogError("Postgres is not installed (no initdb on PATH nor under /usr/lib/postgresql/*/bin).",
                       hint=POSTGRES_INSTALL_HINT)


@dataclass(frozen=True)
class PostgresCluster:
    """A throwaway Postgres cluster on 127.0.0.1 (trust authentication, no fsync)."""

    base_dir: Path
    port: int
    bin_dir: Path
    run_as: str | None  # the system user the server runs as (when we are root)

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log(self) -> Path:
        return self.base_dir / "postgres.log"

    def jdbc_url(self, database: str) -> str:
        return f"jdbc:postgresql://127.0.0.1:{self.port}/{database}"

    def database(self, name: str) -> MetastoreDatabase:
        return MetastoreDatabase("postgres", self.jdbc_url(name), "org.postgresql.Driver",
                                 POSTGRES_USER, POSTGRES_PASSWORD)

    def _command(self, *args: str) -> list[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        return ["runuser", "-u", self.run_as, "--", *command] if self.run_as else command

    def run(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(self._command(*args), capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL, cwd=self.base_dir)
        if result.returncode != 0:
            raise CatalogError(f"Postgres command {args[0]} failed (exit {result.returncode}): "
                               f"{(result.stderr or result.stdout).strip()[-2000:]}",
                               hint=f"see {self.log}" if self.log.exists() else POSTGRES_INSTALL_HINT)
        return result

    def create_database(self, name: str) -> MetastoreDatabase:
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", POSTGRES_USER, name)
        return self.database(name)


def start_postgres(base_dir: Path | None = None, port: int = 0, *, timeout_seconds: float = 60.0) -> PostgresCluster:
    """initdb + pg_ctl start of a new cluster in `base_dir` (a new temp dir by default).

    As root, the cluster runs as the `postgres` system user and `base_dir` is handed to it (a
    pytest tmp dir under /tmp/pytest-of-root is not traversable by that user, so the default
    is a fresh dir directly under the system temp dir).
    """
    bin_dir = postgres_bin_dir()
    run_as = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(POSTGRES_SYSTEM_USER)
        except KeyError as exc:
            raise CatalogError("Postgres cannot run as root and there is no `postgres` system user.",
                               hint=POSTGRES_INSTALL_HINT + " (the package creates the user)") from exc
        if shutil.which("runuser") is None:
            raise CatalogError("Running Postgres as the postgres user needs `runuser`.",
                               hint="apt-get install util-linux")
        run_as = POSTGRES_SYSTEM_USER
    base_dir = Path(base_dir) if base_dir else Path(tempfile.mkdtemp(prefix="lakehouse-postgres-"))
    base_dir.mkdir(parents=True, exist_ok=True)
    if run_as:
        os.chown(base_dir, owner.pw_uid, owner.pw_gid)
    cluster = PostgresCluster(base_dir, port or free_port(), bin_dir, run_as)
    cluster.run("initdb", "-D", str(cluster.data_dir), "-U", POSTGRES_USER, "--auth=trust", "-E", "UTF8",
                "--no-sync", "--no-instructions")
    # Listen on 127.0.0.1 only, sockets in base_dir (not /run/postgresql), no fsync: a test database.
    options = f"-h 127.0.0.1 -p {cluster.port} -k {base_dir} -F -c max_connections=50"
    cluster.run("pg_ctl", "-D", str(cluster.data_dir), "-l", str(cluster.log), "-o", options,
                "-w", "-t", str(int(timeout_seconds)), "start", timeout=timeout_seconds + 10)
    return cluster


def stop_postgres(cluster: PostgresCluster, *, remove: bool = True) -> None:
    """pg_ctl stop (fast); then remove its folder. Idempotent."""
    if (cluster.data_dir / "postmaster.pid").exists():
        try:
            cluster.run("pg_ctl", "-D", str(cluster.data_dir), "-m", "fast", "-w", "stop", timeout=60)
        except CatalogError:
            pass  # already gone
    if remove:
        shutil.rmtree(cluster.base_dir, ignore_errors=True)


