"""The Hive Metastore backend, over Thrift (hive-metastore-client).

Delta tables are registered the way Spark's HiveExternalCatalog stores a data source table that
DeltaCatalog created:
- tableType EXTERNAL_TABLE, parameters `EXTERNAL=TRUE` and `spark.sql.sources.provider=delta`
  (the marker Spark, Trino and StarRocks use to recognise a Delta table);
- the storage descriptor's location and the serde parameter `path` both hold the table location
  (Spark reads `path`, Trino and Hive read the location);
- Spark's placeholder formats (SequenceFile + LazySimpleSerDe), since Hive cannot read Delta itself.
Unlike DeltaCatalog, which leaves the metastore's column list empty (Delta readers take the schema
from the log), we also store the real columns and Spark's schema parameter, so that catalog
browsers, Spark without the Delta jars and `lakehouse catalog drift` see the columns and comments.
Delta readers still take the schema from the log, so this cannot mislead them.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from operator import methodcaller
from typing import Any, TypeVar
from urllib.parse import urlparse

from lakehouse.catalog.base import Catalog, SchemaInfo, TableInfo
from lakehouse.catalog.column_types import columns_from_schema_json, ddl_to_json, json_to_hive, spark_schema_json
from lakehouse.catalog.names import NameMapper, validate_identifier
from lakehouse.core.errors import CatalogError
from lakehouse.core.optional import require

DELTA_PROVIDER = "delta"
_SCHEMA_PART_SIZE = 4000  # Spark's spark.sql.sources.schemaStringLengthThreshold
_INPUT_FORMAT = "org.apache.hadoop.mapred.SequenceFileInputFormat"
_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveSequenceFileOutputFormat"
_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
# Parameters the metastore, Spark or we manage; everything else is a user property. The
# metastore's stats gathering on create_table adds numFiles/totalSize, and metastore 4.0.1 also
# numFilesErasureCoded (seen in tests/catalog); Hive 3+ clients add bucketing_version.
_INTERNAL_PARAMETERS = {
    "EXTERNAL", "comment", "transient_lastDdlTime", "COLUMN_STATS_ACCURATE", "numFiles", "numRows",
    "rawDataSize", "totalSize", "last_modified_by", "last_modified_time", "numFilesErasureCoded",
    "bucketing_version",
}
_INTERNAL_PREFIXES = ("spark.sql.",)
_USER_PRINCIPAL = 1  # PrincipalType.USER
T = TypeVar("T")


def parse_thrift_uri(uri: str) -> tuple[str, int]:
    parsed = urlparse(uri)
    if parsed.scheme != "thrift" or not parsed.hostname:
        raise CatalogError(
            f"Catalog URI '{uri}' is not a thrift://host:port URI.",
            hint="set LAKEHOUSE_CATALOG=thrift://127.0.0.1:9083 (see `lakehouse metastore start`), or unset it for the local catalog",
        )
    try:
        port = parsed.port or 9083
    except ValueError as exc:
        raise CatalogError(f"Catalog URI '{uri}' has an invalid port.", hint="for example: thrift://127.0.0.1:9083") from exc
    return parsed.hostname, port


def _client_class(timeout_seconds: float) -> type:
    hmc = require("hive_metastore_client")
    from thrift.protocol import TBinaryProtocol
    from thrift.transport import TSocket, TTransport

    stock_client: Any = hmc.HiveMetastoreClient

    class TimedClient(stock_client):  # type: ignore[misc]  # hive-metastore-client ships no type information
        """The stock client has no socket timeout, so a hung metastore would hang the pipeline."""

        @staticmethod
        def _init_protocol(host: str, port: int) -> Any:
            raw = TSocket.TSocket(host, int(port))
            raw.setTimeout(int(timeout_seconds * 1000))
            return TBinaryProtocol.TBinaryProtocol(TTransport.TBufferedTransport(raw))

    return TimedClient


class HiveMetastoreCatalog(Catalog):
    def __init__(self, uri: str, names: NameMapper | None = None, *, timeout_seconds: float = 60.0) -> None:
        super().__init__(names)
        self.uri = uri
        self.host, self.port = parse_thrift_uri(uri)
        self.kind = f"Hive Metastore at {uri}"
        self._client_class = _client_class(timeout_seconds)
        self._ttypes = require("thrift_files.libraries.thrift_hive_metastore_client.ttypes")
        self._legacy_get_table = False  # set once a metastore answers that it has no get_table_req

    # One connection per operation: cheap on a LAN, and a metastore restart between pipeline
    # steps does not leave us holding a dead socket.
    @contextmanager
    def _connect(self) -> Iterator[Any]:
        from thrift.transport.TTransport import TTransportException

        client = self._client_class(self.host, self.port)
        try:
            client.open()
        except (TTransportException, OSError) as exc:
            raise CatalogError(
                f"Cannot reach the Hive Metastore at {self.uri} ({exc}).",
                hint="start one with `lakehouse metastore start`, check LAKEHOUSE_CATALOG / --catalog, "
                "or unset LAKEHOUSE_CATALOG to use the local catalog",
            ) from exc
        try:
            yield client
        except (TimeoutError, TTransportException, OSError) as exc:
            raise CatalogError(
                f"The connection to the Hive Metastore at {self.uri} failed mid-call ({exc}).",
                hint="check the metastore's log (`lakehouse metastore status` shows where it is) and retry",
            ) from exc
        finally:
            client.close()

    def _call(self, action: str, operation: Callable[[Any], T]) -> T:
        with self._connect() as client:
            try:
                return operation(client)
            except (self._ttypes.MetaException, self._ttypes.InvalidOperationException,
                    self._ttypes.AlreadyExistsException, self._ttypes.InvalidObjectException) as exc:
                raise CatalogError(
                    f"The Hive Metastore at {self.uri} refused to {action}: {getattr(exc, 'message', exc)}",
                    hint="see the metastore's log for details",
                ) from exc

    def fetch_table(self, client: Any, database_name: str, table_name: str) -> Any:
        """The Thrift Table: `get_table_req` (4.0.1 removed `get_table`, HIVE-26537; 2.3.10 has both),
        falling back to `get_table` on a metastore that does not know the request call."""
        from thrift.Thrift import TApplicationException

        if not self._legacy_get_table:
            try:
                request = self._ttypes.GetTableRequest(dbName=database_name, tblName=table_name)
                return client.get_table_req(request).table
            except TApplicationException as exc:
                if exc.type != TApplicationException.UNKNOWN_METHOD:
                    raise
                self._legacy_get_table = True
        return client.get_table(database_name, table_name)

    def _get_or_none(self, client: Any, getter: Callable[[Any], T]) -> T | None:
        try:
            return getter(client)
        except self._ttypes.NoSuchObjectException:
            return None

    # --- schemas -------------------------------------------------------------------------------
    def get_schema(self, name: str) -> SchemaInfo | None:
        database_name = self.names.metastore_schema(name)
        database = self._call(
            f"read database {database_name}",
            lambda client: self._get_or_none(client, lambda c: c.get_database(database_name)),
        )
        if database is None:
            return None
        return SchemaInfo(
            name=name,
            location=(database.locationUri or "").rstrip("/"),
            comment=database.description or "",
            owner=database.ownerName,
            properties=dict(database.parameters or {}),
        )

    def _database(self, info: SchemaInfo) -> Any:
        hmc = require("hive_metastore_client.builders")
        return hmc.DatabaseBuilder(
            name=self.names.metastore_schema(info.name),
            description=info.comment or None,
            location_uri=info.location,
            parameters=dict(info.properties),
            owner_name=info.owner or getpass.getuser(),
            owner_type=_USER_PRINCIPAL,
        ).build()

    def _create_schema(self, info: SchemaInfo) -> None:
        self._call(f"create database {self.names.metastore_schema(info.name)}",
                   lambda client: client.create_database(self._database(info)))

    def _alter_schema(self, old: SchemaInfo, new: SchemaInfo) -> None:
        database_name = self.names.metastore_schema(new.name)
        self._call(f"alter database {database_name}",
                   lambda client: client.alter_database(database_name, self._database(new)))
        if self.get_schema(new.name) == new:
            return
        # Hive 2.3 and 3.x alter only a database's parameters and owner, not its location or
        # comment. Those need the database re-created, and with it the table registrations.
        self._recreate_schema(new)

    def _recreate_schema(self, new: SchemaInfo) -> None:
        database_name = self.names.metastore_schema(new.name)
        table_names = self._call(f"list tables of {database_name}", lambda c: c.get_all_tables(database_name))
        tables = [self._call(f"read table {database_name}.{t}",
                             partial(self.fetch_table, database_name=database_name, table_name=t))
                  for t in table_names]
        try:
            for table in tables:
                self._call(f"drop table {database_name}.{table.tableName}",
                           methodcaller("drop_table", database_name, table.tableName, False))
            self._call(f"drop database {database_name}", lambda c: c.drop_database(database_name, False, False))
            self._create_schema(new)
            for table in tables:
                self._call(f"create table {database_name}.{table.tableName}", methodcaller("create_table", table))
        except CatalogError as exc:
            raise CatalogError(
                f"Re-creating database {database_name} (to change its location or comment) failed half-way: {exc.message}",
                hint="the data is untouched; run `lakehouse catalog apply` again and re-run the pipeline to re-register its tables",
            ) from exc

    def drop_schema(self, name: str) -> None:
        database_name = self.names.metastore_schema(name)
        if self.get_schema(name) is None:
            return
        remaining = self.list_tables(name)
        if remaining:
            raise CatalogError(
                f"Schema '{name}' (database {database_name}) still has tables: {', '.join(remaining)}.",
                hint="unregister them first (`lakehouse reset` does), then drop the schema",
            )
        # deleteData=False: the warehouse folder belongs to the pipeline, not to the metastore.
        self._call(f"drop database {database_name}", lambda c: c.drop_database(database_name, False, False))

    def list_schemas(self) -> list[str]:
        databases = self._call("list databases", lambda c: c.get_all_databases())
        return sorted(name for name in (self.names.logical_schema(d) for d in databases) if name)

    # --- tables --------------------------------------------------------------------------------
    def list_tables(self, schema: str) -> list[str]:
        database_name = self.names.metastore_schema(schema)
        return sorted(self._call(
            f"list tables of {database_name}",
            lambda c: self._get_or_none(c, lambda c2: c2.get_all_tables(database_name)) or [],
        ))

    def get_table(self, schema: str, name: str) -> TableInfo | None:
        database_name = self.names.metastore_schema(schema)
        validate_identifier(name, "table")
        table = self._call(
            f"read table {database_name}.{name}",
            lambda c: self._get_or_none(c, lambda c2: self.fetch_table(c2, database_name, name)),
        )
        if table is None:
            return None
        parameters = dict(table.parameters or {})
        hive_columns = list(table.sd.cols or []) if table.sd else []
        schema_json = _read_schema_parameter(parameters)
        if schema_json:
            columns = columns_from_schema_json(schema_json)
        else:
            columns = [(column.name, column.type) for column in hive_columns]
        column_comments = {column.name: column.comment for column in hive_columns if column.comment}
        return TableInfo(
            schema=schema,
            name=name,
            location=((table.sd.location if table.sd else None) or "").rstrip("/"),
            columns=columns,
            properties={key: value for key, value in parameters.items()
                        if key not in _INTERNAL_PARAMETERS and not key.startswith(_INTERNAL_PREFIXES)},
            comment=parameters.get("comment", ""),
            column_comments=column_comments,
            provider=parameters.get("spark.sql.sources.provider", "hive"),
            table_type=table.tableType or "",
        )

    def _table(self, info: TableInfo) -> Any:
        builders = require("hive_metastore_client.builders")
        hive_columns = [
            builders.ColumnBuilder(name, json_to_hive(ddl_to_json(ddl)), info.column_comments.get(name) or None).build()
            for name, ddl in info.columns
        ]
        serde = builders.SerDeInfoBuilder(
            serialization_lib=_SERDE, parameters={"path": info.location, "serialization.format": "1"}
        ).build()
        storage = builders.StorageDescriptorBuilder(
            columns=hive_columns, location=info.location, input_format=_INPUT_FORMAT,
            output_format=_OUTPUT_FORMAT, serde_info=serde,
        ).build()
        parameters = dict(info.properties)
        parameters.update({"EXTERNAL": "TRUE", "spark.sql.sources.provider": DELTA_PROVIDER})
        parameters.update(_schema_parameters(spark_schema_json(info.columns, info.column_comments)))
        if info.comment:
            parameters["comment"] = info.comment
        return builders.TableBuilder(
            table_name=info.name, db_name=self.names.metastore_schema(info.schema), storage_descriptor=storage,
            owner=getpass.getuser(), parameters=parameters, table_type="EXTERNAL_TABLE",
        ).build()

    def _put_table(self, info: TableInfo, *, exists: bool) -> None:
        database_name = self.names.metastore_schema(info.schema)
        table = self._table(info)
        if not exists:
            self._call(f"create table {database_name}.{info.name}", lambda c: c.create_table(table))
            return
        try:
            self._call(f"alter table {database_name}.{info.name}", lambda c: c.alter_table(database_name, info.name, table))
        except CatalogError:
            # Metastores that refuse incompatible column changes (Delta's overwriteSchema can
            # change a type) still accept a drop and re-create of an external table's entry.
            self._call(f"drop table {database_name}.{info.name}", lambda c: c.drop_table(database_name, info.name, False))
            self._call(f"create table {database_name}.{info.name}", lambda c: c.create_table(table))

    def unregister_table(self, schema: str, name: str) -> None:
        database_name = self.names.metastore_schema(schema)
        validate_identifier(name, "table")

        def drop(client: Any) -> None:
            try:
                # deleteData=False: unregistering never touches the Delta files.
                client.drop_table(database_name, name, False)
            except self._ttypes.NoSuchObjectException:
                pass

        self._call(f"drop table {database_name}.{name}", drop)


def _schema_parameters(schema_json: str) -> dict[str, str]:
    """Spark splits long schema strings over numbered parameters; so do we, the same way."""
    parts = [schema_json[i:i + _SCHEMA_PART_SIZE] for i in range(0, len(schema_json), _SCHEMA_PART_SIZE)]
    parameters = {"spark.sql.sources.schema.numParts": str(len(parts))}
    parameters.update({f"spark.sql.sources.schema.part.{index}": part for index, part in enumerate(parts)})
    return parameters


def _read_schema_parameter(parameters: dict[str, str]) -> str | None:
    count = parameters.get("spark.sql.sources.schema.numParts")
    if count is None:
        return parameters.get("spark.sql.sources.schema")
    return "".join(parameters.get(f"spark.sql.sources.schema.part.{index}", "") for index in range(int(count)))
