"""The one strategy and the invariants per kind. A new kind is a folder under kinds/ and a line in each map."""

from __future__ import annotations

from typing import Any, Literal, Protocol, overload

from lakehouse.kinds.append_ingest import invariants as append_ingest
from lakehouse.kinds.append_ingest.strategy import AppendIngest
from lakehouse.kinds.base import BatchResult, Reads
from lakehouse.kinds.fact import invariants as fact
from lakehouse.kinds.fact.strategy import FactBuild
from lakehouse.kinds.invariants import Invariant
from lakehouse.kinds.scd1 import invariants as scd1
from lakehouse.kinds.scd1.strategy import Scd1Upsert
from lakehouse.kinds.scd2 import invariants as scd2
from lakehouse.kinds.scd2.strategy import Scd2FromChanges
from lakehouse.spec.model import Kind


class Strategy(Protocol):
    """What a driver calls per batch. Each kind's process_batch takes that kind's inputs (landed rows,
    one change feed, or the fact's three), so a kind looked up by value is only known to take a batch."""

    kind: Kind
    reads: Reads

    def process_batch(self, *args: Any, **kwargs: Any) -> BatchResult: ...


class StrategyRegistry(dict[Kind, Strategy]):
    """A dict, so tests can swap a strategy; a kind named literally gives its own class, with the
    signature its callers are checked against."""

    @overload
    def __getitem__(self, kind: Literal[Kind.APPEND_INGEST]) -> AppendIngest: ...
    @overload
    def __getitem__(self, kind: Literal[Kind.FACT]) -> FactBuild: ...
    @overload
    def __getitem__(self, kind: Kind) -> Strategy: ...
    def __getitem__(self, kind: Kind) -> Strategy:
        return super().__getitem__(kind)


STRATEGIES = StrategyRegistry({
    Kind.APPEND_INGEST: AppendIngest(),
    Kind.SCD1_UPSERT: Scd1Upsert(),
    Kind.SCD2_FROM_CHANGES: Scd2FromChanges(),
    Kind.FACT: FactBuild(),
})

def reads_of(kind: Kind) -> Reads:
    """What batches of `kind` are made of, for the drivers to plan by."""
    return STRATEGIES[kind].reads


def change_types_of(kind: Kind) -> tuple[str, ...] | None:
    """The change rows a kind fed by one change feed takes (None: all of them)."""
    types: tuple[str, ...] | None = getattr(STRATEGIES[kind], "change_types", None)
    return types


def requires_upstream_feed(kind: Kind) -> bool:
    """Whether a kind fed by one change feed needs its upstream's feed on (else: read as inserts)."""
    return bool(getattr(STRATEGIES[kind], "requires_upstream_feed", True))


# What `lakehouse validate` checks of a table of each kind, in the order it reports them.
INVARIANTS: dict[Kind, tuple[Invariant, ...]] = {
    Kind.APPEND_INGEST: append_ingest.INVARIANTS,
    Kind.SCD1_UPSERT: scd1.INVARIANTS,
    Kind.SCD2_FROM_CHANGES: scd2.INVARIANTS,
    Kind.FACT: fact.INVARIANTS,
}
