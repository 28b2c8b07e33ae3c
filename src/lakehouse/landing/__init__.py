"""Landing tooling: generate TPC-H CSV, chunk it, land it, and make change batches.

The landing contract: files land under `<landing>/<table>/`, CSV with a header row, `,` separators
and tpchgen-cli's quoting. An unquoted empty field (`,,`) is NULL; a quoted one (`,"",`) is ''.
Files are discovered in modification-time, then name, order.
"""

from lakehouse.landing.changes import ChangeBatch, make_customer_changes
from lakehouse.landing.chunking import chunk_csv
from lakehouse.landing.land import ensure_bucket, land_files, land_sample
from lakehouse.landing.state import reset_state
from lakehouse.landing.tpch import ALL_TABLES, DEFAULT_TABLES, find_tpchgen, generate_tpch

__all__ = [
    "ALL_TABLES",
    "DEFAULT_TABLES",
    "ChangeBatch",
    "chunk_csv",
    "ensure_bucket",
    "find_tpchgen",
    "generate_tpch",
    "land_files",
    "land_sample",
    "make_customer_changes",
    "reset_state",
]
