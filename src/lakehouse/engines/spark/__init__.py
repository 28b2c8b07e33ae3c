"""The Spark engine (PySpark + delta-spark). Importing this package does not import pyspark."""

from lakehouse.engines.spark.engine import SparkEngine

__all__ = ["SparkEngine"]
