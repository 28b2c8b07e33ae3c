"""A fact entry (kind: fact) -> FactRules: header and lines, the point-in-time dimension lookup and the
fact's columns as SQL expressions over `h` (the header row) and `l` (the line row).

    header: {table: silver.orders, key: o_orderkey}
    lines: {table: silver.lineitem, header_key: l_orderkey}
    dimension: {table: gold.dim_customer, surrogate_key: dim_customer_id, business_key: c_custkey,
                fact_key: o_custkey, as_of: o_orderdate, output: dim_customer_id, low_date: "1900-01-01"}
    columns:
      - {name: net_revenue, expr: "l.l_extendedprice * (1 - l.l_discount)", type: "decimal(18,4)"}

The fact's upstream is header, lines and dimension, in that order; the entry does not list it.
"""

from __future__ import annotations

from typing import Any

from lakehouse.core.errors import ConfigError
from lakehouse.core.types import normalise_type
from lakehouse.kinds.fact.options import DEFAULT_LOW_DATE, DimensionLookup, FactColumn, FactRules
from lakehouse.spec.files.names import table_ref
from lakehouse.spec.files.reading import Where, check_fields, entries, mapping, names, optional_text, require, text
from lakehouse.spec.files.sql_check import check_expression

FACT_FIELDS = ("keys", "header", "lines", "dimension", "columns")
HEADER_FIELDS = ("table", "key")
LINES_FIELDS = ("table", "header_key")
DIMENSION_FIELDS = ("table", "surrogate_key", "business_key", "fact_key", "as_of", "output", "low_date")
COLUMN_FIELDS = ("name", "expr", "type")


def _part(entry: dict[str, Any], key: str, fields: tuple[str, ...], where: Where) -> dict[str, Any]:
    part = mapping(require(entry, key, where), where.at(key))
    check_fields(part, fields, where.at(key), f"a fact's {key}")
    return part


def _name(part: dict[str, Any], key: str, where: Where) -> str:
    return text(require(part, key, where), where.at(key))


def fact_rules(entry: dict[str, Any], where: Where) -> FactRules:
    header = _part(entry, "header", HEADER_FIELDS, where)
    lines = _part(entry, "lines", LINES_FIELDS, where)
    dimension = _part(entry, "dimension", DIMENSION_FIELDS, where)
    at_dimension = where.at("dimension")
    rules = FactRules(
        header=table_ref(require(header, "table", where.at("header")), where.at("header.table")),
        header_key=_name(header, "key", where.at("header")),
        lines=table_ref(require(lines, "table", where.at("lines")), where.at("lines.table")),
        line_header_key=_name(lines, "header_key", where.at("lines")),
        dimension=DimensionLookup(
            table=table_ref(require(dimension, "table", at_dimension), at_dimension.at("table")),
            surrogate_key=_name(dimension, "surrogate_key", at_dimension),
            business_key=_name(dimension, "business_key", at_dimension),
            fact_key=_name(dimension, "fact_key", at_dimension),
            as_of=_name(dimension, "as_of", at_dimension),
            output=_name(dimension, "output", at_dimension),
            low_date=optional_text(dimension, "low_date", at_dimension) or DEFAULT_LOW_DATE,
        ),
        columns=_columns(entry, where),
    )
    known = {column.name for column in rules.columns}
    for field in ("keys", "cluster_by"):
        missing = [name for name in names(entry, field, where) if name not in known]
        if missing:
            raise where.at(field).error(f"names {', '.join(missing)}, which is not a column of the fact.",
                                        hint="the fact's columns: " + ", ".join(sorted(known)))
    return rules


def _columns(entry: dict[str, Any], where: Where) -> tuple[FactColumn, ...]:
    columns = []
    for i, item in enumerate(entries(require(entry, "columns", where), where.at("columns"))):
        at = where.at(f"columns[{i}]")
        check_fields(item, COLUMN_FIELDS, at, "a fact column")
        expr = _name(item, "expr", at)
        check_expression(expr, at.at("expr"))
        type_name = _name(item, "type", at)
        try:
            normalise_type(type_name)
        except ConfigError as exc:
            raise at.at("type").error(exc.message, hint=exc.hint) from None
        columns.append(FactColumn(_name(item, "name", at), expr, type_name))
    seen = [column.name for column in columns]
    repeated = sorted({name for name in seen if seen.count(name) > 1})
    if repeated:
        raise where.at("columns").error(f"names column(s) {', '.join(repeated)} more than once.")
    if not columns:
        raise where.at("columns").error("is empty.", hint="a fact needs its columns (name, expr, type)")
    return tuple(columns)
