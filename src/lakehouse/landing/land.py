"""Put files under `<landing>/<table>/`, in a local folder or an s3:// bucket, in landing order.

The pipeline discovers files by modification time, then name. We therefore land one file at a
time in name order: later names get later (or equal) times, and equal times fall back to the name.
Every file is written whole (Storage.write_bytes is atomic), so a reader never sees a partial file
under its final name.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypedDict

from lakehouse.core.config import Settings
from lakehouse.core.errors import ConfigError, InputFileError, LakehouseError
from lakehouse.core.paths import join_under
from lakehouse.core.storage import Storage
from lakehouse.landing.chunking import chunk_csv, count_lines
from lakehouse.landing.tpch import DEFAULT_TABLES, generate_tpch, validate_tables

Progress = Callable[[str], None]


class LandedTable(TypedDict):
    rows: int
    files: list[str]  # the landed URIs


class SampleSummary(TypedDict):
    scale: float
    workdir: str
    landing: str
    tables: dict[str, LandedTable]
    seconds: float

_buckets_checked: set[tuple[str, str | None]] = set()


def table_prefix(landing_root: str, table: str) -> str:
    if not table or "/" in table:
        raise ConfigError(f"Invalid landing table name '{table}'.", hint="use a plain name such as customer")
    return join_under(landing_root, table, what="landing table name")


def ensure_bucket(storage: Storage, uri: str) -> bool:
    """Create the bucket of an s3:// URI if it does not exist. Returns whether it was created."""
    if not uri.startswith("s3://"):
        return False
    bucket = uri[len("s3://"):].split("/", 1)[0]
    cache_key = (bucket, storage.s3.endpoint_url)
    if cache_key in _buckets_checked:
        return False
    # boto3 ships no type information and its stubs are not a dependency.
    import boto3  # type: ignore[import-untyped]
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

    s3 = storage.s3
    client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        region_name=s3.region,
        aws_access_key_id=s3.access_key_id,
        aws_secret_access_key=s3.secret_access_key,
    )
    hint = "check AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and AWS_REGION"
    created = False
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise LakehouseError(f"Cannot reach bucket '{bucket}': {exc}", hint=hint) from exc
        try:
            if s3.region == "us-east-1":
                client.create_bucket(Bucket=bucket)
            else:
                client.create_bucket(
                    Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": s3.region}
                )
        except (ClientError, BotoCoreError) as create_exc:
            raise LakehouseError(f"Cannot create bucket '{bucket}': {create_exc}", hint=hint) from create_exc
        created = True
    except BotoCoreError as exc:
        raise LakehouseError(f"Cannot reach the S3 endpoint for '{uri}': {exc}", hint=hint) from exc
    _buckets_checked.add(cache_key)
    return created


def land_files(
    storage: Storage,
    files: Sequence[Path],
    landing_root: str,
    table: str,
    *,
    progress: Progress | None = None,
) -> list[str]:
    """Land `files` under `<landing_root>/<table>/` one by one in name order; returns their URIs.

    A file already landed under the same name with the same bytes is left alone (its modification
    time, and so its place in landing order, stays). One with different bytes is refused: the
    pipeline ingests a name once and would never see the new content.
    """
    prefix = table_prefix(landing_root, table)
    ordered = sorted((Path(f) for f in files), key=lambda p: p.name)
    names = [p.name for p in ordered]
    if len(set(names)) != len(names):
        raise ConfigError(f"Two files to land into '{prefix}' share a name: {sorted(names)}")
    for path in ordered:
        if not path.is_file():
            raise InputFileError(f"Cannot land '{path}': no such file.")
    ensure_bucket(storage, prefix)
    existing = {info.name: info for info in storage.list_files(prefix, recursive=False)}

    # Checked before landing anything, so a conflict never leaves half a set landed.
    already: set[str] = set()
    for path in ordered:
        if path.name in existing:
            uri = f"{prefix}/{path.name}"
            if existing[path.name].size != path.stat().st_size or storage.read_bytes(uri) != path.read_bytes():
                raise InputFileError(
                    f"'{uri}' is already landed with different content than '{path}'.",
                    hint="the pipeline ingests a file name once; land into a fresh location "
                    f"or delete '{uri}' (and the tables built from it) first",
                )
            already.add(path.name)

    landed: list[str] = []
    total_bytes = sum(p.stat().st_size for p in ordered)
    done_bytes = 0
    started = time.monotonic()
    for number, path in enumerate(ordered, start=1):
        uri = join_under(prefix, path.name, what="file name")
        data = path.read_bytes()
        action = "already landed" if path.name in already else "landed"
        if path.name not in already:
            storage.write_bytes(uri, data)
        landed.append(uri)
        done_bytes += len(data)
        if progress:
            rate = done_bytes / 1e6 / max(time.monotonic() - started, 1e-6)
            # "[n/total]" first: the CLI draws it as a bar on a terminal (cli/progress.py).
            progress(f"[{number}/{len(ordered)}] {action} {uri} ({done_bytes / 1e6:.1f}/{total_bytes / 1e6:.1f} MB, "
                     f"{rate:.0f} MB/s)")
    return landed


def land_sample(
    settings: Settings,
    storage: Storage,
    scale: float = 0.01,
    chunks: int = 4,
    tables: Sequence[str] = ("customer",),
    workdir: Path = Path("data/tpch"),
    *,
    progress: Progress | None = None,
) -> SampleSummary:
    """Generate TPC-H at `scale`, chunk each table into `chunks` files and land them.

    Returns {"scale", "workdir", "landing", "seconds", "tables": {table: {"rows", "files"}}}.
    """
    started = time.monotonic()
    tables = validate_tables(tables or DEFAULT_TABLES)
    workdir = Path(workdir)
    generated = generate_tpch(scale, workdir, tables, progress=progress)
    landed: dict[str, LandedTable] = {}
    for table, csv_path in generated.items():
        chunk_paths = chunk_csv(csv_path, chunks, workdir / "chunks" / table, table, progress=progress)
        uris = land_files(storage, chunk_paths, settings.landing, table, progress=progress)
        landed[table] = {"rows": count_lines(csv_path), "files": uris}
    return {
        "scale": float(scale),
        "workdir": str(workdir),
        "landing": settings.landing,
        "tables": landed,
        "seconds": round(time.monotonic() - started, 3),
    }
