"""The embedded engine: delta-rs for Delta tables, DuckDB for batch logic. No JVM, no Docker."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import ColumnProperties, CommitProperties, DeltaTable, WriterProperties, write_deltalake
from deltalake import Transaction as DeltaTransaction
from deltalake.exceptions import TableNotFoundError

from lakehouse.core.config import Settings
from lakehouse.core.dialects import DUCKDB
from lakehouse.core.errors import LakehouseError
from lakehouse.core.merge_plan import MergePlan, deletion_vectors_property, merges_on_read
from lakehouse.core.storage import Storage
from lakehouse.core.types import ddl_type_name
from lakehouse.engines.base import CHANGE_FEED_COLUMNS, Capabilities, EngineAdapter, Transaction
from lakehouse.engines.embedded import parquet_reads
from lakehouse.engines.embedded.key_order import in_run_order, neighbours_share_a_key
from lakehouse.engines.embedded.parallel_append import (
    NO_DICTIONARY_COLUMNS,
    append_in_parallel,
    can_append_in_parallel,
)
from lakehouse.spec.model import TableRef

if TYPE_CHECKING:
    import pyarrow.dataset as pads


def delta_type_name(delta_type: Any) -> str:
    return ddl_type_name(str(getattr(delta_type, "type", delta_type)))


WRITER_PROPERTIES = WriterProperties(
    column_properties={name: ColumnProperties(dictionary_enabled=False) for name in NO_DICTIONARY_COLUMNS}
)

def plain_types(table: pa.Table) -> pa.Table:
    """delta-rs hands out string_view columns; DuckDB and Delta writers want plain strings."""
    fields = []
    changed = False
    for arrow_field in table.schema:
        if arrow_field.type == pa.string_view():
            fields.append(arrow_field.with_type(pa.string()))
            changed = True
        elif arrow_field.type == pa.binary_view():
            fields.append(arrow_field.with_type(pa.binary()))
            changed = True
        else:
            fields.append(arrow_field)
    return table.cast(pa.schema(fields)) if changed else table


class EmbeddedEngine(EngineAdapter):
    name = "embedded"
    dialect = DUCKDB
    capabilities = Capabilities(streaming=False, change_data_feed=True, app_transactions=True, time_travel=True)
    # Deletion vectors won at SF1 and SF10 (docs/benchmarks.md); local tables only, see merge().
    merges_on_read_by_default = True

    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        super().__init__(settings, storage)
        self.storage_options = settings.s3.delta_storage_options() if settings.warehouse.startswith("s3://") else None
        self._local = threading.local()

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = duckdb.connect()
            con.execute("SET TimeZone = 'UTC'")
            self._local.con = con
        return con

    def table_uri(self, ref: TableRef) -> str:
        return self.settings.table_uri(ref.schema, ref.name)

    def delta_table(self, ref: TableRef, version: int | None = None) -> DeltaTable | None:
        """The table at `version`, or at its latest version. A batch asks for the same tables a dozen
        times: the latest state is kept per thread (for one table's run, see forget_tables) and brought
        up to date from the log's new commits (under a millisecond) instead of loaded again (2-7 ms).
        Callers must not time-travel the returned object: fresh_delta_table gives one of their own."""
        if version is not None or self.storage_options is not None:
            return self.fresh_delta_table(ref, version)
        cache: dict[TableRef, DeltaTable] = self._local.__dict__.setdefault("tables", {})
        table = cache.get(ref)
        # A table dropped (reset) has lost the version we hold: load it afresh.
        if table is not None and os.path.exists(f"{self.table_uri(ref)}/_delta_log/{table.version():020d}.json"):
            try:
                table.update_incremental()
                return table
            except Exception:
                pass
        cache.pop(ref, None)
        table = self.fresh_delta_table(ref, None)
        if table is not None:
            cache[ref] = table
        return table

    def forget_tables(self) -> None:
        """Drop the kept table states, so nothing outlives one table's run (a reset between runs of
        a long-lived process cannot leave a stale state behind)."""
        self._local.__dict__.pop("tables", None)

    def fresh_delta_table(self, ref: TableRef, version: int | None = None) -> DeltaTable | None:
        """A table object of the caller's own, to time-travel with load_as_version."""
        try:
            return DeltaTable(self.table_uri(ref), version=version, storage_options=self.storage_options)
        except TableNotFoundError:
            return None

    # -- primitives -------------------------------------------------------------------------
    def table_version(self, ref: TableRef) -> int | None:
        table = self.delta_table(ref)
        return None if table is None else table.version()

    def table_columns(self, ref: TableRef) -> list[tuple[str, str]]:
        table = self._require(ref)
        return [(field.name, delta_type_name(field.type)) for field in table.schema().fields]

    def table_properties(self, ref: TableRef) -> dict[str, str]:
        table = self._require(ref)
        return dict(table.metadata().configuration)

    def sql(self, query: str, views: dict[str, Any]) -> pa.Table:
        con = self.connection
        for name, relation in views.items():
            con.register(name, relation)
        try:
            return con.sql(query).to_arrow_table()
        finally:
            for name in views:
                con.unregister(name)

    def row_count(self, relation: pa.Table) -> int:
        count: int = relation.num_rows
        return count

    def column_names(self, relation: pa.Table) -> list[str]:
        return list(relation.column_names)

    def has_duplicate_keys(self, relation: pa.Table, keys: Sequence[str]) -> bool:
        found = neighbours_share_a_key(relation, keys)
        return super().has_duplicate_keys(relation, keys) if found is None else found

    def cluster(self, relation: pa.Table, columns: Sequence[str]) -> pa.Table:
        """`relation` in `columns` order, sorted only when moving whole sorted runs cannot order it
        (sorting 6M lineitem rows with their payload took 8 s; checking and moving runs, milliseconds)."""
        return in_run_order(relation, columns) or super().cluster(relation, columns)

    def already_committed(self, ref: TableRef, txn: Transaction) -> bool:
        table = self.delta_table(ref)
        if table is None:
            return False
        landed = table.transaction_version(txn.app_id)
        return landed is not None and landed >= txn.batch_id

    @staticmethod
    def _commit_properties(txn: Transaction) -> CommitProperties:
        return CommitProperties(
            app_transactions=[DeltaTransaction(app_id=txn.app_id, version=txn.batch_id)],
            custom_metadata={"lakehouse.batch_id": str(txn.batch_id), "lakehouse.app_id": txn.app_id},
        )

    def append(
        self, ref: TableRef, data: pa.Table, txn: Transaction, *, properties: dict[str, str], evolve_schema: bool
    ) -> None:
        if self.storage_options is None:
            table = self.delta_table(ref)
            if can_append_in_parallel(table, data):
                append_in_parallel(self.table_uri(ref), table, data, configuration=properties or None,
                                   commit_properties=self._commit_properties(txn))
                return
        write_deltalake(
            self.table_uri(ref),
            data,
            mode="append",
            schema_mode="merge" if evolve_schema else None,
            configuration=properties or None,
            storage_options=self.storage_options,
            writer_properties=WRITER_PROPERTIES,
            commit_properties=self._commit_properties(txn),
        )

    def merge(self, ref: TableRef, source: pa.Table, plan: MergePlan, txn: Transaction, *, evolve_schema: bool) -> None:
        table = self._require(ref)
        properties = table.metadata().configuration
        on_read = merges_on_read(plan, properties, self.default_merge_on_read())
        # Both commits below are ours, put-if-absent by a hard link: local tables only.
        if on_read and self.storage_options is None:
            from lakehouse.engines.embedded.deletion_vectors import merge as by_deletion_vectors

            if by_deletion_vectors.can_merge(table, plan):
                by_deletion_vectors.merge_with_deletion_vectors(
                    self.connection, self.table_uri(ref), plain_types(source), plan,
                    app_id=txn.app_id, app_version=txn.batch_id)
                return
        elif not on_read and deletion_vectors_property(properties) and self.storage_options is None:
            # The spec says false on a table switched on: switched off, as the Spark engine does, so the
            # table says what its writes do and delta-spark writing to it rewrites files too.
            from lakehouse.engines.embedded.deletion_vectors.log import turn_off_deletion_vectors

            turn_off_deletion_vectors(self.table_uri(ref))
            table = self._require(ref)
        merger = table.merge(
            source,
            predicate=plan.on,
            source_alias="s",
            target_alias="t",
            merge_schema=evolve_schema,
            writer_properties=WRITER_PROPERTIES,
            # Lets the source's min/max prune target files instead of scanning the whole table.
            streamed_exec=False,
            commit_properties=self._commit_properties(txn),
        )
        if plan.delete_condition is not None:
            merger = merger.when_matched_delete(predicate=plan.delete_condition)
        merger = merger.when_matched_update(plan.update_set, predicate=plan.update_condition)
        merger = merger.when_not_matched_insert(plan.insert_values, predicate=plan.insert_condition)
        merger.execute()

    def read_changes(
        self, ref: TableRef, start_version: int, end_version: int, columns: Sequence[str] | None = None
    ) -> pa.Table:
        table = self._require(ref)
        commits = (parquet_reads.appended_commits(self.table_uri(ref), start_version, end_version)
                   if self._plain_parquet_files(table) else None)
        if commits:
            names = list(columns) if columns is not None else [f.name for f in table.schema().fields]
            feed = parquet_reads.read_appends(self.connection, commits, names)
            if feed is not None:
                return feed
        # Left as delta-rs hands them out (string_view): DuckDB reads those as they are, and casting a
        # large feed to plain strings copied every value (4.8 s of a 6M-row lineitem feed).
        return pa.RecordBatchReader.from_stream(
            table.load_cdf(starting_version=start_version, ending_version=end_version,
                           columns=None if columns is None else list(dict.fromkeys([*columns, *CHANGE_FEED_COLUMNS])))
        ).read_all()

    def read_table(
        self, ref: TableRef, *, version: int | None = None, timestamp: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> pa.Table:
        table = self._require(ref)
        as_of = version if version is not None else timestamp
        if as_of is not None:
            table = self.fresh_delta_table(ref, None) or table  # its own object: the kept latest one is not moved
            table.load_as_version(as_of)
        files = self._plain_parquet_files(table)
        deleted = parquet_reads.deleted_rows(table) if files else None
        rows = parquet_reads.read_files(self.connection, files, columns, deleted) if files else None
        if rows is not None:
            return rows
        if parquet_reads.has_deletion_vectors(table):
            # delta-rs's pyarrow reader refuses deletion vectors; its DataFusion scan applies them.
            return plain_types(pa.RecordBatchReader.from_stream(table.scan(columns=list(columns) if columns else None)).read_all())
        return plain_types(table.to_pyarrow_table(columns=list(columns) if columns else None))

    def table_row_count(self, ref: TableRef, *, version: int | None = None) -> int:
        """From the Delta log's per-file record counts; a count of the rows when a file has none."""
        table = self.delta_table(ref, version=version)
        if table is not None and parquet_reads.has_deletion_vectors(table):
            # numRecords counts a file's physical rows, deleted ones included.
            return super().table_row_count(ref, version=version)
        counts = self._file_statistics(ref, version).column("num_records")
        if counts.null_count:
            return super().table_row_count(ref, version=version)
        return int(pc.sum(counts).as_py() or 0)

    def max_value(self, ref: TableRef, column: str) -> Any:
        """From the Delta log's per-file `max` statistics, no data file read; a scan when a file with
        values lacks the statistic (a file whose column is all NULL has none, and needs none)."""
        files = self._file_statistics(ref)
        needed = (f"max.{column}", f"null_count.{column}", "num_records")
        if files.num_rows == 0:
            return None
        if any(name not in files.column_names for name in needed):
            return super().max_value(ref, column)
        top, nulls, rows = (files.column(name).to_pylist() for name in needed)
        if any(m is None and (n is None or r is None or n != r) for m, n, r in zip(top, nulls, rows)):
            return super().max_value(ref, column)
        return max((m for m in top if m is not None), default=None)

    def _file_statistics(self, ref: TableRef, version: int | None = None) -> pa.Table:
        table = self.delta_table(ref, version=version)
        if table is None:
            raise LakehouseError(f"Table {ref} does not exist at {self.table_uri(ref)}.")
        return pa.table(table.get_add_actions(flatten=True))

    def read_matching(
        self, ref: TableRef, keys: pa.Table, key_columns: Sequence[str], *, version: int | None = None,
        columns: Sequence[str] | None = None,
    ) -> pa.Table:
        """Pushes `first key IN (...)` into the Delta scan, so files whose key range misses are skipped."""
        table = self.delta_table(ref, version=version)
        if table is None:
            raise LakehouseError(f"Table {ref} does not exist at {self.table_uri(ref)}.")
        files = self._plain_parquet_files(table)
        deleted = parquet_reads.deleted_rows(table) if files else None
        rows = (parquet_reads.read_matching_files(self.connection, files, keys, key_columns, columns, deleted)
                if files else None)
        if rows is not None:
            return rows
        if parquet_reads.has_deletion_vectors(table):
            return super().read_matching(ref, keys, key_columns, version=version, columns=columns)
        first = key_columns[0]
        wanted = pc.unique(keys.column(first).drop_null())
        dataset = table.to_pyarrow_dataset()
        target_type = dataset.schema.field(first).type
        candidates = plain_types(dataset.to_table(
            columns=list(columns) if columns else None,
            filter=pc.field(first).isin(wanted.cast(target_type)),
        ))
        if len(key_columns) == 1:
            return candidates
        match = " AND ".join(f"k.{DUCKDB.quote(c)} = t.{DUCKDB.quote(c)}" for c in key_columns)
        return self.sql(f"SELECT t.* FROM t WHERE EXISTS (SELECT 1 FROM k WHERE {match})", {"t": candidates, "k": keys})

    def _plain_parquet_files(self, table: DeltaTable) -> list[str] | None:
        """The table's data files when DuckDB can read them as plain Parquet: on local disk (DuckDB has
        no S3 client without an extension), not partitioned, no column mapping. Rows deleted by deletion
        vectors are left out by the reads (parquet_reads.deleted_rows)."""
        if self.storage_options is not None or not parquet_reads.is_plain_parquet_table(table):
            return None
        return table.file_uris()

    def dataset(self, ref: TableRef) -> pads.Dataset:
        """A lazily scanned view of the table, for DuckDB to push projections and filters into; a
        table with deletion vectors is read first (delta-rs's pyarrow dataset cannot apply them)."""
        table = self._require(ref)
        if parquet_reads.has_deletion_vectors(table):
            import pyarrow.dataset as pads

            return pads.dataset(self.read_table(ref))
        return table.to_pyarrow_dataset()

    def optimize(self, ref: TableRef, *, min_deleted_share: float) -> dict[str, Any]:
        """Rewrites the files whose deletion vectors mark at least `min_deleted_share` of their rows."""
        from lakehouse.engines.embedded.deletion_vectors.compaction import compact_deleted_files

        self._require(ref)
        result = compact_deleted_files(self.table_uri(ref), min_deleted_share=min_deleted_share)
        self.forget_tables()
        return {"ref": str(ref), "operation": "OPTIMIZE", "min_deleted_share": min_deleted_share,
                "threshold_applied": True, **asdict(result)}

    def drop_table(self, ref: TableRef) -> bool:
        self.forget_tables()
        return self.storage.delete_tree(self.table_uri(ref))

    def history(self, ref: TableRef, limit: int = 20) -> list[dict[str, Any]]:
        return self._require(ref).history(limit)

    def _require(self, ref: TableRef) -> DeltaTable:
        table = self.delta_table(ref)
        if table is None:
            raise LakehouseError(
                f"Table {ref} does not exist at {self.table_uri(ref)}.",
                hint="run the pipeline first: lakehouse run --pipeline customer",
            )
        return table
