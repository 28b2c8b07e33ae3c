"""Every `lakehouse` command prints JSON on stdout with --json (before or after the command's name), on a
local landing zone, warehouse and catalog. A new command without a case here fails the walk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from lakehouse.cli.main import cli
from tests.robustness.support import REPO

# Starting a Hive Metastore takes a JVM and a minute: that test parses its --json output already.
COVERED_ELSEWHERE = {("metastore", "start"): "tests/catalog/test_metastore_server.py"}
# Field names the event log uses for the same concepts (docs/event-log.md).
LOG_FIELDS = {"table", "batch_id", "rows_in", "rows_written", "seconds"}


def leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    paths: set[tuple[str, ...]] = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            paths |= leaf_commands(command, (*prefix, name))
        else:
            paths.add((*prefix, name))
    return paths


def keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


def stand_in_bench(options: Any, progress: Any, command: str) -> dict[str, Any]:
    progress("measuring (stand-in)")  # must go to stderr, not into the JSON
    return {"command": command, "full_load": {"tables": [{"table": "bronze.customer_raw", "rows_written": 1}]}}


@pytest.mark.slow
def test_every_command_prints_json(tmp_path, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_SETTLE_SECONDS", "0")
    import lakehouse.bench as bench

    # The real bench takes minutes (tests/bench runs it); its JSON goes through the same emit.
    monkeypatch.setattr(bench, "run_bench", stand_in_bench)
    monkeypatch.setattr(bench, "render_markdown", lambda report: f"# {report['command']}")
    work, state = str(tmp_path / "tpch"), str(tmp_path / "metastore")
    spec = str(REPO / "catalog")
    places = ["--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "warehouse")]
    # (arguments, exit codes that are right here); in order, since later commands read what earlier ones made.
    cases: list[tuple[list[str], set[int]]] = [
        (["landing", "generate", "-s", "0.001", "-t", "customer", "--workdir", work], {0}),
        (["landing", "chunk", "-n", "2", "-t", "customer", "--workdir", work], {0}),
        (["landing", "upload", "-t", "customer", "--workdir", work], {0}),
        # Its own landing zone: sample lands the same file names as upload.
        (["--landing", str(tmp_path / "sample"), "landing", "sample", "-s", "0.001", "-n", "1", "-t", "customer",
          "--workdir", str(tmp_path / "sample")], {0}),
        (["run"], {0}),
        (["landing", "changes", "--workdir", work], {0}),
        (["run"], {0}),
        (["status"], {0}),
        (["validate"], {0}),
        (["read", "silver.customer", "--limit", "2"], {0}),
        (["sql", "SELECT count(*) AS n FROM _lakehouse.event_log"], {0}),
        (["history", "silver.customer", "--limit", "2"], {0}),
        (["optimize", "silver.customer", "--min-deleted-share", "0"], {0}),
        (["events", "--limit", "5"], {0}),
        (["graph"], {0}),
        (["report", "--output", str(tmp_path / "report.html")], {0}),
        (["init", str(tmp_path / "project")], {0}),
        (["catalog", "apply", "--spec", spec], {0}),
        (["catalog", "show"], {0}),
        (["catalog", "drift", "--spec", spec], {0, 1}),
        (["metastore", "status", "--state-dir", state], {1}),  # not running: exit 1, still JSON
        (["metastore", "stop", "--state-dir", state], {0}),
        (["bench", "--workdir", str(tmp_path / "bench")], {0}),
        (["bench", "--render", str(tmp_path / "bench" / "results.json")], {0}),
        (["reset", "--yes"], {0}),
    ]
    commands = [args[2:] if args[0] == "--landing" else args for args, _ in cases]
    walked = {tuple(a for a in args[:2] if not a.startswith("-")) for args in commands}
    walked = {path if path in leaf_commands(cli) else path[:1] for path in walked}
    assert leaf_commands(cli) - walked == set(COVERED_ELSEWHERE)
    runner = CliRunner()
    outputs: dict[str, Any] = {}
    for number, (args, exit_codes) in enumerate(cases):
        # Half the cases put --json after the command: both places must work.
        argv = [*places, "--json", *args] if number % 2 else [*places, *args, "--json"]
        result = runner.invoke(cli, argv)
        assert result.exit_code in exit_codes, (args, result.output, result.exception)
        try:
            outputs[" ".join(commands[number][:2])] = json.loads(result.stdout)
        except json.JSONDecodeError as exc:
            pytest.fail(f"`lakehouse {' '.join(args)} --json` printed no JSON ({exc}): {result.stdout[:300]!r}")
    assert keys(outputs["run"]) >= LOG_FIELDS
    assert {"table", "batch_id", "rows_in", "rows_written", "outcome"} <= keys(outputs["status"])
    assert {"event_id", "event_type", "outcome"} <= keys(outputs["events --limit"])
    assert outputs["sql SELECT count(*) AS n FROM _lakehouse.event_log"]["rows"][0]["n"] > 0


def test_events_prints_a_table_and_filters(tmp_path):
    from .support import FILE_1, land, settings_in

    settings = settings_in(tmp_path)
    runner = CliRunner()
    places = ["--landing", settings.landing, "--warehouse", settings.warehouse]
    assert runner.invoke(cli, [*places, "events"]).stdout.strip() == "no events yet (run a pipeline first)"
    land(settings, "c1.csv", FILE_1)
    assert runner.invoke(cli, [*places, "run"]).exit_code == 0
    text = runner.invoke(cli, [*places, "events", "--table", "silver.customer", "--since", "1h"]).stdout
    lines = text.strip().splitlines()
    assert lines[0].split()[:5] == ["timestamp", "event_type", "table", "batch_id", "outcome"]
    assert [line.split()[1:5] for line in lines[1:]] == [
        ["flow", "silver.customer", "-", "started"], ["batch", "silver.customer", "0", "started"],
        ["batch", "silver.customer", "0", "succeeded"], ["flow", "silver.customer", "-", "succeeded"]]
    rows = json.loads(runner.invoke(cli, [*places, "events", "--limit", "1", "--json"]).stdout)
    assert [(r["event_type"], r["outcome"], r["details"]["batches"]) for r in rows] == [("run", "succeeded", 3)]
    bad = runner.invoke(cli, [*places, "events", "--since", "soon"])
    assert bad.exit_code != 0 and "neither an ISO 8601 time nor a duration" in str(bad.exception)
    assert Path(settings.warehouse, "_lakehouse", "event_log").is_dir()
