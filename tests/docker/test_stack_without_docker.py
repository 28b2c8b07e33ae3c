"""The Docker stack's insides, run outside Docker: what `make up` + `make run-pipeline` do, step by step.

No Docker engine here, so the containers cannot start; everything inside them can, and runs here:
- the S3 server (versitygw built from source; the stack's MinIO image cannot be built or pulled here)
  with the stack's buckets `landing` and `warehouse`;
- Hive Metastore 4.0.1 on Postgres, with the image's hive-site.xml/core-site.xml (tests/services);
- the Spark image's spark-defaults.conf, byte for byte except the values that name a container
  (the master URL, the metastore host, the jar folders), with the same ${env.*} credentials;
- the same job entry point, `spark-submit jobs/run_table.py TABLE`, once per table in the order
  docker/stack.mk submits them, and the same `lakehouse landing sample` the stack runs first;
- the same jars (the manifest's sets the image fetches).
The result is compared row for row with the embedded engine run over the same landing files.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from docker_stack_helpers import REPO_ROOT, SPARK_DEFAULTS, STACK_MK, load_compose

pytestmark = [pytest.mark.spark, pytest.mark.integration, pytest.mark.slow]

# What names a container in spark-defaults.conf, and what it becomes outside Docker.
CONTAINER_SPECIFIC = {"spark.master", "spark.hadoop.hive.metastore.uris", "spark.sql.hive.metastore.jars.path"}


def stack_tables(pipeline: str) -> list[str]:
    text = STACK_MK.read_text().replace("\\\n", " ")
    match = re.search(rf"^STACK_TABLES_{pipeline} :=(.*)$", text, re.M)
    assert match, f"no STACK_TABLES_{pipeline} in docker/stack.mk"
    return match.group(1).split()


def stack_environment(server, metastore_uri: str) -> dict[str, str]:
    """The compose file's x-lakehouse-env for the Spark containers, with this machine's endpoints."""
    compose_env = load_compose()["services"]["spark-master"]["environment"]
    env = {key: str(value) for key, value in compose_env.items()}
    assert env["LAKEHOUSE_LANDING"] == "s3://landing" and env["LAKEHOUSE_WAREHOUSE"] == "s3://warehouse"
    env.update(server.env())
    env["LAKEHOUSE_CATALOG"] = metastore_uri
    env["PYSPARK_PYTHON"] = sys.executable
    return env


def write_spark_conf(folder: Path, metastore_uri: str) -> Path:
    from lakehouse.catalog.metastore_server import spark_hive_client_jars

    replacements = {
        "spark.master": "local[2]",
        "spark.hadoop.hive.metastore.uris": metastore_uri,
        "spark.sql.hive.metastore.jars.path": ",".join(jar.as_uri() for jar in spark_hive_client_jars()),
    }
    lines = []
    for line in SPARK_DEFAULTS.read_text().splitlines():
        key = line.split(None, 1)[0] if line.strip() and not line.startswith("#") else None
        if key in replacements:
            line = f"{key} {replacements.pop(key)}"
        lines.append(line)
    assert not replacements, f"spark-defaults.conf no longer sets {sorted(replacements)}"
    # Outside the image the manifest's jars are not in $SPARK_HOME/jars; on the classpath they go.
    from lakehouse.jvm import load_manifest

    lines.append("spark.jars " + ",".join(str(path) for path in load_manifest().paths(["spark"])))
    lines.append("spark.ui.enabled false")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spark-defaults.conf").write_text("\n".join(lines) + "\n")
    return folder


def run(command: list[str], env: dict[str, str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(command, env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, (f"{' '.join(command[:4])}... exited {result.returncode}:\n"
                                    f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result


def spark_submit() -> str:
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / "spark-submit")


def test_the_stack_defaults_differ_from_this_run_only_where_they_name_a_container():
    from docker_stack_helpers import spark_defaults

    defaults = spark_defaults()
    assert set(defaults) >= CONTAINER_SPECIFIC
    assert defaults["spark.hadoop.hive.metastore.uris"] == "thrift://metastore:9083"


def test_stack_jobs_run_every_customer_table_like_the_embedded_engine(s3_server, metastore_uri, tmp_path):
    from lakehouse.catalog.hive import HiveMetastoreCatalog
    from lakehouse.engines.embedded.engine import EmbeddedEngine  # noqa: F401  (import check: engine installed)

    client = s3_server.client()
    existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
    for bucket in ("landing", "warehouse"):  # what the stack's minio-init creates
        if bucket not in existing:
            client.create_bucket(Bucket=bucket)
    env = stack_environment(s3_server, metastore_uri)
    env["SPARK_CONF_DIR"] = str(write_spark_conf(tmp_path / "spark-conf", metastore_uri))
    lakehouse = [sys.executable, "-m", "lakehouse"]
    workdir = tmp_path / "work"
    workdir.mkdir()

    # make stack-land-sample
    run([*lakehouse, "landing", "sample", "--scale", "0.01", "--chunks", "4", "--tables", "customer"], env, workdir)
    # make stack-run-pipeline: one spark-submit per table, in stack.mk's order
    tables = stack_tables("customer")
    assert tables == ["bronze.customer_raw", "silver.customer", "gold.dim_customer"]
    for table in tables:
        run([spark_submit(), str(REPO_ROOT / "jobs" / "run_table.py"), table], env, workdir, timeout=900)

    # The same landing files through the embedded engine, into a local warehouse.
    local = {"LAKEHOUSE_ENGINE": "embedded", "LAKEHOUSE_WAREHOUSE": str(tmp_path / "embedded-warehouse"),
             "LAKEHOUSE_CATALOG": ""}
    run([*lakehouse, "run", "--pipeline", "customer"], {**env, **local}, workdir)

    from deltalake import DeltaTable

    storage = {"AWS_ENDPOINT_URL": s3_server.endpoint, "AWS_ACCESS_KEY_ID": s3_server.access_key,
               "AWS_SECRET_ACCESS_KEY": s3_server.secret_key, "AWS_REGION": s3_server.region,
               "AWS_ALLOW_HTTP": "true"}

    def rows(uri: str, options: dict | None, columns: list[str], key: str) -> list[tuple]:
        table = DeltaTable(uri, storage_options=options).to_pyarrow_table(columns=columns).sort_by(key)
        return list(zip(*(table.column(name).to_pylist() for name in columns)))

    silver_columns = ["c_custkey", "c_name", "c_address", "c_nationkey", "c_phone", "c_acctbal", "c_mktsegment",
                      "c_comment", "hash_value", "source_filename"]
    spark_silver = rows("s3://warehouse/silver/customer", storage, silver_columns, "c_custkey")
    embedded_silver = rows(str(tmp_path / "embedded-warehouse" / "silver" / "customer"), None, silver_columns,
                           "c_custkey")
    assert len(spark_silver) == 1500
    assert spark_silver == embedded_silver

    dim_columns = ["dim_customer_id", "c_custkey", "hash_value", "start_date", "end_date", "is_current"]
    spark_dim = rows("s3://warehouse/gold/dim_customer", storage, dim_columns, "c_custkey")
    embedded_dim = rows(str(tmp_path / "embedded-warehouse" / "gold" / "dim_customer"), None, dim_columns,
                        "c_custkey")
    assert spark_dim == embedded_dim

    # Registered in the stack's metastore (4.0.1) where the jobs wrote them, as Delta tables.
    catalog = HiveMetastoreCatalog(metastore_uri)
    for table in tables:
        schema, name = table.split(".")
        info = catalog.get_table(schema, name)
        assert info is not None, f"{table} is not registered in the metastore"
        assert info.location.rstrip("/").endswith(f"warehouse/{schema}/{name}"), info.location
        assert info.provider == "delta", info.provider
