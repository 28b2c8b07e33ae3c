"""`lakehouse bench` (filled in by the benchmark work)."""

from __future__ import annotations

COMMANDS: list = []
