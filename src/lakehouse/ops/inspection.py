"""Looking at the tables: status, invariants, time travel and SQL. Works on any engine's tables,
since every table is a plain Delta table (read here with delta-rs and DuckDB)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from lakehouse.core.checkpoints import table_engine
from lakehouse.core.config import Settings
from lakehouse.core.dialects import DUCKDB
from lakehouse.core.errors import ConfigError, LakehouseError
from lakehouse.core.storage import FileInfo, Storage
from lakehouse.engines.embedded.engine import EmbeddedEngine
from lakehouse.ops.checkpoint_views import CheckpointView, EmbeddedCheckpoints, SparkCheckpoints
from lakehouse.sources.csv.arrow_reader import read_csv_text
from lakehouse.spec.model import END_DATE, IS_CURRENT, START_DATE, Kind, Pipeline, TableRef, TableSpec

_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")


@dataclass
class Violation:
    table: str
    rule: str
    detail: str


class Inspector:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings = settings
        self.storage = storage
        self.engine = EmbeddedEngine(settings, storage)

    def q(self, name: str) -> str:
        return DUCKDB.quote(name)

    # -- status --------------------------------------------------------------------------------
    def checkpoints(self, spec: TableSpec) -> CheckpointView:
        """The view of the checkpoints of the engine that wrote the table (lakehouse.core.checkpoints.table_engine)."""
        root = self.settings.checkpoint_uri(spec.ref.schema, spec.ref.name)
        engine = table_engine(self.storage, root)
        view = SparkCheckpoints if engine == "spark" else EmbeddedCheckpoints
        return view(self, spec, root, engine)

    def status(self, pipeline: Pipeline) -> list[dict[str, Any]]:
        rows = []
        for spec in pipeline.tables:
            table = self.engine.delta_table(spec.ref)
            view = self.checkpoints(spec)
            entry: dict[str, Any] = {
                "table": str(spec.ref),
                "kind": spec.kind.value,
                "version": None if table is None else table.version(),
                "rows": None if table is None else self._count(spec.ref),
                "last_batch": view.last_batch(),
                "engine": view.engine,
            }
            if spec.kind is Kind.APPEND_INGEST:
                found = view.discover_files()
                entry["files_pending"] = len(found.pending)
                entry["files_quarantined"] = [{"uri": r.uri, "batch_id": r.batch_id, "reason": r.reason}
                                              for r in found.quarantined]
                entry["files_overwritten"] = [{"uri": i.uri, "batch_id": r.batch_id, "ingested_size": r.size,
                                               "size_now": i.size} for i, r in found.overwritten]
            else:
                upstream_version = self.engine.table_version(spec.upstream[0])
                done = view.upstream_version_done()
                entry["versions_pending"] = 0 if upstream_version is None else max(0, upstream_version - done)
            if table is not None:
                history = table.history(1)
                entry["last_commit"] = history[0].get("timestamp") if history else None
            rows.append(entry)
        return rows

    def _count(self, ref: TableRef) -> int:
        dataset = self.engine.dataset(ref)
        return dataset.count_rows()

    # -- validate ------------------------------------------------------------------------------
    def validate(self, pipeline: Pipeline) -> tuple[list[str], list[Violation]]:
        checked: list[str] = []
        violations: list[Violation] = []
        for spec in pipeline.tables:
            if self.engine.delta_table(spec.ref) is None:
                continue
            if spec.kind is Kind.APPEND_INGEST:
                checked.append(f"{spec.ref}: rows equal records landed in ingested files")
                violations += self._bronze_matches_landing(spec)
            elif spec.kind is Kind.SCD1_UPSERT:
                checked.append(f"{spec.ref}: one row per key")
                violations += self._duplicates(spec, current_only=False)
            elif spec.kind is Kind.FACT:
                checked.append(f"{spec.ref}: one row per key; each dimension key is the version valid at the row's date")
                violations += self._duplicates(spec, current_only=False)
                violations += self._point_in_time_links(spec)
            elif spec.kind is Kind.SCD2_FROM_CHANGES:
                checked.append(f"{spec.ref}: one current row per key; intervals do not overlap; surrogate keys unique")
                violations += self._duplicates(spec, current_only=True)
                violations += self._overlaps(spec)
                violations += self._unique_surrogates(spec)
        return checked, violations

    def _duplicates(self, spec: TableSpec, current_only: bool) -> list[Violation]:
        keys = ", ".join(self.q(k) for k in spec.keys)
        where = f"WHERE {self.q(IS_CURRENT)}" if current_only else ""
        rows = self.engine.sql(
            f"SELECT {keys}, count(*) AS n FROM t {where} GROUP BY {keys} HAVING count(*) > 1 LIMIT 20",
            {"t": self.engine.dataset(spec.ref)},
        ).to_pylist()
        rule = "one current row per key" if current_only else "one row per key"
        return [Violation(str(spec.ref), rule, f"key {_key(row, spec)} has {row['n']} rows") for row in rows]

    def _overlaps(self, spec: TableSpec) -> list[Violation]:
        keys = ", ".join(self.q(k) for k in spec.keys)
        start, end, current = self.q(START_DATE), self.q(END_DATE), self.q(IS_CURRENT)
        rows = self.engine.sql(
            f"""SELECT {keys}, {start} AS s, {end} AS e, {current} AS c, next_start FROM (
                  SELECT *, lead({start}) OVER (PARTITION BY {keys} ORDER BY {start}, {self.q(spec.surrogate_key)})
                         AS next_start FROM t) x
                WHERE (next_start IS NOT NULL AND ({end} IS NULL OR {end} > next_start))
                   OR (next_start IS NULL AND NOT {current})
                   OR ({current} AND {end} IS NOT NULL)
                   OR ({end} IS NOT NULL AND {end} < {start})
                LIMIT 20""",
            {"t": self.engine.dataset(spec.ref)},
        ).to_pylist()
        return [
            Violation(str(spec.ref), "intervals do not overlap",
                      f"key {_key(row, spec)}: [{row['s']}, {row['e']}) current={row['c']} next starts {row['next_start']}")
            for row in rows
        ]

    def _point_in_time_links(self, spec: TableSpec) -> list[Violation]:
        """Every fact row with a member key links to that member's version valid at the row's date."""
        from lakehouse.kinds.fact.options import FactRules

        rules = FactRules.of(spec)
        lookup = rules.dimension
        by_expression = {column.expression: column.name for column in rules.columns}
        member = by_expression.get(f"h.{lookup.fact_key}")
        as_of = by_expression.get(f"h.{lookup.as_of}")
        if member is None or as_of is None or self.engine.delta_table(lookup.table) is None:
            return []
        q = self.q
        keys = ", ".join(f"f.{q(k)}" for k in spec.keys)
        at = f"CAST(f.{q(as_of)} AS TIMESTAMPTZ)"
        rows = self.engine.sql(
            f"""SELECT {keys}, f.{q(member)} AS member, f.{q(as_of)} AS at, f.{q(lookup.output)} AS linked,
                       d.{q(lookup.business_key)} AS linked_member, d.{q(START_DATE)} AS s, d.{q(END_DATE)} AS e
                FROM f LEFT JOIN d ON d.{q(lookup.surrogate_key)} = f.{q(lookup.output)}
                WHERE f.{q(member)} IS NOT NULL
                  AND (d.{q(lookup.surrogate_key)} IS NULL OR d.{q(lookup.business_key)} <> f.{q(member)}
                       OR d.{q(START_DATE)} > {at} OR (d.{q(END_DATE)} IS NOT NULL AND {at} >= d.{q(END_DATE)}))
                LIMIT 20""",
            {"f": self.engine.dataset(spec.ref), "d": self.engine.dataset(lookup.table)},
        ).to_pylist()
        return [
            Violation(str(spec.ref), "point-in-time dimension key",
                      f"key {_key(row, spec)}: {lookup.output}={row['linked']} for {member}={row['member']} at "
                      f"{row['at']}, but that version is member {row['linked_member']} valid [{row['s']}, {row['e']})")
            for row in rows
        ]

    def _unique_surrogates(self, spec: TableSpec) -> list[Violation]:
        sk = self.q(spec.surrogate_key)
        rows = self.engine.sql(
            f"SELECT {sk} AS id, count(*) AS n FROM t GROUP BY {sk} HAVING count(*) > 1 LIMIT 20",
            {"t": self.engine.dataset(spec.ref)},
        ).to_pylist()
        return [Violation(str(spec.ref), "surrogate key unique", f"{spec.surrogate_key}={r['id']} used {r['n']} times")
                for r in rows]

    def _bronze_matches_landing(self, spec: TableSpec) -> list[Violation]:
        landed = self.checkpoints(spec).landed_records()
        in_table = {
            row["f"]: row["n"]
            for row in self.engine.sql(
                'SELECT source_filename AS f, count(*) AS n FROM t GROUP BY source_filename',
                {"t": self.engine.dataset(spec.ref)},
            ).to_pylist()
        }
        violations = []
        for uri, count in sorted(landed.items()):
            if count >= 0 and in_table.get(uri, 0) != count:
                violations.append(Violation(str(spec.ref), "bronze rows equal rows landed",
                                            f"{uri}: {count} record(s) landed, {in_table.get(uri, 0)} in the table"))
        for uri in sorted(set(in_table) - set(landed)):
            violations.append(Violation(str(spec.ref), "bronze rows equal rows landed",
                                        f"{uri}: {in_table[uri]} row(s) in the table from a file no batch planned"))
        return violations

    def count_records(self, spec: TableSpec, current: FileInfo) -> int:
        """The records a landed file holds, as the embedded reader counts them."""
        assert spec.source is not None
        raw = read_csv_text(current, self.storage.read_bytes(current.uri), spec.source.delimiter)
        return 0 if raw is None else raw.rows.num_rows

    # -- time travel and SQL -------------------------------------------------------------------
    def read(self, name: str, *, version: int | None = None, timestamp: str | None = None) -> pa.Table:
        return self.engine.read_table(TableRef.parse(name), version=version, timestamp=timestamp)

    def sql(self, query: str, as_of: dict[str, str] | None = None) -> pa.Table:
        """Run DuckDB SQL where every pipeline table is visible as schema.table (at a version if asked)."""
        as_of = as_of or {}
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        for name in as_of:
            if not _TABLE_NAME.match(name):
                raise ConfigError(f"'{name}' is not a table name of the form schema.table.")
        for schema in ("bronze", "silver", "gold"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {self.q(schema)}")
        for ref in self._existing_tables():
            point = as_of.get(str(ref))
            version = int(point) if point is not None and point.isdigit() else None
            table = self.engine.delta_table(ref) if point is None else self.engine.fresh_delta_table(ref)
            if table is None:
                continue
            if point is not None:
                table.load_as_version(version if version is not None else point)
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {self.q(ref.schema)}")
            view = f"__{ref.schema}_{ref.name}"
            con.register(view, table.to_pyarrow_dataset())
            con.execute(f"CREATE VIEW {self.q(ref.schema)}.{self.q(ref.name)} AS SELECT * FROM {self.q(view)}")
        try:
            return con.sql(query).to_arrow_table()
        except duckdb.Error as exc:
            available = ", ".join(str(r) for r in self._existing_tables()) or "none yet (run the pipeline first)"
            raise LakehouseError(f"The query failed: {exc}", hint=f"tables available: {available}") from exc

    def _existing_tables(self) -> list[TableRef]:
        from lakehouse.spec import PIPELINES

        refs = {spec.ref for pipeline in PIPELINES.values() for spec in pipeline.tables}
        return sorted((r for r in refs if self.engine.delta_table(r) is not None), key=str)


def _key(row: dict[str, Any], spec: TableSpec) -> str:
    return ", ".join(f"{k}={row[k]!r}" for k in spec.keys)

