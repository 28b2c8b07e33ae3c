"""Where: the engines, by the name `--engine` takes. A new engine is a folder under engines/ and one
line here; its module is imported only when chosen, so an engine's heavy dependencies stay optional."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from lakehouse.core.errors import ConfigError

if TYPE_CHECKING:
    from lakehouse.core.config import Settings
    from lakehouse.core.storage import Storage
    from lakehouse.engines.base import EngineAdapter

ENGINES: dict[str, str] = {
    "embedded": "lakehouse.engines.embedded.engine:EmbeddedEngine",
    "spark": "lakehouse.engines.spark.engine:SparkEngine",
}


def engine_class(name: str) -> type[EngineAdapter]:
    """The engine class `--engine name` makes, imported now."""
    target = ENGINES.get(name)
    if target is None:
        raise ConfigError(
            f"Unknown engine '{name}'.",
            hint="valid engines: " + ", ".join(ENGINES) + " (--engine or LAKEHOUSE_ENGINE)",
        )
    module_name, class_name = target.split(":")
    found: type[EngineAdapter] = getattr(importlib.import_module(module_name), class_name)
    return found


def make_engine(settings: Settings, storage: Storage) -> EngineAdapter:
    return engine_class(settings.engine)(settings, storage)
