"""Compare the catalog spec with a catalog, and make the catalog match (`catalog apply|drift`).

A table in the spec is registered only once its Delta table exists (the pipeline creates it);
until then it is "pending", which is not drift. Column types always come from the Delta log, so
a re-registration after schema evolution is just another apply. The pipeline registers the
tables it writes through the same `sync_schema`/`sync_table`, so after a run there is no drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from lakehouse.catalog.base import Catalog, SchemaInfo, TableInfo
from lakehouse.catalog.column_types import columns_from_schema_json
from lakehouse.catalog.names import metastore_location
from lakehouse.catalog.spec import CatalogSpec, SchemaEntry, TableEntry
from lakehouse.core.config import Settings

# Actions. The fixable ones are what `apply` does; the others are reported.
CREATE_SCHEMA = "create-schema"
ALTER_SCHEMA = "alter-schema"
REGISTER_TABLE = "register-table"
ALTER_TABLE = "alter-table"
PENDING_TABLE = "pending-table"  # in the spec, no Delta table yet: not drift
MISSING_DATA = "missing-data"  # registered, but no Delta table at its location
UNEXPECTED_TABLE = "unexpected-table"  # registered in a spec'd schema, absent from the spec
DELTA_PROPERTY = "delta-property"  # the spec's delta.* property disagrees with the Delta log
UNKNOWN_COLUMN = "unknown-column"  # the spec comments on a column the Delta table lacks
FIXABLE = {CREATE_SCHEMA, ALTER_SCHEMA, REGISTER_TABLE, ALTER_TABLE}


class FindingDict(TypedDict):
    action: str
    target: str
    details: list[str]
    hint: str
    fixable: bool


@dataclass
class Finding:
    action: str
    target: str
    details: list[str] = field(default_factory=list)
    hint: str = ""

    @property
    def fixable(self) -> bool:
        return self.action in FIXABLE

    @property
    def is_drift(self) -> bool:
        return self.action != PENDING_TABLE

    def as_dict(self) -> FindingDict:
        return {"action": self.action, "target": self.target, "details": list(self.details), "hint": self.hint,
                "fixable": self.fixable}

    def line(self) -> str:
        text = f"{self.action:<17} {self.target}"
        if self.details:
            text += ": " + "; ".join(self.details)
        if self.hint:
            text += f"  (hint: {self.hint})"
        return text


@dataclass(frozen=True)
class DeltaFacts:
    columns: list[tuple[str, str]]
    configuration: dict[str, str]


def read_delta_facts(location: str, settings: Settings) -> DeltaFacts | None:
    """Columns and table configuration from the Delta log at `location`; None if no Delta table."""
    from deltalake import DeltaTable

    options = settings.s3.delta_storage_options() if location.startswith("s3://") else None
    if not DeltaTable.is_deltatable(location, storage_options=options):
        return None
    table = DeltaTable(location, storage_options=options)
    return DeltaFacts(
        columns=columns_from_schema_json(table.schema().to_json()),
        configuration=dict(table.metadata().configuration),
    )


def schema_location(settings: Settings, schema: str) -> str:
    return f"{settings.warehouse}/{schema}"


def wanted_schema(entry: SchemaEntry, settings: Settings) -> SchemaInfo:
    return SchemaInfo(
        name=entry.name,
        location=metastore_location(schema_location(settings, entry.name)),
        comment=entry.comment,
        owner=entry.owner,
        properties=dict(entry.properties),
    )


def wanted_table(entry: TableEntry, settings: Settings, columns: list[tuple[str, str]]) -> TableInfo:
    names = {name for name, _ in columns}
    return TableInfo(
        schema=entry.schema,
        name=entry.name,
        location=metastore_location(settings.table_uri(entry.schema, entry.name)),
        columns=columns,
        properties=dict(entry.properties),
        comment=entry.comment,
        column_comments={k: v for k, v in entry.column_comments.items() if k in names and v},
    )


def _differences(current: object, wanted: object, fields: tuple[str, ...]) -> list[str]:
    details = []
    for name in fields:
        have, want = getattr(current, name), getattr(wanted, name)
        if have != want:
            details.append(f"{name} is {have!r}, spec says {want!r}")
    return details


def plan(catalog: Catalog, spec: CatalogSpec, settings: Settings) -> list[Finding]:
    """Every way `catalog` differs from `spec` (plus pending tables), in spec order."""
    findings: list[Finding] = []
    for schema_entry in spec.schemas:
        target = catalog.names.metastore_schema(schema_entry.name)
        wanted = wanted_schema(schema_entry, settings)
        current = catalog.get_schema(schema_entry.name)
        if current is None:
            findings.append(Finding(CREATE_SCHEMA, target, [f"location {wanted.location}"]))
        else:
            fields = ("location", "comment", "properties") + (("owner",) if schema_entry.owner else ())
            details = _differences(current, wanted, fields)
            if details:
                findings.append(Finding(ALTER_SCHEMA, target, details))
        for table_entry in schema_entry.tables:
            findings.extend(_plan_table(catalog, table_entry, settings, target, schema_exists=current is not None))
        spec_tables = {table.name for table in schema_entry.tables}
        for extra in catalog.list_tables(schema_entry.name) if current is not None else []:
            if extra not in spec_tables:
                findings.append(Finding(
                    UNEXPECTED_TABLE, f"{target}.{extra}", ["registered but not in the catalog spec"],
                    hint=f"add it to {spec.source}/{schema_entry.name}.yaml, or unregister it (lakehouse reset)",
                ))
    return findings


def _plan_table(catalog: Catalog, entry: TableEntry, settings: Settings, schema_target: str, *,
                schema_exists: bool) -> list[Finding]:
    target = f"{schema_target}.{entry.name}"
    location = settings.table_uri(entry.schema, entry.name)
    facts = read_delta_facts(location, settings)
    current = catalog.get_table(entry.schema, entry.name) if schema_exists else None
    findings = []
    if facts is None:
        if current is None:
            return [Finding(PENDING_TABLE, target, [f"no Delta table at {location} yet"],
                            hint="the pipeline creates and registers it (lakehouse run)")]
        findings.append(Finding(MISSING_DATA, target, [f"registered, but no Delta table at {location}"],
                                hint="re-run the pipeline, or unregister it (lakehouse reset)"))
        return findings
    for key, value in entry.properties.items():
        if key.startswith("delta.") and facts.configuration.get(key) != value:
            findings.append(Finding(
                DELTA_PROPERTY, target,
                [f"{key} is {facts.configuration.get(key)!r} in the Delta log, spec says {value!r}"],
                hint=f"set it on the table itself: ALTER TABLE {target} SET TBLPROPERTIES ('{key}' = '{value}')",
            ))
    unknown = sorted(set(entry.column_comments) - {name for name, _ in facts.columns})
    if unknown:
        findings.append(Finding(
            UNKNOWN_COLUMN, target, [f"the spec comments on columns the Delta table lacks: {', '.join(unknown)}"],
            hint="fix the column names under `columns:` in the spec",
        ))
    wanted = wanted_table(entry, settings, facts.columns)
    if current is None:
        findings.append(Finding(REGISTER_TABLE, target, [f"location {wanted.location}"]))
    else:
        details = _differences(current, wanted, ("location", "columns", "comment", "properties", "column_comments"))
        if details:
            findings.append(Finding(ALTER_TABLE, target, details))
    return findings


def apply(catalog: Catalog, spec: CatalogSpec, settings: Settings) -> tuple[list[Finding], list[Finding]]:
    """Make `catalog` match `spec`. Returns (what was changed, what is left: pending or unfixable)."""
    changed, left = [], []
    for finding in plan(catalog, spec, settings):
        if not finding.fixable:
            left.append(finding)
            continue
        schema_name, table_name = _logical_target(catalog, finding.target)
        if finding.action in (CREATE_SCHEMA, ALTER_SCHEMA):
            sync_schema(catalog, spec, settings, schema_name)
        else:
            sync_table(catalog, spec, settings, schema_name, table_name)
        changed.append(finding)
    return changed, left


def sync_schema(catalog: Catalog, spec: CatalogSpec, settings: Settings, schema: str) -> bool:
    """Create or alter one schema exactly as `apply` does; returns whether anything changed.

    `apply` and the pipeline's registration both come through here, so a pipeline run leaves the
    schema as `catalog drift` expects it. A schema the spec lacks gets its location only (and keeps
    whatever else it has): `drift` does not look at it.
    """
    entry = spec.schema(schema)
    if entry is None:
        return catalog.ensure_schema(schema, schema_location(settings, schema))
    wanted = wanted_schema(entry, settings)
    return catalog.ensure_schema(schema, schema_location(settings, schema), wanted.comment, wanted.properties,
                                 owner=wanted.owner, replace=True)


def sync_table(catalog: Catalog, spec: CatalogSpec, settings: Settings, schema: str, name: str, *,
               properties_if_unlisted: dict[str, str] | None = None) -> bool:
    """Register one table exactly as `apply` does; returns whether anything changed.

    Columns come from the Delta log, everything else from the table's spec entry, which replaces
    what the catalog held. No Delta table yet means nothing to register (False). A table the spec
    does not list (`drift` reports it as unexpected) is registered with `properties_if_unlisted`,
    keeping the descriptions it already has, so a pipeline run never fails for want of an entry.
    """
    location = settings.table_uri(schema, name)
    facts = read_delta_facts(location, settings)
    if facts is None:
        return False
    entry = spec.table(schema, name)
    listed = entry is not None
    if entry is None:
        entry = TableEntry(schema=schema, name=name, properties=dict(properties_if_unlisted or {}))
    wanted = wanted_table(entry, settings, facts.columns)
    return catalog.register_table(schema, name, location, wanted.columns, comment=wanted.comment,
                                  properties=wanted.properties, column_comments=wanted.column_comments,
                                  replace=listed)


def _logical_target(catalog: Catalog, target: str) -> tuple[str, str]:
    """`dev_silver.customer` → ("silver", "customer")."""
    schema, _, table = target.partition(".")
    return catalog.names.logical_schema(schema) or schema, table


def drift(catalog: Catalog, spec: CatalogSpec, settings: Settings) -> list[Finding]:
    """Where the catalog and the spec disagree (pending tables are not drift)."""
    return [finding for finding in plan(catalog, spec, settings) if finding.is_drift]
