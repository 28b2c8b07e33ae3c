"""Run one benchmark phase in a fresh child process and report its peak memory.

Each phase gets its own process so that one phase's peak (or its allocator's cached pages) never
shows up in the next one. The child is started with `spawn`, not `fork`: a forked child would
start with the parent's resident pages already counted in its maxrss.
"""

from __future__ import annotations

import multiprocessing
import resource
import sys
import threading
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
    # With sample_tree: the largest sum of RSS over the child and its descendants (a JVM that
    # pyspark starts is never waited for, so ru_maxrss misses it), and the JVM's own largest RSS.
    tree_peak_rss_bytes: int | None = None
    jvm_peak_rss_bytes: int | None = None


class TreeSampler:
    """Polls the RSS of a process and its descendants on a thread: peaks of the sum and of `java`."""

    def __init__(self, pid: int, interval_seconds: float = 0.1) -> None:
        self.pid = pid
        self.interval_seconds = interval_seconds
        self.tree_peak = 0
        self.jvm_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def sample(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        total = 0
        for process in processes:
            try:
                rss = int(process.memory_info().rss)
                name = process.name()
            except psutil.Error:  # exited between the listing and the read
                continue
            total += rss
            if name == "java":
                self.jvm_peak = max(self.jvm_peak, rss)
        self.tree_peak = max(self.tree_peak, total)

    def _poll(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            self.sample()

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


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
    return _run(function, args, kwargs, sample_tree=False)


def run_isolated_tree(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> PhaseOutcome[T]:
    """run_isolated, also sampling the RSS of the child's whole process tree (the JVM of pyspark)."""
    return _run(function, args, kwargs, sample_tree=True)


def _run(function: Callable[..., T], args: tuple[object, ...], kwargs: dict[str, object],
         sample_tree: bool) -> PhaseOutcome[T]:
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child_main, args=(sender, function, args, kwargs))
    process.start()
    sender.close()
    sampler = TreeSampler(process.pid or 0) if sample_tree else None
    try:
        if sampler is None:
            status, value, peak = receiver.recv()
        else:
            with sampler:
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
    if sampler is None:
        return PhaseOutcome(value, peak)
    return PhaseOutcome(value, peak, tree_peak_rss_bytes=max(sampler.tree_peak, peak),
                        jvm_peak_rss_bytes=sampler.jvm_peak or None)
