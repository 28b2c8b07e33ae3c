"""A MERGE described as SQL fragments: the strategies build it, each engine adapter runs it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Delta's per-table switch: writers that follow it (delta-spark, Databricks) write deletion vectors
# where it is true.
DELETION_VECTORS_PROPERTY = "delta.enableDeletionVectors"


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
    # The table's merge_on_read option: True marks replaced rows with deletion vectors, False rewrites
    # their files. None: the table's property or the engine's default decide (merges_on_read).
    deletion_vectors: bool | None = None


def deletion_vectors_property(properties: Mapping[str, str]) -> bool | None:
    """The table's delta.enableDeletionVectors, or None where the table does not set it."""
    value = properties.get(DELETION_VECTORS_PROPERTY)
    return None if value is None else value.strip().lower() == "true"


def merges_on_read(plan: MergePlan, properties: Mapping[str, str], engine_default: bool) -> bool:
    """Whether the plan's MERGE writes deletion vectors; every engine decides by this rule. The plan's
    choice (the spec's option); else the table's own property, so a table switched on elsewhere (as on
    Databricks) keeps its DVs; else the engine's default (Settings.merge_on_read)."""
    if plan.deletion_vectors is not None:
        return plan.deletion_vectors
    table_says = deletion_vectors_property(properties)
    return engine_default if table_says is None else table_says
