"""Progress: a bar on a terminal, plain lines through a pipe, and --json stdout that parses."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys

from lakehouse.cli.progress import ProgressDisplay
from lakehouse.spec import get_pipeline
from tests.sales import sales_data

ANSI = "\x1b["


def _command(lake, *arguments: str) -> list[str]:
    return [sys.executable, "-m", "lakehouse", "--landing", lake.settings.landing,
            "--warehouse", lake.settings.warehouse, *arguments]


def test_a_piped_run_prints_plain_step_lines(lake) -> None:
    sales_data.land_initial(lake)
    result = subprocess.run(_command(lake, "run", "--pipeline", "tpch"), capture_output=True, text=True, timeout=120,
                            env={**os.environ, "TERM": "xterm-256color", "FORCE_COLOR": ""})
    assert result.returncode == 0, result.stderr
    assert ANSI not in result.stderr and ANSI not in result.stdout
    tables = len(get_pipeline("tpch").tables)
    steps = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert steps[0].startswith(f"[1/{tables}] bronze.customer_raw") and steps[-1].startswith(f"[{tables}/{tables}]")


def test_json_run_stdout_parses_even_on_a_terminal(lake) -> None:
    sales_data.land_initial(lake)
    # stderr on a pseudo-terminal: with --json progress still stays plain lines.
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(_command(lake, "--json", "run", "--pipeline", "customer"), stdout=subprocess.PIPE,
                                stderr=follower, timeout=120)
        os.close(follower)
        follower = -1
        logged = _drain(leader)
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    assert result.returncode == 0
    assert json.loads(result.stdout)["pipeline"] == "customer"
    assert ANSI not in logged and "[3/3] gold.dim_customer" in logged


def _drain(descriptor: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(descriptor, 65536)
        except OSError:  # Linux reports the closed follower as EIO.
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def test_steps_draw_a_bar_on_a_terminal_and_other_messages_stay_lines() -> None:
    stream = io.StringIO()
    display = ProgressDisplay(stream, bars=True)
    display("[1/3] bronze.customer_raw: 2 row(s) written")
    display("a plain note")
    display("[2/3] silver.customer: nothing new")
    display("[3/3] gold.dim_customer: nothing new")
    text = stream.getvalue()
    assert ANSI in text and "3/3" in text and "a plain note" in text
    # The bar finished with its last step, so what follows is a plain line again.
    display("after the bar")
    assert stream.getvalue().endswith("after the bar\n")


def test_without_a_terminal_steps_are_plain_lines() -> None:
    stream = io.StringIO()
    display = ProgressDisplay(stream)
    display("[1/2] landed a.csv")
    display("[2/2] landed b.csv")
    assert stream.getvalue() == "[1/2] landed a.csv\n[2/2] landed b.csv\n"


def test_generation_and_chunking_report_steps(tmp_path) -> None:
    from lakehouse.landing.chunking import chunk_csv
    from lakehouse.landing.tpch import generate_tpch

    messages: list[str] = []
    paths = generate_tpch(0.001, tmp_path / "tpch", ("nation", "region"), progress=messages.append)
    steps = [m for m in messages if m.startswith("[")]
    assert [s.split(" (")[0] for s in steps] == ["[1/2] generated nation", "[2/2] generated region"]
    messages.clear()
    chunk_csv(paths["nation"], 2, tmp_path / "chunks", "nation", progress=messages.append)
    assert [m for m in messages if m.startswith("[")][-1] == "[2/2] chunked nation.csv"
