"""`lakehouse graph`: nodes and flows from landing to gold, each node's status facts, every format."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse.cli.main import main
from lakehouse.ops.graph import failed_expectations, pipeline_graph
from lakehouse.ops.graph.layout import layout
from lakehouse.spec import get_pipeline
from tests.sales import sales_data


def _cli(lake, *arguments: str) -> list[str]:
    return ["--landing", lake.settings.landing, "--warehouse", lake.settings.warehouse, *arguments]


@pytest.fixture
def ran(lake):
    sales_data.land_initial(lake)
    lake.run()
    # Landed after the run: pending for bronze.customer_raw and its landing folder.
    sales_data.land_customer_changes(lake, "customer_0002.csv",
                                     [sales_data.customer(2, "Moved 3", "2024-07-01 00:00:00")])
    return lake


def test_graph_nodes_carry_status_facts(ran) -> None:
    graph = pipeline_graph(ran.settings, ran.storage, get_pipeline("tpch"))
    assert ("landing/customer", "bronze.customer_raw") in graph.edges
    assert ("gold.dim_customer", "gold.fact_sales") in graph.edges
    raw = graph.node("bronze.customer_raw")
    assert (raw.kind, raw.version, raw.rows, raw.last_batch, raw.pending) == ("append-ingest", 0, 2, 0, 1)
    assert graph.node("landing/customer").pending == 1
    fact = graph.node("gold.fact_sales")
    assert (fact.rows, fact.pending, fact.failed_expectations) == (5, 0, 0)
    never_landed = graph.node("silver.nation")
    assert (never_landed.version, never_landed.rows) == (None, None)


def test_sales_graph_shows_the_dimension_it_reads(ran) -> None:
    graph = pipeline_graph(ran.settings, ran.storage, get_pipeline("sales"))
    dimension = graph.node("gold.dim_customer")
    assert dimension.external and dimension.rows == 3 and dimension.kind == "scd2-from-changes"


def test_layout_runs_every_flow_left_to_right(ran) -> None:
    graph = pipeline_graph(ran.settings, ran.storage, get_pipeline("tpch"))
    boxes = layout(graph).boxes
    assert all(boxes[a].x < boxes[b].x for a, b in graph.edges)
    # No two boxes overlap within a column.
    for a in graph.nodes:
        for b in graph.nodes:
            one, other = boxes[a.node_id], boxes[b.node_id]
            if a is not b and one.x == other.x:
                assert one.y + one.height <= other.y or other.y + other.height <= one.y


def test_failed_expectations_counted_per_table() -> None:
    events = pa.table({"table": ["silver.customer", "silver.customer", "silver.orders", "silver.orders"],
                       "event_type": ["expectation", "expectation", "expectation", "batch"],
                       "outcome": ["skipped", "succeeded", "failed", "failed"],
                       "rows_in": [10, 10, 4, 4], "rows_written": [8, 10, 4, 0]})
    assert failed_expectations(events) == {"silver.customer": 1, "silver.orders": 1}
    assert failed_expectations(None) == {}


@pytest.mark.parametrize("output_format", ["svg", "png", "dot"])
def test_graph_command_writes_each_format(ran, tmp_path: Path, output_format: str) -> None:
    target = tmp_path / f"graph.{output_format}"
    main(_cli(ran, "graph", "--pipeline", "tpch", "--format", output_format, "--output", str(target)))
    body = target.read_bytes()
    nodes = len(get_pipeline("tpch").tables) + 7
    if output_format == "svg":
        assert len(re.findall(rb'<g class="node"', body)) == nodes
    elif output_format == "png":
        assert body.startswith(b"\x89PNG")
    else:
        edges = pipeline_graph(ran.settings, ran.storage, get_pipeline("tpch")).edges
        assert body.count(b"->") == len(edges) == 18
        assert b'"gold.fact_sales"' in body


def test_graph_json_and_text(ran, capsys) -> None:
    main(_cli(ran, "--json", "graph", "--pipeline", "customer"))
    payload = json.loads(capsys.readouterr().out)
    assert [n["id"] for n in payload["nodes"]] == ["landing/customer", "bronze.customer_raw", "silver.customer",
                                                  "gold.dim_customer"]
    main(_cli(ran, "graph", "--pipeline", "customer"))
    text = capsys.readouterr().out
    assert "bronze.customer_raw -> gold.dim_customer" in text and "failed expectations: 0" in text


def test_png_needs_an_output_file(ran, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(_cli(ran, "graph", "--format", "png"))
    assert exited.value.code == 2
    assert "--output" in capsys.readouterr().err


def test_failed_expectations_come_from_the_event_log(tmp_path: Path) -> None:
    from lakehouse.core.storage import Storage
    from lakehouse.ops.graph import read_events
    from lakehouse.ops.report import build_report
    from tests.expectations.support import ROWS, Place, expect, pipeline

    place = Place(tmp_path)
    place.land("customer_0001.csv", ROWS)
    spec = pipeline(bronze=(expect("balance_not_negative", "c_acctbal >= 0", "warn"),),
                    silver=(expect("nation_below_five", "c_nationkey < 5", "drop"),
                            expect("has_name", "c_name IS NOT NULL", "warn")))
    place.run(spec)
    settings = place.settings()
    storage = Storage(settings.s3)
    graph = pipeline_graph(settings, storage, spec, read_events(settings, storage))
    failed = {n.node_id: n.failed_expectations for n in graph.nodes if n.is_table}
    # Two rows fail the bronze rule (one negative, one NULL), two the silver drop; has_name holds.
    assert failed == {"bronze.customer_raw": 1, "silver.customer": 1, "gold.dim_customer": 0}
    html = build_report(settings, storage, spec)
    assert re.search(r"<td>silver.customer</td><td>nation_below_five</td><td>1</td><td>1</td><td>2</td><td>2</td>",
                     html)
    assert re.search(r"<td>silver.customer</td><td>has_name</td><td>1</td><td>0</td><td>0</td><td>0</td>", html)


def test_png_without_pillow_names_the_install_command(ran, tmp_path: Path, monkeypatch, capsys) -> None:
    import sys

    # A None entry makes the import fail as if Pillow were not installed.
    for name in ("PIL", "PIL.Image", "PIL.ImageDraw", "PIL.ImageFont"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(SystemExit) as exited:
        main(_cli(ran, "graph", "--format", "png", "--output", str(tmp_path / "graph.png")))
    assert exited.value.code == 2
    assert 'pip install "local-lakehouse[graph]"' in capsys.readouterr().err
    assert not (tmp_path / "graph.png").exists()
