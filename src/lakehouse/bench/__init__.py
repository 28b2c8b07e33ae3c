"""The benchmark harness behind `lakehouse bench` / `make bench` (see docs/benchmarks.md)."""

from lakehouse.bench.harness import BenchOptions, run_bench
from lakehouse.bench.report import render_markdown

__all__ = ["BenchOptions", "render_markdown", "run_bench"]
