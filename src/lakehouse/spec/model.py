"""The pipeline spec: landing sources, tables and the flows between them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TypeAlias

from lakehouse.core.errors import ConfigError
from lakehouse.kinds.fact.options import FactRules
from lakehouse.kinds.scd1.options import Scd1Options
from lakehouse.kinds.scd2.options import Scd2Options
from lakehouse.spec.expectations import Expectation

# Columns the bronze layer adds to every landed row.
DATE_ADDED = "date_added"
SOURCE_FILENAME = "source_filename"
SOURCE_FILE_MODIFIED = "source_file_modified"
SOURCE_ROW = "source_row"
RESCUED_DATA = "_rescued_data"
BRONZE_METADATA = (DATE_ADDED, SOURCE_FILENAME, SOURCE_FILE_MODIFIED, SOURCE_ROW, RESCUED_DATA)

# Columns silver and gold add.
HASH_VALUE = "hash_value"
START_DATE = "start_date"
END_DATE = "end_date"
IS_CURRENT = "is_current"
IS_INFERRED = "is_inferred"


class Kind(str, enum.Enum):
    """How a table is maintained. One strategy implements each kind."""

    APPEND_INGEST = "append-ingest"
    SCD1_UPSERT = "scd1-upsert"
    SCD2_FROM_CHANGES = "scd2-from-changes"
    FACT = "fact"


# Kind-specific settings: each kind's options class lives in its folder (kinds/<kind>/options.py).
KindOptions: TypeAlias = Scd1Options | Scd2Options | FactRules
# None: the kind takes no options (append-ingest).
OPTIONS_OF_KIND: dict[Kind, type[KindOptions] | None] = {
    Kind.APPEND_INGEST: None,
    Kind.SCD1_UPSERT: Scd1Options,
    Kind.SCD2_FROM_CHANGES: Scd2Options,
    Kind.FACT: FactRules,
}


# The kinds whose batches MERGE into the table, so merge_on_read applies to them.
MERGING_KINDS = (Kind.SCD1_UPSERT, Kind.SCD2_FROM_CHANGES, Kind.FACT)


class EvolutionMode(str, enum.Enum):
    """Auto Loader's cloudFiles.schemaEvolutionMode values."""

    ADD_NEW_COLUMNS = "addNewColumns"
    RESCUE = "rescue"
    FAIL_ON_NEW_COLUMNS = "failOnNewColumns"
    NONE = "none"


@dataclass(frozen=True)
class TableRef:
    schema: str
    name: str

    @classmethod
    def parse(cls, text: str) -> TableRef:
        parts = text.split(".")
        if len(parts) != 2 or not all(parts):
            raise ConfigError(
                f"Table name '{text}' is not of the form schema.table.",
                hint="for example: silver.customer",
            )
        return cls(parts[0], parts[1])

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class LandingSource:
    """Files landed under `<landing>/<folder>/`, read as Auto Loader would."""

    name: str
    folder: str
    format: str = "csv"
    schema_hints: dict[str, str] = field(default_factory=dict)
    evolution_mode: EvolutionMode = EvolutionMode.ADD_NEW_COLUMNS
    delimiter: str = ","


@dataclass(frozen=True)
class TableSpec:
    """What the pipeline needs to maintain a table. Descriptions (table and column comments) are
    not here: catalog/*.yaml owns them, and the runner registers tables from there."""

    ref: TableRef
    kind: Kind
    # The landing source (append-ingest) or the upstream table(s) this table is fed from.
    source: LandingSource | None = None
    upstream: tuple[TableRef, ...] = ()
    keys: tuple[str, ...] = ()
    # Columns whose change makes a new version. None means every business column.
    tracked_columns: tuple[str, ...] | None = None
    # Business-time ordering column (e.g. c_updated_at). None means processing order.
    sequence_by: str | None = None
    change_data_feed: bool = False
    surrogate_key: str | None = None
    # Clustering columns: rows with close keys share files, so a MERGE touches few files.
    cluster_by: tuple[str, ...] = ()
    # Kind-specific settings (the fact's join rules, SCD2's low date...); OPTIONS_OF_KIND says which
    # class a kind takes. None: the kind's defaults.
    options: KindOptions | None = None
    # Data-quality rules checked on every batch before it is written (spec/expectations.py).
    expectations: tuple[Expectation, ...] = ()
    # CDC (scd1/scd2): a SQL condition over a change row that marks it as a delete of its key,
    # Lakeflow's apply_as_deletes. None: the feed has no deletes.
    apply_as_deletes: str | None = None
    # Change-row columns not stored in the target (an operation column, for example).
    except_column_list: tuple[str, ...] = ()
    # MERGEs by deletion vectors (True) or by rewriting files (False); None: the table's Delta property,
    # else the engine's default (core/merge_plan.py merges_on_read). Some readers cannot read DVs.
    merge_on_read: bool | None = None

    def __post_init__(self) -> None:
        if self.kind is Kind.APPEND_INGEST and self.source is None:
            raise ConfigError(f"{self.ref}: an append-ingest table needs a landing source.")
        if self.kind in (Kind.SCD1_UPSERT, Kind.SCD2_FROM_CHANGES) and not self.keys:
            raise ConfigError(f"{self.ref}: a {self.kind.value} table needs business keys.")
        if self.kind is Kind.SCD2_FROM_CHANGES and not self.surrogate_key:
            raise ConfigError(f"{self.ref}: an SCD2 table needs a surrogate_key column name.")
        if self.kind is not Kind.APPEND_INGEST and not self.upstream:
            raise ConfigError(f"{self.ref}: a {self.kind.value} table needs an upstream table.")
        self._check_cdc_fields()
        self._check_options()
        self._check_merge_on_read()

    def _check_cdc_fields(self) -> None:
        cdc_kinds = (Kind.SCD1_UPSERT, Kind.SCD2_FROM_CHANGES)
        if self.apply_as_deletes is not None and self.kind not in cdc_kinds:
            raise ConfigError(f"{self.ref}: apply_as_deletes applies to scd1 and scd2 tables, not {self.kind.value}.",
                              hint="remove apply_as_deletes, or make the table scd1 or scd2")
        if self.except_column_list and self.kind not in cdc_kinds:
            raise ConfigError(f"{self.ref}: except_column_list applies to scd1 and scd2 tables, not {self.kind.value}.",
                              hint="remove except_column_list, or make the table scd1 or scd2")
        clash = sorted(set(self.except_column_list) & set(self.keys))
        if clash:
            raise ConfigError(f"{self.ref}: except_column_list names key column(s) {', '.join(clash)}.",
                              hint="keys are always stored; remove them from except_column_list")
        names = [e.name for e in self.expectations]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ConfigError(f"{self.ref}: expectation name(s) {', '.join(repeated)} appear more than once.",
                              hint="give every expectation of a table its own name")

    def _check_options(self) -> None:
        expected = OPTIONS_OF_KIND[self.kind]
        if self.options is not None and (expected is None or not isinstance(self.options, expected)):
            given = type(self.options).__name__
            if expected is None:
                raise ConfigError(f"{self.ref}: a {self.kind.value} table takes no options, not {given}.",
                                  hint="leave options unset")
            raise ConfigError(f"{self.ref}: a {self.kind.value} table takes {expected.__name__} options, not {given}.",
                              hint=f"valid options: {expected.__name__} (from {expected.__module__})")
        if self.kind is Kind.FACT and self.options is None:
            raise ConfigError(f"{self.ref}: a fact table needs options=FactRules(...).",
                              hint="valid options: FactRules (from lakehouse.kinds.fact.options)")
        if isinstance(self.options, FactRules):
            self.options.check(self)

    def _check_merge_on_read(self) -> None:
        if self.merge_on_read is not None and not isinstance(self.merge_on_read, bool):
            raise ConfigError(f"{self.ref}: merge_on_read must be true or false, not {self.merge_on_read!r}.",
                              hint="valid values: true, false; leave it unset for the engine's default")
        if self.merge_on_read is not None and self.kind not in MERGING_KINDS:
            raise ConfigError(f"{self.ref}: merge_on_read applies to tables written by MERGE (scd1, scd2, fact), "
                              f"not {self.kind.value}.", hint="remove merge_on_read: an append-ingest table only appends")

    @property
    def name(self) -> str:
        return str(self.ref)


@dataclass(frozen=True)
class Pipeline:
    name: str
    tables: tuple[TableSpec, ...]
    description: str = ""

    def table(self, name: str | TableRef) -> TableSpec:
        ref = TableRef.parse(name) if isinstance(name, str) else name
        for spec in self.tables:
            if spec.ref == ref:
                return spec
        raise ConfigError(
            f"Pipeline '{self.name}' has no table '{ref}'.",
            hint="valid tables: " + ", ".join(str(t.ref) for t in self.tables),
        )

    def downstream_of(self, ref: TableRef) -> list[TableSpec]:
        """`ref` and every table fed from it, in run order."""
        selected = {ref}
        result = []
        for spec in self.tables:
            if spec.ref in selected or selected.intersection(spec.upstream):
                selected.add(spec.ref)
                result.append(spec)
        return result
