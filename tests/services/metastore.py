"""Postgres + Hive Metastore 4.0.x for the tests (filled in by the metastore work)."""
