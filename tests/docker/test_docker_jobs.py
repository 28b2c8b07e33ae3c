"""jobs/run_table.py (one writer job per table), the job lists in docker/stack.mk and the Databricks
workflow in jobs/databricks/, all checked against the pipeline spec."""

from __future__ import annotations

import re
import runpy
import subprocess
import sys

import pytest
import yaml
from docker_stack_helpers import REPO_ROOT, STACK_MK

JOBS = REPO_ROOT / "jobs"
RUN_TABLE = JOBS / "run_table.py"


def pipeline_tables(name: str) -> list[str]:
    from lakehouse.spec.pipelines import get_pipeline

    return [str(spec.ref) for spec in get_pipeline(name).tables]


def upstream_of(table: str) -> list[str]:
    from lakehouse.spec.pipelines import get_pipeline

    return [str(ref) for ref in get_pipeline("tpch").table(table).upstream]


def run_job(monkeypatch, *argv: str) -> list[str]:
    """Runs jobs/run_table.py as spark-submit would, with the CLI replaced by a recorder."""
    calls = []
    import lakehouse.cli.main

    monkeypatch.setattr(lakehouse.cli.main, "main", lambda argv=None: calls.append(argv))
    monkeypatch.setattr(sys, "argv", [str(RUN_TABLE), *argv])
    runpy.run_path(str(RUN_TABLE), run_name="__main__")
    assert len(calls) == 1
    return calls[0]


@pytest.mark.parametrize("table", pipeline_tables("tpch"))
def test_job_runs_its_one_table_on_spark_under_the_smallest_pipeline_holding_it(table, monkeypatch):
    from lakehouse.spec.pipelines import get_pipeline

    argv = run_job(monkeypatch, table)
    expected = "customer" if table in pipeline_tables("customer") else "sales"
    assert argv == ["--engine", "spark", "run", "--pipeline", expected, "--only", table]
    get_pipeline(expected).table(table)  # `--only` names a table of that pipeline (raises otherwise)


def test_job_passes_extra_arguments_through(monkeypatch):
    argv = run_job(monkeypatch, "silver.orders", "--watch", "--interval", "5")
    assert argv[-5:] == ["--only", "silver.orders", "--watch", "--interval", "5"]


@pytest.mark.parametrize("argv,message", [
    ([], "usage: run_table.py TABLE"),
    (["--watch"], "usage: run_table.py TABLE"),
    (["silver.nope"], "no pipeline has table 'silver.nope'"),
])
def test_job_refuses_a_missing_or_unknown_table(argv, message):
    # A real process, as spark-submit runs it: the message goes to stderr and the exit code is not 0.
    result = subprocess.run([sys.executable, str(RUN_TABLE), *argv], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert message in result.stderr


def test_the_cli_accepts_the_job_arguments():
    """`run --only` exists with the option names the jobs pass (parsing only, nothing runs)."""
    from lakehouse.cli.main import cli

    command = cli.commands["run"]
    options = {opt for param in command.params for opt in param.opts}
    assert {"--pipeline", "--only", "--watch"} <= options


def stack_tables(pipeline: str) -> list[str]:
    """STACK_TABLES_<pipeline> from docker/stack.mk, continuation lines and references expanded."""
    text = STACK_MK.read_text().replace("\\\n", " ")
    value = re.search(rf"^STACK_TABLES_{pipeline} :=(.*)$", text, re.M).group(1)
    return [word for part in value.split()
            for word in (stack_tables(part[15:-1]) if part.startswith("$(STACK_TABLES_") else [part])]


@pytest.mark.parametrize("pipeline", ["customer", "sales", "tpch"])
def test_stack_mk_submits_every_table_of_the_pipeline_in_dependency_order(pipeline):
    tables = stack_tables(pipeline)
    assert sorted(tables) == sorted(pipeline_tables(pipeline)) and len(set(tables)) == len(tables)
    for position, table in enumerate(tables):
        for upstream in upstream_of(table):
            if upstream in tables:
                assert tables.index(upstream) < position, f"{table} is submitted before its input {upstream}"


def test_stack_mk_runs_the_fact_after_the_dimension_and_its_silver_inputs():
    tables = stack_tables("tpch")
    fact = tables.index("gold.fact_sales")
    assert all(tables.index(t) < fact for t in ("gold.dim_customer", "silver.orders", "silver.lineitem"))


def databricks_job() -> dict:
    return yaml.safe_load((JOBS / "databricks" / "job.yml").read_text())["resources"]["jobs"]["lakehouse_tpch"]


def task_key(table: str) -> str:
    return table.replace(".", "_")


def test_databricks_workflow_has_one_task_per_table_depending_on_its_inputs():
    tasks = databricks_job()["tasks"]
    assert [task["spark_python_task"]["parameters"] for task in tasks] == [[t] for t in pipeline_tables("tpch")]
    for task in tasks:
        (table,) = task["spark_python_task"]["parameters"]
        assert task["task_key"] == task_key(table)
        depends = [d["task_key"] for d in task.get("depends_on", [])]
        assert depends == [task_key(u) for u in upstream_of(table)], f"{table}: depends_on must follow its inputs"
    fact = next(task for task in tasks if task["task_key"] == "gold_fact_sales")
    assert {d["task_key"] for d in fact["depends_on"]} == {"silver_orders", "silver_lineitem", "gold_dim_customer"}


def test_databricks_tasks_run_the_job_file_on_the_cluster_with_the_wheel():
    job = databricks_job()
    clusters = {cluster["job_cluster_key"]: cluster["new_cluster"] for cluster in job["job_clusters"]}
    for task in job["tasks"]:
        assert (JOBS / "databricks" / task["spark_python_task"]["python_file"]).resolve() == RUN_TABLE
        assert task["job_cluster_key"] in clusters
        assert any(library.get("whl", "").endswith(".whl") for library in task["libraries"])
    env = clusters["lakehouse"]["spark_env_vars"]
    assert env["LAKEHOUSE_ENGINE"] == "spark"
    assert env["LAKEHOUSE_LANDING"].startswith("/Volumes/")
    assert "LAKEHOUSE_CATALOG" not in env, "LAKEHOUSE_CATALOG names a Hive Metastore; Databricks uses Unity Catalog"


def test_databricks_bundle_declares_what_the_job_uses():
    bundle = yaml.safe_load((JOBS / "databricks" / "databricks.yml").read_text())
    assert "job.yml" in bundle["include"]
    job_text = (JOBS / "databricks" / "job.yml").read_text()
    used = set(re.findall(r"\$\{var\.(\w+)\}", job_text))
    assert used <= set(bundle["variables"]), f"undeclared bundle variables: {used - set(bundle['variables'])}"
    # DBR 17.x is Spark 4.0 with Scala 2.13, the same line as the local stack's Spark 4.0.1.
    assert re.fullmatch(r"17\.\d+\.x-scala2\.13", bundle["variables"]["spark_version"]["default"])
    assert (JOBS / "databricks" / bundle["artifacts"]["lakehouse_wheel"]["path"]).resolve() == REPO_ROOT
