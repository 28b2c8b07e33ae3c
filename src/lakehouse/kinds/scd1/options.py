"""What an SCD1 table (Kind.SCD1_UPSERT) may set beyond the common spec fields.

Part of the spec layer (tests/unit/test_architecture.py): a spec names these, so the module imports
only lakehouse.core and the stdlib, never the kind's SQL or strategy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakehouse.spec.model import TableSpec


@dataclass(frozen=True)
class Scd1Options:
    # With sequence_by: when a stored row without effective time took effect (the landing's initial
    # load), so a change stamped before it is late and ignored. None: any dated change wins over it.
    undated_effective_time: str | None = None

    @classmethod
    def of(cls, spec: TableSpec) -> Scd1Options:
        """The spec's options; a spec that sets none gets the defaults."""
        return spec.options if isinstance(spec.options, cls) else cls()
