"""End to end through the `lakehouse` entry point on the embedded engine: `init`, then a project of
its own (products: bronze append_ingest -> silver scd1 -> gold scd2) landed, run and checked, with the
package unchanged. The project is found from the current directory, --project and LAKEHOUSE_PROJECT."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse.cli.main import main
from lakehouse.spec.files import SHIPPED_DIR
from tests.pipeline_files.helpers import PRODUCTS, products, table, write_pipeline

FIRST = "id,name,price,updated_at\n1,Lamp,10.00,2024-01-01 00:00:00\n2,Chair,25.50,2024-01-01 00:00:00\n" \
        "3,Desk,99.99,2024-01-01 00:00:00\n"
# Lamp's price changes, Shelf is new, Chair's row is sent again unchanged.
SECOND = "id,name,price,updated_at\n1,Lamp,12.00,2024-02-01 00:00:00\n4,Shelf,40.00,2024-02-01 00:00:00\n" \
         "2,Chair,25.50,2024-01-01 00:00:00\n"


@pytest.fixture
def lake(tmp_path, monkeypatch) -> Path:
    for name in ("LAKEHOUSE_PROJECT", "LAKEHOUSE_ENGINE", "LAKEHOUSE_CATALOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAKEHOUSE_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("LAKEHOUSE_WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def lakehouse(capsys, *args: str) -> str:
    capsys.readouterr()
    main(list(args))
    return capsys.readouterr().out


def failing(capsys, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    return int(exited.value.code), capsys.readouterr().err


def land(lake: Path, name: str, text: str) -> None:
    folder = lake / "landing" / "products"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def query(capsys, sql: str) -> list[dict]:
    """`lakehouse sql` sees the tables of the project's pipelines too."""
    return json.loads(lakehouse(capsys, "--project", "shop", "--json", "sql", sql))["rows"]


def test_init_writes_a_starter_project_and_refuses_to_overwrite(lake, capsys):
    out = lakehouse(capsys, "init", "starter")
    written = sorted(str(p.relative_to(lake / "starter")) for p in (lake / "starter").rglob("*") if p.is_file())
    assert written == ["README.md", "pipeline.schema.json", "pipelines/customer.yaml", "pipelines/sales.yaml",
                       "pipelines/tpch.yaml"]
    assert "wrote starter/pipelines/tpch.yaml" in out
    readme = (lake / "starter" / "README.md").read_text()
    assert "lakehouse landing sample --scale 0.01" in readme and "lakehouse run --pipeline tpch" in readme
    assert (lake / "starter" / "pipelines" / "customer.yaml").read_text().startswith(
        "# yaml-language-server: $schema=../pipeline.schema.json\n")
    (lake / "starter" / "README.md").write_text("mine")
    code, err = failing(capsys, "init", "starter")
    assert code == 2 and "starter/README.md" in err and "nothing was written" in err
    assert (lake / "starter" / "README.md").read_text() == "mine"


def test_the_starter_project_resolves_its_own_files(lake, capsys):
    lakehouse(capsys, "init", "starter")
    path = lake / "starter" / "pipelines" / "customer.yaml"
    path.write_text(path.read_text().replace("kind: scd2", "kind: scd9"))
    code, err = failing(capsys, "--project", "starter", "validate", "--pipeline", "customer")
    assert code == 2 and f"{path}: table 'gold.dim_customer': field 'kind': 'scd9'" in err
    assert "hint: valid values: append_ingest, scd1, scd2, fact" in err
    # Outside the project the shipped pipeline of that name is used.
    assert "no tables yet" in lakehouse(capsys, "validate", "--pipeline", "customer")


@pytest.mark.slow
def test_a_products_project_runs_end_to_end(lake, capsys, monkeypatch):
    shipped_before = sorted(p.name for p in SHIPPED_DIR.iterdir())
    shop = lake / "shop"
    write_pipeline(shop, PRODUCTS)
    land(lake, "products_0001.csv", FIRST)
    monkeypatch.chdir(shop)
    ran = json.loads(lakehouse(capsys, "--json", "run", "--pipeline", "products"))
    assert [(t["table"], t["rows_written"]) for t in ran["tables"]] == [
        ("bronze.products_raw", 3), ("silver.products", 3), ("gold.dim_products", 3)]

    land(lake, "products_0002.csv", SECOND)
    monkeypatch.chdir(lake)
    lakehouse(capsys, "--project", "shop", "run", "--pipeline", "products")
    assert query(capsys, "SELECT id, name, CAST(price AS VARCHAR) AS price FROM silver.products ORDER BY id") == [
        {"id": 1, "name": "Lamp", "price": "12.00"}, {"id": 2, "name": "Chair", "price": "25.50"},
        {"id": 3, "name": "Desk", "price": "99.99"}, {"id": 4, "name": "Shelf", "price": "40.00"}]
    versions = query(capsys, "SELECT id, CAST(price AS VARCHAR) AS price, is_current, dim_products_id "
                             "FROM gold.dim_products ORDER BY id, start_date")
    assert [(v["id"], v["price"], v["is_current"]) for v in versions] == [
        (1, "10.00", False), (1, "12.00", True), (2, "25.50", True), (3, "99.99", True), (4, "40.00", True)]
    assert len({v["dim_products_id"] for v in versions}) == 5

    monkeypatch.setenv("LAKEHOUSE_PROJECT", str(shop))
    status = json.loads(lakehouse(capsys, "--json", "status", "--pipeline", "products"))
    assert {row["table"]: row["rows"] for row in status} == {
        "bronze.products_raw": 6, "silver.products": 4, "gold.dim_products": 5}
    assert "all invariants hold" in lakehouse(capsys, "validate", "--pipeline", "products")
    dropped = json.loads(lakehouse(capsys, "--json", "reset", "--pipeline", "products", "--table", "silver.products",
                                   "--yes"))["dropped"]
    assert dropped == ["silver.products"]
    assert sorted(p.name for p in SHIPPED_DIR.iterdir()) == shipped_before


def test_a_bad_project_file_stops_run_before_anything_runs(lake, capsys):
    data = products()
    table(data, "silver.products")["upstream"] = ["bronze.nope"]
    path = write_pipeline(lake / "shop", data)
    land(lake, "products_0001.csv", FIRST)
    code, err = failing(capsys, "--project", "shop", "run", "--pipeline", "products")
    assert code == 2
    assert f"error: {path}: table 'silver.products': field 'upstream': 'bronze.nope' is no table" in err
    assert not (lake / "warehouse").exists() or not any((lake / "warehouse").rglob("_delta_log"))


def test_an_unknown_pipeline_names_where_it_looked(lake, capsys):
    code, err = failing(capsys, "status", "--pipeline", "products")
    assert code == 2 and f"no products.yaml in {lake / 'pipelines'}" in err
    assert "valid pipelines: customer, sales, tpch" in err


def test_a_key_that_is_no_column_of_the_landed_data_names_the_field(lake, capsys):
    data = products()
    table(data, "silver.products")["keys"] = ["idd"]
    path = write_pipeline(lake / "shop", data)
    land(lake, "products_0001.csv", FIRST)
    # The columns are inferred from the landed file, so the first run finds out once bronze is written.
    code, err = failing(capsys, "--project", "shop", "run", "--pipeline", "products")
    expected = f"error: {path}: table 'silver.products': field 'keys': 'idd' is no column of bronze.products_raw."
    assert code == 2 and expected in err
    assert "hint: columns of bronze.products_raw: id, name, price, updated_at, date_added" in err
    # Later runs and validate refuse it before anything runs.
    code, err = failing(capsys, "--project", "shop", "validate", "--pipeline", "products")
    assert code == 2 and expected in err
    code, err = failing(capsys, "--project", "shop", "run", "--pipeline", "products")
    assert code == 2 and expected in err and "bronze.products_raw: nothing new" not in err
