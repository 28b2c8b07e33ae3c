"""`lakehouse landing ...` (filled in by the landing-tooling work)."""

from __future__ import annotations

COMMANDS: list = []
