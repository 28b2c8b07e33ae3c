"""A Spark session (local mode, Hive support, Hive client 4.0.1, Delta) that answers questions about
what a Hive Metastore holds, one JSON line in, one JSON line out.

Run as a subprocess by tests/catalog/test_spark_sees_catalog.py: another test session owns the
in-process SparkSession, and this one needs other settings (spark.sql.hive.metastore.*), which a
JVM takes once. Usage: python spark_catalog_probe.py THRIFT_URI WAREHOUSE_DIR < requests

Requests: {"databases": [names]} -> {"databases": [all], "tables": {db: {table: {...}}}};
{"sql": "..."} -> {"rows": [[...], ...]}; {"quit": true}. Errors -> {"error": "..."}.
"""

from __future__ import annotations

import json
import sys


def session(uri: str, warehouse: str):
    from pyspark.sql import SparkSession

    from lakehouse.catalog.metastore_server import spark_hive_client_jars
    from lakehouse.jvm import load_manifest

    delta_jars = load_manifest().paths(["spark"])
    return (
        SparkSession.builder.master("local[1]")
        .appName("catalog-probe")
        .config("spark.sql.catalogImplementation", "hive")
        .config("spark.hadoop.hive.metastore.uris", uri)
        .config("spark.sql.hive.metastore.version", "4.0.1")
        .config("spark.sql.hive.metastore.jars", "path")
        .config("spark.sql.hive.metastore.jars.path", ",".join(path.as_uri() for path in spark_hive_client_jars()))
        .config("spark.jars", ",".join(str(path) for path in delta_jars))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.warehouse.dir", warehouse)
        .config("spark.ui.enabled", "false")
        # C1 only: the probe runs tiny queries, and a cold JVM on a busy machine starts faster.
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1")
        .config("spark.sql.shuffle.partitions", "1")
        .enableHiveSupport()
        .getOrCreate()
    )


def table_entry(spark, database: str, name: str) -> dict:
    """Spark's own CatalogTable for database.name, read through its Hive external catalog."""
    jvm = spark._jvm
    identifier = jvm.org.apache.spark.sql.catalyst.TableIdentifier(name, jvm.scala.Some(database))
    metadata = spark._jsparkSession.sessionState().catalog().getTableMetadata(identifier)
    properties = metadata.properties()
    keys = jvm.scala.jdk.javaapi.CollectionConverters.asJava(properties.keySet())
    info = spark.sql(f"SHOW TABLE EXTENDED IN {database} LIKE '{name}'").collect()[0].information
    return {
        "provider": metadata.provider().get() if metadata.provider().isDefined() else None,
        "type": metadata.tableType().name(),
        "location": metadata.location().toString(),
        "comment": metadata.comment().get() if metadata.comment().isDefined() else None,
        "properties": {key: properties.get(key).get() for key in keys},
        "schema": json.loads(metadata.schema().json()),
        "information": info,
    }


def answer(spark, request: dict) -> dict:
    if "sql" in request:
        return {"rows": [list(row) for row in spark.sql(request["sql"]).collect()]}
    databases = [row[0] for row in spark.sql("SHOW DATABASES").collect()]
    tables = {}
    for database in request.get("databases", []):
        if database in databases:
            names = [row.tableName for row in spark.sql(f"SHOW TABLES IN {database}").collect()]
            tables[database] = {name: table_entry(spark, database, name) for name in names}
    return {"databases": databases, "tables": tables}


MARKER = "@@probe "  # the JVM shares our stdout: replies are the lines that start with this


def reply(payload: dict) -> None:
    print(MARKER + json.dumps(payload), flush=True)


def main() -> int:
    spark = session(sys.argv[1], sys.argv[2])
    reply({"ready": spark.version})
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("quit"):
            break
        try:
            response = answer(spark, request)
        except Exception as exc:  # reported to the test, which fails with it
            response = {"error": f"{type(exc).__name__}: {exc}"[:4000]}
        reply(response)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
