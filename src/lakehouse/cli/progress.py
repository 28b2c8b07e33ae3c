"""Progress on stderr: a bar on a terminal, plain lines anywhere else (a pipe, a log file, --json).

Lower layers report progress as plain strings (Callable[[str], None]); a message that starts with
"[done/total]" is a step of a counted piece of work (files landed, tables run) and drives the bar.
Everything else is printed as a line, above the bar when one is showing."""

from __future__ import annotations

import re
import sys
from typing import Any, TextIO

import click

STEP = re.compile(r"^\[(?P<done>\d+)/(?P<total>\d+)\]\s*(?P<text>.*)$", re.DOTALL)


class ProgressDisplay:
    def __init__(self, stream: TextIO | None = None, *, bars: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        # Bars only where someone watches: a terminal, never a pipe or a file.
        self.bars = bars if bars is not None else _is_terminal(self.stream)
        self._live: Any = None
        self._task: Any = None
        self._total = 0

    def __call__(self, message: str) -> None:
        step = STEP.match(message)
        if not self.bars or step is None:
            self._line(message)
            return
        done, total = int(step["done"]), int(step["total"])
        if self._live is None or total != self._total or done < self._completed():
            self._start(total)
        self._live.update(self._task, completed=done, description=_short(step["text"]))
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _line(self, message: str) -> None:
        if self._live is not None:
            self._live.console.print(message, markup=False, highlight=False)
        else:
            click.echo(message, file=self.stream)

    def _completed(self) -> float:
        return float(self._live.tasks[0].completed) if self._live is not None else 0.0

    def _start(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.close()
        console = Console(file=self.stream, force_terminal=True)
        self._live = Progress(BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                              TextColumn("{task.description}"), console=console)
        self._live.start()
        self._task = self._live.add_task("", total=total)
        self._total = total


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _short(text: str, width: int = 70) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1):]
