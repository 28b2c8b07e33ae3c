"""The fact flow (Kind.FACT): recompute the fact rows of the headers a batch touches, then MERGE.

Inputs are three change feeds (header, lines, dimension) planned together by the driver; the cost
follows the batch: only the touched headers, their lines and their members are read, and only rows
whose hash changed are merged.

Nothing is written until the changed fact rows have met the table's expectations (screen.screened,
the seam every kind's batch goes through): late-arriving dimension members are planned as inferred
rows, the fact rows link to them, and only after the screen (a fail raises here, a drop leaves rows
out) are the members the kept rows link to written, in their own commit (app id
`<fact app id>:inferred`, same batch id) so a replay neither duplicates them nor assigns other
surrogates, and then the fact rows merged.
"""

from __future__ import annotations

from typing import Any

from lakehouse.core.faults import crash_during
from lakehouse.engines.base import EngineAdapter, Transaction
from lakehouse.kinds.base import BatchResult, Reads, app_id, open_batch, write_batch
from lakehouse.kinds.expectations.screen import screened
from lakehouse.kinds.fact import sql as fact
from lakehouse.kinds.fact.options import FactRules
from lakehouse.kinds.scd1 import sql as scd1
from lakehouse.kinds.scd2.history_sql import inferred_members_sql
from lakehouse.kinds.scd2.strategy import max_surrogate
from lakehouse.spec.model import END_DATE, HASH_VALUE, IS_INFERRED, START_DATE, Kind, TableRef, TableSpec


def inferred_app_id(spec: TableSpec) -> str:
    return f"{app_id(spec)}:inferred"


class FactBuild:
    kind = Kind.FACT
    reads = Reads.CHANGE_FEEDS

    def process_batch(
        self,
        engine: EngineAdapter,
        spec: TableSpec,
        feeds: dict[TableRef, Any],
        versions: dict[TableRef, int],
        batch_id: int,
    ) -> BatchResult:
        """`feeds` holds each input's change rows for the batch (None: nothing new); `versions` the
        input versions the batch reads as of, so a replay sees exactly what the first attempt saw."""
        rules = FactRules.of(spec)
        rows_in = sum(engine.row_count(feed) for feed in feeds.values() if feed is not None)
        result, txn = open_batch(engine, spec, batch_id, rows_in)
        if result.skipped_as_replay:
            return result
        dialect = engine.dialect
        # Each step below builds on the previous ones and is counted, joined or written more than once.
        touched = engine.computed(self._touched_headers(engine, rules, feeds, versions))
        result.details["headers_touched"] = engine.row_count(touched)
        if result.details["headers_touched"] == 0:
            return result
        headers, lines = (engine.computed(r) for r in self._touched_rows(engine, rules, touched, versions))
        dimension, planned_members = self._dimension_rows(engine, rules, headers, lines)
        rows = engine.computed(engine.sql(fact.fact_rows_sql(dialect, rules, spec.keys),
                                          {"headers": headers, "lines": lines, "dimension": dimension}))
        result.details["fact_rows_computed"] = engine.row_count(rows)
        target_exists = engine.table_version(spec.ref) is not None
        stored = None
        if target_exists:
            keys_of_touched = engine.sql(f"SELECT DISTINCT {dialect.quote(spec.keys[0])} FROM r", {"r": rows})
            stored = engine.computed(engine.read_matching(spec.ref, keys_of_touched, [spec.keys[0]],
                                                          columns=[*spec.keys, HASH_VALUE]))
            rows = engine.computed(engine.sql(scd1.changed_rows_sql(dialect, spec, "batch", "target"),
                                              {"batch": rows, "target": stored}))
        result.details["inferred_members"] = 0
        if engine.row_count(rows) == 0:
            return result

        def write(kept: Any) -> BatchResult:
            self._write_inferred(engine, spec, rules, planned_members, kept, batch_id, result)
            result.rows_written = engine.row_count(kept)
            if result.rows_written == 0:
                return result
            plan = scd1.merge_plan(dialect, spec, engine.column_names(kept)) if target_exists else None
            return write_batch(engine, spec, txn, result, merge_source=kept, plan=plan, first_rows=kept,
                               new_keys_only=stored is not None and engine.row_count(stored) == 0)

        return screened(engine, spec, batch_id, rows, write)

    def feed_columns(self, engine: EngineAdapter, spec: TableSpec) -> dict[TableRef, list[str]]:
        """What the batch reads of each change feed: the header and line keys, and the dimension's
        validity columns (a 6M-row lineitem feed with every column cost seconds to read)."""
        rules = FactRules.of(spec)
        lookup = rules.dimension
        wanted = [lookup.surrogate_key, lookup.business_key, START_DATE, END_DATE, IS_INFERRED]
        present = {name for name, _ in engine.table_columns(lookup.table)}
        return {rules.header: [rules.header_key], rules.lines: [rules.line_header_key],
                lookup.table: [name for name in wanted if name in present]}

    def _touched_rows(self, engine: EngineAdapter, rules: FactRules, touched: Any,
                      versions: dict[TableRef, int]) -> tuple[Any, Any]:
        """The touched headers and their lines, with the columns the fact reads. When the batch touches
        as many headers as the table holds (a first load), both tables are read whole: matching
        millions of keys cost more than the read. Extra headers only cost work: their unchanged fact
        rows are not written."""
        dialect = engine.dialect
        header_columns, line_columns = list(rules.referenced("h")), list(rules.referenced("l"))
        header_version, line_version = versions[rules.header], versions[rules.lines]
        if engine.row_count(touched) >= engine.table_row_count(rules.header, version=header_version):
            return (engine.read_table(rules.header, version=header_version, columns=header_columns),
                    engine.read_table(rules.lines, version=line_version, columns=line_columns))
        headers = engine.read_matching(rules.header, touched, [rules.header_key], version=header_version,
                                       columns=header_columns)
        line_keys = engine.sql(
            f"SELECT {dialect.quote(rules.header_key)} AS {dialect.quote(rules.line_header_key)} FROM t", {"t": touched}
        )
        lines = engine.read_matching(rules.lines, line_keys, [rules.line_header_key], version=line_version,
                                     columns=line_columns)
        return headers, lines

    def _touched_headers(self, engine: EngineAdapter, rules: FactRules, feeds: dict[TableRef, Any],
                         versions: dict[TableRef, int]) -> Any:
        dialect = engine.dialect
        views: dict[str, Any] = {}
        if feeds.get(rules.header) is not None:
            views["header_changes"] = feeds[rules.header]
        if feeds.get(rules.lines) is not None:
            views["line_changes"] = feeds[rules.lines]
        if feeds.get(rules.dimension.table) is not None:
            lookup = rules.dimension
            ranges = engine.computed(engine.sql(fact.changed_member_ranges_sql(dialect, rules),
                                                {"dimension_changes": feeds[lookup.table]}))
            if engine.row_count(engine.sql(fact.has_bounded_range_sql(dialect), {"ranges": ranges})):
                ranges = engine.computed(self._across_deletes(engine, rules, ranges, versions))
            if engine.row_count(ranges):
                candidates = engine.read_matching(
                    rules.header, ranges, [lookup.fact_key], version=versions[rules.header],
                    columns=[rules.header_key, lookup.fact_key, lookup.as_of],
                )
                views["headers_of_changed_members"] = engine.sql(
                    fact.headers_in_ranges_sql(dialect, rules), {"headers": candidates, "ranges": ranges}
                )
        if not views:
            return engine.sql(f"SELECT CAST(NULL AS BIGINT) AS {dialect.quote(rules.header_key)} WHERE FALSE", {})
        return engine.sql(
            fact.touched_headers_sql(dialect, rules, *(name if name in views else None for name in
                                                       ("header_changes", "line_changes", "headers_of_changed_members"))),
            views,
        )

    def _across_deletes(self, engine: EngineAdapter, rules: FactRules, ranges: Any,
                        versions: dict[TableRef, int]) -> Any:
        """The ranges extended over the delete gaps of their members' versions as of the batch."""
        lookup = rules.dimension
        q = engine.dialect.quote
        members = engine.sql(f"SELECT DISTINCT {q(lookup.fact_key)} AS {q(lookup.business_key)} FROM r", {"r": ranges})
        dimension = engine.read_matching(lookup.table, members, [lookup.business_key],
                                         version=versions[lookup.table],
                                         columns=[lookup.business_key, START_DATE, END_DATE])
        return engine.sql(fact.ranges_across_deletes_sql(engine.dialect, rules),
                          {"ranges": ranges, "dimension": dimension})

    def _dimension_rows(self, engine: EngineAdapter, rules: FactRules, headers: Any, lines: Any) -> tuple[Any, Any]:
        """The dimension rows the touched headers can link to, and the inferred members planned for
        keys the dimension lacks (None: none), which the first already include but nothing has written."""
        lookup = rules.dimension
        dialect = engine.dialect
        q = dialect.quote
        wanted = engine.sql(f"SELECT DISTINCT {q(lookup.fact_key)} AS {q(lookup.business_key)} FROM h "
                            f"WHERE {q(lookup.fact_key)} IS NOT NULL", {"h": headers})
        columns = [lookup.surrogate_key, lookup.business_key, START_DATE, END_DATE]
        # Pinned to the version read: on Spark a lazy read would see the inferred members once written,
        # and the planned members (and the fact rows linking to them) would vanish from the merge.
        dimension = engine.computed(engine.read_matching(lookup.table, wanted, [lookup.business_key], columns=columns,
                                                         version=engine.table_version(lookup.table)))
        missing = engine.sql(fact.missing_members_sql(dialect, rules),
                             {"headers": headers, "lines": lines, "dimension": dimension})
        if engine.row_count(missing) == 0:
            return dimension, None
        columns_now = engine.table_columns(lookup.table)
        if IS_INFERRED not in dict(columns_now):
            columns_now = [*columns_now, (IS_INFERRED, "boolean")]
        members = engine.computed(engine.sql(
            inferred_members_sql(dialect, columns_now, lookup.surrogate_key, lookup.business_key, lookup.low_date,
                                 max_surrogate(engine, lookup.table, lookup.surrogate_key)),
            {"missing": missing},
        ))
        listed = ", ".join(q(name) for name in columns)
        linkable = engine.sql(f"SELECT {listed} FROM d UNION ALL SELECT {listed} FROM m",
                              {"d": dimension, "m": members})
        return linkable, members

    def _write_inferred(self, engine: EngineAdapter, spec: TableSpec, rules: FactRules, planned: Any, kept: Any,
                        batch_id: int, result: BatchResult) -> None:
        """The planned members that kept fact rows link to: a member only a dropped row needed is left
        unwritten, so the dimension holds no member the fact table does not use."""
        if planned is None:
            return
        lookup = rules.dimension
        q = engine.dialect.quote
        members = engine.sql(f"SELECT m.* FROM m WHERE EXISTS (SELECT 1 FROM k WHERE k.{q(lookup.output)} = "
                             f"m.{q(lookup.surrogate_key)})", {"m": planned, "k": kept})
        result.details["inferred_members"] = engine.row_count(members)
        txn = Transaction(inferred_app_id(spec), batch_id)
        if result.details["inferred_members"] == 0 or engine.already_committed(lookup.table, txn):
            return
        with crash_during(f"{spec.ref}:during-inferred-commit"):
            engine.append(lookup.table, members, txn, properties={}, evolve_schema=True)
