"""Run one benchmark phase in a fresh child process and report its peak memory.

Each phase gets its own process so that one phase's peak (or its allocator's cached pages) never
shows up in the next one. The child is started with `spawn`, not `fork`: a forked child would
start with the parent's resident pages already counted in its maxrss.
"""

from __future__ import annotations

import multiprocessing
import resource
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Generic, ParamSpec, TypeVar

from lakehouse.core.errors import LakehouseError

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class PhaseOutcome(Generic[T]):
    value: T
    # Peak resident set of the child itself (and of any process it waited for).
    peak_rss_bytes: int


def _own_high_water_bytes() -> int | None:
    """This process's own peak RSS (Linux VmHWM): it starts afresh at exec.

    ru_maxrss does not: Linux carries the pre-exec high-water mark over, so a spawned child (fork,
    then exec) would report at least its parent's RSS at the fork.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _peak_rss_bytes() -> int:
    # ru_maxrss is in KiB on Linux (bytes on macOS); it is the fallback where /proc is missing.
    scale = 1 if sys.platform == "darwin" else 1024
    own = _own_high_water_bytes()
    if own is None:
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    waited = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return max(own, waited)


def _child_main(connection: Connection[Any, Any], function: Callable[..., object], args: tuple[object, ...],
                kwargs: dict[str, object]) -> None:
    try:
        value = function(*args, **kwargs)
        connection.send(("ok", value, _peak_rss_bytes()))
    except BaseException as exc:
        connection.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}", _peak_rss_bytes()))
    finally:
        connection.close()


def run_isolated(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> PhaseOutcome[T]:
    """Call module-level `function(*args, **kwargs)` in a spawned child; its value must pickle."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child_main, args=(sender, function, args, kwargs))
    process.start()
    sender.close()
    try:
        status, value, peak = receiver.recv()
    except EOFError:
        process.join()
        raise LakehouseError(
            f"Benchmark phase {function.__name__} died with exit code {process.exitcode} (out of memory?).",
            hint="check `dmesg` for the OOM killer, or run at a smaller --scale",
        ) from None
    process.join()
    if status != "ok":
        raise LakehouseError(f"Benchmark phase {function.__name__} failed: {value}")
    return PhaseOutcome(value, peak)
