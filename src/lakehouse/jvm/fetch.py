"""Fetch the manifest's artifacts into the cache, each checked against its pinned SHA-256.

Idempotent: a cached file whose checksum matches is kept; a partial or corrupt one is fetched again.
A download is written to a temporary name and renamed only once verified, so an interrupted fetch
never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from lakehouse.core.errors import LakehouseError
from lakehouse.jvm.manifest import (
    DEFAULT_MAVEN_REPOSITORY,
    MAVEN_REPOSITORY_ENV,
    Artifact,
    Manifest,
    cache_dir,
)

CHUNK = 1 << 20


class FetchError(LakehouseError):
    """An artifact could not be downloaded, or its checksum does not match the manifest."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, target: Path, attempts: int = 3) -> None:
    partial = target.with_name(target.name + ".part")
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=60) as response, partial.open("wb") as out:
                shutil.copyfileobj(response, out, CHUNK)
            partial.replace(target)
            return
        except OSError as exc:
            partial.unlink(missing_ok=True)
            if attempt == attempts:
                raise FetchError(
                    f"Could not download {url}: {exc}.",
                    hint=f"check the network, or point {MAVEN_REPOSITORY_ENV} at a Maven mirror",
                ) from exc
            time.sleep(2 * attempt)


def fetch_artifact(artifact: Artifact, cache: Path, repository: str) -> tuple[Path, bool]:
    """The verified file, and whether it had to be downloaded."""
    target = artifact.path(cache)
    if target.is_file() and sha256_of(target) == artifact.sha256:
        return target, False
    target.unlink(missing_ok=True)
    download(artifact.url(repository), target)
    actual = sha256_of(target)
    if actual != artifact.sha256:
        target.unlink()
        raise FetchError(
            f"{artifact.coordinate}: SHA-256 {actual} does not match the manifest's {artifact.sha256}.",
            hint="the download is corrupt or the repository serves another file; nothing was kept",
        )
    return target, True


def unpack(archive: Path) -> Path:
    """A .tar.gz artifact unpacked beside itself (once): the folder it holds."""
    marker = archive.with_name(archive.name + ".unpacked")
    with tarfile.open(archive) as tar:
        top = tar.getnames()[0].split("/", 1)[0]
        folder = archive.parent / top
        if marker.is_file() and folder.is_dir():
            return folder
        shutil.rmtree(folder, ignore_errors=True)
        tar.extractall(archive.parent, filter="data")
    marker.write_text(top, encoding="utf-8")
    return folder


def fetch(
    manifest: Manifest,
    set_names: list[str],
    cache: Path | None = None,
    repository: str | None = None,
    progress: Callable[[str], None] = print,
) -> list[Path]:
    cache = cache_dir() if cache is None else cache
    repository = repository or os.environ.get(MAVEN_REPOSITORY_ENV) or DEFAULT_MAVEN_REPOSITORY
    cache.mkdir(parents=True, exist_ok=True)
    artifacts = manifest.of_sets(set_names)
    paths = []
    for index, artifact in enumerate(artifacts, start=1):
        path, downloaded = fetch_artifact(artifact, cache, repository)
        if downloaded:
            progress(f"[{index}/{len(artifacts)}] {artifact.coordinate} ({path.stat().st_size // 1024} KiB)")
        if artifact.extension == "tar.gz":
            unpack(path)
        paths.append(path)
    progress(f"{len(artifacts)} artifact(s) of {', '.join(set_names)} verified in {cache}")
    return paths
