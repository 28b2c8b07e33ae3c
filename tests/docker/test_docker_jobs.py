"""jobs/*.py (one writer job per table) and the Databricks workflow in jobs/databricks/."""

from __future__ import annotations

import re
import runpy
import sys

import pytest
import yaml

from docker_stack_helpers import REPO_ROOT, STACK_MK

JOBS = REPO_ROOT / "jobs"
# job file -> the one table it writes, in pipeline order.
CUSTOMER_JOBS = {
    "bronze_customer": "bronze.customer_raw",
    "silver_customer": "silver.customer",
    "gold_dim_customer": "gold.dim_customer",
}


def run_job(name: str, monkeypatch, *extra: str) -> list[str]:
    calls = []
    import lakehouse.cli

    monkeypatch.setattr(lakehouse.cli, "main", lambda argv=None: calls.append(argv))
    monkeypatch.setattr(sys, "argv", [str(JOBS / f"{name}.py"), *extra])
    runpy.run_path(str(JOBS / f"{name}.py"), run_name="__main__")
    assert len(calls) == 1
    return calls[0]


@pytest.mark.parametrize("name,table", CUSTOMER_JOBS.items())
def test_job_runs_its_one_table_on_spark(name, table, monkeypatch):
    assert run_job(name, monkeypatch) == ["--engine", "spark", "run", "--pipeline", "customer", "--only", table]


def test_job_passes_extra_arguments_through(monkeypatch):
    argv = run_job("silver_customer", monkeypatch, "--watch", "--interval", "5")
    assert argv[-3:] == ["--watch", "--interval", "5"]


def test_job_tables_exist_in_the_pipeline_spec_in_order():
    from lakehouse.spec.pipelines import get_pipeline

    tables = [str(spec.ref) for spec in get_pipeline("customer").tables]
    assert tables == list(CUSTOMER_JOBS.values())


def test_the_cli_accepts_the_job_arguments():
    """`run --only` exists with the option names the jobs pass (parsing only, nothing runs)."""
    from lakehouse.cli import cli

    command = cli.commands["run"]
    options = {opt for param in command.params for opt in param.opts}
    assert {"--pipeline", "--only", "--watch"} <= options


def test_stack_mk_runs_the_same_jobs_in_the_same_order():
    jobs = re.search(r"^STACK_JOBS_customer :=(.*)$", STACK_MK.read_text(), re.M).group(1).split()
    assert jobs == list(CUSTOMER_JOBS)


def test_databricks_workflow_chains_the_three_tasks():
    job = yaml.safe_load((JOBS / "databricks" / "job.yml").read_text())["resources"]["jobs"]["lakehouse_customer"]
    tasks = job["tasks"]
    assert [task["task_key"] for task in tasks] == list(CUSTOMER_JOBS)
    assert "depends_on" not in tasks[0]
    for previous, task in zip(tasks, tasks[1:]):
        assert task["depends_on"] == [{"task_key": previous["task_key"]}]
    clusters = {cluster["job_cluster_key"]: cluster["new_cluster"] for cluster in job["job_clusters"]}
    for task in tasks:
        python_file = (JOBS / "databricks" / task["spark_python_task"]["python_file"]).resolve()
        assert python_file == JOBS / f"{task['task_key']}.py"
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
