"""What a table's spec needs from the engine, checked against its Capabilities before anything runs.

A run that would fail half-way (after bronze committed, say) because the engine cannot read a change
feed leaves a pipeline partly run; checked up front, the run is refused whole and says what to do.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from lakehouse.core.errors import ConfigError
from lakehouse.engines.base import EngineAdapter
from lakehouse.engines.registry import ENGINES, engine_class
from lakehouse.spec.model import Kind, TableSpec


class EngineLacksCapabilityError(ConfigError):
    """The chosen engine cannot do what a table's spec needs."""


@dataclass(frozen=True)
class Need:
    capability: str  # a field of engines.base.Capabilities
    what: str
    why: str


def needs(spec: TableSpec) -> list[Need]:
    """What running `spec` needs from the engine, and why."""
    found = [Need("app_transactions", "exactly-once commits (Delta app transactions)",
                  "every batch commits under one, so a batch replayed after a crash commits nothing twice")]
    if spec.change_data_feed:
        found.append(Need("change_data_feed", "a change data feed", "its spec turns its change data feed on"))
    if spec.upstream:
        upstream = ", ".join(str(ref) for ref in spec.upstream)
        found.append(Need("change_data_feed", "a change data feed", f"it is built from the change feed of {upstream}"))
    if spec.kind is Kind.FACT:
        found.append(Need("time_travel", "time travel", "a fact batch reads its inputs as of the versions it planned"))
    return found


def check_capabilities(engine: EngineAdapter, spec: TableSpec) -> None:
    """Raises EngineLacksCapabilityError for the first need of `spec` that `engine` lacks."""
    has = asdict(engine.capabilities)
    for need in needs(spec):
        if has[need.capability]:
            continue
        able = [name for name in ENGINES if asdict(engine_class(name).capabilities)[need.capability]]
        where = (f"run it on an engine that has it (--engine or LAKEHOUSE_ENGINE: {', '.join(able)})" if able
                 else f"no engine of engines.registry has {need.capability}")
        raise EngineLacksCapabilityError(
            f"{spec.ref} needs {need.what} ({need.why}), which the '{engine.name}' engine does not have "
            f"(capability {need.capability}); nothing was run.",
            hint=where,
        )
