"""The one place that imports heavy optional dependencies, failing with the exact install command."""

from __future__ import annotations

import importlib
from types import ModuleType

from lakehouse.core.errors import MissingDependencyError

_INSTALL = {
    "pyspark": 'pip install "local-lakehouse[spark]"   (or: make setup)',
    "delta": 'pip install "delta-spark==4.0.1"   (the Docker image has it; it needs Maven jars at runtime)',
    "hive_metastore_client": 'pip install "local-lakehouse[catalog]"',
    "testcontainers": 'pip install "testcontainers>=4.15"',
    "PIL": 'pip install "local-lakehouse[graph]"   (Pillow, for lakehouse graph --format png)',
    "pyroaring": 'pip install "pyroaring>=1.0,<2"   (a core dependency: reinstall local-lakehouse)',
}


def require(module: str) -> ModuleType:
    """Import `module` or raise MissingDependencyError naming the install command."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        command = _INSTALL.get(top, f"pip install {top}")
        raise MissingDependencyError(
            f"This feature needs the optional package '{top}', which is not installed ({exc}).",
            hint=f"install it with: {command}",
        ) from exc
