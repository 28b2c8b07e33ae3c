"""The whole Docker stack: land sample files in MinIO, run the tpch pipeline (customer + sales) as
Spark jobs in the stack (jobs/run_table.py, one per table, in docker/stack.mk's order), and check every table against the embedded engine's result on the same landing files.

Needs a Docker engine with the Compose v2 plugin and internet access (image builds fetch jars from
Maven Central and wheels from PyPI). Skips with a one-line reason otherwise. Runs as its own Compose
project on free host ports, so it never touches a stack started with `make up`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from docker_stack_helpers import ENV_EXAMPLE, REPO_ROOT, docker_available, read_env_file

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PIPELINE = "tpch"
# Differ between any two runs by design: load and validity timestamps, and surrogate keys, whose
# order of assignment is an engine detail (their uniqueness is checked separately).
VOLATILE = {"date_added", "start_date", "end_date", "dim_customer_id"}
PORT_VARIABLES = ["MINIO_API_PORT", "MINIO_CONSOLE_PORT", "METASTORE_PORT", "SPARK_MASTER_PORT",
                  "SPARK_MASTER_UI_PORT", "SPARK_WORKER_UI_PORT", "SPARK_DRIVER_UI_PORT"]


def compose_v2_available() -> bool:
    try:
        return subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def stack():
    if not docker_available():
        pytest.skip("no Docker engine: `docker` missing or `docker info` failed")
    if not compose_v2_available():
        pytest.skip("no Docker Compose v2 plugin: `docker compose version` failed")
    from testcontainers.compose import DockerCompose

    # A separate project and free ports; process variables win over --env-file in Compose.
    overrides = {"COMPOSE_PROJECT_NAME": f"lakehouse-test-{uuid.uuid4().hex[:8]}"}
    overrides.update({name: str(free_port()) for name in PORT_VARIABLES})
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    compose = DockerCompose(REPO_ROOT, env_file=str(ENV_EXAMPLE), build=True, wait=True)
    try:
        compose.start()
        yield compose
    finally:
        compose.stop()  # `down -v`: containers and the project's volumes
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def in_master(stack, *command: str) -> str:
    stdout, stderr, code = stack.exec_in_container(list(command), service_name="spark-master")
    assert code == 0, f"{' '.join(command)} exited {code}:\n{stderr[-4000:]}"
    return stdout


def s3_env(stack) -> dict[str, str]:
    secrets = read_env_file(ENV_EXAMPLE)
    port = stack.get_service_port("minio", 9000)
    return {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": secrets["MINIO_ROOT_USER"],
        "AWS_SECRET_ACCESS_KEY": secrets["MINIO_ROOT_PASSWORD"],
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }


def read_rows(uri: str, env: dict[str, str]) -> list[dict]:
    from deltalake import DeltaTable

    return DeltaTable(uri, storage_options={**env, "conditional_put": "etag"}).to_pyarrow_table().to_pylist()


def comparable(rows: list[dict]) -> list[tuple]:
    def normal(value):
        if isinstance(value, str):
            return value.replace("s3a://", "s3://")
        if isinstance(value, Decimal):
            return str(value)
        return value

    return sorted(
        tuple(sorted((key, repr(normal(value))) for key, value in row.items() if key not in VOLATILE))
        for row in rows
    )


def test_spark_stack_matches_the_embedded_engine(stack, tmp_path):
    import boto3

    from lakehouse.spec.pipelines import get_pipeline

    tables = [spec.ref for spec in get_pipeline(PIPELINE).tables]
    # As landing-writer, like `make stack-land-sample`: the Spark containers' pipeline key may not write landing.
    landed = subprocess.run(
        [*stack.docker_compose_command(), "run", "--rm", "-T", "landing", "lakehouse", "landing", "sample",
         "--scale", "0.01", "--chunks", "2", "--tables", "customer,nation,region,part,supplier,orders,lineitem"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert landed.returncode == 0, landed.stderr[-4000:]
    for ref in tables:
        in_master(stack, "spark-submit", "--master", "spark://spark-master:7077", "/opt/lakehouse/jobs/run_table.py",
                  str(ref))

    # The embedded engine on the host, same landing files, its own warehouse bucket.
    env = s3_env(stack)
    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                 aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                 aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"]).create_bucket(Bucket="embedded")
    cli = Path(sys.executable).with_name("lakehouse")
    result = subprocess.run(
        [str(cli), "--engine", "embedded", "--landing", "s3://landing", "--warehouse", "s3://embedded",
         "run", "--pipeline", PIPELINE],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}, **env},
    )
    assert result.returncode == 0, result.stderr[-4000:]

    for table in (f"{ref.schema}/{ref.name}" for ref in tables):
        spark_rows = read_rows(f"s3://warehouse/{table}", env)
        embedded_rows = read_rows(f"s3://embedded/{table}", env)
        assert spark_rows, f"{table}: Spark wrote no rows"
        assert comparable(spark_rows) == comparable(embedded_rows), f"{table} differs between the engines"

    dimension = read_rows("s3://warehouse/gold/dim_customer", env)
    keys = [row["dim_customer_id"] for row in dimension]
    assert None not in keys and len(set(keys)) == len(keys), "surrogate keys must be unique and set"

