"""`lakehouse catalog ...` and `lakehouse metastore ...` (filled in by the catalog work)."""

from __future__ import annotations

COMMANDS: list = []
