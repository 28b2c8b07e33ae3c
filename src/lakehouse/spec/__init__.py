"""What: declarative pipeline specs. Nothing here names an engine."""

from lakehouse.spec.model import (
    EvolutionMode,
    Kind,
    LandingSource,
    Pipeline,
    TableRef,
    TableSpec,
)
from lakehouse.spec.pipelines import PIPELINES, get_pipeline

__all__ = [
    "EvolutionMode",
    "Kind",
    "LandingSource",
    "PIPELINES",
    "Pipeline",
    "TableRef",
    "TableSpec",
    "get_pipeline",
]
