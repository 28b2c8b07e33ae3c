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


def make_engine(settings: Settings, storage: Storage) -> EngineAdapter:
    target = ENGINES.get(settings.engine)
    if target is None:
        raise ConfigError(
            f"Unknown engine '{settings.engine}'.",
            hint="valid engines: " + ", ".join(ENGINES) + " (--engine or LAKEHOUSE_ENGINE)",
        )
    module_name, class_name = target.split(":")
    engine_class = getattr(importlib.import_module(module_name), class_name)
    engine: EngineAdapter = engine_class(settings, storage)
    return engine
