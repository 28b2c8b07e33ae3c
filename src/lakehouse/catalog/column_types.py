"""Column types in the three spellings the catalog meets.

- Spark DDL (`bigint`, `decimal(15,2)`, `array<string>`): what callers pass to register_table.
- Spark/Delta JSON (`"long"`, `{"type": "array", ...}`): what the Delta log stores and what Spark
  keeps in the `spark.sql.sources.schema` table parameter.
- Hive type strings: what the metastore's column list accepts (Hive 2.3 validates them and does
  not know `timestamp_ntz`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from lakehouse.core.errors import CatalogError

# DDL spelling (and accepted aliases) → Spark JSON spelling.
_DDL_TO_JSON = {
    "bigint": "long", "long": "long",
    "int": "integer", "integer": "integer",
    "smallint": "short", "short": "short",
    "tinyint": "byte", "byte": "byte",
    "string": "string", "boolean": "boolean", "date": "date",
    "timestamp": "timestamp", "timestamp_ntz": "timestamp_ntz",
    "double": "double", "float": "float", "real": "float", "binary": "binary",
}
_JSON_TO_DDL = {
    "long": "bigint", "integer": "int", "short": "smallint", "byte": "tinyint", "string": "string",
    "boolean": "boolean", "date": "date", "timestamp": "timestamp", "timestamp_ntz": "timestamp_ntz",
    "double": "double", "float": "float", "binary": "binary",
}
_DECIMAL = re.compile(r"decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_VALID_HINT = (
    "valid types: bigint, int, smallint, tinyint, string, boolean, date, timestamp, timestamp_ntz, "
    "double, float, binary, decimal(p,s), array<t>, map<k,v>, struct<name:t,...>"
)

JsonType = Any  # a str for primitives, a dict for array/map/struct


class _DdlParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, why: str) -> CatalogError:
        return CatalogError(f"Column type '{self.text}' is not valid: {why} (at character {self.pos + 1}).", hint=_VALID_HINT)

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def expect(self, char: str) -> None:
        self.skip_spaces()
        if not self.text.startswith(char, self.pos):
            raise self.fail(f"expected '{char}'")
        self.pos += 1

    def word(self) -> str:
        self.skip_spaces()
        match = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(self.text, self.pos)
        if not match:
            raise self.fail("expected a type name")
        self.pos = match.end()
        return match.group(0)

    def parse_type(self) -> JsonType:
        name = self.word().lower()
        if name == "decimal":
            self.skip_spaces()
            match = _DECIMAL.match("decimal" + self.text[self.pos:])
            if not match:
                raise self.fail("decimal needs a precision and a scale, e.g. decimal(15,2)")
            precision, scale = int(match.group(1)), int(match.group(2))
            if not 1 <= precision <= 38 or scale > precision:
                raise self.fail(f"decimal({precision},{scale}) needs 1 <= precision <= 38 and scale <= precision")
            self.pos += match.end() - len("decimal")
            return f"decimal({precision},{scale})"
        if name == "array":
            self.expect("<")
            element = self.parse_type()
            self.expect(">")
            return {"type": "array", "elementType": element, "containsNull": True}
        if name == "map":
            self.expect("<")
            key = self.parse_type()
            self.expect(",")
            value = self.parse_type()
            self.expect(">")
            return {"type": "map", "keyType": key, "valueType": value, "valueContainsNull": True}
        if name == "struct":
            self.expect("<")
            fields = []
            while True:
                field_name = self.word()
                self.expect(":")
                fields.append({"name": field_name, "type": self.parse_type(), "nullable": True, "metadata": {}})
                self.skip_spaces()
                if self.text.startswith(",", self.pos):
                    self.pos += 1
                    continue
                self.expect(">")
                return {"type": "struct", "fields": fields}
        if name in _DDL_TO_JSON:
            return _DDL_TO_JSON[name]
        raise self.fail(f"unknown type '{name}'")


def ddl_to_json(ddl: str) -> JsonType:
    """Parse a Spark DDL type into Spark's JSON type form."""
    if not isinstance(ddl, str) or not ddl.strip():
        raise CatalogError(f"Column type {ddl!r} is empty.", hint=_VALID_HINT)
    parser = _DdlParser(ddl.strip())
    result = parser.parse_type()
    parser.skip_spaces()
    if parser.pos != len(parser.text):
        raise parser.fail("unexpected text after the type")
    return result


def json_to_ddl(json_type: JsonType) -> str:
    """Spark JSON type → canonical Spark DDL (`long` → `bigint`)."""
    if isinstance(json_type, str):
        if json_type in _JSON_TO_DDL:
            return _JSON_TO_DDL[json_type]
        if _DECIMAL.fullmatch(json_type):
            return json_type.replace(" ", "")
        raise CatalogError(f"Unsupported column type '{json_type}' in a Delta schema.", hint=_VALID_HINT)
    kind = json_type.get("type")
    if kind == "array":
        return f"array<{json_to_ddl(json_type['elementType'])}>"
    if kind == "map":
        return f"map<{json_to_ddl(json_type['keyType'])},{json_to_ddl(json_type['valueType'])}>"
    if kind == "struct":
        inner = ",".join(f"{field['name']}:{json_to_ddl(field['type'])}" for field in json_type["fields"])
        return f"struct<{inner}>"
    raise CatalogError(f"Unsupported column type {json.dumps(json_type)} in a Delta schema.", hint=_VALID_HINT)


def canonical_ddl(ddl: str) -> str:
    """Normalise a DDL type (`BIGINT`, `long`, `decimal(15, 2)` → `bigint`, `decimal(15,2)`)."""
    return json_to_ddl(ddl_to_json(ddl))


def json_to_hive(json_type: JsonType) -> str:
    """Spark JSON type → a type string the Hive metastore accepts for its column list."""
    if json_type == "timestamp_ntz":
        return "timestamp"  # Hive has no zone-less variant; Spark reads the real type from the schema parameter
    if isinstance(json_type, dict):
        kind = json_type["type"]
        if kind == "array":
            return f"array<{json_to_hive(json_type['elementType'])}>"
        if kind == "map":
            return f"map<{json_to_hive(json_type['keyType'])},{json_to_hive(json_type['valueType'])}>"
        if kind == "struct":
            return "struct<" + ",".join(f"{f['name']}:{json_to_hive(f['type'])}" for f in json_type["fields"]) + ">"
    return json_to_ddl(json_type)


def spark_schema_json(columns: list[tuple[str, str]], column_comments: dict[str, str] | None = None) -> str:
    """The StructType JSON Spark stores in `spark.sql.sources.schema.part.N`."""
    comments = column_comments or {}
    fields = []
    for name, ddl in columns:
        metadata = {"comment": comments[name]} if comments.get(name) else {}
        fields.append({"name": name, "type": ddl_to_json(ddl), "nullable": True, "metadata": metadata})
    return json.dumps({"type": "struct", "fields": fields}, separators=(",", ":"))


def columns_from_schema_json(schema_json: str) -> list[tuple[str, str]]:
    """Columns (name, DDL type) from a Delta/Spark StructType JSON string."""
    schema = json.loads(schema_json)
    return [(field["name"], json_to_ddl(field["type"])) for field in schema.get("fields", [])]
