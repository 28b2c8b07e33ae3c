"""A products pipeline (bronze append_ingest -> silver scd1 -> gold scd2) as a file, and ways to write
variants of it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

PRODUCTS: dict[str, Any] = {
    "pipeline": "products",
    "description": "landing/products -> bronze.products_raw -> silver.products -> gold.dim_products",
    "tables": [
        {"name": "bronze.products_raw", "kind": "append_ingest", "change_data_feed": True,
         "source": {"folder": "products", "format": "csv",
                    "schema_hints": {"id": "bigint", "price": "decimal(10,2)", "updated_at": "timestamp"}}},
        {"name": "silver.products", "kind": "scd1", "upstream": ["bronze.products_raw"], "keys": ["id"],
         "sequence_by": "updated_at", "change_data_feed": True, "cluster_by": ["id"]},
        {"name": "gold.dim_products", "kind": "scd2", "upstream": ["bronze.products_raw"], "keys": ["id"],
         "sequence_by": "updated_at", "surrogate_key": "dim_products_id",
         "track_history_column_list": ["name", "price"]},
    ],
}


def products(**changes: Any) -> dict[str, Any]:
    """PRODUCTS with top-level fields replaced; table fields change through `table(data, name)`."""
    data = copy.deepcopy(PRODUCTS)
    data.update(changes)
    return data


def table(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(entry for entry in data["tables"] if entry["name"] == name)


def write_pipeline(project: Path, data: dict[str, Any] | str, name: str = "products") -> Path:
    path = project / "pipelines" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path
