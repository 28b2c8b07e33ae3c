"""What the numbers were measured on: date, load, CPU, memory and library versions."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata

from lakehouse.bench.results import Machine


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def _tpchgen_version() -> str:
    from lakehouse.landing import find_tpchgen

    try:
        return subprocess.run([find_tpchgen(), "--version"], capture_output=True, text=True).stdout.strip()
    except Exception:
        return "absent"


def describe() -> Machine:
    import psutil

    load1, load5, load15 = os.getloadavg()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": [round(load1, 2), round(load5, 2), round(load15, 2)],
        "cpus": os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in ("local-lakehouse", "deltalake", "duckdb", "pyarrow")}
        | {"tpchgen-cli": _tpchgen_version()},
    }
