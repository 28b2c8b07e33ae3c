"""Which upstream columns a table reads, field by field, so a name that is no column of the data can be
reported against the pipeline file instead of failing deep in a batch.

A landed file's columns are inferred when it is read, so this is checked once the upstream table
exists (`missing_columns` takes its columns), not when the file is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lakehouse.kinds.fact.options import FactRules
from lakehouse.spec.model import Kind, TableRef, TableSpec


def columns_read(spec: TableSpec) -> dict[TableRef, list[tuple[str, str]]]:
    """Per upstream table: (field of the file, column) for every column `spec` reads from it."""
    if spec.kind is Kind.FACT:
        return _fact_columns(FactRules.of(spec))
    if spec.kind is Kind.APPEND_INGEST:
        return {}
    # Keys only: sequence_by may be absent (rows without it are undated: the shipped customer load has
    # no c_updated_at until a change batch brings it), and tracked or left-out columns may arrive later.
    read = [("keys", column) for column in spec.keys]
    return {ref: read for ref in spec.upstream}


def _fact_columns(rules: FactRules) -> dict[TableRef, list[tuple[str, str]]]:
    dimension = rules.dimension
    header = [("header.key", rules.header_key), ("dimension.fact_key", dimension.fact_key),
              ("dimension.as_of", dimension.as_of)]
    lines = [("lines.header_key", rules.line_header_key)]
    named = {column for _, column in header + lines}
    header += [("columns", column) for column in rules.referenced("h") if column not in named]
    lines += [("columns", column) for column in rules.referenced("l") if column not in named]
    return {rules.header: header, rules.lines: lines,
            dimension.table: [("dimension.business_key", dimension.business_key),
                              ("dimension.surrogate_key", dimension.surrogate_key)]}


def missing_columns(spec: TableSpec, columns_of: Callable[[TableRef], Sequence[str] | None]
                    ) -> list[tuple[str, str, TableRef, Sequence[str]]]:
    """(field, column, upstream, its columns) for each column `spec` reads that its upstream lacks;
    an upstream `columns_of` does not know (None: not written yet) is skipped."""
    found = []
    for ref, read in columns_read(spec).items():
        available = columns_of(ref)
        if available is None:
            continue
        found += [(field, column, ref, available) for field, column in read if column not in available]
    return found
