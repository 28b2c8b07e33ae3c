"""The real S3 server the tests use (versitygw): conditional writes, racing Delta commits, and what
lakehouse.core.storage relies on (listing across pages, modification times, deletes)."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import time
import uuid
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from botocore.exceptions import ClientError

from lakehouse.core.config import S3Settings, Settings
from lakehouse.core.storage import Storage

from .s3_server import start_versitygw, stop

pytestmark = pytest.mark.integration


def _fresh_bucket(s3_server) -> str:
    bucket = f"svc-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=bucket)
    return bucket


# -- conditional writes ------------------------------------------------------------------------------
def test_put_if_none_match_is_refused_on_an_existing_key(s3_server):
    client = s3_server.client()
    bucket = _fresh_bucket(s3_server)
    client.put_object(Bucket=bucket, Key="_delta_log/00000000000000000000.json", Body=b"first",
                      IfNoneMatch="*")
    with pytest.raises(ClientError) as refused:
        client.put_object(Bucket=bucket, Key="_delta_log/00000000000000000000.json", Body=b"second",
                          IfNoneMatch="*")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    body = client.get_object(Bucket=bucket, Key="_delta_log/00000000000000000000.json")["Body"].read()
    assert body == b"first"
    # A new key is still accepted with the same header, and a plain PUT still overwrites.
    client.put_object(Bucket=bucket, Key="_delta_log/00000000000000000001.json", Body=b"next", IfNoneMatch="*")
    client.put_object(Bucket=bucket, Key="_delta_log/00000000000000000000.json", Body=b"overwritten")
    body = client.get_object(Bucket=bucket, Key="_delta_log/00000000000000000000.json")["Body"].read()
    assert body == b"overwritten"


def test_put_if_match_refuses_a_stale_etag(s3_server):
    """conditional_put=etag also lets object_store replace an object only if it is unchanged."""
    client = s3_server.client()
    bucket = _fresh_bucket(s3_server)
    first = client.put_object(Bucket=bucket, Key="lock", Body=b"v1")["ETag"]
    second = client.put_object(Bucket=bucket, Key="lock", Body=b"v2", IfMatch=first)["ETag"]
    with pytest.raises(ClientError) as refused:
        client.put_object(Bucket=bucket, Key="lock", Body=b"v3", IfMatch=first)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert client.get_object(Bucket=bucket, Key="lock")["ETag"] == second


# -- racing delta-rs appends ---------------------------------------------------------------------------
WRITERS = 4
APPENDS_EACH = 5
ROWS_EACH = 3


def _append_many(table_uri: str, options: dict[str, str], writer: int, start) -> None:
    """One writer process: wait until every writer is ready, then append APPENDS_EACH small batches."""
    from deltalake import CommitProperties, write_deltalake

    start.wait(timeout=120)
    for batch in range(APPENDS_EACH):
        rows = pa.table({
            "writer": pa.array([writer] * ROWS_EACH, pa.int32()),
            "batch": pa.array([batch] * ROWS_EACH, pa.int32()),
            "row": pa.array(range(ROWS_EACH), pa.int32()),
        })
        write_deltalake(table_uri, rows, mode="append", storage_options=options,
                        commit_properties=CommitProperties(custom_metadata={"race": f"{writer}/{batch}"}))


@pytest.fixture
def logged_s3_server(tmp_path):
    """A server of its own with an access log, to see which commit PUTs it refused."""
    server, process = start_versitygw(tmp_path, access_log=True)
    try:
        yield server
    finally:
        stop(process)


def test_racing_delta_rs_appends_lose_nothing(logged_s3_server):
    from deltalake import DeltaTable, write_deltalake

    server = logged_s3_server
    bucket = _fresh_bucket(server)
    table_uri = f"s3://{bucket}/warehouse/bronze/race"
    options = S3Settings.from_env(server.env()).delta_storage_options()
    assert options["conditional_put"] == "etag"
    schema = pa.schema([("writer", pa.int32()), ("batch", pa.int32()), ("row", pa.int32())])
    write_deltalake(table_uri, schema.empty_table(), mode="append", storage_options=options)  # version 0

    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, \
            concurrent.futures.ProcessPoolExecutor(WRITERS, mp_context=context) as pool:
        start = manager.Barrier(WRITERS)  # all writers begin together, however slow their start-up
        futures = [pool.submit(_append_many, table_uri, options, writer, start) for writer in range(WRITERS)]
        for future in futures:
            future.result(timeout=300)

    table = DeltaTable(table_uri, storage_options=options)
    commits = WRITERS * APPENDS_EACH
    assert table.version() == commits  # one version per append, none overwritten
    data = table.to_pyarrow_table()
    assert data.num_rows == commits * ROWS_EACH
    seen = sorted(zip(*(data.column(name).to_pylist() for name in ("writer", "batch", "row"))))
    expected = sorted((w, b, r) for w in range(WRITERS) for b in range(APPENDS_EACH) for r in range(ROWS_EACH))
    assert seen == expected
    history = sorted(table.history(), key=lambda entry: entry["version"])
    assert [entry["version"] for entry in history] == list(range(commits + 1))
    order = [entry["race"] for entry in history[1:]]
    assert sorted(order) == sorted(f"{w}/{b}" for w in range(WRITERS) for b in range(APPENDS_EACH))
    keys = [item["Key"] for page in server.client().get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix="warehouse/bronze/race/_delta_log/") for item in page.get("Contents", [])]
    assert sorted(k.rsplit("/", 1)[-1] for k in keys if k.endswith(".json")) == [
        f"{v:020d}.json" for v in range(commits + 1)]

    # It really was a race: the writers' commits interleave, and the server refused commit PUTs
    # (If-None-Match on a version another writer had just taken) that delta-rs then retried.
    writers_in_order = [race.split("/")[0] for race in order]
    switches = sum(1 for a, b in zip(writers_in_order, writers_in_order[1:]) if a != b)
    assert switches > WRITERS - 1, order
    refused = [line for line in server.access_log.read_text().splitlines()
               if "s3_PutObject" in line and f"/{bucket}/warehouse/bronze/race/_delta_log/" in line
               and " 412 PreconditionFailed " in line]
    assert refused, "no commit was refused: the writers did not collide"
    print(f"commit order {order}; {len(refused)} commit PUTs refused with 412 and retried")


# -- what lakehouse.core.storage relies on -----------------------------------------------------------------------
def _storage(s3_server) -> Storage:
    return Storage(Settings.load(warehouse="s3://unused/warehouse", env=s3_server.env()).s3)


def test_storage_round_trip_listing_and_modification_times(s3_server):
    storage = _storage(s3_server)
    root = f"s3://{_fresh_bucket(s3_server)}/landing"
    before = datetime.now(UTC) - timedelta(seconds=2)
    storage.write_text(f"{root}/customer/b.csv", "b\n")
    storage.write_text(f"{root}/customer/a.csv", "a\n")
    storage.write_text(f"{root}/customer/nested/c.csv", "c\n")
    storage.write_text(f"{root}/customer/_tmp/skipped.csv", "x\n")
    storage.write_text(f"{root}/customer/.hidden.csv", "x\n")
    after = datetime.now(UTC) + timedelta(seconds=2)

    files = storage.list_files(f"{root}/customer")
    assert sorted(f.uri for f in files) == [f"{root}/customer/a.csv", f"{root}/customer/b.csv",
                                            f"{root}/customer/nested/c.csv"]
    assert all(f.size == 2 for f in files)
    assert all(before <= f.modified <= after and f.modified.tzinfo is not None for f in files)
    assert files == sorted(files)
    assert [f.uri for f in storage.list_files(f"{root}/customer", recursive=False)] == sorted(
        [f"{root}/customer/a.csv", f"{root}/customer/b.csv"],
        key=lambda uri: next(f for f in files if f.uri == uri))
    assert storage.list_files(f"{root}/nothing-here") == []

    info = storage.file_info(f"{root}/customer/a.csv")
    assert info is not None and info.size == 2 and info.modified == next(f for f in files if f.name == "a.csv").modified
    assert storage.file_info(f"{root}/customer/missing.csv") is None
    assert storage.exists(f"{root}/customer/a.csv") and not storage.exists(f"{root}/customer/missing.csv")
    assert storage.read_text(f"{root}/customer/nested/c.csv") == "c\n"
    storage.write_text(f"{root}/customer/a.csv", "a, longer\n")  # overwrite in place
    assert storage.read_text(f"{root}/customer/a.csv") == "a, longer\n"
    assert storage.file_info(f"{root}/customer/a.csv").size == len("a, longer\n")


def test_landing_order_follows_modification_time_then_name(s3_server):
    """S3 reports whole seconds: files landed a second apart list in landing order, not name order."""
    storage = _storage(s3_server)
    root = f"s3://{_fresh_bucket(s3_server)}/landing/customer"
    storage.write_text(f"{root}/z_first.csv", "1\n")
    time.sleep(1.1)
    storage.write_text(f"{root}/a_second.csv", "2\n")
    storage.write_text(f"{root}/b_second.csv", "3\n")
    # a and b share a second (then name order) or straddle one (then time order): a first either way.
    assert [f.name for f in storage.list_files(root)] == ["z_first.csv", "a_second.csv", "b_second.csv"]


def test_storage_lists_more_than_one_page(s3_server):
    """ListObjectsV2 returns at most 1,000 keys a page: a landing folder with more must list whole."""
    storage = _storage(s3_server)
    client = s3_server.client()
    bucket = _fresh_bucket(s3_server)
    keys = [f"landing/customer/part-{i // 500}/chunk_{i:05d}.csv" for i in range(1_234)]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda key: client.put_object(Bucket=bucket, Key=key, Body=b"x\n"), keys))
    first_page = client.list_objects_v2(Bucket=bucket, Prefix="landing/customer/")
    assert first_page["IsTruncated"] and first_page["KeyCount"] == 1_000  # the server does page
    files = storage.list_files(f"s3://{bucket}/landing/customer")
    assert sorted(f.uri for f in files) == sorted(f"s3://{bucket}/{key}" for key in keys)
    assert len({f.uri for f in files}) == 1_234


def test_storage_deletes_files_trees_and_prefixes(s3_server):
    storage = _storage(s3_server)
    client = s3_server.client()
    bucket = _fresh_bucket(s3_server)
    root = f"s3://{bucket}/warehouse"
    for name in ("t1/_delta_log/0.json", "t1/part-0.parquet", "t1/sub/part-1.parquet", "t2/part-0.parquet",
                 "_checkpoints/silver/t1/offsets/0"):
        storage.write_text(f"{root}/{name}", name)

    storage.delete_file(f"{root}/t2/part-0.parquet")
    assert not storage.exists(f"{root}/t2/part-0.parquet")
    assert storage.delete_tree(f"{root}/t1") is True
    assert storage.list_files(f"{root}/t1") == []
    assert not storage.exists(f"{root}/t1/_delta_log/0.json")
    assert storage.delete_tree(f"{root}/t1") is False  # gone: nothing was there the second time
    assert storage.delete_tree(f"{root}/never-written") is False
    assert storage.delete_tree(f"{root}/_checkpoints/silver/t1/offsets/0") is True  # one file
    left = sorted(item["Key"] for item in client.list_objects_v2(Bucket=bucket).get("Contents", []))
    assert not any(key.startswith(("warehouse/t1/", "warehouse/t2/part")) for key in left), left
    assert not any(key.endswith("offsets/0") for key in left), left


def test_storage_deletes_a_delta_table_folder_with_subfolders(s3_server):
    """pyarrow's one-batch tree delete also deletes each folder's marker key ('_delta_log/'); versitygw
    refuses that while files remain below ("Directory object not empty"). Storage.delete_tree then
    deletes the folders deepest first (the `lakehouse reset` of a table with a change-data folder)."""
    import pyarrow.fs as pafs

    client = s3_server.client()
    bucket = _fresh_bucket(s3_server)
    layout = ["_delta_log/00000000000000000000.json", "_delta_log/00000000000000000001.json",
              "part-0.snappy.parquet", "_change_data/cdc-0.snappy.parquet"]

    def make_table(prefix: str) -> None:
        for name in layout:
            client.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=b"x")

    make_table("raw/dim_customer")
    raw = pafs.S3FileSystem(endpoint_override=s3_server.endpoint.split("://")[1], scheme="http",
                            access_key=s3_server.access_key, secret_key=s3_server.secret_key,
                            region=s3_server.region)
    with pytest.raises(OSError, match="not empty"):  # the server quirk the fallback is there for
        raw.delete_dir(f"{bucket}/raw/dim_customer")

    make_table("warehouse/gold/dim_customer")
    make_table("warehouse/gold/other")
    storage = _storage(s3_server)
    assert storage.delete_tree(f"s3://{bucket}/warehouse/gold/dim_customer") is True
    assert not storage.exists(f"s3://{bucket}/warehouse/gold/dim_customer")
    left = sorted(item["Key"] for item in client.list_objects_v2(Bucket=bucket, Prefix="warehouse/").get("Contents", []))
    assert left == sorted(f"warehouse/gold/other/{name}" for name in layout), left
    assert storage.delete_tree(f"s3://{bucket}/warehouse/gold/dim_customer") is False
