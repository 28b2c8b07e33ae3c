"""`lakehouse report` opened in headless Chromium: no console errors, the graph with one node per
landing folder and table, the timeline with one bar per dimension version, a non-blank screenshot."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lakehouse.cli.main import main
from lakehouse.spec import get_pipeline
from tests.observe.browser import (
    ERRORS_ATTRIBUTE,
    chromium,
    console_messages,
    dump_dom,
    screenshot,
    with_collector,
)
from tests.sales import sales_data

CHROMIUM = chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")


def _errors(dom: str) -> list[str]:
    found = re.search(ERRORS_ATTRIBUTE + r"=\"([^\"]*)\"", dom)
    assert found is not None, "the error collector did not run"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.fixture
def report_file(lake, tmp_path: Path) -> Path:
    sales_data.land_initial(lake)
    lake.run()
    sales_data.land_customer_changes(lake, "customer_0002.csv",
                                     [sales_data.customer(1, "New Road 9", "2024-06-01 00:00:00")])
    lake.run()
    output = tmp_path / "report.html"
    main(["--landing", lake.settings.landing, "--warehouse", lake.settings.warehouse, "report", "--pipeline", "tpch",
          "--output", str(output), "--keys", "1,2", "--dimension", "gold.dim_customer"])
    return output


def test_report_loads_without_errors_and_shows_graph_and_timeline(report_file: Path, tmp_path: Path) -> None:
    html = report_file.read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "the report must not fetch anything"
    page = tmp_path / "report_checked.html"
    page.write_text(with_collector(html))
    dom, log = dump_dom(CHROMIUM, page, tmp_path / "profile")
    assert _errors(dom) == []
    assert console_messages(log) == []
    pipeline = get_pipeline("tpch")
    landing_folders = {spec.source.folder for spec in pipeline.tables if spec.source is not None}
    assert len(re.findall(r'<g class="node"', dom)) == len(pipeline.tables) + len(landing_folders)
    # Customer 1 moved once (two versions), customer 2 never did.
    assert len(re.findall(r'<g class="version" data-key="1"', dom)) == 2
    assert len(re.findall(r'<g class="version" data-key="2"', dom)) == 1
    assert re.search(r'data-key="1" data-version="\d+" data-fact-rows="2"', dom), "orders before the move"
    assert "changed: c_address" in dom
    shot = tmp_path / "report.png"
    screenshot(CHROMIUM, report_file, tmp_path / "profile", shot)
    _assert_not_blank(shot)


def test_collector_reports_a_page_error(tmp_path: Path) -> None:
    """The check above can fail: a page whose script throws is caught."""
    page = tmp_path / "broken.html"
    page.write_text(with_collector("<!DOCTYPE html><html><head></head><body><script>undefinedCall();</script>"
                                   "</body></html>"))
    dom, log = dump_dom(CHROMIUM, page, tmp_path / "profile")
    assert any("undefinedCall" in error for error in _errors(dom))
    assert any("undefinedCall" in line for line in console_messages(log))


def _assert_not_blank(shot: Path) -> None:
    from PIL import Image, ImageStat

    with Image.open(shot) as image:
        grey = image.convert("L")
        assert grey.size[0] >= 800
        # A blank page is one colour: variance 0. The graph and timeline give far more than this.
        assert ImageStat.Stat(grey).var[0] > 100
