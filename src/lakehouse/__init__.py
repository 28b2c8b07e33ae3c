"""Local Lakehouse: Databricks-style medallion pipelines on an open stack."""

__version__ = "0.1.0"
