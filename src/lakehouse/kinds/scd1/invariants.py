"""What holds for an SCD1 table: one row per business key."""

from __future__ import annotations

from lakehouse.kinds.invariants import ONE_ROW_PER_KEY

INVARIANTS = (ONE_ROW_PER_KEY,)
