"""What: declarative pipeline specs. Nothing here names an engine."""

from lakehouse.spec.expectations import Expectation, OnViolation
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
    "Expectation",
    "Kind",
    "LandingSource",
    "OnViolation",
    "PIPELINES",
    "Pipeline",
    "TableRef",
    "TableSpec",
    "get_pipeline",
]
