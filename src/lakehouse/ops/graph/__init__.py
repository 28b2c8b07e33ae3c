"""`lakehouse graph`: the pipeline's tables as a DAG from landing folders to gold."""

from lakehouse.ops.graph.facts import failed_expectations, pipeline_graph, read_events
from lakehouse.ops.graph.model import GraphNode, PipelineGraph, build_graph
from lakehouse.ops.graph.render import FORMATS, render

__all__ = ["FORMATS", "GraphNode", "PipelineGraph", "build_graph", "failed_expectations", "pipeline_graph",
           "read_events", "render"]
