"""Table names in a pipeline file: schema.table, each part a lower-case identifier.

A table name becomes folders under the warehouse and the checkpoints root, so anything that could
leave them ('..', '/', '\\') or that the catalog would change (upper case) is refused.
"""

from __future__ import annotations

import re
from typing import Any

from lakehouse.spec.files.reading import Where, text
from lakehouse.spec.model import TableRef

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def table_ref(value: Any, where: Where) -> TableRef:
    name = text(value, where)
    parts = name.split(".")
    if len(parts) != 2 or not all(_IDENTIFIER.match(part) for part in parts):
        raise where.error(
            f"'{name}' is not a table name of the form schema.table.",
            hint="use two lower-case identifiers (letters, digits, '_') joined by one '.', for example "
                 "silver.products; '/', '..' and upper case are refused since names become folders")
    return TableRef(parts[0], parts[1])


def identifier(value: Any, where: Where) -> str:
    """A pipeline name: it names the file (pipelines/NAME.yaml) and the pipeline lock."""
    name = text(value, where)
    if not re.match(r"^[a-z][a-z0-9_-]*$", name):
        raise where.error(f"'{name}' is not a valid pipeline name.",
                          hint="use lower-case letters, digits, '_' and '-', starting with a letter")
    return name
