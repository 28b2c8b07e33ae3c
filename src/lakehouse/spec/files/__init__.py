"""Pipelines declared in YAML files: the file format, its checks and where files are found.

`pipelines/NAME.yaml` under a project directory declares pipeline NAME; the pipelines this package
ships (`lakehouse/pipelines/*.yaml`) are found by name when a project does not declare them.
docs/pipelines.md is the format's contract; `pipeline.schema.json` beside this module is its JSON Schema.
"""

from lakehouse.spec.files.finder import SHIPPED_DIR, PipelineFiles, shipped_pipelines
from lakehouse.spec.files.loader import load_pipeline_file
from lakehouse.spec.files.reading import SCHEMA_PATH

__all__ = ["SCHEMA_PATH", "SHIPPED_DIR", "PipelineFiles", "load_pipeline_file", "shipped_pipelines"]
