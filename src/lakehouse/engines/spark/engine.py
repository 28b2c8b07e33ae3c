"""The Spark engine: PySpark + delta-spark behind the same primitives as the embedded engine.

Batch logic comes from lakehouse.kinds in the SPARK dialect; this module only
reads and writes Delta. Every write carries the batch's app transaction (txnAppId/txnVersion), so
Delta itself also drops a replayed batch that already landed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lakehouse.core.config import Settings
from lakehouse.core.dialects import SPARK
from lakehouse.core.errors import LakehouseError
from lakehouse.core.merge_plan import (
    DELETION_VECTORS_PROPERTY,
    MergePlan,
    deletion_vectors_property,
    merges_on_read,
)
from lakehouse.core.optional import require
from lakehouse.core.storage import Storage
from lakehouse.engines.base import CHANGE_FEED_COLUMNS, Capabilities, EngineAdapter, Transaction
from lakehouse.engines.spark.databricks import UnityCatalogNames
from lakehouse.engines.spark.session import build_session
from lakehouse.engines.spark.tables import TableLocator, ddl_type
from lakehouse.spec.model import TableRef

TXN_APP_ID_CONF = "spark.databricks.delta.write.txnAppId"
TXN_VERSION_CONF = "spark.databricks.delta.write.txnVersion"
USER_METADATA_CONF = "spark.databricks.delta.commitInfo.userMetadata"
TABLE_DEFAULTS_PREFIX = "spark.databricks.delta.properties.defaults."


def merge_statement(target: str, source_view: str, plan: MergePlan) -> str:
    """SQL MERGE for a MergePlan (target alias t, source alias s)."""
    q = SPARK.quote
    update = ", ".join(f"t.{q(column)} = {value}" for column, value in plan.update_set.items())
    insert_columns = ", ".join(q(column) for column in plan.insert_values)
    insert_values = ", ".join(plan.insert_values.values())
    matched = f"WHEN MATCHED{f' AND ({plan.update_condition})' if plan.update_condition else ''} THEN UPDATE SET {update}"
    not_matched = (f"WHEN NOT MATCHED{f' AND ({plan.insert_condition})' if plan.insert_condition else ''} "
                   f"THEN INSERT ({insert_columns}) VALUES ({insert_values})")
    deleted = f"WHEN MATCHED AND ({plan.delete_condition}) THEN DELETE\n" if plan.delete_condition else ""
    return f"MERGE INTO {target} AS t\nUSING {source_view} AS s\nON {plan.on}\n{deleted}{matched}\n{not_matched}"


def table_default_confs(properties: dict[str, str]) -> dict[str, str]:
    """Table properties as session defaults, so the first append creates the table with them in one commit."""
    return {TABLE_DEFAULTS_PREFIX + key.removeprefix("delta."): value for key, value in properties.items()}


def commit_metadata(txn: Transaction) -> str:
    return json.dumps({"lakehouse.app_id": txn.app_id, "lakehouse.batch_id": txn.batch_id})


@contextmanager
def session_conf(spark: Any, confs: dict[str, str]) -> Iterator[None]:
    """Set runtime confs for one statement and restore the previous values after it."""
    previous = {key: spark.conf.get(key, None) for key in confs}
    for key, value in confs.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


class SparkEngine(EngineAdapter):
    name = "spark"
    dialect = SPARK
    capabilities = Capabilities(streaming=True, change_data_feed=True, app_transactions=True, time_travel=True)

    def __init__(self, settings: Settings, storage: Storage | None = None, spark: Any = None) -> None:
        require("pyspark")  # fail now, with the install hint, rather than at the first batch
        super().__init__(settings, storage)
        self.tables = TableLocator(settings, UnityCatalogNames.from_env())
        self._spark = spark

    @property
    def spark(self) -> Any:
        if self._spark is None:
            self._spark = build_session(self.settings)
        return self._spark

    @contextmanager
    def bound_to(self, session: Any) -> Iterator[None]:
        """Work in `session` for a while. A foreachBatch DataFrame belongs to the stream's own (cloned)
        session, and temp views and confs are per session, so a batch's reads, views and writes go there."""
        previous = self._spark
        self._spark = session
        try:
            yield
        finally:
            self._spark = previous

    # -- batch primitives -------------------------------------------------------------------
    def sql(self, query: str, views: dict[str, Any]) -> Any:
        session = self.spark
        for name, relation in views.items():
            relation.createOrReplaceTempView(name)
        try:
            # Analysis is eager: the result holds the views' plans, so dropping the names is safe.
            return session.sql(query)
        finally:
            for name in views:
                session.catalog.dropTempView(name)

    def row_count(self, relation: Any) -> int:
        count: int = relation.count()
        return count

    def computed(self, relation: Any) -> Any:
        """A local checkpoint: the rows are computed once into the executors' block store and the
        DataFrame's plan becomes a scan of them. Each step of a fact batch builds on the last, and a
        count of the last step re-analysed and re-ran every change feed read below it: a four-batch
        tpch test spent 685 s in that, most of it planning. The blocks go with the DataFrame."""
        return relation.localCheckpoint(eager=True)

    def column_names(self, relation: Any) -> list[str]:
        return list(relation.columns)

    def first_value(self, relation: Any) -> Any:
        return relation.first()[0]

    # -- Delta tables -------------------------------------------------------------------------
    def table_version(self, ref: TableRef) -> int | None:
        history = self._history_rows(ref, 1)
        return None if history is None else int(history[0]["version"])

    def _history_rows(self, ref: TableRef, limit: int) -> list[Any] | None:
        analysis_error = require("pyspark.errors").AnalysisException
        try:
            rows: list[Any] = self.spark.sql(f"DESCRIBE HISTORY {self.tables.sql_name(ref)} LIMIT {int(limit)}").collect()
            return rows
        except analysis_error as exc:
            if _is_missing_table(exc):
                return None
            raise

    def table_columns(self, ref: TableRef) -> list[tuple[str, str]]:
        return [(f.name, ddl_type(f.dataType)) for f in self.read_table(ref).schema.fields]

    def table_properties(self, ref: TableRef) -> dict[str, str]:
        rows = self.spark.sql(f"SHOW TBLPROPERTIES {self.tables.sql_name(ref)}").collect()
        return {row["key"]: row["value"] for row in rows}

    def delta_path(self, ref: TableRef) -> str:
        if self.tables.unity_catalog is None:
            return self.tables.path(ref)
        location: str = self.spark.sql(f"DESCRIBE DETAIL {self.tables.sql_name(ref)}").first()["location"]
        return location

    def transaction_version(self, ref: TableRef, app_id: str) -> int | None:
        """The latest batch id committed by `app_id`: the snapshot's txn actions, read through the
        DeltaLog class this runtime has (delta-spark's, or Databricks' tahoe one), by table name under
        Unity Catalog (which refuses path access to managed tables) and by path elsewhere. Where the
        JVM cannot be reached (Spark Connect, shared clusters), the commits' userMetadata in
        DESCRIBE HISTORY instead (see `history_transaction_version`)."""
        if self.table_version(ref) is None:
            return None
        if self.tables.unity_catalog is not None:
            table: TableName | str = TableName(self.tables.unity_catalog.catalog, ref.schema, ref.name)
        else:
            table = self.tables.path(ref)
        log_class = delta_log_class(self.spark)
        if log_class is None:
            return history_transaction_version(self._history_rows(ref, HISTORY_SCAN_LIMIT) or [], app_id)
        try:
            return snapshot_transaction_version(self.spark, log_class, table, app_id)
        except Exception as exc:  # py4j errors carry the JVM's message
            raise LakehouseError(
                f"Cannot read the app transactions of {ref} from its Delta log: {exc}",
                hint="this uses the DeltaLog JVM API (delta-spark 4.0.x is tested); check the Delta version",
            ) from exc

    def already_committed(self, ref: TableRef, txn: Transaction) -> bool:
        landed = self.transaction_version(ref, txn.app_id)
        return landed is not None and landed >= txn.batch_id

    def append(self, ref: TableRef, data: Any, txn: Transaction, *, properties: dict[str, str],
               evolve_schema: bool) -> None:
        writer = (
            data.write.format("delta").mode("append")
            .option("txnAppId", txn.app_id).option("txnVersion", txn.batch_id)
            .option("userMetadata", commit_metadata(txn))
            .option("mergeSchema", str(evolve_schema).lower())
        )
        creating = self.table_version(ref) is None
        with session_conf(self.spark, table_default_confs(properties) if creating else {}):
            self.tables.write(writer, ref)

    def merge(self, ref: TableRef, source: Any, plan: MergePlan, txn: Transaction, *, evolve_schema: bool) -> None:
        session = self.spark
        if evolve_schema:
            self._add_missing_columns(ref, source, plan)
        self._switch_deletion_vectors(ref, plan)
        view = f"lakehouse_merge_source_{uuid.uuid4().hex}"
        source.createOrReplaceTempView(view)
        confs = {TXN_APP_ID_CONF: txn.app_id, TXN_VERSION_CONF: str(txn.batch_id),
                 USER_METADATA_CONF: commit_metadata(txn)}
        try:
            with session_conf(session, confs):
                session.sql(merge_statement(self.tables.sql_name(ref), view, plan))
        finally:
            session.catalog.dropTempView(view)

    def _switch_deletion_vectors(self, ref: TableRef, plan: MergePlan) -> None:
        """delta-spark's MERGE writes deletion vectors exactly where the table's property is true, so
        the property is set to what merges_on_read decides, in its own commit before the MERGE (not
        under the batch's app transaction). With neither an option nor the default on, the property
        alone decides and nothing can change: its read is skipped."""
        default = self.default_merge_on_read()
        if plan.deletion_vectors is None and not default:
            return
        properties = self.table_properties(ref)
        wanted = merges_on_read(plan, properties, default)
        if wanted == bool(deletion_vectors_property(properties)):
            return
        setting = f"{SPARK.literal(DELETION_VECTORS_PROPERTY)} = {SPARK.literal(str(wanted).lower())}"
        self.spark.sql(f"ALTER TABLE {self.tables.sql_name(ref)} SET TBLPROPERTIES ({setting})")

    def _add_missing_columns(self, ref: TableRef, source: Any, plan: MergePlan) -> None:
        """New source columns the plan writes are added first: explicit MERGE assignments do not evolve."""
        existing = {name.lower() for name, _ in self.table_columns(ref)}
        source_types = {f.name: ddl_type(f.dataType) for f in source.schema.fields}
        written = list(plan.insert_values) + [c for c in plan.update_set if c not in plan.insert_values]
        missing = [c for c in written if c.lower() not in existing and c in source_types]
        if missing:
            columns = ", ".join(f"{SPARK.quote(c)} {SPARK.sql_type(source_types[c])}" for c in missing)
            self.spark.sql(f"ALTER TABLE {self.tables.sql_name(ref)} ADD COLUMNS ({columns})")

    def read_changes(
        self, ref: TableRef, start_version: int, end_version: int, columns: Sequence[str] | None = None
    ) -> Any:
        reader = (self.spark.read.option("readChangeFeed", "true")
                  .option("startingVersion", start_version).option("endingVersion", end_version))
        frame = self.tables.read(reader, ref)
        if columns is None:
            return frame
        wanted = list(dict.fromkeys([*columns, *CHANGE_FEED_COLUMNS]))
        return frame.select(*[frame[c] for c in wanted])

    def read_table(self, ref: TableRef, *, version: int | None = None, timestamp: str | None = None,
                   columns: Sequence[str] | None = None) -> Any:
        reader = self.spark.read
        if version is not None:
            reader = reader.option("versionAsOf", version)
        elif timestamp is not None:
            reader = reader.option("timestampAsOf", timestamp)
        frame = self.tables.read(reader, ref)
        return frame.select(*[frame[c] for c in columns]) if columns else frame

    def drop_table(self, ref: TableRef) -> bool:
        if self.tables.unity_catalog is not None:
            existed = self.table_version(ref) is not None
            self.spark.sql(f"DROP TABLE IF EXISTS {self.tables.sql_name(ref)}")
            return existed
        return self.storage.delete_tree(self.settings.table_uri(ref.schema, ref.name))

    def history(self, ref: TableRef, limit: int = 20) -> list[dict[str, Any]]:
        rows = self._history_rows(ref, limit)
        if rows is None:
            raise LakehouseError(f"Table {ref} does not exist at {self.tables.path(ref)}.",
                                 hint="run the pipeline first: lakehouse run --pipeline customer")
        return [row.asDict(recursive=True) for row in rows]

    def optimize(self, ref: TableRef, *, min_deleted_share: float) -> dict[str, Any]:
        """delta-spark's `REORG TABLE ... APPLY (PURGE)`: rewrites every file with a deletion vector
        (and any with dropped columns) without its deleted rows. It takes no threshold (its OPTIMIZE
        runs with maxDeletedRowsRatio 0), so `min_deleted_share` is reported, not applied."""
        before = self.table_version(ref)
        if before is None:
            raise LakehouseError(f"Table {ref} does not exist at {self.tables.path(ref)}.",
                                 hint="run the pipeline first: lakehouse run --pipeline customer")
        self.spark.sql(f"REORG TABLE {self.tables.sql_name(ref)} APPLY (PURGE)")
        latest = (self._history_rows(ref, 1) or [None])[0]
        # With no file to purge, REORG commits nothing and the latest commit is an older one.
        if latest is None or int(latest["version"]) == before:
            return {"ref": str(ref), "version": None, "operation": "REORG", "min_deleted_share": min_deleted_share,
                    "threshold_applied": False, "files_rewritten": 0, "metrics": {}}
        metrics = {key: int(value) for key, value in (latest["operationMetrics"] or {}).items()
                   if str(value).lstrip("-").isdigit()}
        return {"ref": str(ref), "version": int(latest["version"]), "operation": latest["operation"],
                "min_deleted_share": min_deleted_share, "threshold_applied": False,
                "files_rewritten": metrics.get("numRemovedFiles", 0), "metrics": metrics}


# The DeltaLog class: open-source delta-spark first, then Databricks Runtime's (which has no
# org.apache.spark.sql.delta classes).
DELTA_LOG_CLASSES = ("org.apache.spark.sql.delta.DeltaLog", "com.databricks.sql.transaction.tahoe.DeltaLog")
# How many commits the DESCRIBE HISTORY fallback looks back over.
HISTORY_SCAN_LIMIT = 1000


@dataclass(frozen=True)
class TableName:
    """A catalog table (Unity Catalog three-level name), as opposed to a Delta path."""

    catalog: str | None
    schema: str
    table: str


def java_class(jvm: Any, name: str) -> Any | None:
    """The py4j JavaClass for `name`, or None when no such class loads (py4j then hands back a package)."""
    loaded = require("py4j.java_gateway").JavaClass  # py4j ships no type information
    node = jvm
    for part in name.split("."):
        node = getattr(node, part)
    return node if isinstance(node, loaded) else None


def delta_log_class(spark: Any, names: Sequence[str] = DELTA_LOG_CLASSES) -> Any | None:
    """The first of `names` this session's JVM has; None without a reachable JVM (Spark Connect)."""
    jvm = getattr(spark, "_jvm", None)
    if jvm is None:
        return None
    for name in names:
        found = java_class(jvm, name)
        if found is not None:
            return found
    return None


def table_identifier(jvm: Any, table: TableName) -> Any:
    """A Catalyst TableIdentifier(table, Some(schema), Some(catalog))."""
    some = jvm.scala.Some
    catalog = some(table.catalog) if table.catalog else jvm.scala.Option.empty()
    return jvm.org.apache.spark.sql.catalyst.TableIdentifier(table.table, some(table.schema), catalog)


def snapshot_transaction_version(spark: Any, log_class: Any, table: TableName | str, app_id: str) -> int | None:
    """`app_id`'s latest txn version in the table's current snapshot (None: it never committed)."""
    jvm = spark._jvm
    target = table_identifier(jvm, table) if isinstance(table, TableName) else table
    pair = log_class.forTableWithSnapshot(spark._jsparkSession, target)
    landed = pair._2().transactions().get(app_id)
    return int(landed.get()) if landed.isDefined() else None


def history_transaction_version(history: Sequence[Any], app_id: str) -> int | None:
    """The highest batch id `app_id` put in a commit's userMetadata (our `commit_metadata`), over the
    retained history rows given. Only our Spark commits carry it (delta-rs writes its metadata
    elsewhere), and only retained history is seen: a fallback, since Delta's own txnAppId/txnVersion
    on every write still drops a replayed batch."""
    best: int | None = None
    for row in history:
        text = row["userMetadata"]
        if not text:
            continue
        try:
            meta = json.loads(text)
        except ValueError:
            continue
        if isinstance(meta, dict) and meta.get("lakehouse.app_id") == app_id:
            batch = int(meta["lakehouse.batch_id"])
            best = batch if best is None else max(best, batch)
    return best


def _is_missing_table(exc: Exception) -> bool:
    text = str(exc)
    markers = ("DELTA_MISSING_DELTA_TABLE", "is not a Delta table", "PATH_NOT_FOUND", "Path does not exist",
               "TABLE_OR_VIEW_NOT_FOUND", "DELTA_TABLE_NOT_FOUND", "doesn't exist")
    return any(marker in text for marker in markers)
