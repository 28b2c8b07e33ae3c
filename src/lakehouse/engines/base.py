"""Where: the primitives a strategy needs from an engine, and what each engine can do."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lakehouse.core.change_feed import CHANGE_FEED_COLUMNS
from lakehouse.core.config import Settings
from lakehouse.core.dialects import Dialect
from lakehouse.core.errors import LakehouseError
from lakehouse.core.merge_plan import MergePlan
from lakehouse.core.storage import Storage
from lakehouse.spec.model import TableRef

__all__ = ["CHANGE_FEED_COLUMNS", "Capabilities", "EngineAdapter", "Transaction", "duplicate_keys_sql"]


def duplicate_keys_sql(dialect: Dialect, key_columns: Sequence[str], source_view: str = "changes") -> str:
    """How many keys occur more than once in the batch (a single value)."""
    keys = dialect.column_list(list(key_columns))
    not_null_keys = " AND ".join(f"{dialect.quote(k)} IS NOT NULL" for k in key_columns)
    return (
        f"SELECT count(*) AS duplicate_keys FROM (SELECT {keys} FROM {source_view} WHERE {not_null_keys} "
        f"GROUP BY {keys} HAVING count(*) > 1) d"
    )


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do, so the runtime asks instead of checking which engine it has.

    - streaming: it plans its own micro-batches (runtime.drivers picks the streaming driver);
    - change_data_feed: it writes and reads Delta change data feeds (silver and gold are built from
      their upstream's feed);
    - app_transactions: it commits with Delta app transactions and finds them again, which makes
      every batch exactly-once (a replayed batch is recognised);
    - time_travel: it reads a table as of a version (a fact batch reads its inputs as planned).
    runtime.requirements refuses a table whose spec needs what the engine lacks. Surrogate keys need
    no flag: the single writer of a dimension assigns them on every engine.
    """

    streaming: bool
    change_data_feed: bool
    app_transactions: bool
    time_travel: bool


@dataclass(frozen=True)
class Transaction:
    """The Delta app transaction a batch commits with: (app_id, batch_id) makes it idempotent."""

    app_id: str
    batch_id: int


class EngineAdapter(abc.ABC):
    """Batch primitives over Delta tables. `Relation` is the engine's table type (Arrow, DataFrame)."""

    name: str
    dialect: Dialect
    capabilities: Capabilities
    # Whether a MERGE writes deletion vectors where neither the table's option nor its Delta property
    # decides and LAKEHOUSE_MERGE_ON_READ is unset (core/merge_plan.py). False: the property alone
    # decides, as delta-spark and Databricks do by themselves (the Spark engine).
    merges_on_read_by_default: bool = False

    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        """engines.registry makes every engine from the settings and the runtime's storage."""
        self.settings = settings
        self.storage = storage or Storage(settings.s3)

    def default_merge_on_read(self) -> bool:
        chosen = self.settings.merge_on_read
        return self.merges_on_read_by_default if chosen is None else chosen

    @abc.abstractmethod
    def table_version(self, ref: TableRef) -> int | None:
        """The latest version, or None when the table does not exist."""

    @abc.abstractmethod
    def table_columns(self, ref: TableRef) -> list[tuple[str, str]]:
        """[(name, Spark DDL type)] of an existing table."""

    def forget_tables(self) -> None:
        """Drop what the engine keeps about tables between calls; a driver calls it before each table's
        run, so no state outlives it. Nothing is kept by default."""
        return None

    @abc.abstractmethod
    def sql(self, query: str, views: dict[str, Any]) -> Any:
        """Run `query` with each relation in `views` visible under its name."""

    @abc.abstractmethod
    def row_count(self, relation: Any) -> int: ...

    @abc.abstractmethod
    def column_names(self, relation: Any) -> list[str]: ...

    def computed(self, relation: Any) -> Any:
        """`relation` computed once, for a strategy that counts it, joins it or writes it more than once.
        Arrow relations are computed already. A lazy engine overrides this: without it every use
        re-plans and re-reads the whole lineage (change feeds, time-travel reads, joins) again."""
        return relation

    def first_value(self, relation: Any) -> Any:
        """The first column of the first row, for scalar queries. Arrow relations by default."""
        return relation.column(0)[0].as_py()

    def has_duplicate_keys(self, relation: Any, keys: Sequence[str]) -> bool:
        """Whether a non-NULL key occurs more than once in `relation`."""
        return bool(self.first_value(self.sql(duplicate_keys_sql(self.dialect, list(keys), "r"), {"r": relation})))

    def cluster(self, relation: Any, columns: Sequence[str]) -> Any:
        """`relation` sorted by `columns`, so written files hold narrow key ranges. An engine that can
        see the relation's order overrides this to skip sorting what is already in order."""
        return self.sql(f"SELECT * FROM r ORDER BY {self.dialect.column_list(list(columns))}", {"r": relation})

    @abc.abstractmethod
    def already_committed(self, ref: TableRef, txn: Transaction) -> bool:
        """Whether a commit with this app transaction (or a later one) already landed."""

    @abc.abstractmethod
    def append(
        self, ref: TableRef, data: Any, txn: Transaction, *, properties: dict[str, str], evolve_schema: bool
    ) -> None:
        """Append in one commit carrying `txn`; creates the table with `properties` if absent."""

    @abc.abstractmethod
    def merge(self, ref: TableRef, source: Any, plan: MergePlan, txn: Transaction, *, evolve_schema: bool) -> None:
        """MERGE `source` (alias s) into the table (alias t) in one commit carrying `txn`."""

    @abc.abstractmethod
    def read_changes(
        self, ref: TableRef, start_version: int, end_version: int, columns: Sequence[str] | None = None
    ) -> Any:
        """The change feed between two versions, inclusive; `columns` (plus the change-feed columns
        `_change_type`, `_commit_version`, `_commit_timestamp`) when a flow needs only those."""

    @abc.abstractmethod
    def read_table(
        self, ref: TableRef, *, version: int | None = None, timestamp: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> Any:
        """The table now, or as of a version or timestamp (time travel)."""

    def table_row_count(self, ref: TableRef, *, version: int | None = None) -> int:
        """Rows in the table (as of `version`). This default counts a one-column read; an engine
        overrides it to answer from table metadata."""
        first = self.table_columns(ref)[0][0]
        return self.row_count(self.read_table(ref, version=version, columns=[first]))

    def max_value(self, ref: TableRef, column: str) -> Any:
        """The largest non-NULL value of `column` (None for none). This default scans the column; an
        engine overrides it to answer from file statistics, so a batch's cost does not grow with the table."""
        values = self.read_table(ref, columns=[column])
        return self.first_value(self.sql(f"SELECT max({self.dialect.quote(column)}) FROM v", {"v": values}))

    def read_matching(
        self, ref: TableRef, keys: Any, key_columns: Sequence[str], *, version: int | None = None,
        columns: Sequence[str] | None = None,
    ) -> Any:
        """Rows whose `key_columns` equal a row of `keys` (a relation with those column names).

        So a batch reads the rows it touches, not the table. This default filters a full read;
        an engine overrides it to prune files by their key statistics.
        """
        table = self.read_table(ref, version=version, columns=columns)
        q = self.dialect.quote
        match = " AND ".join(f"k.{q(c)} = t.{q(c)}" for c in key_columns)
        return self.sql(f"SELECT t.* FROM t WHERE EXISTS (SELECT 1 FROM k WHERE {match})", {"t": table, "k": keys})

    def optimize(self, ref: TableRef, *, min_deleted_share: float) -> dict[str, Any]:
        """Rewrite the table's files whose deletion vectors mark at least `min_deleted_share` of their
        rows, purging the vectors. Returns what it did (`version` None: nothing to rewrite)."""
        raise LakehouseError(f"The {self.name} engine cannot optimize {ref}.",
                             hint="use --engine embedded or --engine spark")

    @abc.abstractmethod
    def drop_table(self, ref: TableRef) -> bool:
        """Delete the table's files. Returns whether it existed."""

    @abc.abstractmethod
    def history(self, ref: TableRef, limit: int = 20) -> list[dict[str, Any]]: ...
