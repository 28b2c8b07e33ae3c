"""Postgres + Hive Metastore 4.0.1 for the tests: the stack's metastore, for real, once per session.

- `postgres_cluster`: a throwaway Postgres cluster from the distribution's packages (initdb,
  pg_ctl), on a free 127.0.0.1 port; as the `postgres` system user when the tests run as root.
- `hive_metastore`: the manifest's standalone metastore 4.0.1 on a database of that cluster,
  schema created by its schematool, with the Docker image's hive-site.xml/core-site.xml.
- `metastore_uri`: its thrift:// URI.

The start/stop logic is lakehouse.catalog.metastore_server's (also behind `lakehouse metastore`).
A service that cannot start FAILS the tests that need it, naming what to install: these are not
Docker tests, so they do not skip.
"""

from __future__ import annotations

import os

import pytest

from lakehouse.core.errors import LakehouseError

METASTORE_JVM_SETS = ("metastore", "metastore-hadoop")


def _fail(what: str, exc: BaseException) -> None:
    pytest.fail(f"{what} could not start: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def postgres_cluster():
    from lakehouse.catalog.metastore_server import start_postgres, stop_postgres

    try:
        cluster = start_postgres()
    except (LakehouseError, OSError) as exc:
        _fail("Postgres (for the Hive Metastore's database)", exc)
    try:
        yield cluster
    finally:
        stop_postgres(cluster)


@pytest.fixture(scope="session")
def hive_metastore(postgres_cluster, s3_server, tmp_path_factory):
    """Hive Metastore 4.0.1 on Postgres, reaching the tests' S3 server through core-site.xml's
    ${env.AWS_*} as the stack's metastore reaches MinIO; yields its MetastoreStatus (uri, pid, state_dir)."""
    from lakehouse.catalog.metastore_server import java_executable, start_metastore, stop_metastore
    from lakehouse.jvm import load_manifest
    from lakehouse.jvm.fetch import fetch

    try:
        java_executable()
        # Pinned and checksummed; a no-op once cached (make setup-spark fetches every set).
        fetch(load_manifest(), list(METASTORE_JVM_SETS), progress=lambda line: None)
        database = postgres_cluster.create_database("metastore")
        state_dir = tmp_path_factory.mktemp("metastore")
        saved = {key: os.environ.get(key) for key in s3_server.env()}
        os.environ.update(s3_server.env())  # read once, by the metastore process as it starts
        try:
            status = start_metastore(state_dir, port=0, database=database, timeout_seconds=240)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    except (LakehouseError, OSError) as exc:
        _fail("Hive Metastore 4.0.1", exc)
    try:
        yield status
    finally:
        stop_metastore(state_dir)


@pytest.fixture(scope="session")
def metastore_uri(hive_metastore) -> str:
    return hive_metastore.uri
