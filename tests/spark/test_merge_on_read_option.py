"""The merge_on_read option on the Spark engine: true switches the table's delta.enableDeletionVectors
on before the MERGE, so delta-spark's MERGE writes deletion vectors, which the embedded engine reads;
false switches it off again. The batch's app transaction stays on the MERGE commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.core.merge_plan import DELETION_VECTORS_PROPERTY, MergePlan
from lakehouse.engines.base import Transaction
from lakehouse.engines.embedded import deletion_vectors as dv
from lakehouse.spec.model import TableRef

pytestmark = pytest.mark.spark

REF = TableRef("silver", "people")
COLUMNS = {"id": "s.id", "name": "s.name"}


def _merge(spark, engine, rows: list[tuple[int, str]], deletion_vectors: bool, batch_id: int) -> Transaction:
    plan = MergePlan(on="t.id = s.id", update_condition=None, update_set=COLUMNS, insert_values=COLUMNS,
                     deletion_vectors=deletion_vectors)
    txn = Transaction("lakehouse:silver.people", batch_id)
    engine.merge(REF, spark.createDataFrame(rows, "id BIGINT, name STRING"), plan, txn, evolve_schema=False)
    return txn


def _read_by_embedded(duck_engine) -> dict[int, str]:
    duck_engine.forget_tables()
    table = duck_engine.read_table(REF)
    return dict(zip(table.column("id").to_pylist(), table.column("name").to_pylist(), strict=True))


def test_true_makes_spark_merge_by_deletion_vectors_that_we_read(delta_spark, spark_engine, duck_engine, settings):
    first = delta_spark.range(0, 10).selectExpr("id", "concat('n', CAST(id AS STRING)) AS name").repartition(2)
    spark_engine.append(REF, first, Transaction("setup", 0), properties={"delta.enableChangeDataFeed": "true"},
                        evolve_schema=False)
    uri = Path(settings.table_uri(REF.schema, REF.name))

    txn = _merge(delta_spark, spark_engine, [(1, "u1"), (6, "u6"), (20, "new20")], True, batch_id=1)
    assert spark_engine.table_properties(REF)[DELETION_VECTORS_PROPERTY] == "true"
    assert any(add.get("deletionVector") for add in dv.active_files(uri).values()), "Spark wrote no deletion vector"
    assert spark_engine.already_committed(REF, txn)
    expected = {i: f"n{i}" for i in range(10)} | {1: "u1", 6: "u6", 20: "new20"}
    assert _read_by_embedded(duck_engine) == expected

    _merge(delta_spark, spark_engine, [(2, "u2")], False, batch_id=2)
    assert spark_engine.table_properties(REF)[DELETION_VECTORS_PROPERTY] == "false"
    assert _read_by_embedded(duck_engine) == expected | {2: "u2"}
