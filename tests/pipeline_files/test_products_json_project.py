"""The issue's own example, end to end: a products pipeline written as a file in a new project (JSON
lines landing, an expectation that drops, deletes in scd1 and scd2), run through the `lakehouse`
entry point on each engine with no change to the package. Both engines must give the same tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse.cli.main import main
from tests.spark.conftest import delta_spark, on_test_session, spark  # noqa: F401 - the Spark tests' session fixtures

PIPELINE_FILE = """\
pipeline: products
tables:
  - name: bronze.products_raw
    kind: append_ingest
    change_data_feed: true
    source:
      folder: products
      format: json
      schema_hints: {id: bigint, price: "decimal(10,2)", updated_at: timestamp}
  - name: silver.products
    kind: scd1
    upstream: [bronze.products_raw]
    keys: [id]
    sequence_by: updated_at
    apply_as_deletes: "op = 'D'"
    except_column_list: [op]
    change_data_feed: true
    expectations:
      - {name: has_price, expr: "price IS NOT NULL", on_violation: drop}
  - name: gold.dim_products
    kind: scd2
    upstream: [bronze.products_raw]
    keys: [id]
    sequence_by: updated_at
    apply_as_deletes: "op = 'D'"
    except_column_list: [op]
    surrogate_key: dim_products_id
"""


def _lines(*rows: dict) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


FIRST = _lines(
    {"id": 1, "name": "Lamp", "price": "10.00", "updated_at": "2024-01-01 00:00:00", "op": "U"},
    {"id": 2, "name": "Chair", "price": "25.50", "updated_at": "2024-01-01 00:00:00", "op": "U"},
    {"id": 3, "name": "Desk", "price": None, "updated_at": "2024-01-01 00:00:00", "op": "U"},
)
SECOND = _lines(
    {"id": 1, "name": "Lamp", "price": "12.00", "updated_at": "2024-02-01 00:00:00", "op": "U"},
    {"id": 2, "name": "Chair", "price": "25.50", "updated_at": "2024-03-01 00:00:00", "op": "D"},
    # Older than the delete and arriving after it: it must not bring the chair back.
    {"id": 2, "name": "Chair", "price": "24.00", "updated_at": "2024-02-15 00:00:00", "op": "U"},
)

ENGINES = [pytest.param("embedded", marks=pytest.mark.slow), pytest.param("spark", marks=pytest.mark.spark)]


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    for name in ("LAKEHOUSE_PROJECT", "LAKEHOUSE_ENGINE", "LAKEHOUSE_CATALOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAKEHOUSE_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("LAKEHOUSE_WAREHOUSE", str(tmp_path / "warehouse"))
    (tmp_path / "shop" / "pipelines").mkdir(parents=True)
    (tmp_path / "shop" / "pipelines" / "products.yaml").write_text(PIPELINE_FILE)
    monkeypatch.chdir(tmp_path / "shop")
    return tmp_path


def _land(root: Path, name: str, text: str) -> None:
    folder = root / "landing" / "products"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def _rows(capsys, sql: str) -> list[tuple]:
    capsys.readouterr()
    main(["--json", "sql", sql])
    return [tuple(row.values()) for row in json.loads(capsys.readouterr().out)["rows"]]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_json_products_project_with_deletes_and_expectations(engine, project, capsys, request):
    if engine == "spark":
        request.getfixturevalue("on_test_session")  # the tests' one session, not a second JVM
    _land(project, "products_0001.json", FIRST)
    main(["--engine", engine, "run", "--pipeline", "products"])
    _land(project, "products_0002.json", SECOND)
    main(["--engine", engine, "run", "--pipeline", "products"])

    # scd1: the lamp updated, the chair deleted (the late update does not bring it back), the desk
    # without a price dropped into the quarantine; `op` is not stored.
    assert _rows(capsys, "SELECT id, name, CAST(price AS VARCHAR) FROM silver.products ORDER BY id") == [
        (1, "Lamp", "12.00")]
    capsys.readouterr()
    main(["--json", "sql", "SELECT * FROM silver.products"])
    stored = json.loads(capsys.readouterr().out)["rows"][0]
    assert "op" not in stored and {"id", "name", "price"} <= set(stored)
    assert _rows(capsys, "SELECT id, _failed_expectations FROM silver.products_quarantine") == [(3, "has_price")]
    # scd2: the chair's history holds the late version before the delete, which closes it.
    assert _rows(capsys, "SELECT id, CAST(price AS VARCHAR), CAST(CAST(start_date AS DATE) AS VARCHAR), "
                         "CAST(CAST(end_date AS DATE) AS VARCHAR), is_current FROM gold.dim_products "
                         "WHERE id = 2 ORDER BY start_date") == [
        (2, "25.50", "2024-01-01", "2024-02-15", False),
        (2, "24.00", "2024-02-15", "2024-03-01", False)]
    assert _rows(capsys, "SELECT count(*) FROM gold.dim_products WHERE id = 1 AND is_current") == [(1,)]
    capsys.readouterr()
    main(["validate", "--pipeline", "products"])
    assert "all invariants hold" in capsys.readouterr().out
