"""Generate TPC-H CSV files with tpchgen-cli into a local work directory.

Layout of the work directory (one scale at a time, so change batches know which data they build on):

    <workdir>/<table>.csv        what tpchgen-cli wrote (header row, ',' separators, quoted text)
    <workdir>/tpch.json          manifest: scale and tables generated, so a rerun can be skipped
    <workdir>/chunks/<table>/    chunk files (see chunking.py)
    <workdir>/changes/           change batches and their state (see changes.py)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypedDict

from lakehouse.core.errors import ConfigError, LakehouseError, MissingDependencyError

ALL_TABLES = ("customer", "orders", "lineitem", "nation", "region", "part", "supplier", "partsupp")
DEFAULT_TABLES = ("customer", "orders", "lineitem", "nation", "region", "part", "supplier")
MANIFEST_NAME = "tpch.json"
INSTALL_HINT = "install it with: pip install tpchgen-cli   (it is a dependency of local-lakehouse)"

Progress = Callable[[str], None]


class Manifest(TypedDict, total=False):
    """`<workdir>/tpch.json`; empty when nothing was generated (or the file is damaged)."""

    scale: float
    tables: dict[str, int]  # table -> size in bytes of its CSV as generated


def _silent(_: str) -> None:
    pass


def find_tpchgen() -> str:
    """The tpchgen-cli executable: next to the running Python first (the venv), then on PATH."""
    name = "tpchgen-cli.exe" if os.name == "nt" else "tpchgen-cli"
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    on_path = shutil.which("tpchgen-cli")
    if on_path:
        return on_path
    raise MissingDependencyError(
        f"tpchgen-cli was not found next to {sys.executable} nor on PATH.", hint=INSTALL_HINT
    )


def validate_tables(tables: Sequence[str]) -> tuple[str, ...]:
    if isinstance(tables, str):
        tables = [tables]
    cleaned = []
    for table in tables:
        for name in str(table).split(","):
            name = name.strip().lower()
            if not name:
                continue
            if name not in ALL_TABLES:
                raise ConfigError(
                    f"Unknown TPC-H table '{name}'.", hint="valid tables: " + ", ".join(ALL_TABLES)
                )
            if name not in cleaned:
                cleaned.append(name)
    if not cleaned:
        raise ConfigError("No TPC-H table was given.", hint="valid tables: " + ", ".join(ALL_TABLES))
    return tuple(cleaned)


def validate_scale(scale: float) -> float:
    try:
        value = float(scale)
    except (TypeError, ValueError):
        raise ConfigError(f"Scale factor '{scale}' is not a number.", hint="for example 0.01 or 1") from None
    if not value > 0:
        raise ConfigError(f"Scale factor must be above 0, got {scale}.", hint="for example 0.01 or 1")
    return value


def read_manifest(workdir: Path) -> Manifest:
    path = Path(workdir) / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        manifest: Manifest = json.loads(path.read_text())
        return manifest
    except (OSError, ValueError):
        # A damaged manifest only costs a regeneration.
        return {}


def generate_tpch(
    scale: float,
    workdir: Path,
    tables: Sequence[str] = DEFAULT_TABLES,
    *,
    progress: Progress | None = None,
) -> dict[str, Path]:
    """Write `<workdir>/<table>.csv` for each table at `scale`; returns table -> CSV path.

    Reuses files already generated at the same scale (checked through the manifest and the file
    sizes), so calling it again is cheap. A different scale replaces the work directory's data,
    including the change-batch state, which only makes sense for the data it was built from.
    """
    scale = validate_scale(scale)
    tables = validate_tables(tables)
    workdir = Path(workdir)
    say = progress or _silent
    workdir.mkdir(parents=True, exist_ok=True)

    manifest = read_manifest(workdir)
    if manifest and float(manifest.get("scale", -1)) != scale:
        say(f"work dir {workdir} holds scale {manifest.get('scale')}; replacing it with scale {scale}")
        _clear_generated(workdir, manifest)
        manifest = {}

    known: dict[str, int] = dict(manifest.get("tables", {}))
    missing = [t for t in tables if not _is_intact(workdir / f"{t}.csv", known.get(t))]
    if missing:
        _run_tpchgen(scale, workdir, missing, say)
        for table in missing:
            known[table] = (workdir / f"{table}.csv").stat().st_size
        manifest = {"scale": scale, "tables": known}
        # Written last: a crash mid-generation leaves no manifest entry, so the next run redoes it.
        (workdir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    else:
        say(f"TPC-H scale {scale} already in {workdir}: {', '.join(tables)}")
    return {table: workdir / f"{table}.csv" for table in tables}


def _is_intact(path: Path, recorded_size: int | None) -> bool:
    return recorded_size is not None and path.is_file() and path.stat().st_size == recorded_size


def _clear_generated(workdir: Path, manifest: Manifest) -> None:
    for table in manifest.get("tables", {}):
        (workdir / f"{table}.csv").unlink(missing_ok=True)
    for derived in ("chunks", "changes"):
        shutil.rmtree(workdir / derived, ignore_errors=True)
    (workdir / MANIFEST_NAME).unlink(missing_ok=True)


def _run_tpchgen(scale: float, workdir: Path, tables: Sequence[str], say: Progress) -> None:
    executable = find_tpchgen()
    say(f"generating TPC-H scale {scale} ({', '.join(tables)}) into {workdir} ...")
    started = time.monotonic()
    # One table per tpchgen-cli process (each is generated on its own anyway), so that every table
    # done is a "[n/total]" step, which the CLI draws as a bar on a terminal (cli/progress.py).
    for number, table in enumerate(tables, start=1):
        table_started = time.monotonic()
        _run_tpchgen_table(executable, scale, workdir, table)
        size = (workdir / f"{table}.csv").stat().st_size
        say(f"[{number}/{len(tables)}] generated {table} ({size / 1e6:.1f} MB, {time.monotonic() - table_started:.1f}s)")
    say(f"generated in {time.monotonic() - started:.1f}s")


def _run_tpchgen_table(executable: str, scale: float, workdir: Path, table: str) -> None:
    command = [
        executable, "csv",
        "--scale-factor", repr(scale),
        "--output-dir", str(workdir),
        "--tables", table,
        # Without --overwrite tpchgen-cli silently keeps a half-written file from a crashed run.
        "--overwrite",
        "--quiet",
        "--no-progress",
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    except OSError as exc:
        raise MissingDependencyError(f"Cannot run {executable}: {exc}", hint=INSTALL_HINT) from exc
    if result.returncode != 0:
        raise LakehouseError(
            f"tpchgen-cli failed with exit code {result.returncode}: {result.stderr.strip()[-2000:]}",
            hint="command was: " + " ".join(command),
        )
    if not (workdir / f"{table}.csv").is_file():
        raise LakehouseError(
            f"tpchgen-cli did not write {workdir / (table + '.csv')}.",
            hint="check the tpchgen-cli version (>= 2.0 writes <output-dir>/<table>.csv)",
        )
