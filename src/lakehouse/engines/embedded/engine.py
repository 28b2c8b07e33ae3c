"""The embedded engine: delta-rs for Delta tables, DuckDB for batch logic. No JVM, no Docker."""

from __future__ import annotations

import threading
from typing import Any, Sequence

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake import Transaction as DeltaTransaction
from deltalake.exceptions import TableNotFoundError

from lakehouse.config import Settings
from lakehouse.engines.base import Capabilities, EngineAdapter, Transaction
from lakehouse.errors import LakehouseError
from lakehouse.spec.model import TableRef
from lakehouse.storage import Storage
from lakehouse.strategies.scd1 import MergePlan
from lakehouse.strategies.sql import DUCKDB

_DELTA_TO_DDL = {"long": "bigint", "integer": "int", "short": "int", "byte": "int", "float": "double",
                 "timestamp_ntz": "timestamp"}


def delta_type_name(delta_type: Any) -> str:
    text = str(getattr(delta_type, "type", delta_type))
    return _DELTA_TO_DDL.get(text, text)


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
    capabilities = Capabilities(
        streaming=False, change_data_feed=True, app_transactions=True, identity_columns=False
    )

    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        self.settings = settings
        self.storage = storage or Storage(settings.s3)
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
        return relation.num_rows

    def column_names(self, relation: pa.Table) -> list[str]:
        return list(relation.column_names)

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
        write_deltalake(
            self.table_uri(ref),
            data,
            mode="append",
            schema_mode="merge" if evolve_schema else None,
            configuration=properties or None,
            storage_options=self.storage_options,
            commit_properties=self._commit_properties(txn),
        )

    def merge(self, ref: TableRef, source: pa.Table, plan: MergePlan, txn: Transaction, *, evolve_schema: bool) -> None:
        table = self._require(ref)
        merger = table.merge(
            source,
            predicate=plan.on,
            source_alias="s",
            target_alias="t",
            merge_schema=evolve_schema,
            # Lets the source's min/max prune target files instead of scanning the whole table.
            streamed_exec=False,
            commit_properties=self._commit_properties(txn),
        )
        merger = merger.when_matched_update(plan.update_set, predicate=plan.update_condition)
        merger = merger.when_not_matched_insert(plan.insert_values, predicate=plan.insert_condition)
        merger.execute()

    def read_changes(self, ref: TableRef, start_version: int, end_version: int) -> pa.Table:
        table = self._require(ref)
        return plain_types(pa.RecordBatchReader.from_stream(
            table.load_cdf(starting_version=start_version, ending_version=end_version)
        ).read_all())

    def read_table(
        self, ref: TableRef, *, version: int | None = None, timestamp: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> pa.Table:
        table = self._require(ref)
        if version is not None:
            table.load_as_version(version)
        elif timestamp is not None:
            table.load_as_version(timestamp)
        return plain_types(table.to_pyarrow_table(columns=list(columns) if columns else None))

    def read_matching(
        self, ref: TableRef, keys: pa.Table, key_columns: Sequence[str], *, version: int | None = None,
        columns: Sequence[str] | None = None,
    ) -> pa.Table:
        """Pushes `first key IN (...)` into the Delta scan, so files whose key range misses are skipped."""
        table = self.delta_table(ref, version=version)
        if table is None:
            raise LakehouseError(f"Table {ref} does not exist at {self.table_uri(ref)}.")
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

    def dataset(self, ref: TableRef):
        """A lazily scanned view of the table, for DuckDB to push projections and filters into."""
        return self._require(ref).to_pyarrow_dataset()

    def drop_table(self, ref: TableRef) -> bool:
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
