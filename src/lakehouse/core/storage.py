"""One file API for local folders and S3 endpoints (landing files, checkpoints, schema history).

Backed by pyarrow.fs so that the same code lists, reads and writes on a laptop folder, MinIO,
versitygw or AWS.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import pyarrow.fs as pafs

from lakehouse.core.config import S3_MAX_ATTEMPTS, S3Settings
from lakehouse.core.errors import LakehouseError
from lakehouse.core.optional import require


@dataclass(frozen=True, order=True)
class FileInfo:
    """A landed file. Sorted by landing order: modification time, then name."""

    modified: datetime
    uri: str
    size: int

    @property
    def name(self) -> str:
        return self.uri.rsplit("/", 1)[-1]

    def to_entry(self) -> dict[str, object]:
        """How a planned file is written in the offset log."""
        return {"uri": self.uri, "size": self.size, "modified": self.modified.isoformat()}

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> FileInfo:
        return cls(modified=datetime.fromisoformat(entry["modified"]), uri=entry["uri"], size=entry["size"])


@lru_cache(maxsize=8)
def _s3_filesystem(s3: S3Settings) -> pafs.S3FileSystem:
    # The AWS SDK's standard strategy retries throttling (503 SlowDown), 5xx and dropped connections
    # with jittered exponential backoff; after the last attempt the error reaches the caller.
    kwargs: dict[str, object] = {"region": s3.region,
                                 "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=S3_MAX_ATTEMPTS)}
    if s3.access_key_id:
        kwargs["access_key"] = s3.access_key_id
        kwargs["secret_key"] = s3.secret_access_key
    if s3.endpoint_url:
        scheme, _, host = s3.endpoint_url.partition("://")
        kwargs["endpoint_override"] = host.rstrip("/")
        kwargs["scheme"] = scheme
    return pafs.S3FileSystem(**kwargs)


def s3_client(s3: S3Settings) -> Any:
    """A boto3 S3 client for `s3` that retries transient errors as the file system does (boto3 has no
    type information, so the client is Any)."""
    config = require("botocore.config").Config(retries={"mode": "standard", "max_attempts": S3_MAX_ATTEMPTS})
    return require("boto3").client("s3", endpoint_url=s3.endpoint_url, region_name=s3.region,
                                   aws_access_key_id=s3.access_key_id, aws_secret_access_key=s3.secret_access_key,
                                   config=config)


def _delete_s3_folder(fs: pafs.FileSystem, path: str, *, contents_only: bool) -> None:
    """Delete everything below an S3 prefix (and the prefix's folder marker unless `contents_only`).

    pyarrow deletes a whole tree in one batch, folder markers ('a/', which pyarrow itself creates)
    included. A posix-backed S3 server (versitygw) refuses to delete a marker while keys remain below
    it ("Directory object not empty"), so after such a refusal the folders left are deleted deepest
    first; AWS and MinIO never get there.
    """
    def delete_all() -> None:
        if contents_only:
            fs.delete_dir_contents(path, missing_dir_ok=True)
        else:
            fs.delete_dir(path)

    try:
        delete_all()
        return
    except OSError as exc:
        if "not empty" not in str(exc):
            raise
    left = fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True))
    folders = [info.path for info in left if info.type == pafs.FileType.Directory]
    for folder in sorted(folders, key=lambda folder: folder.count("/"), reverse=True):
        fs.delete_dir(folder)
    if fs.get_file_info(path).type != pafs.FileType.NotFound:  # the server may drop emptied folders itself
        delete_all()


# How delta-rs (object_store), pyarrow (AWS SDK) and botocore say that no server answered.
_UNREACHABLE = ("Connection refused", "tcp connect error", "Could not connect to the endpoint URL",
                "NETWORK_CONNECTION", "Couldn't connect to server")


def _failed_location(text: str) -> str:
    """The s3:// object an unreachable-server error was about: from the path-style URL that delta-rs
    and botocore print, or pyarrow's "key '...' in bucket '...'"."""
    url = re.search(r"https?://[^/\s\"]+/([^\s\"]+)", text)
    if url:
        return "s3://" + url.group(1)
    key = re.search(r"key '([^']*)' in bucket '([^']*)'", text)
    if key:
        return f"s3://{key.group(2)}/{key.group(1)}"
    bucket = re.search(r"bucket '([^']*)'", text)
    return f"s3://{bucket.group(1)}" if bucket else "the warehouse or landing zone"


def unreachable_store_error(exc: BaseException, endpoint: str | None,
                            location: str | None = None) -> LakehouseError | None:
    """A LakehouseError for an S3 server that did not answer (after every retry), or None when
    `exc` (and what it was raised during) is another failure. The innermost match is reported:
    it is what failed first, the rest is clean-up that met the same dead server."""
    found: BaseException | None = None
    located: LakehouseError | None = None  # raised below with the file's name: Storage knew it
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, LakehouseError):
            located = current
        elif any(marker in str(current) for marker in _UNREACHABLE):
            found = current
        current = current.__cause__ or current.__context__
    if found is None:
        return None
    if located is not None:
        return located
    where = endpoint or "the S3 endpoint (AWS_ENDPOINT_URL)"
    return LakehouseError(
        f"The object store at {where} is unreachable: {location or _failed_location(str(found))} could not be "
        f"read or written after {S3_MAX_ATTEMPTS} attempts ({type(found).__name__}); the run stopped there",
        hint="start the S3 server (or check AWS_ENDPOINT_URL and the network), then run the same command "
             "again: a batch that did not commit is replayed, a committed one is not written twice "
             "(--debug shows the traceback)",
    )


class Storage:
    """Files under local paths or s3:// URIs."""

    def __init__(self, s3: S3Settings | None = None) -> None:
        self.s3 = s3 or S3Settings()

    def _resolve(self, uri: str) -> tuple[pafs.FileSystem, str]:
        if uri.startswith("s3://"):
            return _s3_filesystem(self.s3), uri[len("s3://"):]
        return pafs.LocalFileSystem(), uri

    @staticmethod
    def _to_uri(original: str, path: str) -> str:
        return "s3://" + path if original.startswith("s3://") else path

    def list_files(self, prefix: str, *, recursive: bool = True) -> list[FileInfo]:
        """Files below `prefix` in landing order; hidden and temporary files are skipped."""
        fs, path = self._resolve(prefix)
        try:
            infos = fs.get_file_info(pafs.FileSelector(path, recursive=recursive, allow_not_found=True))
        except OSError as exc:
            raise LakehouseError(
                f"Cannot list '{prefix}': {exc}",
                hint="check the location and, for s3://, AWS_ENDPOINT_URL and the credentials",
            ) from exc
        files = []
        for info in infos:
            if info.type != pafs.FileType.File:
                continue
            relative = info.path[len(path):].lstrip("/")
            if any(part.startswith((".", "_")) for part in relative.split("/")):
                continue
            modified = info.mtime or datetime.fromtimestamp(0, tz=UTC)
            if modified.tzinfo is None:
                modified = modified.replace(tzinfo=UTC)
            files.append(FileInfo(modified=modified, uri=self._to_uri(prefix, info.path), size=info.size or 0))
        return sorted(files)

    def file_info(self, uri: str) -> FileInfo | None:
        """Size and modification time of one file now, or None when it is gone."""
        fs, path = self._resolve(uri)
        info = fs.get_file_info(path)
        if info.type != pafs.FileType.File:
            return None
        modified = info.mtime or datetime.fromtimestamp(0, tz=UTC)
        if modified.tzinfo is None:
            modified = modified.replace(tzinfo=UTC)
        return FileInfo(modified=modified, uri=uri, size=info.size or 0)

    def exists(self, uri: str) -> bool:
        fs, path = self._resolve(uri)
        found: bool = fs.get_file_info(path).type != pafs.FileType.NotFound
        return found

    def _raise_if_unreachable(self, exc: OSError, uri: str) -> None:
        """pyarrow names only the bucket when it cannot reach the server: name the whole file."""
        error = unreachable_store_error(exc, self.s3.endpoint_url, location=uri)
        if error is not None:
            raise error from exc

    def read_bytes(self, uri: str) -> bytes:
        fs, path = self._resolve(uri)
        try:
            with fs.open_input_stream(path) as stream:
                data: bytes = stream.read()
        except OSError as exc:
            self._raise_if_unreachable(exc, uri)
            raise
        return data

    def write_bytes(self, uri: str, data: bytes) -> None:
        """Write a whole file so that readers see the old content or the new, never a part."""
        try:
            self._write_whole(uri, data)
        except OSError as exc:
            self._raise_if_unreachable(exc, uri)
            raise

    def _write_whole(self, uri: str, data: bytes) -> None:
        fs, path = self._resolve(uri)
        parent = path.rsplit("/", 1)[0]
        fs.create_dir(parent, recursive=True)
        if isinstance(fs, pafs.LocalFileSystem):
            temporary = f"{path}.tmp-{uuid.uuid4().hex}"
            with fs.open_output_stream(temporary) as stream:
                stream.write(data)
            os.replace(temporary, path)
        else:
            # A single S3 PUT is atomic.
            with fs.open_output_stream(path) as stream:
                stream.write(data)

    def write_text(self, uri: str, text: str) -> None:
        self.write_bytes(uri, text.encode("utf-8"))

    def read_text(self, uri: str) -> str:
        return self.read_bytes(uri).decode("utf-8")

    def delete_tree(self, uri: str) -> bool:
        """Delete a folder (or prefix) and everything below it. Returns whether anything was there."""
        fs, path = self._resolve(uri)
        info = fs.get_file_info(path)
        if info.type == pafs.FileType.NotFound:
            if uri.startswith("s3://") and fs.get_file_info(
                pafs.FileSelector(path, recursive=False, allow_not_found=True)
            ):
                _delete_s3_folder(fs, path, contents_only=True)
                return True
            return False
        if info.type == pafs.FileType.File:
            fs.delete_file(path)
        elif uri.startswith("s3://"):
            _delete_s3_folder(fs, path, contents_only=False)
        else:
            fs.delete_dir(path)
        return True

    def delete_file(self, uri: str) -> None:
        fs, path = self._resolve(uri)
        fs.delete_file(path)

