from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest

from lakehouse.core.errors import ConfigError, InputFileError
from lakehouse.landing import make_customer_changes
from lakehouse.landing.changes import CHANGEABLE_FIELDS
from lakehouse.landing.csvtext import read_csv_text
from lakehouse.spec.pipelines import CUSTOMER_COLUMNS

from .conftest import TINY_CUSTOMERS

STANDARD = dict(share=0.1, new=4, resend=3, duplicates=2)


def rows_of(path) -> list[dict]:
    return read_csv_text(path).to_pylist()


def raw_lines_by_key(path) -> dict[int, list[str]]:
    lines = defaultdict(list)
    for line in path.read_text().splitlines()[1:]:
        lines[int(line.split(",", 1)[0])].append(line)
    return lines


def latest_by_key(rows) -> dict[int, dict]:
    # The landing contract: within a file, the last occurrence of a key wins.
    return {int(row["c_custkey"]): row for row in rows}


def test_batch_counts_are_exact(workdir):
    batch = make_customer_changes(workdir, seed=1, **STANDARD)
    rows = rows_of(batch.path)
    assert (batch.changed, batch.new, batch.resent, batch.duplicates) == (15, 4, 3, 2)
    assert batch.rows == len(rows) == 15 + 4 + 3 + 2
    assert batch.path.name == "customer_changes_0001.csv"
    assert list(read_csv_text(batch.path).column_names) == list(CUSTOMER_COLUMNS)
    keys = Counter(int(row["c_custkey"]) for row in rows)
    assert sorted(k for k, n in keys.items() if n == 2) == batch.duplicate_keys
    assert set(keys) == set(batch.changed_keys) | set(batch.new_keys) | set(batch.resent_keys)
    assert not set(batch.changed_keys) & set(batch.resent_keys)


def test_changed_rows_differ_exactly_in_the_reported_fields(workdir):
    original = latest_by_key(rows_of(workdir / "customer.csv"))
    batch = make_customer_changes(workdir, seed=2, **STANDARD)
    latest = latest_by_key(rows_of(batch.path))
    for key in batch.changed_keys:
        fields = batch.changed_fields[key]
        assert 1 <= len(fields) <= 2 and set(fields) <= set(CHANGEABLE_FIELDS)
        differing = [c for c in CUSTOMER_COLUMNS if latest[key][c] != original[key][c]]
        assert differing == sorted(fields, key=CUSTOMER_COLUMNS.index), key


def test_resends_are_byte_identical_to_the_landed_rows(workdir):
    original_lines = raw_lines_by_key(workdir / "customer.csv")
    batch = make_customer_changes(workdir, seed=3, **STANDARD)
    batch_lines = raw_lines_by_key(batch.path)
    for key in batch.resent_keys:
        assert batch_lines[key] == original_lines[key]


def test_duplicates_differ_and_the_last_one_is_the_new_state(workdir):
    batch = make_customer_changes(workdir, seed=4, **STANDARD)
    rows = rows_of(batch.path)
    for key in batch.duplicate_keys:
        first, last = [row for row in rows if int(row["c_custkey"]) == key]
        assert first != last
        assert key in batch.changed_keys or key in batch.new_keys
    # The next batch re-sends from the state: a re-sent duplicate must equal the LAST occurrence.
    following = make_customer_changes(workdir, seed=4, share=0.0, new=0, resend=TINY_CUSTOMERS + 4, duplicates=0)
    state_now = latest_by_key(rows_of(following.path))
    last = latest_by_key(rows)
    for key in batch.duplicate_keys:
        assert state_now[key] == last[key]


def test_new_keys_follow_the_maximum(workdir):
    batch = make_customer_changes(workdir, seed=5, **STANDARD)
    assert batch.new_keys == list(range(TINY_CUSTOMERS + 1, TINY_CUSTOMERS + 5))
    rows = latest_by_key(rows_of(batch.path))
    for key in batch.new_keys:
        assert rows[key]["c_name"] == f"Customer#{key:09d}"
        assert re.fullmatch(r"\d{2}-\d{3}-\d{3}-\d{4}", rows[key]["c_phone"])
        assert int(rows[key]["c_phone"][:2]) == int(rows[key]["c_nationkey"]) + 10


def test_same_seed_same_batch_and_other_seed_another(workdir, tiny_tpch, tmp_path):
    import shutil

    twin = tmp_path / "twin"
    shutil.copytree(tiny_tpch, twin)
    first = make_customer_changes(workdir, seed=42, **STANDARD)
    again = make_customer_changes(twin, seed=42, **STANDARD)
    assert first.path.read_bytes() == again.path.read_bytes()
    assert first.to_dict() | {"path": ""} == again.to_dict() | {"path": ""}

    other = tmp_path / "other"
    shutil.copytree(tiny_tpch, other)
    assert make_customer_changes(other, seed=43, **STANDARD).changed_keys != first.changed_keys


def test_unseeded_batches_report_the_seed_that_reproduces_them(workdir, tiny_tpch, tmp_path):
    import shutil

    batch = make_customer_changes(workdir, seed=None, **STANDARD)
    twin = tmp_path / "twin"
    shutil.copytree(tiny_tpch, twin)
    assert make_customer_changes(twin, seed=batch.seed, **STANDARD).path.read_bytes() == batch.path.read_bytes()


def test_successive_batches_build_on_the_state(workdir):
    first = make_customer_changes(workdir, seed=7, **STANDARD)
    state = latest_by_key(rows_of(workdir / "customer.csv"))
    state.update(latest_by_key(rows_of(first.path)))
    second = make_customer_changes(workdir, seed=7, share=0.5, new=3, resend=60, duplicates=0)
    assert second.batch == 2 and second.path.name == "customer_changes_0002.csv"
    assert second.new_keys == [max(first.new_keys) + i for i in (1, 2, 3)]
    rows = latest_by_key(rows_of(second.path))
    for key in second.resent_keys:
        assert rows[key] == state[key]
    for key in second.changed_keys:
        assert rows[key] != state[key]
    # 75 changed + 60 re-sent of 154 keys: some of batch 1's keys are surely among them.
    touched_before = set(first.changed_keys) | set(first.new_keys)
    assert touched_before & (set(second.resent_keys) | set(second.changed_keys))


def test_changes_clear_some_values_to_null_and_to_empty_string(workdir):
    batch = make_customer_changes(workdir, seed=11, share=1.0, new=0, resend=0, duplicates=0)
    rows = latest_by_key(rows_of(batch.path))
    assert any(rows[k]["c_phone"] is None for k in batch.changed_keys)
    assert any(rows[k]["c_address"] == "" for k in batch.changed_keys)
    text = batch.path.read_text()
    assert ',"",' in text and re.search(r",,\d", text)


def test_effective_time_is_later_in_each_batch(workdir):
    first = make_customer_changes(workdir, seed=8, effective_time=True, **STANDARD)
    second = make_customer_changes(workdir, seed=8, effective_time=True, **STANDARD)
    times = {}
    for batch in (first, second):
        rows = rows_of(batch.path)
        assert list(rows[0]) == [*CUSTOMER_COLUMNS, "c_updated_at"]
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r["c_updated_at"]) for r in rows)
        fresh = [r["c_updated_at"] for r in rows if int(r["c_custkey"]) not in batch.resent_keys]
        times[batch.batch] = (min(fresh), max(fresh))
    assert times[1][1] < times[2][0]
    # A re-send is the current version, its time included.
    first_times = {k: r["c_updated_at"] for k, r in latest_by_key(rows_of(first.path)).items()}
    second_rows = latest_by_key(rows_of(second.path))
    for key in second.resent_keys:
        expected = first_times.get(key, "2024-01-01 00:00:00")
        assert second_rows[key]["c_updated_at"] == expected
    for key in first.duplicate_keys:
        decoy, winner = [r for r in rows_of(first.path) if int(r["c_custkey"]) == key]
        assert decoy["c_updated_at"] < winner["c_updated_at"]


def test_out_of_order_rows_are_older_and_do_not_become_current(workdir):
    first = make_customer_changes(workdir, seed=9, effective_time=True, **STANDARD)
    before = latest_by_key(rows_of(workdir / "customer.csv")) | latest_by_key(rows_of(first.path))
    second = make_customer_changes(workdir, seed=9, effective_time=True, out_of_order=0.5, **STANDARD)
    assert second.out_of_order == 8 and second.changed == 7
    assert second.rows == 7 + 8 + 4 + 3 + 2
    rows = latest_by_key(rows_of(second.path))
    for key in second.out_of_order_keys:
        current_time = before[key].get("c_updated_at") or "2024-01-01 00:00:00"
        assert rows[key]["c_updated_at"] < current_time
    # The state kept the newer versions: a full re-send shows none of the late values.
    third = make_customer_changes(workdir, seed=9, share=0.0, new=0, resend=TINY_CUSTOMERS + 8, duplicates=0)
    state_now = latest_by_key(rows_of(third.path))
    for key in second.out_of_order_keys:
        assert state_now[key] != {c: rows[key][c] for c in CUSTOMER_COLUMNS}


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(share=1.0, new=0, resend=1, duplicates=0), "lower --share or --resend"),
        (dict(share=0.0, new=1, resend=0, duplicates=2), "--duplicates"),
        (dict(share=1.5, new=0, resend=0, duplicates=0), "--share"),
        (dict(share=0.1, new=-1, resend=0, duplicates=0), "--new"),
        (dict(share=0.1, new=0, resend=0, duplicates=0, out_of_order=0.5), "--effective-time"),
    ],
)
def test_impossible_batches_are_refused(workdir, arguments, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        make_customer_changes(workdir, seed=1, **arguments)
    assert not (workdir / "changes" / "customer_changes_0001.csv").exists()


def test_without_generated_data_the_error_names_the_command(tmp_path):
    with pytest.raises(InputFileError, match="lakehouse landing sample"):
        make_customer_changes(tmp_path, seed=1, **STANDARD)


def test_new_customers_first_take_keys_reserved_as_pending(workdir):
    # An orders batch with late-arriving customers reserves keys this way; they land later.
    import json

    make_customer_changes(workdir, seed=1, **STANDARD)
    meta_path = workdir / "changes" / "customer_state.json"
    meta = json.loads(meta_path.read_text())
    meta["extra"]["pending_keys"] = [900, 901]
    meta_path.write_text(json.dumps(meta))
    batch = make_customer_changes(workdir, seed=1, share=0.0, new=3, resend=0, duplicates=0)
    assert batch.new_keys == [900, 901, 902]
    assert json.loads(meta_path.read_text())["extra"]["pending_keys"] == []
