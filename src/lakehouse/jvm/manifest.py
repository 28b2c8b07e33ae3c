"""Read the pinned JVM manifest and find its artifacts in the local cache."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lakehouse.core.errors import ConfigError, MissingDependencyError

MANIFEST_PATH = Path(__file__).with_name("manifest.tsv")
CACHE_ENV = "LAKEHOUSE_JARS_DIR"
MAVEN_REPOSITORY_ENV = "LAKEHOUSE_MAVEN_REPOSITORY"
DEFAULT_MAVEN_REPOSITORY = "https://repo1.maven.org/maven2"


def cache_dir(env: dict[str, str] | None = None) -> Path:
    """Where fetched artifacts live: $LAKEHOUSE_JARS_DIR, else ~/.cache/local-lakehouse/jvm (outside git)."""
    env = dict(os.environ) if env is None else env
    configured = env.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    base = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "local-lakehouse" / "jvm"


@dataclass(frozen=True)
class Artifact:
    """One Maven artifact: `group:artifact:version[:classifier][@extension]` and its SHA-256."""

    set_name: str
    group: str
    artifact: str
    version: str
    classifier: str
    extension: str
    sha256: str

    @property
    def coordinate(self) -> str:
        text = f"{self.group}:{self.artifact}:{self.version}"
        if self.classifier:
            text += f":{self.classifier}"
        if self.extension != "jar":
            text += f"@{self.extension}"
        return text

    @property
    def file_name(self) -> str:
        suffix = f"-{self.classifier}" if self.classifier else ""
        return f"{self.artifact}-{self.version}{suffix}.{self.extension}"

    def url(self, repository: str = DEFAULT_MAVEN_REPOSITORY) -> str:
        group_path = self.group.replace(".", "/")
        return f"{repository.rstrip('/')}/{group_path}/{self.artifact}/{self.version}/{self.file_name}"

    def path(self, cache: Path) -> Path:
        return cache / self.file_name


def parse_coordinate(text: str) -> tuple[str, str, str, str, str]:
    coordinate, _, extension = text.partition("@")
    parts = coordinate.split(":")
    if len(parts) not in (3, 4) or not all(parts):
        raise ConfigError(
            f"Bad Maven coordinate {text!r} in {MANIFEST_PATH}.",
            hint="write group:artifact:version[:classifier][@extension], e.g. io.delta:delta-storage:4.0.1",
        )
    classifier = parts[3] if len(parts) == 4 else ""
    return parts[0], parts[1], parts[2], classifier, extension or "jar"


@dataclass(frozen=True)
class Manifest:
    artifacts: tuple[Artifact, ...]

    @property
    def set_names(self) -> list[str]:
        return sorted({artifact.set_name for artifact in self.artifacts})

    def of_sets(self, names: list[str] | tuple[str, ...]) -> list[Artifact]:
        unknown = sorted(set(names) - set(self.set_names))
        if unknown:
            raise ConfigError(
                f"Unknown JVM dependency set(s) {', '.join(unknown)}.",
                hint=f"valid sets: {', '.join(self.set_names)}",
            )
        seen: dict[str, Artifact] = {}
        for artifact in self.artifacts:
            if artifact.set_name in names:
                seen.setdefault(artifact.coordinate, artifact)
        return list(seen.values())

    def find(self, group: str, artifact: str) -> Artifact:
        for candidate in self.artifacts:
            if candidate.group == group and candidate.artifact == artifact:
                return candidate
        raise ConfigError(f"{group}:{artifact} is not in {MANIFEST_PATH}.", hint="add it with its SHA-256")

    def version_of(self, group: str, artifact: str) -> str:
        return self.find(group, artifact).version

    def missing(self, names: list[str] | tuple[str, ...], cache: Path | None = None) -> list[Artifact]:
        cache = cache_dir() if cache is None else cache
        return [artifact for artifact in self.of_sets(names) if not artifact.path(cache).is_file()]

    def paths(self, names: list[str] | tuple[str, ...], cache: Path | None = None) -> list[Path]:
        """The cached files of these sets; fails with the fetch command when any is missing."""
        cache = cache_dir() if cache is None else cache
        missing = self.missing(names, cache)
        if missing:
            raise MissingDependencyError(
                f"{len(missing)} JVM artifact(s) of set(s) {', '.join(names)} are not in {cache} "
                f"(first: {missing[0].coordinate}).",
                hint="fetch them once with: make setup-spark   (or: python -m lakehouse.jvm fetch "
                + " ".join(names) + ")",
            )
        return [artifact.path(cache) for artifact in self.of_sets(names)]


def load_manifest(path: Path = MANIFEST_PATH) -> Manifest:
    """Lines: `set<TAB>coordinate<TAB>sha256`; `#` starts a comment."""
    artifacts = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != 3 or len(fields[2]) != 64:
            raise ConfigError(
                f"{path}:{number}: expected 'set coordinate sha256', got {raw!r}.",
                hint="the third field is the artifact's SHA-256 in hex (64 characters)",
            )
        group, artifact, version, classifier, extension = parse_coordinate(fields[1])
        artifacts.append(Artifact(fields[0], group, artifact, version, classifier, extension, fields[2].lower()))
    return Manifest(tuple(artifacts))
