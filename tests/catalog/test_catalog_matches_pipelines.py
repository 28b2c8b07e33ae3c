"""catalog/*.yaml and the pipeline spec agree, each fact having one owner.

The YAML owns the descriptions; the pipeline spec owns which tables exist and whether their
change feed is on. A pipeline table the YAML lacks would be registered without descriptions and
reported by `catalog drift` after the next run; these checks catch it when the table is added.
"""

from __future__ import annotations

import pytest

from lakehouse.catalog.spec import load_catalog_spec
from lakehouse.spec import PIPELINES
from lakehouse.spec.model import TableSpec
from tests.catalog.helpers import CDF_PROPERTY, REPO_CATALOG_SPEC

CATALOG_SPEC = load_catalog_spec(REPO_CATALOG_SPEC)
PIPELINE_TABLES = sorted({spec.ref: spec for p in PIPELINES.values() for spec in p.tables}.values(),
                         key=lambda spec: str(spec.ref))


def _table_id(spec: TableSpec) -> str:
    return str(spec.ref)


def test_the_shipped_pipelines_have_tables_to_check():
    assert len(PIPELINE_TABLES) >= 16  # customer (3) and sales (13): guards against an empty parametrization


@pytest.mark.parametrize("table", PIPELINE_TABLES, ids=_table_id)
def test_every_pipeline_table_is_described_in_the_catalog_spec(table: TableSpec):
    entry = CATALOG_SPEC.table(table.ref.schema, table.ref.name)
    assert entry is not None, f"{table.ref} is in a pipeline but not in catalog/{table.ref.schema}.yaml: add it"
    assert entry.comment, f"catalog/{table.ref.schema}.yaml: give {table.ref} a comment"
    assert entry.column_comments, f"catalog/{table.ref.schema}.yaml: comment on {table.ref}'s key columns"
    for key in table.keys:
        assert key in entry.column_comments, f"catalog/{table.ref.schema}.yaml: {table.ref} lacks a comment on key {key}"


@pytest.mark.parametrize("table", PIPELINE_TABLES, ids=_table_id)
def test_catalog_change_data_feed_property_is_the_pipelines_flag(table: TableSpec):
    """The engines set delta.enableChangeDataFeed from the pipeline spec, and drift compares the
    YAML's delta.* properties with the Delta log, which has no such key when the feed is off."""
    entry = CATALOG_SPEC.table(table.ref.schema, table.ref.name)
    assert entry is not None, f"{table.ref} is not in catalog/{table.ref.schema}.yaml"
    expected = "true" if table.change_data_feed else None
    assert entry.properties.get(CDF_PROPERTY) == expected, (
        f"catalog/{table.ref.schema}.yaml: {table.ref} must "
        + (f'have {CDF_PROPERTY}: "true"' if expected else f"not set {CDF_PROPERTY}")
        + f" (the pipeline spec has change_data_feed={table.change_data_feed})"
    )


def test_every_catalog_table_is_created_by_a_pipeline():
    """A table no pipeline creates would stay pending forever: nothing ever registers it."""
    created = {(spec.ref.schema, spec.ref.name) for spec in PIPELINE_TABLES}
    described = {(table.schema, table.name) for schema in CATALOG_SPEC.schemas for table in schema.tables}
    assert sorted(described - created) == []
