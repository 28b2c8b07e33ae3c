"""docker/stack.mk driven by make with a stand-in for `docker compose` that records its calls.

This checks what the targets would run (order, arguments, failure handling) without an engine.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from docker_stack_helpers import ENV_EXAMPLE, REPO_ROOT, STACK_MK

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")

CUSTOMER_TABLES = ["bronze.customer_raw", "silver.customer", "gold.dim_customer"]
SUBMIT = "exec -T spark-master spark-submit --master spark://spark-master:7077 /opt/lakehouse/jobs/run_table.py"


@pytest.fixture
def fake_compose(tmp_path):
    """A `docker compose` stand-in: logs argv; FAIL_ON=<word> fails calls naming it; PS_OUTPUT is `ps` output."""
    log = tmp_path / "calls.log"
    script = tmp_path / "fake-compose"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        'case "$*" in *" ps "*) printf "%s" "$PS_OUTPUT"; exit 0;; esac\n'
        'if [ -n "$FAIL_ON" ]; then case "$*" in *"$FAIL_ON"*) exit 3;; esac; fi\n'
    )
    script.chmod(0o755)
    root = tmp_path / "root"  # stands in for the repository root, so .env is created there
    root.mkdir()
    shutil.copy(ENV_EXAMPLE, root / ".env.example")

    def run(*targets: str, env: dict[str, str] | None = None, makefile: Path = STACK_MK) -> tuple[int, list[str]]:
        result = subprocess.run(
            ["make", "--no-print-directory", "-f", str(makefile), *targets,
             f"COMPOSE={script}", f"STACK_ROOT={root}"],
            capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin", **(env or {})},
        )
        calls = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return result.returncode, calls

    run.root = root
    return run


def submitted_tables(calls: list[str]) -> list[str]:
    assert all(SUBMIT in call for call in calls)
    return [call.split(SUBMIT, 1)[1].split()[0] for call in calls]


def test_run_pipeline_submits_one_job_per_table_in_order(fake_compose):
    code, calls = fake_compose("stack-run-pipeline")
    assert code == 0
    assert [call.split(" -f ", 1)[1].split(" ", 1)[1] for call in calls] == [f"{SUBMIT} {t}" for t in CUSTOMER_TABLES]
    assert (REPO_ROOT / "jobs" / "run_table.py").exists()


def test_tpch_submits_the_sales_jobs_after_the_customer_ones(fake_compose):
    from lakehouse.spec.pipelines import get_pipeline

    code, calls = fake_compose("stack-run-pipeline", "PIPELINE=tpch")
    assert code == 0
    tables = submitted_tables(calls)
    assert tables[:3] == CUSTOMER_TABLES
    assert sorted(tables[3:]) == sorted(str(spec.ref) for spec in get_pipeline("sales").tables)
    assert tables[-1] == "gold.fact_sales"


def test_run_pipeline_stops_at_the_first_failing_job(fake_compose):
    code, calls = fake_compose("stack-run-pipeline", env={"FAIL_ON": "silver.customer"})
    assert code != 0
    assert submitted_tables(calls) == ["bronze.customer_raw", "silver.customer"]


def test_unknown_pipeline_is_refused(fake_compose):
    code, calls = fake_compose("stack-run-pipeline", "STACK_PIPELINE=nope")
    assert code != 0 and calls == []


def test_job_args_are_passed_through(fake_compose):
    code, calls = fake_compose("stack-run-pipeline", "STACK_JOB_ARGS=--interval 5")
    assert code == 0 and [c.rsplit(" ", 3)[1:] for c in calls] == [[t, "--interval", "5"] for t in CUSTOMER_TABLES]


def test_watch_starts_every_job_detached(fake_compose):
    code, calls = fake_compose("stack-watch")
    assert code == 0 and len(calls) == 3
    for call, table in zip(calls, CUSTOMER_TABLES):
        assert "exec -d -T spark-master sh -c" in call
        assert f"/opt/lakehouse/jobs/run_table.py {table} --watch" in call and "--total-executor-cores 1" in call
        assert f"> logs/{table}.log 2>&1" in call


def test_up_creates_env_then_builds_and_waits(fake_compose):
    code, calls = fake_compose("up")
    assert code == 0
    assert (fake_compose.root / ".env").read_text() == ENV_EXAMPLE.read_text()
    assert [c.split(" -f ")[1].split(" ", 1)[1] for c in calls] == ["build", "up -d --wait"]
    (fake_compose.root / ".env").write_text("MINIO_ROOT_USER=mine\n")
    fake_compose("up")
    assert (fake_compose.root / ".env").read_text() == "MINIO_ROOT_USER=mine\n", "an existing .env is kept"


def test_land_sample_reset_down_and_logs(fake_compose):
    _, calls = fake_compose("stack-land-sample", "SCALE=0.1", "CHUNKS=2")
    assert calls[0].endswith("run --rm -T landing lakehouse landing sample --scale 0.1 --chunks 2 --tables customer")
    _, calls = fake_compose("stack-land-sample", "PIPELINE=tpch")
    assert calls[0].endswith("--tables customer,nation,region,part,supplier,orders,lineitem")
    _, calls = fake_compose("stack-reset")
    assert calls[0].endswith("exec -T spark-master lakehouse reset --pipeline customer --yes")
    _, calls = fake_compose("down", "STACK_DOWN_ARGS=-v")
    assert calls[0].endswith("down -v")
    _, calls = fake_compose("logs", "SERVICE=metastore")
    assert calls[0].endswith("logs --follow --tail=200 metastore")


def test_stack_is_up_follows_compose_ps(fake_compose):
    code, calls = fake_compose("stack-is-up", env={"PS_OUTPUT": "3f2a9c1d"})
    assert code == 0 and calls[0].endswith("ps --status running -q spark-master")
    code, _ = fake_compose("stack-is-up", env={"PS_OUTPUT": ""})
    assert code != 0


def test_stack_is_up_works_as_the_top_level_makefile_uses_it(fake_compose, tmp_path):
    """The lead's Makefile does `if $(STACK_IS_UP); then ...` after `-include docker/stack.mk`."""
    makefile = tmp_path / "Makefile"
    makefile.write_text(
        f"-include {STACK_MK}\nSTACK_IS_UP ?= false\n"
        "probe:\n\t@if $(STACK_IS_UP); then echo stack; else echo embedded; fi\n"
    )
    for ps_output, expected in (("abc123", "stack"), ("", "embedded")):
        result = subprocess.run(
            ["make", "--no-print-directory", "-f", str(makefile), "probe", f"COMPOSE={tmp_path / 'fake-compose'}"],
            capture_output=True, text=True, timeout=60,
            env={"PATH": "/usr/bin:/bin", "PS_OUTPUT": ps_output},
        )
        assert result.stdout.strip() == expected, result.stderr
