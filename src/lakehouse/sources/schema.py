"""Auto Loader-style schema handling: infer once, store with history, evolve by mode."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lakehouse.core.errors import SchemaEvolutionError
from lakehouse.core.types import normalise_type, value_pattern
from lakehouse.spec.model import BRONZE_METADATA, EvolutionMode

_INFERENCE_ORDER = ("bigint", "decimal", "date", "timestamp", "boolean")
_DECIMAL_TEXT = re.compile(r"^[+-]?([0-9]+)\.([0-9]+)$")


@dataclass(frozen=True)
class StoredSchema:
    """One version of a source's schema, as kept under the checkpoint's schema location."""

    version: int
    columns: tuple[tuple[str, str], ...]
    reason: str
    source_file: str = ""
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": self.version,
                "columns": [{"name": n, "type": t} for n, t in self.columns],
                "reason": self.reason,
                "source_file": self.source_file,
                "created_at": self.created_at,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> StoredSchema:
        data = json.loads(text)
        return cls(
            version=data["version"],
            columns=tuple((c["name"], c["type"]) for c in data["columns"]),
            reason=data.get("reason", ""),
            source_file=data.get("source_file", ""),
            created_at=data.get("created_at", ""),
        )


def _matches(pattern: str | None, value: str) -> bool:
    """Whether `value` parses by `pattern` (core.types.value_pattern; None: any text, a string)."""
    return pattern is None or re.fullmatch(pattern, value) is not None


def infer_type(values: Iterable[str | None]) -> str:
    """The narrowest type every non-null sample value parses as; 'string' when in doubt."""
    samples = [v for v in values if v is not None and v != ""]
    if not samples:
        return "string"
    if all(_matches(value_pattern("bigint"), v) for v in samples):
        return "bigint"
    decimal_matches = [m for v in samples if (m := _DECIMAL_TEXT.match(v) or re.fullmatch(r"[+-]?([0-9]+)()", v))]
    if len(decimal_matches) == len(samples):
        integer_digits = max(len(m.group(1).lstrip("0") or "0") for m in decimal_matches)
        scale = max(len(m.group(2)) for m in decimal_matches)
        precision = 18 if integer_digits + scale <= 18 else 38
        if integer_digits + scale <= 38:
            return f"decimal({precision},{scale})"
    for candidate in ("date", "timestamp", "boolean"):
        if all(_matches(value_pattern(candidate), v) for v in samples):
            return candidate
    return "string"


def infer_schema(
    header: Sequence[str], sample_rows: Sequence[Sequence[str | None]], hints: dict[str, str],
    file_types: Mapping[str, str] | None = None,
) -> tuple[tuple[str, str], ...]:
    """Each column's type: its hint, else the type the file carries (a typed format), else inferred."""
    columns = []
    for index, name in enumerate(header):
        if name in hints:
            columns.append((name, normalise_type(hints[name])))
        elif file_types and name in file_types:
            columns.append((name, file_types[name]))
        else:
            columns.append((name, infer_type(row[index] for row in sample_rows if index < len(row))))
    return tuple(columns)


def check_header(header: Sequence[str], file_uri: str) -> None:
    seen = set()
    for index, name in enumerate(header):
        if not name or not name.strip():
            raise SchemaEvolutionError(
                f"{file_uri}: column {index + 1} of the header has no name.",
                hint="give every column a name in the header row, then land the file again",
            )
        if name in seen:
            raise SchemaEvolutionError(
                f"{file_uri}: the header names column '{name}' twice.",
                hint="rename one of them and land the file again",
            )
        if name in BRONZE_METADATA:
            raise SchemaEvolutionError(
                f"{file_uri}: the header uses the reserved column name '{name}'.",
                hint="reserved names: " + ", ".join(BRONZE_METADATA),
            )
        seen.add(name)


def evolve(
    stored: StoredSchema,
    header: Sequence[str],
    sample_rows: Sequence[Sequence[str | None]],
    hints: dict[str, str],
    mode: EvolutionMode,
    file_uri: str,
    file_types: Mapping[str, str] | None = None,
) -> StoredSchema | None:
    """The next schema version when `header` brings new columns, or None when it does not change.

    Missing columns are never an evolution: their values are NULL, as with Auto Loader.
    """
    known = set(stored.names)
    new_columns = [name for name in header if name not in known]
    if not new_columns or mode in (EvolutionMode.RESCUE, EvolutionMode.NONE):
        return None
    if mode is EvolutionMode.FAIL_ON_NEW_COLUMNS:
        raise SchemaEvolutionError(
            f"{file_uri} has new column(s) {', '.join(new_columns)} not in the stored schema "
            f"(v{stored.version}: {', '.join(stored.names)}), and the evolution mode is failOnNewColumns.",
            hint="add the columns to the schema hints and reset the table, or switch to addNewColumns or rescue",
        )
    inferred = dict(infer_schema(header, sample_rows, hints, file_types))
    added = tuple((name, inferred[name]) for name in new_columns)
    return StoredSchema(
        version=stored.version + 1,
        columns=stored.columns + added,
        reason=f"addNewColumns: {', '.join(new_columns)}",
        source_file=file_uri,
    )
