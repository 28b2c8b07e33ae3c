"""A MERGE described as SQL fragments: the strategies build it, each engine adapter runs it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MergePlan:
    """Target alias `t`, source alias `s`."""

    on: str
    update_condition: str | None
    update_set: dict[str, str]
    insert_values: dict[str, str]
    insert_condition: str | None = None
    # Matched rows meeting it are deleted (a CDC delete); checked before the update. None: no delete clause.
    delete_condition: str | None = None
