"""A real Hive Metastore 4.0.1 (Thrift) for development and tests: the version the Docker stack ships.

It runs from the JVM manifest's `metastore` set (the standalone metastore 4.0.1 binary
distribution and the Postgres JDBC driver) plus its `metastore-hadoop` set (the Hadoop client jars
and the few libraries the distribution expects a Hadoop install to provide). Fetch them once with
`python -m lakehouse.jvm fetch metastore metastore-hadoop`. No Docker.

The metastore reads the same hive-site.xml and core-site.xml as the Docker image
(docker/hive/conf/); what docker-compose.yml passes in SERVICE_OPTS (the JDBC connection) is
passed the same way, as -D system properties, plus the few overrides a machine without MinIO needs
(a local warehouse dir, the Thrift port).

Its database is either
- Derby, in the state folder (the default, for `lakehouse metastore start`): registrations survive
  a restart; or
- Postgres, like the stack: `start_postgres` runs a throwaway cluster from the distribution's
  packages (initdb/pg_ctl; as the `postgres` user when we are root), and `start_metastore(...,
  database=cluster.database("metastore"))` uses it. The tests do this.
The schema is created with the distribution's schematool (`-dbType <db> -initSchema`) once per
database.

State lives in one folder (default `.lakehouse/metastore/` under the current directory):
`state.json` (pid, port), `conf/`, the Derby database, and logs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from lakehouse.catalog.postgres_server import (  # noqa: F401  (re-exported: the test services start both)
    MetastoreDatabase,
    PostgresCluster,
    free_port,
    postgres_bin_dir,
    start_postgres,
    stop_postgres,
)
from lakehouse.core.errors import CatalogError, MissingDependencyError
from lakehouse.core.optional import require

DEFAULT_PORT = 9083
DEFAULT_STATE_DIR = ".lakehouse/metastore"
STATE_DIR_ENV = "LAKEHOUSE_METASTORE_DIR"
MAIN_CLASS = "org.apache.hadoop.hive.metastore.HiveMetaStore"
SCHEMA_TOOL_CLASS = "org.apache.hadoop.hive.metastore.tools.schematool.MetastoreSchemaTool"
METASTORE_VERSION = "4.0.1"
JVM_SETS = ("metastore", "metastore-hadoop")
STATE_FILE = "state.json"
LOG_FILE = "metastore.log"  # Hive's own log (log4j2)
CONSOLE_FILE = "metastore.out"  # the JVM's stdout/stderr: startup failures land here
SCHEMA_LOG_FILE = "schematool.out"
SCHEMA_MARKER = "schema-initialised.json"
# The Docker image's configuration (docker/hive/conf), read from the checkout.
DOCKER_CONF_DIR = Path(__file__).resolve().parents[3] / "docker" / "hive" / "conf"
CONF_FILES = ("hive-site.xml", "core-site.xml")
# core-site.xml expands ${env.NAME}: every name it uses must be set, or Hadoop keeps the literal
# text. Without MinIO these placeholders are never contacted (no s3a:// location is used).
CORE_SITE_ENV_DEFAULTS = {
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "unset",
    "AWS_SECRET_ACCESS_KEY": "unset",
}


def derby_database(state_dir: Path) -> MetastoreDatabase:
    return MetastoreDatabase("derby", f"jdbc:derby:;databaseName={state_dir / 'metastore_db'};create=true",
                             "org.apache.derby.jdbc.EmbeddedDriver")


class MetastoreStatusDict(TypedDict):
    pid: int
    port: int
    state_dir: str
    log: str
    running: bool
    uri: str


class _State(TypedDict):
    """state.json: the process `start` launched, and with what."""

    pid: int
    port: int
    version: str
    database: str  # its JDBC URL
    command: list[str]


@dataclass(frozen=True)
class MetastoreStatus:
    pid: int
    port: int
    state_dir: str
    log: str
    running: bool

    @property
    def uri(self) -> str:
        return f"thrift://127.0.0.1:{self.port}"

    def as_dict(self) -> MetastoreStatusDict:
        return {"pid": self.pid, "port": self.port, "state_dir": self.state_dir, "log": self.log,
                "running": self.running, "uri": self.uri}


def default_state_dir() -> Path:
    return Path(os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR).resolve()


def java_executable() -> str:
    java_home = os.environ.get("JAVA_HOME")
    candidate = Path(java_home, "bin", "java") if java_home else None
    if candidate and candidate.exists():
        return str(candidate)
    found = shutil.which("java")
    if not found:
        raise CatalogError(
            "Java is not installed (no `java` on PATH and no JAVA_HOME).",
            hint="install a JDK 17, e.g. `apt-get install openjdk-17-jre-headless`",
        )
    return found


# --- the metastore distribution -----------------------------------------------------------------
@dataclass(frozen=True)
class MetastoreDistribution:
    home: Path  # apache-hive-metastore-4.0.1-bin/ (bin/, lib/, scripts/)
    jars: tuple[Path, ...]  # put before lib/*: the manifest's JDBC driver, Hadoop and its libraries

    def classpath(self, conf_dir: Path) -> str:
        return os.pathsep.join([str(conf_dir), *(str(jar) for jar in self.jars), str(self.home / "lib" / "*")])


def metastore_distribution() -> MetastoreDistribution:
    """The manifest's metastore 4.0.1 distribution, fetched and unpacked; fails with the fetch command."""
    from lakehouse.jvm import cache_dir, load_manifest

    manifest = load_manifest()
    cache = cache_dir()
    fetch_hint = "fetch it once with: python -m lakehouse.jvm fetch " + " ".join(JVM_SETS)
    try:
        paths = manifest.paths(list(JVM_SETS), cache)
    except MissingDependencyError as exc:
        raise MissingDependencyError(exc.message, hint=fetch_hint) from exc
    archives = [path for path in paths if path.name.endswith(".tar.gz")]
    if len(archives) != 1:
        raise CatalogError(f"Expected one metastore distribution (.tar.gz) in sets {', '.join(JVM_SETS)}, "
                           f"found {len(archives)}.", hint="check src/lakehouse/jvm/manifest.tsv")
    marker = archives[0].with_name(archives[0].name + ".unpacked")
    home = archives[0].parent / marker.read_text(encoding="utf-8").strip() if marker.is_file() else None
    if home is None or not (home / "lib").is_dir():
        raise MissingDependencyError(f"{archives[0]} is not unpacked.", hint=fetch_hint)
    return MetastoreDistribution(home, tuple(path for path in paths if path.suffix == ".jar"))


def write_conf_dir(conf_dir: Path, source: Path = DOCKER_CONF_DIR) -> Path:
    """The Docker image's hive-site.xml and core-site.xml, copied unchanged."""
    missing = [name for name in CONF_FILES if not (source / name).is_file()]
    if missing:
        raise CatalogError(
            f"The metastore configuration {', '.join(missing)} is not in {source}.",
            hint="run from a checkout of the repository (the metastore reads docker/hive/conf/)",
        )
    conf_dir.mkdir(parents=True, exist_ok=True)
    for name in CONF_FILES:
        shutil.copyfile(source / name, conf_dir / name)
    return conf_dir


def metastore_env(distribution: MetastoreDistribution, conf_dir: Path) -> dict[str, str]:
    env = {**CORE_SITE_ENV_DEFAULTS, **os.environ}
    # schematool finds its SQL scripts under METASTORE_HOME/scripts.
    env.update({"METASTORE_HOME": str(distribution.home), "METASTORE_CONF_DIR": str(conf_dir),
                "HIVE_CONF_DIR": str(conf_dir), "HADOOP_CONF_DIR": str(conf_dir)})
    return env


# Faster JVM start for short-lived and small processes: C1 only, serial GC. Measured on a busy
# 2-core machine: the metastore answered after 7.8 s instead of 18.5 s; schematool takes ~8 s.
_QUICK_JVM = ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto"]


def init_schema(
    database: MetastoreDatabase, state_dir: Path, *, distribution: MetastoreDistribution | None = None,
    timeout_seconds: float = 300.0,
) -> bool:
    """Create the metastore schema with schematool -initSchema, once per database; returns whether it ran."""
    distribution = distribution or metastore_distribution()
    marker = state_dir / SCHEMA_MARKER
    if marker.is_file() and json.loads(marker.read_text()).get("url") == database.url:
        return False
    conf_dir = write_conf_dir(state_dir / "conf")
    command = [java_executable(), "-Xmx256m", *_QUICK_JVM, *database.system_properties(),
               f"-Dderby.stream.error.file={state_dir / 'derby.log'}",
               "-cp", distribution.classpath(conf_dir), SCHEMA_TOOL_CLASS,
               "-dbType", database.db_type, "-initSchema"]
    log = state_dir / SCHEMA_LOG_FILE
    with open(log, "wb") as out:
        try:
            result = subprocess.run(command, cwd=state_dir, env=metastore_env(distribution, conf_dir), stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout_seconds)
        except subprocess.TimeoutExpired as exc:
            raise CatalogError(f"schematool -initSchema did not finish within {timeout_seconds:.0f}s.",
                               hint=f"see {log}") from exc
    if result.returncode != 0:
        raise CatalogError(
            f"schematool -dbType {database.db_type} -initSchema failed (exit {result.returncode}). "
            f"Last output:\n{_tail(log)}",
            hint=f"see {log}; is the database at {database.url} reachable and empty?",
        )
    marker.write_text(json.dumps({"url": database.url, "version": METASTORE_VERSION}))
    return True


# --- the metastore process ----------------------------------------------------------------------
def _port_answers(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


def _is_our_metastore(pid: int) -> bool:
    """True if `pid` is alive and is a HiveMetaStore JVM (guards against a recycled pid)."""
    psutil = require("psutil")
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and MAIN_CLASS in " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _read_state(state_dir: Path) -> _State | None:
    path = state_dir / STATE_FILE
    if not path.exists():
        return None
    try:
        state: _State = json.loads(path.read_text())
        return state
    except ValueError:
        return None


def metastore_status(state_dir: Path | None = None) -> MetastoreStatus | None:
    """The recorded metastore and whether it runs; None if none was ever started here."""
    state_dir = Path(state_dir or default_state_dir()).resolve()
    state = _read_state(state_dir)
    if state is None:
        return None
    running = _is_our_metastore(state["pid"]) and _port_answers(state["port"])
    return MetastoreStatus(state["pid"], state["port"], str(state_dir), str(state_dir / CONSOLE_FILE), running)


def _tail(path: Path, lines: int = 15) -> str:
    if not path.exists():
        return "(no output)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def start_metastore(
    state_dir: Path | None = None, port: int = DEFAULT_PORT, *, timeout_seconds: float = 180.0,
    database: MetastoreDatabase | None = None,
) -> MetastoreStatus:
    """Start Hive Metastore 4.0.1 in the background and wait until its port answers.

    `database` is the backing database (default: Derby in `state_dir`); its schema is created with
    schematool on first use. Idempotent: if this state dir's metastore already runs, it is
    returned as is. port=0 picks a free port.
    """
    state_dir = Path(state_dir or default_state_dir()).resolve()
    current = metastore_status(state_dir)
    if current and current.running:
        return current
    if current and _is_our_metastore(current.pid):
        # Started earlier but not answering yet (another `start` is still waiting): wait for it.
        return _wait_until_up(current.pid, current.port, state_dir, timeout_seconds)
    port = port or free_port()
    if _port_answers(port):
        raise CatalogError(
            f"Port {port} is already in use by another process.",
            hint="choose another port (--port, or --port 0 for a free one), or stop what listens there",
        )
    java = java_executable()
    distribution = metastore_distribution()
    state_dir.mkdir(parents=True, exist_ok=True)
    database = database or derby_database(state_dir)
    init_schema(database, state_dir, distribution=distribution, timeout_seconds=timeout_seconds)
    conf_dir = write_conf_dir(state_dir / "conf")
    warehouse = state_dir / "warehouse"
    warehouse.mkdir(exist_ok=True)
    command = [
        java, "-Xmx512m", *_QUICK_JVM,
        *database.system_properties(),
        # MetastoreConf lets system properties override hive-site.xml: the default database's
        # folder is local (hive-site.xml says s3a://warehouse/, which needs MinIO), and the port.
        f"-Dmetastore.warehouse.dir={warehouse.as_uri()}",
        f"-Dmetastore.thrift.port={port}",
        f"-Dderby.stream.error.file={state_dir / 'derby.log'}",
        "-cp", distribution.classpath(conf_dir),
        MAIN_CLASS, "-p", str(port),
    ]
    with open(state_dir / CONSOLE_FILE, "wb") as console:
        process = subprocess.Popen(
            command, cwd=state_dir, env=metastore_env(distribution, conf_dir), stdout=console,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # outlives the `lakehouse` command
        )
    state: _State = {"pid": process.pid, "port": port, "version": METASTORE_VERSION, "database": database.url,
                     "command": command}
    (state_dir / STATE_FILE).write_text(json.dumps(state, indent=2))
    return _wait_until_up(process.pid, port, state_dir, timeout_seconds, process=process)


def _wait_until_up(
    pid: int, port: int, state_dir: Path, timeout_seconds: float, process: subprocess.Popen[bytes] | None = None
) -> MetastoreStatus:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        exited = process.poll() is not None if process else not _is_our_metastore(pid)
        if exited:
            raise CatalogError(
                f"The Hive Metastore exited during startup. Last output:\n{_tail(state_dir / CONSOLE_FILE)}",
                hint=f"see {state_dir / CONSOLE_FILE}",
            )
        if _port_answers(port):
            return MetastoreStatus(pid, port, str(state_dir), str(state_dir / CONSOLE_FILE), True)
        time.sleep(0.25)
    _terminate(pid)
    raise CatalogError(
        f"The Hive Metastore did not answer on port {port} within {timeout_seconds:.0f}s; it was stopped.",
        hint=f"see {state_dir / CONSOLE_FILE}; on a slow machine raise the timeout (--timeout)",
    )


def _terminate(pid: int, grace_seconds: float = 20.0) -> None:
    if not _is_our_metastore(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        if not _is_our_metastore(pid):
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it if we are its parent (tests start it in-process)
    except ChildProcessError:
        pass


def stop_metastore(state_dir: Path | None = None) -> bool:
    """Stop the metastore recorded in `state_dir`; returns whether one was running. Idempotent."""
    state_dir = Path(state_dir or default_state_dir()).resolve()
    state = _read_state(state_dir)
    if state is None:
        return False
    was_running = _is_our_metastore(state["pid"])
    _terminate(state["pid"])
    (state_dir / STATE_FILE).unlink(missing_ok=True)
    return was_running


def spark_hive_client_jars() -> list[Path]:
    """The jars for Spark's `spark.sql.hive.metastore.jars.path` with metastore version 4.0.1: the
    manifest's `hive-client` set, the metastore distribution's lib/ and the non-Hadoop jars of
    `metastore-hadoop` (Spark shares its own Hadoop client with the isolated Hive client)."""
    from lakehouse.jvm import load_manifest

    distribution = metastore_distribution()
    hive_client = load_manifest().paths(["hive-client"])
    extra = [jar for jar in distribution.jars
             if not jar.name.startswith(("hadoop-client-", "postgresql-", "hadoop-aws-", "bundle-"))]
    return [*hive_client, *extra, *sorted((distribution.home / "lib").glob("*.jar"))]
