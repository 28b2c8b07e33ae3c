"""A real Hive Metastore (Thrift) for development and tests, run from the jars pyspark bundles.

pyspark ships hive-metastore 2.3.10, Derby 10.16 and DataNucleus, which is all a metastore needs;
no download, no Docker. State lives in one folder (default `.lakehouse/metastore/` under the
current directory): `state.json` (pid, port), `hive-site.xml`, the Derby database, and logs.
The Derby database outlives `stop`, so registrations survive a restart.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from lakehouse.errors import CatalogError
from lakehouse.optional import require

DEFAULT_PORT = 9083
DEFAULT_STATE_DIR = ".lakehouse/metastore"
STATE_DIR_ENV = "LAKEHOUSE_METASTORE_DIR"
MAIN_CLASS = "org.apache.hadoop.hive.metastore.HiveMetaStore"
STATE_FILE = "state.json"
LOG_FILE = "metastore.log"  # Hive's own log (log4j2)
CONSOLE_FILE = "metastore.out"  # the JVM's stdout/stderr: startup failures land here


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

    def as_dict(self) -> dict:
        return {**asdict(self), "uri": self.uri}


def default_state_dir() -> Path:
    return Path(os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR).resolve()


def pyspark_jars_dir() -> Path:
    pyspark = require("pyspark")
    jars = Path(pyspark.__file__).parent / "jars"
    if not list(jars.glob("hive-metastore-*.jar")):
        raise CatalogError(
            f"No hive-metastore jar under {jars}.",
            hint='the local metastore runs from the jars pyspark bundles: pip install "pyspark==4.0.1"',
        )
    return jars


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


def hive_site_xml(state_dir: Path) -> str:
    properties = {
        "javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={state_dir / 'metastore_db'};create=true",
        "javax.jdo.option.ConnectionDriverName": "org.apache.derby.jdbc.EmbeddedDriver",
        # No schematool run: DataNucleus creates the tables on first start.
        "datanucleus.schema.autoCreateAll": "true",
        "hive.metastore.schema.verification": "false",
        # pyspark does not ship BoneCP (Hive's default pool); without this, drop_database and
        # drop_table fail inside the transaction listener with NoClassDefFoundError.
        "datanucleus.connectionPoolingType": "None",
        # The async log4j appender needs the LMAX disruptor jar, which pyspark does not ship.
        "hive.async.log.enabled": "false",
        # Databases and tables created without a location (e.g. the built-in `default`) would
        # otherwise point at /user/hive/warehouse.
        "hive.metastore.warehouse.dir": f"file:{state_dir / 'warehouse'}",
        # Delta's overwriteSchema may change a column's type; re-registering must not be refused.
        "hive.metastore.disallow.incompatible.col.type.changes": "false",
    }
    body = "\n".join(
        f"  <property><name>{escape(key)}</name><value>{escape(value)}</value></property>"
        for key, value in properties.items()
    )
    return f'<?xml version="1.0"?>\n<configuration>\n{body}\n</configuration>\n'


def _port_answers(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _is_our_metastore(pid: int) -> bool:
    """True if `pid` is alive and is a HiveMetaStore JVM (guards against a recycled pid)."""
    psutil = require("psutil")
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and MAIN_CLASS in " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _read_state(state_dir: Path) -> dict | None:
    path = state_dir / STATE_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError:
        return None


def metastore_status(state_dir: Path | None = None) -> MetastoreStatus | None:
    """The recorded metastore and whether it runs; None if none was ever started here."""
    state_dir = Path(state_dir or default_state_dir()).resolve()
    state = _read_state(state_dir)
    if state is None:
        return None
    running = _is_our_metastore(state["pid"]) and _port_answers(state["port"])
    return MetastoreStatus(state["pid"], state["port"], str(state_dir), str(state_dir / LOG_FILE), running)


def _tail(path: Path, lines: int = 15) -> str:
    if not path.exists():
        return "(no output)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def start_metastore(
    state_dir: Path | None = None, port: int = DEFAULT_PORT, *, timeout_seconds: float = 180.0
) -> MetastoreStatus:
    """Start the metastore in the background and wait until its port answers.

    Idempotent: if this state dir's metastore already runs, it is returned as is.
    port=0 picks a free port.
    """
    state_dir = Path(state_dir or default_state_dir()).resolve()
    current = metastore_status(state_dir)
    if current and current.running:
        return current
    if current and _is_our_metastore(current.pid):
        # Started earlier but not answering yet (another `start` is still waiting): wait for it.
        return _wait_until_up(current.pid, current.port, state_dir, timeout_seconds)
    port = port or _free_port()
    if _port_answers(port):
        raise CatalogError(
            f"Port {port} is already in use by another process.",
            hint="choose another port (--port, or --port 0 for a free one), or stop what listens there",
        )
    java = java_executable()
    jars = pyspark_jars_dir()
    state_dir.mkdir(parents=True, exist_ok=True)
    conf_dir = state_dir / "conf"
    conf_dir.mkdir(exist_ok=True)
    (conf_dir / "hive-site.xml").write_text(hive_site_xml(state_dir))
    command = [
        java, "-Xmx512m",
        f"-Dhive.log.dir={state_dir}", f"-Dhive.log.file={LOG_FILE}",
        f"-Dderby.stream.error.file={state_dir / 'derby.log'}",
        # The conf dir comes first so that our hive-site.xml wins over any in the jars.
        "-cp", f"{conf_dir}{os.pathsep}{jars}/*",
        MAIN_CLASS, "-p", str(port),
    ]
    env = {**os.environ, "HIVE_CONF_DIR": str(conf_dir)}
    with open(state_dir / CONSOLE_FILE, "wb") as console:
        process = subprocess.Popen(
            command, cwd=state_dir, env=env, stdout=console, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,  # outlives the `lakehouse` command
        )
    (state_dir / STATE_FILE).write_text(json.dumps({"pid": process.pid, "port": port, "command": command}, indent=2))
    return _wait_until_up(process.pid, port, state_dir, timeout_seconds, process=process)


def _wait_until_up(
    pid: int, port: int, state_dir: Path, timeout_seconds: float, process: subprocess.Popen | None = None
) -> MetastoreStatus:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        exited = process.poll() is not None if process else not _is_our_metastore(pid)
        if exited:
            raise CatalogError(
                f"The Hive Metastore exited during startup. Last output:\n{_tail(state_dir / CONSOLE_FILE)}",
                hint=f"see {state_dir / LOG_FILE} and {state_dir / CONSOLE_FILE}",
            )
        if _port_answers(port):
            return MetastoreStatus(pid, port, str(state_dir), str(state_dir / LOG_FILE), True)
        time.sleep(0.25)
    _terminate(pid)
    raise CatalogError(
        f"The Hive Metastore did not answer on port {port} within {timeout_seconds:.0f}s; it was stopped.",
        hint=f"see {state_dir / LOG_FILE}; on a slow machine raise the timeout (--timeout)",
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
