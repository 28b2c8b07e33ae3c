"""Catalog names: validation, Unity Catalog name mapping, and metastore locations.

Job code names tables the Databricks way (`main.silver.customer`) or the short way
(`silver.customer`). Locally the Unity Catalog part is dropped and an optional prefix is put in
front of the schema, so that `main.silver.customer` with prefix "dev_" is `dev_silver.customer`
in the metastore. Every name is validated before it reaches a metastore, because names end up in
SQL text, file paths and Thrift calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lakehouse.core.errors import CatalogError

# Long enough for real names, short enough for every metastore backend
# (Hive's DBS.NAME column is varchar(128)).
MAX_NAME_LENGTH = 128

# Lowercase ASCII only: Hive lowercases names silently, while S3 keys and local paths are
# case-sensitive, so `Customer` would name one table in the metastore and another on disk.
# A leading letter keeps names usable unquoted in SQL, and keeps them clear of the warehouse's
# own `_catalog` and `_checkpoints` folders.
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
_PREFIX = re.compile(r"[a-z][a-z0-9_]*")

# Spark's ANSI reserved keywords plus the Hive DDL words most likely to be typed by accident.
# `default` is not here: it is Hive's built-in database.
RESERVED_WORDS = frozenset(
    ["all", "alter", "and", "any", "array", "as", "authorization", "between", "both", "by", "case", "cast", "check", "collate", "column", "constraint", "create", "cross", "cube", "current", "current_date", "current_time", "current_timestamp", "current_user", "database", "databases", "delete", "describe", "distinct", "drop", "else", "end", "escape", "except", "exists", "false", "fetch", "filter", "for", "foreign", "from", "full", "function", "grant", "group", "grouping", "having", "in", "inner", "insert", "intersect", "interval", "into", "is", "join", "lateral", "leading", "left", "like", "local", "merge", "natural", "none", "not", "null", "of", "offset", "on", "only", "or", "order", "outer", "overlaps", "partition", "primary", "range", "reads", "references", "revoke", "right", "rollup", "row", "rows", "schema", "select", "session_user", "set", "show", "some", "table", "tables", "tablesample", "then", "time", "to", "trailing", "truncate", "true", "union", "unique", "unknown", "update", "user", "using", "values", "view", "when", "where", "window", "with"]
)


@dataclass(frozen=True)
class QualifiedName:
    """A table name as job code writes it, reduced to the logical schema and table."""

    schema: str
    table: str
    uc_catalog: str | None = None

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}"


def _describe_bad_characters(value: str) -> str:
    odd = sorted({ch for ch in value if not re.fullmatch(r"[a-z0-9_]", ch)})
    shown = ", ".join(repr(ch) if ch.isprintable() and ch.isascii() else f"U+{ord(ch):04X}" for ch in odd)
    return shown


def validate_identifier(value: object, kind: str = "name") -> str:
    """Return `value` if it is a safe schema/table/catalog name, else raise CatalogError.

    `kind` says what the name is for ("schema", "table", ...) so the message names it.
    """
    if not isinstance(value, str):
        raise CatalogError(
            f"The {kind} name {value!r} is not a string.",
            hint="use lowercase letters, digits and underscores, for example: customer_raw",
        )
    if value == "":
        raise CatalogError(f"The {kind} name is empty.", hint="give a name such as: customer_raw")
    if len(value) > MAX_NAME_LENGTH:
        raise CatalogError(
            f"The {kind} name '{value[:40]}...' is {len(value)} characters long; the limit is {MAX_NAME_LENGTH}.",
            hint="shorten the name",
        )
    if not _IDENTIFIER.fullmatch(value):
        if value.lower() != value and _IDENTIFIER.fullmatch(value.lower()):
            raise CatalogError(
                f"The {kind} name '{value}' has uppercase letters.",
                hint=f"names are lowercase (the metastore lowercases them, file paths do not): use '{value.lower()}'",
            )
        if value[0].isdigit() or value[0] == "_":
            raise CatalogError(
                f"The {kind} name '{value}' does not start with a letter.",
                hint="start the name with a lowercase letter (a-z); names starting with '_' are reserved for the warehouse's own folders",
            )
        raise CatalogError(
            f"The {kind} name {value!r} contains characters that are not allowed: {_describe_bad_characters(value)}.",
            hint="use only lowercase ASCII letters, digits and underscores (a-z, 0-9, _), starting with a letter",
        )
    if value in RESERVED_WORDS:
        raise CatalogError(
            f"The {kind} name '{value}' is an SQL reserved word.",
            hint=f"choose another name, for example '{value}_data' or 'tbl_{value}'",
        )
    return value


def validate_prefix(prefix: str | None) -> str:
    """The schema prefix: empty, or a lowercase identifier such as `dev_`."""
    if not prefix:
        return ""
    if not _PREFIX.fullmatch(prefix) or len(prefix) > 32:
        raise CatalogError(
            f"The catalog schema prefix {prefix!r} is not valid.",
            hint="use up to 32 lowercase letters, digits and underscores starting with a letter, for example: dev_",
        )
    return prefix


def parse_table_name(text: str) -> QualifiedName:
    """Parse `schema.table` or Unity Catalog's `catalog.schema.table` into a QualifiedName."""
    if not isinstance(text, str) or not text:
        raise CatalogError(
            f"Table name {text!r} is empty or not a string.",
            hint="write schema.table or catalog.schema.table, for example: main.silver.customer",
        )
    parts = text.split(".")
    if len(parts) == 2:
        return QualifiedName(validate_identifier(parts[0], "schema"), validate_identifier(parts[1], "table"))
    if len(parts) == 3:
        return QualifiedName(
            validate_identifier(parts[1], "schema"),
            validate_identifier(parts[2], "table"),
            uc_catalog=validate_identifier(parts[0], "catalog"),
        )
    raise CatalogError(
        f"Table name {text!r} has {len(parts)} dot-separated parts; expected 2 or 3.",
        hint="write schema.table or catalog.schema.table, for example: main.silver.customer",
    )


@dataclass(frozen=True)
class NameMapper:
    """Maps logical schema names (`silver`) to metastore database names (`dev_silver`)."""

    prefix: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", validate_prefix(self.prefix))

    def metastore_schema(self, schema: str) -> str:
        name = self.prefix + validate_identifier(schema, "schema")
        if len(name) > MAX_NAME_LENGTH:
            raise CatalogError(
                f"The schema name '{name[:40]}...' is longer than {MAX_NAME_LENGTH} characters with the prefix '{self.prefix}'.",
                hint="shorten the schema name or the prefix",
            )
        return name

    def logical_schema(self, metastore_schema: str) -> str | None:
        """The logical name of a metastore database, or None if it is not ours (other prefix)."""
        if not metastore_schema.startswith(self.prefix):
            return None
        return metastore_schema[len(self.prefix):] or None

    def metastore_table_name(self, text: str) -> str:
        """`main.silver.customer` → `dev_silver.customer` (with prefix dev_)."""
        name = parse_table_name(text)
        return f"{self.metastore_schema(name.schema)}.{name.table}"


def metastore_location(location: str) -> str:
    """The form a warehouse location takes in the metastore, for Spark and Trino.

    s3:// becomes s3a:// (the Hadoop S3 connector that Spark and Trino's Hive layer use);
    a local path becomes a `file:` URI. Locations already in metastore form are returned as is.
    """
    location = location.rstrip("/")
    if location.startswith("s3a://"):
        return location
    if location.startswith("s3://"):
        return "s3a://" + location[len("s3://"):]
    if location.startswith("file:"):
        path = location[len("file:"):]
        return "file:/" + path.lstrip("/")
    if location.startswith("/"):
        return "file:" + location
    raise CatalogError(
        f"Location '{location}' is neither an absolute path nor an s3:// URI.",
        hint="locations come from the warehouse setting (LAKEHOUSE_WAREHOUSE), which is made absolute; pass settings.table_uri(...)",
    )


def warehouse_location(location: str) -> str:
    """The inverse of `metastore_location`: s3a:// → s3://, file:/x → /x."""
    if location.startswith("s3a://"):
        return "s3://" + location[len("s3a://"):]
    if location.startswith("file:"):
        return "/" + location[len("file:"):].lstrip("/")
    return location
