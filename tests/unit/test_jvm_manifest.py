"""The pinned JVM manifest and its fetcher, against a file:// Maven layout (no network)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from lakehouse.core.errors import ConfigError, MissingDependencyError
from lakehouse.jvm import load_manifest
from lakehouse.jvm.fetch import FetchError, fetch
from lakehouse.jvm.manifest import Manifest, parse_coordinate

REPO_ROOT = Path(__file__).resolve().parents[2]


def write_manifest(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Manifest:
    path = tmp_path / "manifest.tsv"
    path.write_text("# test\n" + "".join(f"{s}\t{c}\t{h}\n" for s, c, h in rows))
    return load_manifest(path)


@pytest.fixture
def maven_repo(tmp_path):
    jar = tmp_path / "repo" / "io" / "example" / "thing" / "1.0" / "thing-1.0.jar"
    jar.parent.mkdir(parents=True)
    jar.write_bytes(b"not really a jar")
    return tmp_path / "repo", jar


def test_the_shipped_manifest_parses_and_pins_every_artifact_once():
    manifest = load_manifest()
    coordinates = [(a.set_name, a.coordinate) for a in manifest.artifacts]
    assert len(coordinates) == len(set(coordinates))
    assert {"spark", "metastore"} <= set(manifest.set_names)
    assert all(re.fullmatch(r"[0-9a-f]{64}", a.sha256) for a in manifest.artifacts)


def test_delta_matches_the_pinned_pyspark_and_hadoop_aws_matches_its_hadoop():
    manifest = load_manifest()
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    (pyspark,) = set(re.findall(r'"pyspark==([\d.]+)"', pyproject))
    # delta-spark 4.0.x is built for Spark 4.0.x; pyspark 4.0.1 ships Hadoop client 3.4.1.
    assert manifest.version_of("io.delta", "delta-spark_2.13").rsplit(".", 1)[0] == pyspark.rsplit(".", 1)[0]
    assert manifest.version_of("org.apache.hadoop", "hadoop-aws") == "3.4.1"
    major, minor, _ = (int(p) for p in manifest.version_of("software.amazon.awssdk", "bundle").split("."))
    assert (major, minor) < (2, 30), "SDK 2.30+ checksum defaults break S3 servers with Hadoop 3.4.x"


def test_fetch_downloads_verifies_and_is_idempotent(maven_repo, tmp_path):
    repo, jar = maven_repo
    manifest = write_manifest(tmp_path, [("demo", "io.example:thing:1.0", hashlib.sha256(jar.read_bytes()).hexdigest())])
    cache = tmp_path / "cache"
    lines: list[str] = []
    (path,) = fetch(manifest, ["demo"], cache, repository=repo.as_uri(), progress=lines.append)
    assert path.read_bytes() == jar.read_bytes()
    assert any("io.example:thing:1.0" in line for line in lines)
    lines.clear()
    fetch(manifest, ["demo"], cache, repository=repo.as_uri(), progress=lines.append)
    assert not any("io.example:thing:1.0" in line for line in lines), "a verified file is not fetched again"
    assert manifest.paths(["demo"], cache) == [path]


def test_a_tampered_download_is_refused_and_not_kept(maven_repo, tmp_path):
    repo, jar = maven_repo
    manifest = write_manifest(tmp_path, [("demo", "io.example:thing:1.0", hashlib.sha256(b"other").hexdigest())])
    with pytest.raises(FetchError, match="does not match the manifest"):
        fetch(manifest, ["demo"], tmp_path / "cache", repository=repo.as_uri(), progress=lambda _: None)
    assert not (tmp_path / "cache" / "thing-1.0.jar").exists()


def test_a_corrupt_cached_file_is_fetched_again(maven_repo, tmp_path):
    repo, jar = maven_repo
    manifest = write_manifest(tmp_path, [("demo", "io.example:thing:1.0", hashlib.sha256(jar.read_bytes()).hexdigest())])
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "thing-1.0.jar").write_bytes(b"half a downl")
    (path,) = fetch(manifest, ["demo"], cache, repository=repo.as_uri(), progress=lambda _: None)
    assert path.read_bytes() == jar.read_bytes()


def test_missing_artifacts_name_the_fetch_command(tmp_path):
    manifest = write_manifest(tmp_path, [("demo", "io.example:thing:1.0", "0" * 64)])
    with pytest.raises(MissingDependencyError, match="make setup-spark"):
        manifest.paths(["demo"], tmp_path / "empty")


def test_unknown_sets_and_bad_lines_say_what_is_valid(tmp_path):
    manifest = write_manifest(tmp_path, [("demo", "io.example:thing:1.0", "0" * 64)])
    with pytest.raises(ConfigError, match="valid sets: demo"):
        manifest.of_sets(["nope"])
    bad = tmp_path / "bad.tsv"
    bad.write_text("demo\tio.example:thing\n")
    with pytest.raises(ConfigError, match="bad.tsv:1"):
        load_manifest(bad)
    assert parse_coordinate("org.apache.hive:x:4.0.1:bin@tar.gz") == ("org.apache.hive", "x", "4.0.1", "bin", "tar.gz")
