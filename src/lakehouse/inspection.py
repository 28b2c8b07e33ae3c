"""Looking at the tables: status, invariants, time travel and SQL. Works on any engine's tables,
since every table is a plain Delta table (read here with delta-rs and DuckDB)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote, urlsplit

import duckdb
import pyarrow as pa

from lakehouse.checkpoints import CheckpointLog, table_engine
from lakehouse.config import Settings
from lakehouse.engines.embedded import intake
from lakehouse.engines.embedded.csv_reader import read_csv_text
from lakehouse.engines.embedded.engine import EmbeddedEngine
from lakehouse.errors import ConfigError, InputFileError, LakehouseError, SchemaEvolutionError
from lakehouse.spec.model import END_DATE, IS_CURRENT, Kind, Pipeline, START_DATE, TableRef, TableSpec
from lakehouse.storage import FileInfo, Storage
from lakehouse.strategies.sql import DUCKDB

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
    def checkpoints(self, spec: TableSpec) -> "CheckpointView":
        """The view of the checkpoints of the engine that wrote the table (lakehouse.checkpoints.table_engine)."""
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
        from lakehouse.spec.fact import fact_rules

        rules = fact_rules(spec)
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


class CheckpointView:
    """What `status` and `validate` need from one engine's checkpoints of one table.

    - last_batch: the last committed batch ({"batch_id": N, ...what the engine recorded about it}) or None;
    - upstream_version_done: the last upstream version a change-fed table has read (-1: none);
    - discover_files: a bronze table's landed files still to ingest, quarantined and re-uploaded;
    - landed_records: per file a committed batch took, the records it holds (-1: cannot be recounted).
    """

    def __init__(self, inspector: Inspector, spec: TableSpec, root: str, engine: str | None) -> None:
        self.inspector = inspector
        self.storage = inspector.storage
        self.settings = inspector.settings
        self.spec = spec
        self.root = root
        self.engine = engine

    def last_batch(self) -> dict[str, Any] | None:
        raise NotImplementedError

    def upstream_version_done(self) -> int:
        raise NotImplementedError

    def discover_files(self) -> intake.Discovery:
        raise NotImplementedError

    def landed_records(self) -> dict[str, int]:
        raise NotImplementedError

    def _landed(self) -> list[FileInfo]:
        assert self.spec.source is not None
        return self.storage.list_files(self.settings.landing_uri(self.spec.source.folder))


class EmbeddedCheckpoints(CheckpointView):
    """The embedded driver's offset log in the checkpoint root: offsets/N, commits/N (with the batch's
    summary), outcomes/N per bronze batch."""

    def log(self) -> CheckpointLog:
        return CheckpointLog(self.storage, self.root)

    def last_batch(self) -> dict[str, Any] | None:
        log = self.log()
        last = log.last_committed()
        if last is None:
            return None
        return {"batch_id": last.batch_id, **dict(log.committed_summaries()).get(last.batch_id, {})}

    def upstream_version_done(self) -> int:
        last = self.log().last_committed()
        return -1 if last is None else last.payload["end_version"]

    def discover_files(self) -> intake.Discovery:
        return intake.discover(self._landed(), intake.ledger(self.log()))

    def landed_records(self) -> dict[str, int]:
        landed: dict[str, int] = {}
        for record in intake.ledger(self.log()).values():
            if record.status == intake.PLANNED:
                continue
            current = self.storage.file_info(record.uri)
            if record.status != intake.INGESTED or current is None or not record.same_as(current):
                # Quarantined, deferred or empty: no rows; deleted or re-uploaded since: cannot be recounted.
                landed[record.uri] = 0 if record.status != intake.INGESTED else -1
                continue
            landed[record.uri] = self.inspector.count_records(self.spec, current)
        return landed


class SparkCheckpoints(CheckpointView):
    """The Spark driver's checkpoints under `<root>/spark/` (engines/spark/streams.py):

    - a streaming flow's Structured Streaming checkpoint `spark/<flow>/`: `offsets/N` (three lines:
      `v1`, the batch metadata, one line per source with its offset), `commits/N` once batch N
      committed; bronze's flow `files` also keeps the file source's log `sources/0/N` (and every
      tenth batch a `N.compact`), one JSON line per file taken ({"path", "timestamp", "batchId"});
      a change-fed flow, named after its upstream, holds a Delta source offset
      ({"reservoirVersion": V, "index": -1, ...}: every version before V was read);
    - the fact's offset log `spark/inputs/` (lakehouse.checkpoints.CheckpointLog, as the embedded one).
    """

    def flow_root(self) -> str:
        if self.spec.kind is Kind.FACT:
            return f"{self.root}/spark/inputs"
        if self.spec.kind is Kind.APPEND_INGEST:
            autoloader = f"{self.root}/spark/autoloader"
            return autoloader if self.storage.exists(autoloader) else f"{self.root}/spark/files"
        return f"{self.root}/spark/{self.spec.upstream[0]}"

    def _ids(self, folder: str) -> list[int]:
        return sorted(int(info.name) for info in self.storage.list_files(f"{self.flow_root()}/{folder}",
                                                                         recursive=False)
                      if info.name.isdigit())

    def _last_committed(self) -> int | None:
        ids = self._ids("commits")
        return ids[-1] if ids else None

    def _offsets(self, batch_id: int) -> list[dict[str, Any]]:
        """The source offsets of batch N (one per source, after the version and metadata lines)."""
        text = self.storage.read_text(f"{self.flow_root()}/offsets/{batch_id}")
        return [json.loads(line) if line.strip() not in ("", "-") else {} for line in text.splitlines()[2:]]

    def last_batch(self) -> dict[str, Any] | None:
        if self.spec.kind is Kind.FACT:
            return EmbeddedCheckpoints(self.inspector, self.spec, self.flow_root(), self.engine).last_batch()
        last = self._last_committed()
        if last is None:
            return None
        entry: dict[str, Any] = {"batch_id": last}
        if self.spec.kind is Kind.APPEND_INGEST:
            entry["files"] = sum(1 for batch, _ in self._files_taken().values() if batch == last)
        else:
            entry["upstream_version"] = self.upstream_version_done()
        return entry

    def upstream_version_done(self) -> int:
        if self.spec.kind is Kind.FACT:
            return EmbeddedCheckpoints(self.inspector, self.spec, self.flow_root(), self.engine).upstream_version_done()
        last = self._last_committed()
        if last is None:
            return -1
        offsets = self._offsets(last)
        offset = offsets[0] if offsets else {}
        if "reservoirVersion" not in offset:
            return -1
        version, index = int(offset["reservoirVersion"]), int(offset.get("index", -1))
        # index -1: version V not started; Delta's end-of-version index (near Long.MAX): V fully read;
        # any other index: V partly read.
        return version if index >= 2 ** 62 else version - 1

    def _files_taken(self) -> dict[str, tuple[int, int]]:
        """uri -> (the batch that took it, its modification time in ms then), from the file source's
        log; entries of committed batches only."""
        folder = f"{self.flow_root()}/sources/0"
        infos = self.storage.list_files(folder, recursive=False)
        names = sorted((info for info in infos if info.name.removesuffix(".compact").isdigit()),
                       key=lambda info: int(info.name.removesuffix(".compact")))
        # A N.compact holds every entry up to batch N: start from the newest one.
        compacts = [i for i, info in enumerate(names) if info.name.endswith(".compact")]
        if compacts:
            names = names[compacts[-1]:]
        last = self._last_committed()
        taken: dict[str, tuple[int, int]] = {}
        for info in names:
            for line in self.storage.read_text(info.uri).splitlines()[1:]:
                if not line.strip():
                    continue
                entry = json.loads(line)
                batch = int(entry.get("batchId", -1))
                if last is not None and batch <= last:
                    taken[_location(entry["path"])] = (batch, int(entry.get("timestamp", -1)))
        return taken

    def discover_files(self) -> intake.Discovery:
        """Spark keeps no record of files it could not read (its batch reports them), so nothing is
        listed as quarantined; a file taken is done."""
        taken = self._files_taken() if self.storage.exists(f"{self.flow_root()}/sources") else {}
        return intake.Discovery(pending=[info for info in self._landed() if info.uri not in taken])

    def landed_records(self) -> dict[str, int]:
        landed: dict[str, int] = {}
        for uri, (_, taken_ms) in self._files_taken().items():
            current = self.storage.file_info(uri)
            if current is None or _milliseconds(current.modified) != taken_ms:
                landed[uri] = -1  # deleted or re-uploaded since: cannot be recounted
                continue
            try:
                landed[uri] = self.inspector.count_records(self.spec, current)
            except (InputFileError, SchemaEvolutionError):
                landed[uri] = 0  # the batch could not read it either: no rows
        return landed


def _milliseconds(moment: datetime) -> int:
    """A modification time as Hadoop's file status gives it (whole milliseconds since the epoch)."""
    return (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(milliseconds=1)


def _location(path: str) -> str:
    """A path in Spark's checkpoint (file:/..., s3a://...) in our location form (local path, s3://...)."""
    if path.startswith(("s3a://", "s3n://")):
        return "s3://" + path.split("://", 1)[1]
    if path.startswith("file:"):
        return unquote(urlsplit(path).path)
    return path


def _key(row: dict[str, Any], spec: TableSpec) -> str:
    return ", ".join(f"{k}={row[k]!r}" for k in spec.keys)

