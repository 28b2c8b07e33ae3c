"""Incremental input for the benchmark: customer change batches and batches of new orders.

Customer batches come from the landing tooling (make_customer_changes). New orders are copies of
generated orders, with their lineitems, under order keys above every key seen so far: the shape of
a day's new sales appended to the source system.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypedDict

from lakehouse.bench.phases import scalar_int
from lakehouse.bench.results import CustomerBatch, OrdersBatch
from lakehouse.core.storage import Storage
from lakehouse.landing import land_files, make_customer_changes

# Fixed, so every bench run lands the same batches (the seed is also in the report).
SEED = 20240601
ORDERS_STATE = "bench_orders_state.json"


class _OrdersState(TypedDict, total=False):
    batch: int
    max_key: int  # the highest order key of the generated orders, read once


def customer_batch(tpch_dir: Path, storage: Storage, landing: str, rows: int) -> CustomerBatch:
    """Land a change batch that changes `rows` existing customers (no new, re-sent or duplicate rows)."""
    from lakehouse.landing.state import load_state

    existing = load_state(tpch_dir, "customer", "c_custkey").rows.num_rows
    batch = make_customer_changes(tpch_dir, share=rows / existing, new=0, resend=0, duplicates=0, seed=SEED)
    land_files(storage, [batch.path], landing, "customer")
    return {"file": batch.path.name, "rows": batch.rows, "changed": batch.changed, "table_rows": existing}


def orders_batch(tpch_dir: Path, storage: Storage, landing: str, orders: int) -> OrdersBatch:
    """Land `orders` new orders and their lineitems, as one file per table.

    The values are taken from the first generated orders, as text, with o_orderkey/l_orderkey moved
    above the highest key of earlier batches, so the batch appends and never updates.
    """
    import duckdb

    state_path = tpch_dir / "changes" / ORDERS_STATE
    state: _OrdersState = json.loads(state_path.read_text()) if state_path.is_file() else {"batch": 0}
    batch = state["batch"] + 1
    out = tpch_dir / "changes"
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    source_orders, source_lines = tpch_dir / "orders.csv", tpch_dir / "lineitem.csv"
    if "max_key" not in state:
        state["max_key"] = scalar_int(con, f"SELECT max(o_orderkey) FROM read_csv('{source_orders}', header = true)")
    # Keys of batch n live in ((n) * span, (n + 1) * span]: disjoint from the load and each other.
    span = int(state["max_key"])
    offset = batch * span
    con.execute(
        f"CREATE TEMP TABLE picked AS SELECT * FROM read_csv('{source_orders}', header = true, all_varchar = true) "
        f"LIMIT {int(orders)}"
    )
    orders_file = out / f"orders_new_{batch:04d}.csv"
    lines_file = out / f"lineitem_new_{batch:04d}.csv"
    con.execute(
        f"COPY (SELECT * REPLACE (CAST(CAST(o_orderkey AS BIGINT) + {offset} AS VARCHAR) AS o_orderkey) FROM picked) "
        f"TO '{orders_file}' (HEADER, DELIMITER ',')"
    )
    line_rows = scalar_int(
        con,
        f"COPY (SELECT l.* REPLACE (CAST(CAST(l.l_orderkey AS BIGINT) + {offset} AS VARCHAR) AS l_orderkey) "
        f"FROM read_csv('{source_lines}', header = true, all_varchar = true) l "
        f"SEMI JOIN picked p ON l.l_orderkey = p.o_orderkey) TO '{lines_file}' (HEADER, DELIMITER ',')",
    )
    land_files(storage, [orders_file], landing, "orders")
    land_files(storage, [lines_file], landing, "lineitem")
    state["batch"] = batch
    state_path.write_text(json.dumps(state))
    return {"orders": int(orders), "lineitems": int(line_rows), "files": [orders_file.name, lines_file.name]}
