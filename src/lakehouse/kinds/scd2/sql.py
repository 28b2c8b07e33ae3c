"""Names every SCD2 module shares: the MERGE's target column and the dimension's surrogate key."""

from __future__ import annotations

from lakehouse.core.errors import ConfigError
from lakehouse.spec.model import TableSpec

# On a merge row, the surrogate key of the stored version it corrects; NULL on a new version.
TARGET_ID = "__target_id"


def surrogate_key(spec: TableSpec) -> str:
    """The dimension's surrogate key column (TableSpec refuses an SCD2 table without one)."""
    if spec.surrogate_key is None:
        raise ConfigError(f"{spec.ref}: an SCD2 table needs a surrogate_key column name.")
    return spec.surrogate_key
