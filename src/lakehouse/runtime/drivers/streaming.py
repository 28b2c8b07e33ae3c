"""The Spark driver: one Structured Streaming query per flow, foreachBatch into the shared strategies.

- bronze: a binaryFile stream lists landed files (no content is read) and keeps the exactly-once
  record of which files were taken; foreachBatch reads them with the source format's reader
  (sources.registry) by the bronze rules (sources.bronze_rules: the stored schema inferred once,
  evolved by mode) and runs AppendIngest. On Databricks, Auto Loader instead.
- silver: bronze's change feed (a plain Delta stream when bronze has none) -> Scd1Upsert.
- gold dimension: its upstream's change feed -> Scd2FromChanges (gold.dim_customer reads bronze's feed:
  with effective time every event is needed, see docs/sales.md).
- gold fact: not a stream. Three change feeds do not join into one foreachBatch, so each run plans
  one batch as a version range per input in an offset log (lakehouse.runtime.fact_inputs, shared with the
  embedded driver) and reads each range with a batch `readChangeFeed`: availableNow semantics.
Checkpoints: <warehouse>/_checkpoints/<schema>/<table>/spark/<flow>/, the stored schemas in
.../spark/schemas/. Spark's batch id is the app transaction's version, so a batch replayed after a
crash commits nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lakehouse.core.change_feed import CHANGE_TYPE, COMMIT_VERSION
from lakehouse.core.checkpoints import CheckpointLog
from lakehouse.core.errors import ConfigError, LakehouseError
from lakehouse.core.faults import crashpoint
from lakehouse.core.optional import require
from lakehouse.engines.base import EngineAdapter, Transaction
from lakehouse.engines.spark.databricks import auto_loader_stream, on_databricks
from lakehouse.engines.spark.engine import SparkEngine
from lakehouse.engines.spark.session import spark_location
from lakehouse.kinds.base import BatchResult, Reads, app_id, landed_replay, now_iso, table_properties
from lakehouse.kinds.expectations.ingest import screened_ingest
from lakehouse.kinds.expectations.screen import screened
from lakehouse.kinds.registry import STRATEGIES, change_types_of, reads_of, requires_upstream_feed
from lakehouse.runtime import fact_inputs
from lakehouse.runtime.events import NO_EVENTS, EventLog
from lakehouse.sources import ledger
from lakehouse.sources.bronze_rules import read_batch
from lakehouse.sources.file_names import landed_data_files
from lakehouse.sources.registry import spark_reader
from lakehouse.sources.schema_store import SchemaStore
from lakehouse.sources.spark_files import BINARY_FILE_SCHEMA, landed_files, wait_for_settled
from lakehouse.spec.model import (
    DATE_ADDED,
    SOURCE_FILE_MODIFIED,
    SOURCE_FILENAME,
    SOURCE_ROW,
    Kind,
    TableSpec,
)

Progress = Callable[[str], None]
# A Delta stream stops when its source table's schema changes under it (a new column landed in bronze
# while silver's query ran: Delta's retryable DELTA_SCHEMA_CHANGED* errors); a restarted query reads
# the new schema. Bounded, so a change no restart can read (a type change) still fails the run.
SCHEMA_CHANGE_RESTARTS = 2


def source_schema_changed(exc: BaseException) -> bool:
    """Whether a failed query stopped because its Delta source's schema changed (a restart picks it up).
    Looks through the causes: our LakehouseError wraps py4j's StreamingQueryException."""
    current: BaseException | None = exc
    while current is not None:
        if "DELTA_SCHEMA_CHANGED" in str(current):
            return True
        current = current.__cause__
    return False


def spark_engine(engine: EngineAdapter) -> SparkEngine:
    """`engine` as the SparkEngine this driver runs Structured Streaming on."""
    if not isinstance(engine, SparkEngine):
        raise ConfigError(
            f"The '{engine.name}' engine says it streams (capability streaming), but the only streaming "
            "driver runs Structured Streaming on the Spark engine.",
            hint="give the engine streaming=False to run it with the batch driver, or add a streaming driver for it",
        )
    return engine


@dataclass(frozen=True)
class Flow:
    name: str  # the checkpoint folder under .../spark/
    stream: Any  # the streaming DataFrame
    handle: Callable[[Any, int], BatchResult]  # foreachBatch body


class SparkDriver:
    def __init__(self, engine: SparkEngine, progress: Progress | None = None, *,
                 processing_time: str | None = None, events: EventLog | None = None) -> None:
        self.engine = engine
        self.events = events or NO_EVENTS
        self.settings = engine.settings
        self.storage = engine.storage
        self.progress = progress or (lambda message: None)
        # None: trigger(availableNow=True), process what is there and stop; else e.g. "10 seconds".
        self.processing_time = processing_time

    @property
    def spark(self) -> Any:
        return self.engine.spark

    def checkpoint_root(self, spec: TableSpec) -> str:
        """Our location form (for Storage); Spark gets spark_location() of it."""
        return f"{self.settings.checkpoint_uri(spec.ref.schema, spec.ref.name)}/spark"

    def run_table(self, spec: TableSpec) -> list[BatchResult]:
        if reads_of(spec.kind) is Reads.CHANGE_FEEDS:
            return self.run_multi_input(spec)
        results: list[BatchResult] = []
        restarts = 0
        while True:
            try:
                self._run_query(spec, results)
                return results
            except LakehouseError as exc:
                if restarts == SCHEMA_CHANGE_RESTARTS or not source_schema_changed(exc):
                    raise
                restarts += 1
                # A new DataFrame reads the upstream's new schema; the checkpoint resumes where it stopped.
                self.progress(f"{spec.ref}: the upstream's schema changed while the query ran; restarting it")

    def _run_query(self, spec: TableSpec, results: list[BatchResult]) -> None:
        flow = self.flow(spec)
        if flow is None:
            return
        failure: list[BaseException] = []

        def on_batch(batch: Any, batch_id: int) -> None:
            try:
                # Spark plans the micro-batch's offsets itself: the input named is the flow it reads.
                with self.events.batch(str(spec.ref), batch_id, flow.name) as event:
                    with self.engine.bound_to(batch.sparkSession):
                        result = event.result = flow.handle(batch, batch_id)
                    results.append(result)
                    self.progress(f"{spec.ref}: batch {batch_id}: {result.rows_written} row(s) written"
                                  + (" (already landed: replay skipped)" if result.skipped_as_replay else ""))
                    crashpoint(f"{spec.ref}:after-commit")
            except BaseException as exc:  # kept, so the caller sees our error rather than py4j's wrapper
                failure.append(exc)
                raise

        writer = (flow.stream.writeStream.queryName(f"lakehouse_{spec.ref.schema}_{spec.ref.name}")
                  .option("checkpointLocation", spark_location(f"{self.checkpoint_root(spec)}/{flow.name}"))
                  .foreachBatch(on_batch))
        writer = (writer.trigger(processingTime=self.processing_time) if self.processing_time
                  else writer.trigger(availableNow=True))
        query = writer.start()
        try:
            query.awaitTermination()
        except Exception as exc:
            if failure:
                raise failure[0] from exc
            raise LakehouseError(f"{spec.ref}: the streaming query failed: {exc}") from exc
        crashpoint(f"{spec.ref}:after-checkpoint")

    def flow(self, spec: TableSpec) -> Flow | None:
        reads = reads_of(spec.kind)
        if reads is Reads.LANDED_FILES:
            return self._bronze_flow(spec)
        if reads is Reads.CHANGE_FEED:
            return self._change_flow(spec)
        raise LakehouseError(
            f"{spec.ref}: kind '{spec.kind.value}' is not a streaming flow on Spark.",
            hint="run it with SparkDriver.run_table, which plans multi-input flows as batches",
        )

    # -- bronze -------------------------------------------------------------------------------
    def _bronze_flow(self, spec: TableSpec) -> Flow | None:
        source = spec.source
        assert source is not None
        landing = self.settings.landing_uri(source.folder)
        if on_databricks():
            stream = auto_loader_stream(self.spark, source, spark_location(landing),
                                        spark_location(f"{self.checkpoint_root(spec)}/autoloader_schema"),
                                        self.settings.max_files_per_batch)
            return Flow("autoloader", stream, lambda batch, batch_id: self._auto_loader_batch(spec, batch, batch_id))
        landed = landed_data_files(self.storage.list_files(landing), landing)
        if not landed:
            self.progress(f"{spec.ref}: no files in {landing} yet")
            return None
        settle = self.settings.landing_settle_seconds
        for info in wait_for_settled(lambda: landed_data_files(self.storage.list_files(landing), landing), settle):
            self.progress(f"{spec.ref}: WARNING {info.uri} was modified less than {settle:g} s ago and may still be "
                          "being written; Spark's file stream takes it now, once (write landed files under a "
                          "temporary name such as '.name' or 'name.tmp' and rename them when whole)")
        for info, record in ledger.discover_taken(landed, ledger.spark_outcomes(self.schema_store_log(spec)),
                                                  set()).overwritten:
            self.progress(f"{spec.ref}: WARNING {info.uri} was quarantined by batch {record.batch_id} and has "
                          "changed since; Spark's file stream takes each file name once, so it is NOT read "
                          "again: land the fixed file under a new name.")
        stream = (self.spark.readStream.format("binaryFile").schema(BINARY_FILE_SCHEMA)
                  .option("maxFilesPerTrigger", self.settings.max_files_per_batch)
                  .load(spark_location(landing))
                  .select("path", "modificationTime", "length"))
        return Flow("files", stream, lambda batch, batch_id: self._bronze_batch(spec, batch, batch_id))

    def schema_store_log(self, spec: TableSpec) -> CheckpointLog:
        """<checkpoint>/spark: the stored schemas (schemas/) and the bronze batches' outcomes (outcomes/N)."""
        return CheckpointLog(self.storage, self.checkpoint_root(spec))

    def schema_store(self, spec: TableSpec) -> SchemaStore:
        return SchemaStore(self.schema_store_log(spec))

    def _bronze_batch(self, spec: TableSpec, batch: Any, batch_id: int) -> BatchResult:
        source = spec.source
        assert source is not None
        if landed_replay(self.engine, spec, batch_id):
            # Landed before a crash: do not read (or re-infer from) the files again.
            return BatchResult(str(spec.ref), batch_id, skipped_as_replay=True)
        landing = self.settings.landing_uri(source.folder)
        listed = {info.uri: info for info in self.storage.list_files(landing)}
        # Spark's file source skips '_' and '.' names itself, not temporary suffixes such as .tmp.
        files = landed_data_files(landed_files(batch.collect(), listed), landing)
        schemas = self.schema_store(spec)
        raw = read_batch(spark_reader(source, self.engine.spark), files, source, schemas.latest(),
                         schemas.save, lambda message: self.progress(f"{spec.ref}: {message}"))
        # Written before the Delta commit, as the embedded driver does: run and status name the files
        # quarantined from it (Spark's own log says only that each file was taken).
        by_uri = {file.uri: file for file in files}
        ledger.write_outcomes(self.schema_store_log(spec), batch_id, [
            ledger.FileRecord(o.uri, by_uri[o.uri].size, by_uri[o.uri].modified.isoformat(), batch_id, o.status,
                              o.reason)
            for o in raw.outcomes if o.uri in by_uri
        ])
        for note in raw.notes:
            self.progress(f"{spec.ref}: {note}")
        details = {"files": len(files), "notes": raw.notes, "failed_files": raw.failed_files}
        if raw.raw is None or raw.schema is None:
            result = BatchResult(str(spec.ref), batch_id)
            result.details.update(details)
            return result
        rows = raw.raw.persist()
        try:
            result = screened_ingest(self.engine, spec, batch_id, rows, raw.schema.columns, raw.extra_columns)
        finally:
            rows.unpersist()
        result.details.update({**details, "schema_version": raw.schema.version})
        return result

    def _auto_loader_batch(self, spec: TableSpec, batch: Any, batch_id: int) -> BatchResult:
        """Auto Loader typed and rescued the rows; add lineage as the open-source path does, then append."""
        F = require("pyspark.sql.functions")
        window = require("pyspark.sql.window").Window
        result = BatchResult(str(spec.ref), batch_id)
        txn = Transaction(app_id(spec), batch_id)
        if landed_replay(self.engine, spec, batch_id):
            result.skipped_as_replay = True
            return result
        # multiLine makes each file one split, so the id follows record order within a file.
        positioned = batch.select("*", F.monotonically_increasing_id().alias("__position"))
        order = window.partitionBy("__file_path").orderBy("__position")
        data_columns = [c for c in batch.columns if c not in ("__file_path", "__file_modified", "_rescued_data")]
        rows = positioned.select(
            *data_columns,
            F.lit(now_iso()).cast("timestamp").alias(DATE_ADDED),
            F.col("__file_path").alias(SOURCE_FILENAME),
            F.col("__file_modified").alias(SOURCE_FILE_MODIFIED),
            (F.row_number().over(order) + 1).cast("bigint").alias(SOURCE_ROW),
            F.col("_rescued_data"),
        ).persist()

        def append(kept: Any) -> BatchResult:
            result.rows_written = result.rows_in if kept is rows else self.engine.row_count(kept)
            self.engine.append(spec.ref, kept, txn, properties=table_properties(spec), evolve_schema=True)
            result.committed = True
            return result

        try:
            result.rows_in = rows.count()
            return screened(self.engine, spec, batch_id, rows, append)
        finally:
            rows.unpersist()

    # -- silver and gold ----------------------------------------------------------------------
    def _change_flow(self, spec: TableSpec) -> Flow | None:
        upstream = spec.upstream[0]
        if self.engine.table_version(upstream) is None:
            self.progress(f"{spec.ref}: upstream {upstream} does not exist yet")
            return None
        has_feed = self.engine.table_properties(upstream).get("delta.enableChangeDataFeed", "false") == "true"
        if requires_upstream_feed(spec.kind) and not has_feed:
            raise LakehouseError(
                f"{spec.ref} is built from {upstream}'s change feed, which is not enabled.",
                hint=f"set change_data_feed=True on {upstream} in the pipeline spec and reset it",
            )
        reader = self.spark.readStream
        if has_feed:
            reader = reader.option("readChangeFeed", "true").option("startingVersion", 0)
        stream = self.engine.tables.read(reader, upstream)
        if not has_feed:
            F = require("pyspark.sql.functions")
            # An append-only upstream without a change feed: every row is an insert, ordered by lineage.
            stream = stream.select("*", F.lit("insert").alias(CHANGE_TYPE),
                                   F.lit(None).cast("bigint").alias(COMMIT_VERSION))
        return Flow(str(upstream), stream, lambda batch, batch_id: self._change_batch(spec, batch, batch_id))

    def _change_batch(self, spec: TableSpec, batch: Any, batch_id: int) -> BatchResult:
        F = require("pyspark.sql.functions")
        changes = batch
        wanted = change_types_of(spec.kind)
        if wanted is not None:
            changes = batch.where(F.col(CHANGE_TYPE).isin(*wanted))
        changes = changes.persist()
        try:
            upstream_columns = self.engine.table_columns(spec.upstream[0])
            result = screened(self.engine, spec, batch_id, changes,
                              lambda rows: STRATEGIES[spec.kind].process_batch(self.engine, spec, rows,
                                                                               upstream_columns, batch_id))
        finally:
            changes.unpersist()
        return result

    # -- fact (several inputs) ----------------------------------------------------------------
    def multi_input_log(self, spec: TableSpec) -> CheckpointLog:
        """<warehouse>/_checkpoints/<schema>/<table>/spark/inputs/{offsets,commits}/N.json"""
        return CheckpointLog(self.storage, f"{self.checkpoint_root(spec)}/inputs")

    def run_multi_input(self, spec: TableSpec) -> list[BatchResult]:
        results = fact_inputs.run_available(self.engine, spec, self.multi_input_log(spec), self.progress,
                                            self._fact_batch)
        for result in results:
            self.progress(f"{spec.ref}: batch {result.batch_id}: {result.rows_written} row(s) written"
                          + (" (already landed: replay skipped)" if result.skipped_as_replay else ""))
        return results

    def _fact_batch(self, spec: TableSpec, feeds: fact_inputs.Feeds, versions: fact_inputs.Versions,
                    batch_id: int) -> BatchResult:
        """The fact strategy over cached feeds: it counts and joins each feed several times, and a
        DataFrame is lazy, so without the cache every use would read the change feed again."""
        cached = {ref: feed.persist() for ref, feed in feeds.items() if feed is not None}
        try:
            with self.events.batch(str(spec.ref), batch_id, ", ".join(f"{ref} ..{v}" for ref, v in versions.items())) \
                    as event:
                event.result = STRATEGIES[Kind.FACT].process_batch(self.engine, spec, {**feeds, **cached}, versions,
                                                                   batch_id)
            return event.result
        finally:
            for feed in cached.values():
                feed.unpersist()
