"""Fault injection for the crash-and-rerun tests: LAKEHOUSE_CRASH_AT=<table>:<point>[@seconds].

Points: `after-read` (input read, nothing written), `during-commit` (SIGKILL `seconds` after the Delta
write starts, default 0.05), `after-commit` (data committed, offset log not yet), `after-checkpoint`
(batch fully done, before the next table). Unset in normal runs: every call is then a no-op.

LAKEHOUSE_PAUSE_AT=<table>:<point>@seconds sleeps at a `crashpoint` instead of dying, so that a test
can start a second run while the first one holds the pipeline lock. With LAKEHOUSE_PAUSE_FILE=<path>
it instead writes that file and waits until the test removes it (after stopping a server, say).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

ENV = "LAKEHOUSE_CRASH_AT"
PAUSE_ENV = "LAKEHOUSE_PAUSE_AT"
PAUSE_FILE_ENV = "LAKEHOUSE_PAUSE_FILE"


def _armed(point: str, env: str = ENV) -> str | None:
    wanted = os.environ.get(env)
    if not wanted:
        return None
    name, _, delay = wanted.partition("@")
    return delay or "" if name == point else None


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _pause(seconds: str) -> None:
    marker = os.environ.get(PAUSE_FILE_ENV)
    if not marker:
        time.sleep(float(seconds or 1.0))
        return
    with open(marker, "w") as out:
        out.write(str(os.getpid()))
    while os.path.exists(marker):
        time.sleep(0.05)


def crashpoint(point: str) -> None:
    pause = _armed(point, PAUSE_ENV)
    if pause is not None:
        _pause(pause)
    if _armed(point) is not None:
        _die()


@contextmanager
def crash_during(point: str) -> Iterator[None]:
    delay = _armed(point)
    if delay is None:
        yield
        return
    timer = threading.Timer(float(delay or 0.05), _die)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        # The write finished before the timer fired: crash right after it instead.
        _die()
