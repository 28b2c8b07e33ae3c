"""The full TPC-H flow at scale 0.01 on the embedded engine: landing to gold.fact_sales, then dated
customer changes (some out of order) through the dimension and the fact."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from lakehouse.landing import land_sample, make_customer_changes
from lakehouse.landing.land import land_files
from lakehouse.ops.inspection import Inspector
from lakehouse.spec import get_pipeline

pytestmark = pytest.mark.slow

TABLES = ("customer", "orders", "lineitem", "nation", "region", "part", "supplier")


@pytest.mark.parametrize("appender", ["delta-rs", "parallel"])
def test_tpch_landing_to_fact_sales(lake, tmp_path, monkeypatch, appender):
    if appender == "parallel":  # every append through the parallel Parquet writer, not only the large ones
        monkeypatch.setattr("lakehouse.engines.embedded.parallel_append.PARALLEL_APPEND_MIN_ROWS", 1)
    workdir = tmp_path / "tpch"
    land_sample(lake.settings, lake.storage, 0.01, 2, TABLES, workdir)
    lake.run()
    engine = Inspector(lake.settings, lake.storage).engine
    facts = lake.table("gold.fact_sales")
    lines = lake.table("silver.lineitem")
    assert facts.num_rows == lines.num_rows == 60175
    totals = engine.sql(
        "SELECT (SELECT sum(quantity) FROM f) = (SELECT sum(l_quantity) FROM l) AS quantity_ok, "
        "(SELECT sum(net_revenue) FROM f) = (SELECT sum(l_extendedprice * (1 - l_discount)) FROM l) AS revenue_ok, "
        "(SELECT count(*) FROM f WHERE dim_customer_id IS NULL) AS unlinked", {"f": facts, "l": lines},
    ).to_pylist()
    assert totals == [{"quantity_ok": True, "revenue_ok": True, "unlinked": 0}]

    for seed in (1, 2):
        batch = make_customer_changes(workdir, share=0.02, new=5, resend=3, duplicates=2, seed=seed,
                                      effective_time=True, out_of_order=0.3)
        assert batch.out_of_order > 0
        land_files(lake.storage, [batch.path], lake.settings.landing, "customer")
        lake.run()
    lake.run()
    versions = lake.versions()
    assert all(t.batches == [] for t in lake.run().tables)
    assert lake.versions() == versions

    dimension = lake.table("gold.dim_customer")
    current = engine.sql("SELECT count(*) AS n, count(DISTINCT c_custkey) AS keys FROM d WHERE is_current",
                         {"d": dimension}).to_pylist()[0]
    assert current["n"] == current["keys"] == 1500 + 10
    # Silver's current row equals the dimension's current version for every key.
    mismatched = engine.sql(
        "SELECT count(*) AS n FROM s JOIN d ON s.c_custkey = d.c_custkey AND d.is_current "
        "WHERE s.hash_value <> d.hash_value", {"s": lake.table("silver.customer"), "d": dimension},
    ).to_pylist()
    assert mismatched == [{"n": 0}]
    # Silver equals the landing generator's own record of each key's latest version: out-of-order
    # changes (stamped before the version they follow) did not overwrite anything.
    state = pq.read_table(workdir / "changes" / "customer_state.parquet")
    differing = engine.sql(
        "SELECT count(*) AS n FROM st JOIN sv ON CAST(st.c_custkey AS BIGINT) = sv.c_custkey "
        "WHERE st.c_address IS DISTINCT FROM sv.c_address OR st.c_phone IS DISTINCT FROM sv.c_phone "
        "OR CAST(st.c_acctbal AS DECIMAL(15,2)) IS DISTINCT FROM sv.c_acctbal "
        "OR st.c_mktsegment IS DISTINCT FROM sv.c_mktsegment",
        {"st": state, "sv": lake.table("silver.customer")},
    ).to_pylist()
    assert differing == [{"n": 0}]
    checked, violations = Inspector(lake.settings, lake.storage).validate(get_pipeline("tpch"))
    assert violations == []
