"""`lakehouse run|reset|status|validate|read|sql`."""

from __future__ import annotations

COMMANDS: list = []
