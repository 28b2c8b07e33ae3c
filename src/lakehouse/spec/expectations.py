"""Data-quality rules on a table, with Lakeflow's semantics (warn / drop / fail).

Spec layer: names SQL expressions only; the runtime evaluates them in the engine's dialect.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from lakehouse.core.errors import ConfigError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class OnViolation(str, enum.Enum):
    """What a row that fails an expectation does to its batch."""

    WARN = "warn"  # kept and counted
    DROP = "drop"  # left out, counted, and written to <schema>.<table>_quarantine
    FAIL = "fail"  # the batch fails and commits nothing

    @classmethod
    def parse(cls, text: str, where: str) -> OnViolation:
        try:
            return cls(text)
        except ValueError:
            raise ConfigError(
                f"{where}: on_violation '{text}' is not known.",
                hint="valid values: " + ", ".join(m.value for m in cls),
            ) from None


@dataclass(frozen=True)
class Expectation:
    """`expr` is a SQL boolean over the table's columns; a row passes where it is true."""

    name: str
    expr: str
    on_violation: OnViolation = OnViolation.WARN

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigError(
                f"Expectation name '{self.name}' is not an identifier.",
                hint="use letters, digits and underscores, starting with a letter (for example: has_price)",
            )
        if not self.expr.strip():
            raise ConfigError(f"Expectation '{self.name}' has an empty expr.",
                              hint="give a SQL condition rows must meet, for example: price IS NOT NULL")
