"""A pipeline file -> Pipeline: its fields, its tables, and the checks that need every table of it:
duplicate names, upstream tables that exist and keep a change feed, no cycle, run order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakehouse.spec.files.names import identifier
from lakehouse.spec.files.reading import Where, check_fields, entries, names, optional_text, read_yaml, require
from lakehouse.spec.files.tables import table_spec
from lakehouse.spec.model import Pipeline, TableRef, TableSpec

TOP_FIELDS = ("pipeline", "description", "include", "tables")


@dataclass(frozen=True)
class DeclaredElsewhere:
    """A table another pipeline file declares, as far as this file's checks need it."""

    path: str
    change_data_feed: bool


# What the finder answers: a pipeline by name (for include), a table another file declares (or None).
IncludePipeline = Callable[[str], Pipeline]
FindElsewhere = Callable[[TableRef], DeclaredElsewhere | None]


def load_pipeline_file(path: Path, include: IncludePipeline | None = None,
                       elsewhere: FindElsewhere | None = None) -> Pipeline:
    """Read and check `path`. Without `include`, a file that includes others is refused; without
    `elsewhere`, every upstream table must be in the pipeline itself."""
    data = read_yaml(path)
    where = Where(str(path))
    check_fields(data, TOP_FIELDS, where, "a pipeline file")
    name = identifier(require(data, "pipeline", where), where.at("pipeline"))
    if path.stem != name:
        raise where.at("pipeline").error(f"declares pipeline '{name}', but the file is named {path.name}.",
                                         hint=f"rename the file to {name}{path.suffix} or the pipeline to {path.stem}")
    included = _included(data, where, include)
    own = [table_spec(entry, where.of_table(f"#{i + 1}")) for i, entry in
           enumerate(entries(data.get("tables", []), where.at("tables")))]
    if not own and not included:
        raise where.at("tables").error("the pipeline has no tables.",
                                       hint="list its tables under `tables:` (or other pipelines under `include:`)")
    tables = _without_duplicates([*included, *own], where)
    _check_upstream(tables, where, elsewhere)
    return Pipeline(name=name, tables=_run_order(tables, where),
                    description=optional_text(data, "description", where) or "")


def _included(data: dict[str, Any], where: Where, include: IncludePipeline | None) -> list[TableSpec]:
    found: list[TableSpec] = []
    for other in names(data, "include", where):
        if include is None:
            raise where.at("include").error("this file is read on its own, so it cannot include other pipelines.")
        found += include(other).tables
    return found


def _without_duplicates(tables: list[TableSpec], where: Where) -> list[TableSpec]:
    seen: set[TableRef] = set()
    for spec in tables:
        if spec.ref in seen:
            raise where.of_table(f"'{spec.ref}'").error(
                "is declared more than once (in this file or in a pipeline it includes).",
                hint="give every table one entry; rename or remove the other one")
        seen.add(spec.ref)
    return tables


def _check_upstream(tables: list[TableSpec], where: Where, elsewhere: FindElsewhere | None) -> None:
    by_ref = {spec.ref: spec for spec in tables}
    for spec in tables:
        at = where.of_table(f"'{spec.ref}'").at("upstream")
        for ref in spec.upstream:
            if ref == spec.ref:
                raise at.error(f"the table reads itself ({ref}).", hint="name the table it is fed from")
            local = by_ref.get(ref)
            declared = elsewhere(ref) if local is None and elsewhere is not None else None
            if local is None and declared is None:
                raise at.error(f"'{ref}' is no table of this pipeline nor of any other pipeline found.",
                               hint="valid tables: " + ", ".join(str(t.ref) for t in tables if t.ref != spec.ref))
            has_feed = local.change_data_feed if local is not None else declared is not None and declared.change_data_feed
            if not has_feed:
                origin = "" if local is not None or declared is None else f" (in {declared.path})"
                raise at.error(f"'{ref}'{origin} keeps no change data feed, and {spec.ref} is built from it.",
                               hint=f"set `change_data_feed: true` on {ref}")


def _run_order(tables: list[TableSpec], where: Where) -> tuple[TableSpec, ...]:
    """Tables in dependency order, otherwise in the order the file lists them; a cycle is refused."""
    in_pipeline = {spec.ref for spec in tables}
    waiting = list(tables)
    done: set[TableRef] = set()
    ordered: list[TableSpec] = []
    while waiting:
        ready = next((spec for spec in waiting if all(ref in done or ref not in in_pipeline for ref in spec.upstream)),
                     None)
        if ready is None:
            cycle = _a_cycle(waiting)
            raise where.of_table(f"'{cycle[0]}'").at("upstream").error(
                "the tables read each other in a cycle: " + " -> ".join(map(str, cycle)) + ".",
                hint="a table can only be fed from tables that do not depend on it; remove one upstream link")
        ordered.append(ready)
        done.add(ready.ref)
        waiting.remove(ready)
    return tuple(ordered)


def _a_cycle(waiting: list[TableSpec]) -> list[TableRef]:
    """Follow unfinished upstream links from the first waiting table until one repeats."""
    upstream = {spec.ref: [ref for ref in spec.upstream if any(w.ref == ref for w in waiting)] for spec in waiting}
    path = [waiting[0].ref]
    while path[-1] not in path[:-1]:
        path.append(upstream[path[-1]][0])
    return path[path.index(path[-1]):]
