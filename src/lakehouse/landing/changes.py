"""Customer change batches: one CSV with changed, new, re-sent and duplicated customers.

What a batch holds (each key category is disjoint; see ChangeBatch):
- changed: existing keys with 1-2 of address, phone, account balance, market segment changed.
  A few changes clear a value: a phone becomes NULL (`,,`) or an address the empty string (`,"",`).
- new: keys above the current maximum. Keys listed as `pending_keys` in the state come first:
  that is where an orders batch with late-arriving customers (not written yet) reserves them.
- resent: existing keys sent again, byte-identical to their latest version.
- duplicates: some changed or new keys appear twice, the two rows with different values.
  **The LAST occurrence in the file is the one that should win**; the earlier one is a decoy
  (and with --effective-time it also carries the earlier time).
- out_of_order (with effective time only): changed values stamped with a time older than the
  key's current version. They must not replace the current version; the state keeps the newer one.

With `effective_time` the file has an extra `c_updated_at` column (`YYYY-MM-DD HH:MM:SS`): rows
of batch n are stamped one second apart starting one day after the latest time of batch n-1.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from lakehouse.core.errors import ConfigError
from lakehouse.landing import fakes
from lakehouse.landing.csvtext import write_csv_text
from lakehouse.landing.state import (
    TIME_COLUMN,
    TableState,
    TextRow,
    changes_dir,
    check_count,
    check_share,
    format_time,
    load_state,
    parse_time,
    save_state,
)
from lakehouse.spec.pipelines import CUSTOMER_COLUMNS

CUSTOMER_KEY = "c_custkey"
CUSTOMER_TIME_COLUMN = "c_updated_at"
# tpchgen-cli quotes the free-text columns; change batches look the same.
CUSTOMER_QUOTED = ("c_address", "c_comment")
CHANGEABLE_FIELDS = ("c_address", "c_phone", "c_acctbal", "c_mktsegment")
# Cleared values are rare but present, so the pipeline always meets both NULL and ''.
CLEAR_PROBABILITY = 0.05


@dataclass
class ChangeBatch:
    """What one change batch holds. Keys are ints; rows = changed + out_of_order + new + resent + duplicates."""

    path: Path
    table: str
    batch: int
    seed: int
    rows: int
    changed: int
    new: int
    resent: int
    duplicates: int
    out_of_order: int
    effective_time: bool
    changed_keys: list[int] = field(default_factory=list)
    new_keys: list[int] = field(default_factory=list)
    resent_keys: list[int] = field(default_factory=list)
    duplicate_keys: list[int] = field(default_factory=list)
    out_of_order_keys: list[int] = field(default_factory=list)
    changed_fields: dict[int, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["path"] = str(self.path)
        data["changed_fields"] = {str(k): v for k, v in self.changed_fields.items()}
        return data


# What a row of the batch file is; decoys are the losing first copies of duplicated keys.
EntryKind = Literal["changed", "out_of_order", "resent", "new", "decoy"]
Entry = tuple[EntryKind, TextRow]


def batch_file_name(table: str, batch: int) -> str:
    return f"{table}_changes_{batch:04d}.csv"


def _present(row: TextRow, name: str) -> str:
    """A value the generator itself always fills (keys, nation keys, stamped times)."""
    value = row[name]
    if value is None:
        raise ValueError(f"column {name} is NULL in a row that must have it: {row!r}")
    return value


def _key(row: TextRow) -> int:
    return int(_present(row, CUSTOMER_KEY))


def change_customer_field(row: TextRow, name: str, rng: random.Random) -> str | None:
    """A new value for `name` that differs from the row's current one."""
    current = row[name]
    for _ in range(100):
        value: str | None
        if name == "c_address":
            value = "" if rng.random() < CLEAR_PROBABILITY else fakes.address(rng)
        elif name == "c_phone":
            value = None if rng.random() < CLEAR_PROBABILITY else fakes.phone(rng, int(_present(row, "c_nationkey")))
        elif name == "c_acctbal":
            base = float(current) if current else 0.0
            value = fakes.money(min(max(base + rng.uniform(-500, 500), -999.99), 9999.99))
        elif name == "c_mktsegment":
            value = rng.choice(fakes.SEGMENTS)
        else:
            raise ValueError(f"no change rule for column {name}")
        if value != current:
            return value
    raise RuntimeError(f"could not find a new value for {name} (current {current!r})")


def new_customer(key: int, rng: random.Random) -> TextRow:
    nation = rng.randint(0, 24)
    return {
        "c_custkey": str(key),
        "c_name": f"Customer#{key:09d}",
        "c_address": fakes.address(rng),
        "c_nationkey": str(nation),
        "c_phone": fakes.phone(rng, nation),
        "c_acctbal": fakes.money(rng.uniform(-999.99, 9999.99)),
        "c_mktsegment": rng.choice(fakes.SEGMENTS),
        "c_comment": fakes.comment(rng),
    }


def _changed_copy(row: TextRow, rng: random.Random) -> tuple[TextRow, list[str]]:
    fields = sorted(rng.sample(CHANGEABLE_FIELDS, rng.choice((1, 2))))
    changed = dict(row)
    for name in fields:
        changed[name] = change_customer_field(row, name, rng)
    return changed, fields


def allocate_customer_keys(state: TableState, count: int) -> list[int]:
    """Keys for new customers: first those an orders batch already used (late-arriving
    customers, kept in the state as pending), then fresh ones above every key seen."""
    pending = [int(k) for k in state.extra.get("pending_keys", [])]
    taken = pending[:count]
    state.extra["pending_keys"] = pending[count:]
    first_free = max([state.max_key(), *pending]) + 1
    return taken + list(range(first_free, first_free + count - len(taken)))


def _resolve_seed(seed: int | None) -> int:
    # Without a seed we still pick one and report it, so any batch can be made again.
    return random.SystemRandom().randrange(2**31) if seed is None else int(seed)


@dataclass(frozen=True)
class _Counts:
    """How many rows of each category one batch gets, checked against the table."""

    to_change: int  # changed + out_of_order
    late: int  # out_of_order
    resend: int
    new: int
    duplicates: int


def _plan_counts(existing: int, share: float, out_of_order: float, new: int, resend: int, duplicates: int) -> _Counts:
    to_change = round(share * existing)
    if share > 0 and to_change == 0:
        to_change = 1
    if to_change + resend > existing:
        raise ConfigError(
            f"Cannot change {to_change} and re-send {resend} of {existing} existing customers.",
            hint="lower --share or --resend",
        )
    late = round(out_of_order * to_change)
    if out_of_order > 0 and to_change and late == 0:
        late = 1
    if duplicates > to_change - late + new:
        raise ConfigError(
            f"--duplicates {duplicates} is more than the changed ({to_change - late}) plus new ({new}) keys it repeats.",
            hint="raise --share or --new, or lower --duplicates",
        )
    return _Counts(to_change=to_change, late=late, resend=resend, new=new, duplicates=duplicates)


def _draw_entries(
    state: TableState, counts: _Counts, rng: random.Random
) -> tuple[list[Entry], dict[int, list[str]], list[int]]:
    """The batch's winning rows in file order (no decoys yet), the fields changed per key, the new keys."""
    picked = rng.sample(range(state.rows.num_rows), counts.to_change + counts.resend)
    current_rows = state.take(picked)
    to_change_rows, resent_rows = current_rows[:counts.to_change], current_rows[counts.to_change:]
    late_rows, changed_rows = to_change_rows[:counts.late], to_change_rows[counts.late:]

    entries: list[Entry] = []  # rows carry TIME_COLUMN; new rows get theirs when stamped
    changed_fields: dict[int, list[str]] = {}
    kinds: tuple[tuple[EntryKind, list[TextRow]], ...] = (("changed", changed_rows), ("out_of_order", late_rows))
    for kind, rows in kinds:
        for row in rows:
            updated, fields = _changed_copy(row, rng)
            changed_fields[_key(row)] = fields
            entries.append((kind, updated))
    entries.extend(("resent", dict(row)) for row in resent_rows)

    new_keys = allocate_customer_keys(state, counts.new)
    for key in new_keys:
        entries.append(("new", {**new_customer(key, rng), TIME_COLUMN: None}))
    rng.shuffle(entries)
    return entries, changed_fields, new_keys


def _with_decoys(entries: list[Entry], duplicates: int, rng: random.Random) -> tuple[list[Entry], list[int]]:
    """`entries` with a decoy row somewhere before the winning row of `duplicates` keys; and those keys."""
    winners = [(i, row) for i, (kind, row) in enumerate(entries) if kind in ("changed", "new")]
    decoys: list[tuple[float, Entry]] = []
    for position, row in rng.sample(winners, duplicates):
        decoy, _ = _changed_copy(row, rng)
        decoys.append((rng.uniform(-1.0, position - 0.5), ("decoy", decoy)))
    placed = [*((float(i), e) for i, e in enumerate(entries)), *decoys]
    ordered = [entry for _, entry in sorted(placed, key=lambda x: x[0])]
    return ordered, sorted(_key(row) for _, (_, row) in decoys)


def _stamp_times(ordered: list[Entry], start: datetime, rng: random.Random) -> datetime:
    """Set every row's TIME_COLUMN, one second apart from `start`; returns the latest current time."""
    for offset, (kind, row) in enumerate(ordered):
        if kind == "out_of_order":
            row[TIME_COLUMN] = format_time(parse_time(_present(row, TIME_COLUMN)) - timedelta(hours=rng.randint(1, 72)))
        elif kind != "resent":  # a re-send is identical to the current version, its time included
            row[TIME_COLUMN] = format_time(start + timedelta(seconds=offset))
    return max([start, *(parse_time(_present(r, TIME_COLUMN)) for k, r in ordered if k != "out_of_order")])


def _write_batch(path: Path, ordered: list[Entry], effective_time: bool) -> int:
    header = list(CUSTOMER_COLUMNS) + ([CUSTOMER_TIME_COLUMN] if effective_time else [])
    columns = list(CUSTOMER_COLUMNS) + ([TIME_COLUMN] if effective_time else [])
    return write_csv_text(path, header, ([row[c] for c in columns] for _, row in ordered), CUSTOMER_QUOTED)


def _keys_of(entries: list[Entry], kind: EntryKind) -> list[int]:
    return sorted(_key(row) for k, row in entries if k == kind)


def _advance_state(workdir: Path, state: TableState, entries: list[Entry], batch: int, last_time: datetime) -> None:
    # Out-of-order rows and decoys do not become the latest version; re-sends change nothing.
    state.replace([row for kind, row in entries if kind in ("changed", "new")])
    state.batch = batch
    state.last_time = last_time
    save_state(workdir, state)


def make_customer_changes(
    workdir: Path,
    *,
    share: float,
    new: int,
    resend: int,
    duplicates: int,
    seed: int | None,
    effective_time: bool = False,
    out_of_order: float = 0.0,
) -> ChangeBatch:
    """Write the next `<workdir>/changes/customer_changes_NNNN.csv` and advance the state.

    `share` of the current keys get changes; `out_of_order` is the share of those stamped older
    than their current version (needs `effective_time`). The file is not landed here: pass
    `batch.path` to `land_files(storage, [batch.path], settings.landing, "customer")`.
    """
    share = check_share("share", share)
    out_of_order = check_share("out_of_order", out_of_order)
    new, resend, duplicates = (check_count(n, v) for n, v in (("new", new), ("resend", resend), ("duplicates", duplicates)))
    if out_of_order and not effective_time:
        raise ConfigError("--out-of-order needs --effective-time: without a time column no row can be older.")
    seed = _resolve_seed(seed)
    state = load_state(workdir, "customer", CUSTOMER_KEY)
    batch_number = state.batch + 1
    # Seeded per batch: the same seed on successive batches still picks different keys.
    rng = random.Random(f"customer:{seed}:{batch_number}")

    counts = _plan_counts(state.rows.num_rows, share, out_of_order, new, resend, duplicates)
    entries, changed_fields, new_keys = _draw_entries(state, counts, rng)
    ordered, duplicate_keys = _with_decoys(entries, counts.duplicates, rng)
    last_time = _stamp_times(ordered, state.last_time + timedelta(days=1), rng)
    path = changes_dir(workdir) / batch_file_name("customer", batch_number)
    written = _write_batch(path, ordered, effective_time)
    _advance_state(workdir, state, entries, batch_number, last_time)
    return ChangeBatch(
        path=path,
        table="customer",
        batch=batch_number,
        seed=seed,
        rows=written,
        changed=counts.to_change - counts.late,
        new=len(new_keys),
        resent=counts.resend,
        duplicates=duplicates,
        out_of_order=counts.late,
        effective_time=effective_time,
        changed_keys=_keys_of(entries, "changed"),
        new_keys=sorted(new_keys),
        resent_keys=_keys_of(entries, "resent"),
        duplicate_keys=duplicate_keys,
        out_of_order_keys=_keys_of(entries, "out_of_order"),
        changed_fields=dict(sorted(changed_fields.items())),
    )
