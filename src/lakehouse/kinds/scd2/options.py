"""What an SCD2 table (Kind.SCD2_FROM_CHANGES) may set beyond the common spec fields.

Part of the spec layer (tests/unit/test_architecture.py): a spec names these, so the module imports
only lakehouse.core and the stdlib, never the kind's SQL or strategy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakehouse.spec.model import TableSpec

# The first version of a key in an effective-time dimension is valid from this date, so history
# that predates the first recorded change (TPC-H orders are from 1992-1998) resolves to it.
DEFAULT_LOW_DATE = "1900-01-01"


@dataclass(frozen=True)
class Scd2Options:
    # Where the first version of a key starts, and where an undated row sorts unless told otherwise.
    low_date: str = DEFAULT_LOW_DATE
    # When the source's rows without effective time took effect (the landing's initial load), so
    # they sort there instead of at the low date. None: at the low date.
    undated_effective_time: str | None = None

    @classmethod
    def of(cls, spec: TableSpec) -> Scd2Options:
        """The spec's options; a spec that sets none gets the defaults."""
        return spec.options if isinstance(spec.options, cls) else cls()
