"""The products project pipeline (a file, no change to the package) on the Spark engine, through the
`lakehouse` entry point: the same tables as on the embedded engine."""

from __future__ import annotations

import json

import pytest

from lakehouse.cli.main import main
from tests.pipeline_files.helpers import PRODUCTS, write_pipeline
from tests.pipeline_files.test_project_cli import FIRST, SECOND, land
from tests.spark.conftest import delta_spark, on_test_session, spark  # noqa: F401 - the Spark tests' session fixtures

pytestmark = pytest.mark.spark


def test_the_products_project_on_spark(tmp_path, monkeypatch, capsys, on_test_session):  # noqa: F811
    for name in ("LAKEHOUSE_PROJECT", "LAKEHOUSE_CATALOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAKEHOUSE_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("LAKEHOUSE_WAREHOUSE", str(tmp_path / "warehouse"))
    write_pipeline(tmp_path / "shop", PRODUCTS)
    monkeypatch.chdir(tmp_path / "shop")
    land(tmp_path, "products_0001.csv", FIRST)
    main(["--engine", "spark", "run", "--pipeline", "products"])
    land(tmp_path, "products_0002.csv", SECOND)
    main(["--engine", "spark", "run", "--pipeline", "products"])
    capsys.readouterr()

    main(["--json", "sql", "SELECT id, CAST(price AS VARCHAR) AS price, is_current FROM gold.dim_products "
                           "ORDER BY id, start_date"])
    versions = json.loads(capsys.readouterr().out)["rows"]
    assert [(v["id"], v["price"], v["is_current"]) for v in versions] == [
        (1, "10.00", False), (1, "12.00", True), (2, "25.50", True), (3, "99.99", True), (4, "40.00", True)]
    main(["--json", "sql", "SELECT id, CAST(price AS VARCHAR) AS price FROM silver.products ORDER BY id"])
    assert [(r["id"], r["price"]) for r in json.loads(capsys.readouterr().out)["rows"]] == [
        (1, "12.00"), (2, "25.50"), (3, "99.99"), (4, "40.00")]
    main(["validate", "--pipeline", "products"])
    assert "all invariants hold" in capsys.readouterr().out
