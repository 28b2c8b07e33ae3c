"""One table entry of a pipeline file -> TableSpec, with the kind's options.

The file's names follow Lakeflow where the concept is the same (sequence_by, keys,
track_history_column_list, apply_as_deletes, except_column_list, expectations); the options a kind
takes (kinds/<kind>/options.py) sit on the entry itself, not under an `options:` mapping.
"""

from __future__ import annotations

from typing import Any

from lakehouse.core.errors import ConfigError
from lakehouse.core.types import normalise_type
from lakehouse.kinds.scd1.options import Scd1Options
from lakehouse.kinds.scd2.options import Scd2Options
from lakehouse.spec.expectations import Expectation, OnViolation
from lakehouse.spec.files.fact import FACT_FIELDS, fact_rules
from lakehouse.spec.files.names import table_ref
from lakehouse.spec.files.reading import (
    Where,
    check_fields,
    entries,
    flag,
    mapping,
    names,
    one_of,
    optional_flag,
    optional_text,
    require,
    text,
)
from lakehouse.spec.files.sql_check import check_expression
from lakehouse.spec.model import EvolutionMode, Kind, KindOptions, LandingSource, TableSpec

KINDS = {"append_ingest": Kind.APPEND_INGEST, "scd1": Kind.SCD1_UPSERT, "scd2": Kind.SCD2_FROM_CHANGES,
         "fact": Kind.FACT}
# Readers for json and parquet are registered by sources/registry.py; the file names the format only.
LANDING_FORMATS = ("csv", "json", "parquet")
SOURCE_FIELDS = ("folder", "format", "schema_hints", "evolution_mode", "delimiter")
EXPECTATION_FIELDS = ("name", "expr", "on_violation")

_COMMON = ("name", "kind", "change_data_feed", "cluster_by", "expectations")
_CDC = ("upstream", "keys", "sequence_by", "track_history_column_list", "apply_as_deletes", "except_column_list",
        "undated_effective_time")
# Fields of the kinds whose batches MERGE into the table (append_ingest only appends).
_MERGING = ("merge_on_read",)
FIELDS_OF_KIND: dict[str, tuple[str, ...]] = {
    "append_ingest": (*_COMMON, "source"),
    "scd1": (*_COMMON, *_CDC, *_MERGING),
    "scd2": (*_COMMON, *_CDC, "surrogate_key", "low_date", "track_history_except_column_list", *_MERGING),
    "fact": (*_COMMON, *FACT_FIELDS, *_MERGING),
}
TABLE_FIELDS = tuple(dict.fromkeys(field for fields in FIELDS_OF_KIND.values() for field in fields))


def table_spec(entry: dict[str, Any], where: Where) -> TableSpec:
    """`where` names the entry by position; from its name on, errors name the table."""
    ref = table_ref(require(entry, "name", where), where.at("name"))
    where = where.of_table(f"'{ref}'")
    kind_name = one_of(require(entry, "kind", where), tuple(KINDS), where.at("kind"))
    _check_table_fields(entry, kind_name, where)
    kind = KINDS[kind_name]
    fields: dict[str, Any] = {
        "source": _source(entry["source"], where.at("source")) if "source" in entry else None,
        "upstream": tuple(table_ref(name, where.at("upstream")) for name in names(entry, "upstream", where)),
        "keys": names(entry, "keys", where),
        "tracked_columns": _tracked(entry, where),
        "sequence_by": optional_text(entry, "sequence_by", where),
        "change_data_feed": flag(entry, "change_data_feed", where, default=False),
        "surrogate_key": optional_text(entry, "surrogate_key", where),
        "cluster_by": names(entry, "cluster_by", where),
        "options": _options(entry, kind_name, where),
        "expectations": _expectations(entry, where),
        "apply_as_deletes": _condition(entry, "apply_as_deletes", where),
        "except_column_list": names(entry, "except_column_list", where),
        "merge_on_read": optional_flag(entry, "merge_on_read", where),
    }
    if kind is Kind.FACT:
        fields["upstream"] = fields["options"].inputs
    _check_columns(fields, where)
    try:
        return TableSpec(ref=ref, kind=kind, **fields)
    except ConfigError as exc:
        raise where.error(exc.message.removeprefix(f"{ref}: "), hint=exc.hint) from None


def _check_table_fields(entry: dict[str, Any], kind_name: str, where: Where) -> None:
    allowed = FIELDS_OF_KIND[kind_name]
    for key in entry:
        if key in TABLE_FIELDS and key not in allowed:
            raise where.at(key).error(f"does not apply to a {kind_name} table.",
                                      hint=f"fields of a {kind_name} table: " + ", ".join(allowed))
    check_fields(entry, allowed, where, f"a {kind_name} table")


def _source(value: Any, where: Where) -> LandingSource:
    entry = mapping(value, where)
    check_fields(entry, SOURCE_FIELDS, where, "a landing source")
    folder = text(require(entry, "folder", where), where.at("folder"))
    if folder.startswith(("/", "\\")) or ".." in folder.replace("\\", "/").split("/"):
        raise where.at("folder").error(f"'{folder}' leaves the landing zone.",
                                       hint="give a folder relative to LAKEHOUSE_LANDING, without '..'")
    hints = {}
    for column, type_name in mapping(entry.get("schema_hints", {}), where.at("schema_hints")).items():
        type_text = text(type_name, where.at(f"schema_hints.{column}"))
        try:
            normalise_type(type_text)
        except ConfigError as exc:
            raise where.at(f"schema_hints.{column}").error(exc.message, hint=exc.hint) from None
        hints[column] = type_text
    modes = tuple(mode.value for mode in EvolutionMode)
    return LandingSource(
        name=folder,
        folder=folder,
        format=one_of(entry.get("format", "csv"), LANDING_FORMATS, where.at("format")),
        schema_hints=hints,
        evolution_mode=EvolutionMode(one_of(entry.get("evolution_mode", EvolutionMode.ADD_NEW_COLUMNS.value),
                                            modes, where.at("evolution_mode"))),
        delimiter=_delimiter(entry, where),
    )


def _delimiter(entry: dict[str, Any], where: Where) -> str:
    delimiter = entry.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n\"":
        raise where.at("delimiter").error(f"{delimiter!r} is not a delimiter.",
                                          hint="give one character other than a quote or a line break, "
                                               "for example ',' or '|'")
    return delimiter


def _tracked(entry: dict[str, Any], where: Where) -> tuple[str, ...] | None:
    if "track_history_column_list" not in entry:
        return None
    tracked = names(entry, "track_history_column_list", where)
    if not tracked:
        raise where.at("track_history_column_list").error(
            "is empty.", hint="name the columns whose change makes a new version, or leave the field out to "
                              "track every column")
    return tracked


def _options(entry: dict[str, Any], kind_name: str, where: Where) -> KindOptions | None:
    if kind_name == "fact":
        return fact_rules(entry, where)
    undated = optional_text(entry, "undated_effective_time", where)
    if kind_name == "scd1":
        return None if undated is None else Scd1Options(undated_effective_time=undated)
    if kind_name == "scd2":
        low_date = optional_text(entry, "low_date", where)
        except_tracked = names(entry, "track_history_except_column_list", where)
        if except_tracked and "track_history_column_list" in entry:
            raise where.at("track_history_except_column_list").error(
                "is given with track_history_column_list; give one of the two.",
                hint="track_history_column_list names the columns that make a new version; "
                     "track_history_except_column_list the ones that do not")
        if low_date is None and undated is None and not except_tracked:
            return None
        return Scd2Options(low_date=low_date, undated_effective_time=undated,
                           track_history_except_column_list=except_tracked)
    return None


def _condition(entry: dict[str, Any], key: str, where: Where) -> str | None:
    condition = optional_text(entry, key, where)
    if condition is not None:
        check_expression(condition, where.at(key))
    return condition


def _expectations(entry: dict[str, Any], where: Where) -> tuple[Expectation, ...]:
    if "expectations" not in entry:
        return ()
    found = []
    for i, item in enumerate(entries(entry["expectations"], where.at("expectations"))):
        at = where.at(f"expectations[{i}]")
        check_fields(item, EXPECTATION_FIELDS, at, "an expectation")
        expr = text(require(item, "expr", at), at.at("expr"))
        check_expression(expr, at.at("expr"))
        on_violation = text(item.get("on_violation", OnViolation.WARN.value), at.at("on_violation"))
        try:
            found.append(Expectation(name=text(require(item, "name", at), at.at("name")), expr=expr,
                                     on_violation=OnViolation.parse(on_violation, at.at("on_violation").describe())))
        except ConfigError as exc:
            if exc.message.startswith(where.path):
                raise
            raise at.error(exc.message, hint=exc.hint) from None
    return tuple(found)


def _check_columns(fields: dict[str, Any], where: Where) -> None:
    """What the file alone shows about columns: a column left out of the target cannot also be a key,
    the sequence, a tracked or a clustering column."""
    excluded = set(fields["except_column_list"])
    needed = {"keys": fields["keys"], "sequence_by": (fields["sequence_by"],) if fields["sequence_by"] else (),
              "track_history_column_list": fields["tracked_columns"] or (), "cluster_by": fields["cluster_by"]}
    for field, columns in needed.items():
        clash = [column for column in columns if column in excluded]
        if clash:
            raise where.at(field).error(
                f"names {', '.join(clash)}, which except_column_list leaves out of the table.",
                hint=f"remove {', '.join(clash)} from except_column_list or from {field}")
    options = fields["options"]
    if isinstance(options, Scd2Options):
        clash = [column for column in options.track_history_except_column_list if column in fields["keys"]]
        if clash:
            raise where.at("track_history_except_column_list").error(
                f"names key column(s) {', '.join(clash)}.", hint="a key never changes within its history; remove it")
