"""The tpch pipeline (customer + sales, gold.fact_sales included) on the Spark driver against real Delta
tables, step by step next to the embedded engine on the same landing files: both must give the same
dimension history and the same fact rows, linked to the same customer versions. delta-spark's jars come
from the JVM manifest (`make test` fetches them); without them the `delta_spark` fixture fails, it does
not skip."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lakehouse.core.config import Settings
from lakehouse.core.storage import Storage
from lakehouse.runtime.drivers import driver_for
from lakehouse.spec.model import TableRef
from lakehouse.spec.pipelines import TPCH_PIPELINE
from lakehouse.spec.sales import FACT_SALES
from tests.sales.conftest import SalesLakehouse
from tests.sales.sales_data import (
    LINEITEM_HEADER,
    ORDERS_HEADER,
    customer,
    land_customer_changes,
    land_initial,
    line,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow]

DIM = TableRef("gold", "dim_customer")
FACT = TableRef("gold", "fact_sales")
# Surrogate keys are assigned in an engine's row order: compare what a key points to, not its number.
VERSION_ADDRESS = ("c_custkey", "c_address", "start_date", "is_inferred")


def _utc(value):
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.astimezone(UTC)  # PySpark collects timestamps as naive local times
    return value


def _rows(records) -> list[dict]:
    return [{k: _utc(v) for k, v in r.items()} for r in records]


def history_and_links(dim_rows: list[dict], fact_rows: list[dict]):
    by_id = {r["dim_customer_id"]: tuple(r[c] for c in VERSION_ADDRESS) for r in dim_rows}
    history = sorted((tuple(r[c] for c in VERSION_ADDRESS), r["end_date"], r["is_current"]) for r in dim_rows)
    facts = sorted(tuple(sorted((k, v) for k, v in r.items() if k != "dim_customer_id"))
                   + (by_id[r["dim_customer_id"]],) for r in fact_rows)
    return history, facts


@pytest.fixture
def both(delta_spark, spark_engine, settings, tmp_path):
    embedded = SalesLakehouse(
        Settings.load(landing=settings.landing, warehouse=str(tmp_path / "embedded"), engine="embedded", env={}),
        Storage(None),
    )
    driver = driver_for(spark_engine)

    def run_spark() -> dict[str, list]:
        return {str(spec.ref): driver.run_table(spec) for spec in TPCH_PIPELINE.tables}

    def same_result() -> tuple:
        spark_side = history_and_links(_rows(r.asDict() for r in spark_engine.read_table(DIM).collect()),
                                       _rows(r.asDict() for r in spark_engine.read_table(FACT).collect()))
        embedded_side = history_and_links(embedded.table(str(DIM)).to_pylist(), embedded.table(str(FACT)).to_pylist())
        assert spark_side == embedded_side
        return spark_side

    return embedded, driver, run_spark, same_result


def test_tpch_pipeline_on_spark_matches_the_embedded_engine(both, spark_engine):
    embedded, driver, run_spark, same_result = both
    land_initial(embedded)  # customer 3 has an order but has not arrived: an inferred member
    embedded.run()
    results = run_spark()
    assert [r.committed for r in results[str(FACT)]] == [True]
    history, facts = same_result()
    assert len(facts) == 5
    assert sum(1 for (address, _, _) in history if address[3]) == 1, "one inferred member (customer 3)"

    land_customer_changes(embedded, "customer_changes_0001.csv", [customer(1, "New Avenue 9", "2024-06-01 00:00:00"),
                                                                  customer(3, "Late Arrival 3", None)])
    embedded.run()
    run_spark()
    same_result()

    # Effective before the stored 2024-06-01 version although it arrives after it: placed in history,
    # and order 11 (2024-09-01) stays on New Avenue; a new order dated inside it links to it.
    land_customer_changes(embedded, "customer_changes_0002.csv", [customer(1, "Late Lane", "2024-04-01 00:00:00")])
    embedded.land("orders", "orders_changes_0001.csv", ORDERS_HEADER,
                  ["14,1,O,80.00,2024-05-01,4-NOT SPECIFIED,Clerk#5,0,between the moves"])
    embedded.land("lineitem", "lineitem_changes_0001.csv", LINEITEM_HEADER, [line(14, 1, "4", "80.00", "0.00", "0.02")])
    embedded.run()
    run_spark()
    history, facts = same_result()
    links = {dict(row[:-1])["order_key"]: row[-1][1] for row in facts}
    assert (links[10], links[11], links[14]) == ("Old Street 1", "New Avenue 9", "Late Lane")

    # Nothing new: no fact batch. Then a crash after the fact's commit, before its offset log commit:
    # the rerun replays the batch, the app transaction skips it, and the table is unchanged.
    assert driver.run_table(FACT_SALES) == []
    fact_version = spark_engine.table_version(FACT)
    log = driver.multi_input_log(FACT_SALES)
    last = log.last_committed()
    driver.storage.delete_file(f"{log.root}/commits/{last.batch_id:020d}.json")
    (replayed,) = driver.run_table(FACT_SALES)
    assert replayed.batch_id == last.batch_id and replayed.skipped_as_replay
    assert spark_engine.table_version(FACT) == fact_version
