"""Parts of the Spark image that run without Docker, on the local pyspark 4.0.1 and Java:
the healthcheck script against a real master and worker, and spark-defaults.conf as Spark loads it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from docker_stack_helpers import REPO_ROOT, SPARK_DEFAULTS

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="no Java: Spark's master and worker need a JVM"),
]
pyspark = pytest.importorskip("pyspark", reason="pyspark not installed (pip install -e '.[spark]')")

HEALTHCHECK = REPO_ROOT / "docker" / "spark" / "healthcheck.py"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthcheck(role: str, port: int) -> int:
    return subprocess.run([sys.executable, str(HEALTHCHECK), role, f"http://127.0.0.1:{port}/json/"],
                          capture_output=True, timeout=30).returncode


def wait_until(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(1)
    return False


@pytest.fixture
def spark_daemons(tmp_path):
    """Start processes with the commands docker-compose.yml uses; stop exactly those at the end."""
    spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
    env = {**os.environ, "SPARK_HOME": str(Path(pyspark.__file__).parent), "SPARK_LOCAL_IP": "127.0.0.1"}
    started: list[subprocess.Popen] = []

    def start(*args: str) -> None:
        log = open(tmp_path / f"daemon-{len(started)}.log", "wb")
        started.append(subprocess.Popen([str(spark_class), *args], stdout=log, stderr=log, env=env))

    yield start, tmp_path
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_healthcheck_follows_master_and_worker_state(spark_daemons):
    start, tmp_path = spark_daemons
    master_port, master_ui, worker_ui, lonely_ui = free_port(), free_port(), free_port(), free_port()
    assert healthcheck("master", master_ui) == 1, "nothing listens yet: unhealthy"

    start("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(master_port),
          "--webui-port", str(master_ui))
    assert wait_until(lambda: healthcheck("master", master_ui) == 0), "master never reported ALIVE"

    # A worker pointed at no master serves its UI but stays unhealthy (not registered).
    start("org.apache.spark.deploy.worker.Worker", "--webui-port", str(lonely_ui), "--work-dir",
          str(tmp_path / "lonely"), "--cores", "1", "--memory", "512m", f"spark://127.0.0.1:{free_port()}")
    start("org.apache.spark.deploy.worker.Worker", "--webui-port", str(worker_ui), "--work-dir",
          str(tmp_path / "work"), "--cores", "1", "--memory", "512m", f"spark://127.0.0.1:{master_port}")
    assert wait_until(lambda: healthcheck("worker", worker_ui) == 0), "registered worker never healthy"
    assert healthcheck("worker", lonely_ui) == 1
    assert healthcheck("master", worker_ui) == 1, "a worker's status is not a master's ALIVE"


SPARK_PROBE = """
from pyspark.sql import SparkSession
spark = SparkSession.builder.master("local[1]").getOrCreate()
conf = spark.sparkContext._jsc.hadoopConfiguration()
for key in ("fs.s3a.endpoint", "fs.s3a.access.key", "fs.s3a.secret.key", "fs.s3a.endpoint.region",
            "fs.s3.impl", "hive.metastore.uris"):
    print(f"HADOOP {key}={conf.get(key)}")
for key in ("spark.sql.catalogImplementation", "spark.sql.hive.metastore.version", "spark.sql.extensions"):
    print(f"SPARK {key}={spark.conf.get(key)}")
spark.stop()
"""


def test_spark_loads_spark_defaults_and_expands_credentials_from_the_environment(tmp_path):
    """Spark 4.0.1 reads our spark-defaults.conf; Hadoop fills ${env.NAME} from the environment."""
    env = {**os.environ, "SPARK_CONF_DIR": str(SPARK_DEFAULTS.parent), "AWS_ENDPOINT_URL": "http://minio:9000",
           "AWS_ACCESS_KEY_ID": "probe-user", "AWS_SECRET_ACCESS_KEY": "probe-secret", "AWS_REGION": "us-east-1",
           "SPARK_HOME": str(Path(pyspark.__file__).parent), "SPARK_LOCAL_IP": "127.0.0.1"}
    result = subprocess.run([sys.executable, "-c", SPARK_PROBE], capture_output=True, text=True,
                            timeout=300, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = set(result.stdout.splitlines())
    assert {
        "HADOOP fs.s3a.endpoint=http://minio:9000",
        "HADOOP fs.s3a.access.key=probe-user",
        "HADOOP fs.s3a.secret.key=probe-secret",
        "HADOOP fs.s3a.endpoint.region=us-east-1",
        "HADOOP fs.s3.impl=org.apache.hadoop.fs.s3a.S3AFileSystem",
        "HADOOP hive.metastore.uris=thrift://metastore:9083",
        "SPARK spark.sql.catalogImplementation=hive",
        "SPARK spark.sql.hive.metastore.version=4.0.1",
        "SPARK spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension",
    } <= lines, result.stdout
