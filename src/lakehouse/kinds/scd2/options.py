"""What an SCD2 table (Kind.SCD2_FROM_CHANGES) may set beyond the common spec fields.

Part of the spec layer (tests/unit/test_architecture.py): a spec names these, so the module imports
only lakehouse.core and the stdlib, never the kind's SQL or strategy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakehouse.spec.model import TableSpec

# The low date the shipped tables declare: history that predates the first recorded change (TPC-H
# orders are from 1992-1998) resolves to a key's first version. Also where an undated row sorts
# when the table says nothing else: before every dated change.
DEFAULT_LOW_DATE = "1900-01-01"


@dataclass(frozen=True)
class Scd2Options:
    # Where the first version of a key starts. None: at its own start (its effective time, or its
    # processing time when it has none), as Lakeflow does for a table that declares no low date.
    low_date: str | None = None
    # When the source's rows without effective time took effect (the landing's initial load), so
    # they sort there. None: at the low date, or before every dated change without one.
    undated_effective_time: str | None = None
    # Lakeflow's track_history_except_column_list: a change to only these columns updates the
    # current version in place instead of opening a new one.
    track_history_except_column_list: tuple[str, ...] = ()

    @classmethod
    def of(cls, spec: TableSpec) -> Scd2Options:
        """The spec's options; a spec that sets none gets the defaults."""
        return spec.options if isinstance(spec.options, cls) else cls()
