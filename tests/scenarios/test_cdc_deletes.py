"""CDC deletes (apply_as_deletes), except_column_list and track_history_except_column_list, on every
engine and storage: a small pipeline, bronze -> silver (SCD1) and bronze -> gold (SCD2), fed events
with an `op` column. docs/cdc.md describes the behaviour checked here."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from lakehouse.kinds.scd2.options import Scd2Options
from lakehouse.spec.model import Kind, LandingSource, Pipeline, TableRef, TableSpec

pytestmark = pytest.mark.integration

HEADER = "id,name,phone,updated_at,op"
DELETES = "op = 'D'"

RAW = TableSpec(
    ref=TableRef("bronze", "person_raw"), kind=Kind.APPEND_INGEST, change_data_feed=True,
    source=LandingSource(name="person", folder="person", schema_hints={"id": "bigint", "phone": "string",
                                                                      "updated_at": "timestamp"}),
)
SILVER = TableSpec(
    ref=TableRef("silver", "person"), kind=Kind.SCD1_UPSERT, upstream=(RAW.ref,), keys=("id",),
    sequence_by="updated_at", change_data_feed=True, apply_as_deletes=DELETES, except_column_list=("op",),
)
# Fed from bronze's events, as gold.dim_customer is: silver rightly drops a late event, history keeps it.
GOLD = TableSpec(
    ref=TableRef("gold", "dim_person"), kind=Kind.SCD2_FROM_CHANGES, upstream=(RAW.ref,), keys=("id",),
    sequence_by="updated_at", surrogate_key="dim_person_id", change_data_feed=True,
    apply_as_deletes=DELETES, except_column_list=("op",),
    options=Scd2Options(low_date="1900-01-01", track_history_except_column_list=("phone",)),
)
PIPELINE = Pipeline("cdc-deletes", (RAW, SILVER, GOLD))

BATCHES = [
    ["1,Ann,111,2025-01-01 00:00:00,I", "2,Bob,222,2025-01-01 00:00:00,I", "3,Cy,333,2025-01-01 00:00:00,I"],
    [
        "1,,,2025-02-01 00:00:00,D",  # delete
        "2,Bob,999,2025-02-01 00:00:00,U",  # only the in-place column changes
        "3,Cy2,333,2025-03-01 00:00:00,U",
    ],
    [
        "1,Ann-late,111,2025-01-15 00:00:00,U",  # older than the delete, arriving after it
        "3,,,2025-02-01 00:00:00,D",  # older than key 3's current version
        "2,Bob,999,2025-02-01 00:00:00,I",  # only the excepted op differs from the stored row
    ],
    ["1,Ann3,111,2025-04-01 00:00:00,I"],  # insert after the delete
]


def stamp(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day)


LOW = stamp("1900-01-01")


def naive(value):
    """A timestamp as naive UTC: engines differ in whether they hand out a time zone."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def run_batch(lakehouse, index: int):
    body = "\n".join([HEADER, *BATCHES[index]]) + "\n"
    lakehouse.land(f"person_{index:04d}.csv", body.encode(), table="person")
    return {t.table: t.rows_written for t in lakehouse.run(PIPELINE).tables}


def silver_rows(lakehouse) -> list[tuple]:
    return sorted((r["id"], r["name"], r["phone"], naive(r["updated_at"])) for r in lakehouse.table("silver.person").to_pylist())


def gold_rows(lakehouse) -> list[tuple]:
    rows = lakehouse.table("gold.dim_person").to_pylist()
    return sorted((r["id"], r["dim_person_id"], r["name"], r["phone"], naive(r["start_date"]),
                   naive(r["end_date"]), r["is_current"])
                  for r in rows)


def change_types(lakehouse, name: str, version: int) -> list[tuple]:
    engine = lakehouse.runner.engine
    feed = engine.read_changes(TableRef.parse(name), version, version, columns=["id"])
    table = feed if isinstance(feed, pa.Table) else pa.Table.from_pylist([r.asDict() for r in feed.collect()])
    return sorted((r["id"], r["_change_type"]) for r in table.to_pylist())


def test_deletes_late_events_and_excepted_columns_in_scd1_and_scd2(lakehouse):
    jan, jan15, feb, mar, apr = (stamp(d) for d in ("2025-01-01", "2025-01-15", "2025-02-01", "2025-03-01",
                                                     "2025-04-01"))
    run_batch(lakehouse, 0)
    assert silver_rows(lakehouse) == [(1, "Ann", "111", jan), (2, "Bob", "222", jan), (3, "Cy", "333", jan)]
    assert "op" not in lakehouse.table("silver.person").column_names
    assert "op" not in lakehouse.table("gold.dim_person").column_names

    written = run_batch(lakehouse, 1)
    assert silver_rows(lakehouse) == [(2, "Bob", "999", feb), (3, "Cy2", "333", mar)]
    assert written["silver.person"] == 3
    assert change_types(lakehouse, "silver.person", lakehouse.version("silver.person")) == [
        (1, "delete"), (2, "update_postimage"), (2, "update_preimage"), (3, "update_postimage"),
        (3, "update_preimage")]
    assert gold_rows(lakehouse) == [
        (1, 1, "Ann", "111", LOW, feb, False),  # closed by the delete, no current version
        (2, 2, "Bob", "999", LOW, None, True),  # phone updated in place: no new version
        (3, 3, "Cy", "333", LOW, mar, False),
        (3, 4, "Cy2", "333", mar, None, True),
    ]

    silver_version = lakehouse.version("silver.person")
    written = run_batch(lakehouse, 2)
    # The late event does not bring key 1 back, the old delete leaves key 3, the op-only change is none.
    assert written["silver.person"] == 0
    assert lakehouse.version("silver.person") == silver_version
    assert silver_rows(lakehouse) == [(2, "Bob", "999", feb), (3, "Cy2", "333", mar)]
    assert gold_rows(lakehouse) == [
        (1, 1, "Ann", "111", LOW, jan15, False),
        (1, 5, "Ann-late", "111", jan15, feb, False),  # takes its place before the delete
        (2, 2, "Bob", "999", LOW, None, True),
        (3, 3, "Cy", "333", LOW, feb, False),  # the old delete closes it at its own time
        (3, 4, "Cy2", "333", mar, None, True),  # and the current version stays
    ]

    run_batch(lakehouse, 3)
    assert silver_rows(lakehouse) == [(1, "Ann3", "111", apr), (2, "Bob", "999", feb), (3, "Cy2", "333", mar)]
    assert change_types(lakehouse, "silver.person", lakehouse.version("silver.person")) == [(1, "insert")]
    history_of_1 = [r for r in gold_rows(lakehouse) if r[0] == 1]
    assert history_of_1 == [
        (1, 1, "Ann", "111", LOW, jan15, False),
        (1, 5, "Ann-late", "111", jan15, feb, False),
        (1, 6, "Ann3", "111", apr, None, True),  # a new version after the delete, from the insert's time
    ]


# Engine-independent (no delete clause is built): one variant is enough.
@pytest.mark.parametrize("variant", [("local", "embedded")], ids=["local-embedded"])
def test_a_table_without_deletes_keeps_delete_rows_as_data(lakehouse):
    """Without apply_as_deletes an `op = 'D'` row is an ordinary change (and op is stored)."""
    plain = Pipeline("cdc-plain", (RAW, TableSpec(ref=SILVER.ref, kind=Kind.SCD1_UPSERT, upstream=(RAW.ref,),
                                                  keys=("id",), sequence_by="updated_at", change_data_feed=True)))
    for index in range(2):
        body = "\n".join([HEADER, *BATCHES[index]]) + "\n"
        lakehouse.land(f"person_{index:04d}.csv", body.encode(), table="person")
        lakehouse.run(plain)
    rows = sorted((r["id"], r["name"], r["op"]) for r in lakehouse.table("silver.person").to_pylist())
    assert rows == [(1, None, "D"), (2, "Bob", "U"), (3, "Cy2", "U")]


@pytest.mark.parametrize("variant", [("local", "embedded")], ids=["local-embedded"])
def test_a_crash_between_tombstones_and_table_commit_replays_to_the_same_state(lakehouse, monkeypatch):
    from lakehouse.kinds.scd1 import strategy

    run_batch(lakehouse, 0)

    def crash(*args, **kwargs):
        raise RuntimeError("killed after the tombstones' commit")

    with monkeypatch.context() as patched:
        patched.setattr(strategy, "write_batch", crash)
        with pytest.raises(RuntimeError, match="killed"):
            run_batch(lakehouse, 1)
    tombstones = lakehouse.version("silver.person__tombstones")
    assert tombstones is not None
    lakehouse.run(PIPELINE)
    assert lakehouse.version("silver.person__tombstones") == tombstones, "the replay writes them once"
    assert silver_rows(lakehouse) == [(2, "Bob", "999", stamp("2025-02-01")), (3, "Cy2", "333", stamp("2025-03-01"))]
    run_batch(lakehouse, 2)
    assert [r[0] for r in silver_rows(lakehouse)] == [2, 3], "the late event of key 1 stays out"
    kept = sorted((r["id"], naive(r["updated_at"])) for r in lakehouse.table("silver.person__tombstones").to_pylist())
    assert kept == [(1, stamp("2025-02-01")), (3, stamp("2025-02-01"))]


@pytest.mark.parametrize("variant", [("local", "embedded")], ids=["local-embedded"])
def test_without_effective_time_a_delete_closes_the_version_when_processed(lakehouse):
    """No sequence_by: versions follow arrival and start at their processing time; so does a delete."""
    import dataclasses

    gold = dataclasses.replace(GOLD, sequence_by=None, options=Scd2Options())
    pipeline = Pipeline("cdc-processing-time", (RAW, gold))
    for index, line in enumerate(["1,Ann,111,,I", "1,,,,D", "1,,,,D", "1,Ann,111,,I"]):
        lakehouse.land(f"person_{index:04d}.csv", f"{HEADER}\n{line}\n".encode(), table="person")
        lakehouse.run(pipeline)
    added = {r["source_filename"].rsplit("/", 1)[-1]: naive(r["date_added"])
             for r in lakehouse.table("bronze.person_raw").to_pylist()}
    rows = [(r["dim_person_id"], r["name"], naive(r["start_date"]), naive(r["end_date"]), r["is_current"])
            for r in lakehouse.table("gold.dim_person").to_pylist()]
    assert sorted(rows) == [
        (1, "Ann", added["person_0000.csv"], added["person_0001.csv"], False),  # the second delete adds nothing
        (2, "Ann", added["person_0003.csv"], None, True),  # equal to the deleted version, still a new one
    ]


@pytest.mark.parametrize("variant", [("local", "embedded")], ids=["local-embedded"])
def test_reset_drops_the_tombstones_and_a_full_reprocess_gives_the_same_tables(lakehouse):
    for index in range(len(BATCHES)):
        run_batch(lakehouse, index)
    silver, gold = silver_rows(lakehouse), gold_rows(lakehouse)
    dropped = lakehouse.runner.reset(PIPELINE, "silver.person")
    assert dropped == ["silver.person"]
    assert lakehouse.version("silver.person__tombstones") is None
    lakehouse.run(PIPELINE)
    assert silver_rows(lakehouse) == silver
    assert gold_rows(lakehouse) == gold
    # One batch now: each key's newest change is an upsert newer than its delete, so no tombstone is needed.
    assert lakehouse.version("silver.person__tombstones") is None
