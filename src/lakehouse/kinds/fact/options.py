"""What a header/line fact (Kind.FACT) is built from; its SQL is in kinds/fact/sql.py.

A fact of this shape has one row per line (lineitem), takes header attributes from the line's header
(orders) and resolves one dimension key point-in-time: the dimension version valid at the header's
business date. Everything names columns and tables only; no engine, no SQL dialect.

Part of the spec layer (tests/unit/test_architecture.py): a spec names these, so the module imports
only lakehouse.core, the stdlib and other kinds' options.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lakehouse.core.errors import ConfigError

# An inferred member needs a start even where the dimension declares no low date: by default the
# one the shipped dimension declares.
from lakehouse.kinds.scd2.options import DEFAULT_LOW_DATE

if TYPE_CHECKING:
    from lakehouse.spec.model import TableRef, TableSpec

__all__ = ["DEFAULT_LOW_DATE", "DimensionLookup", "FactColumn", "FactRules"]


@dataclass(frozen=True)
class DimensionLookup:
    """Resolve `output` = the dimension's surrogate key valid at `as_of`, for `fact_key` = `business_key`."""

    table: TableRef
    surrogate_key: str
    business_key: str
    # The header column holding the dimension's business key, and the header's business date.
    fact_key: str
    as_of: str
    output: str
    # Where an inferred member's validity starts: the dimension's low date when it declares one.
    low_date: str = DEFAULT_LOW_DATE


@dataclass(frozen=True)
class FactColumn:
    """A fact column: a SQL expression over `h` (header row) and `l` (line row), cast to `type`."""

    name: str
    expression: str
    type: str


@dataclass(frozen=True)
class FactRules:
    """The options of a fact table: its inputs, the point-in-time lookup and its columns."""

    header: TableRef
    header_key: str
    lines: TableRef
    # The line column that references the header key.
    line_header_key: str
    dimension: DimensionLookup
    columns: tuple[FactColumn, ...]

    @classmethod
    def of(cls, spec: TableSpec) -> FactRules:
        """The fact spec's rules (TableSpec makes sure a fact table has them)."""
        if not isinstance(spec.options, cls):
            raise ConfigError(f"{spec.ref}: a fact table needs options=FactRules(...).",
                              hint="FactRules is in lakehouse.kinds.fact.options")
        return spec.options

    def check(self, spec: TableSpec) -> None:
        """That `spec` fits these rules: the inputs as its upstream, its keys among the columns."""
        if tuple(spec.upstream) != self.inputs:
            raise ConfigError(
                f"{spec.ref}: upstream must be the fact's inputs {', '.join(map(str, self.inputs))}.",
                hint="list header, lines and the dimension as upstream so the pipeline runs them first",
            )
        names = {column.name for column in self.columns}
        missing = [key for key in spec.keys if key not in names]
        if missing:
            raise ConfigError(f"{spec.ref}: keys {missing} are not among the fact's columns.")

    @property
    def inputs(self) -> tuple[TableRef, ...]:
        """The tables whose change feeds drive the fact, in the order a spec lists them as upstream."""
        return (self.header, self.lines, self.dimension.table)

    def referenced(self, alias: str) -> tuple[str, ...]:
        """The columns of the header (`h`) or line (`l`) rows that the fact's expressions read, with
        the join keys, so a batch reads those columns and not every column of the tables."""
        pattern = re.compile(rf"\b{re.escape(alias)}\.([A-Za-z_][A-Za-z0-9_]*)")
        keys = ((self.header_key, self.dimension.fact_key, self.dimension.as_of) if alias == "h"
                else (self.line_header_key,))
        found = [name for column in self.columns for name in pattern.findall(column.expression)]
        return tuple(dict.fromkeys([*keys, *found]))
