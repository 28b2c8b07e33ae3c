"""Settings: where landing files and tables live, which catalog and engine to use.

Every setting comes from a flag or an environment variable (the README's stable contract):
LAKEHOUSE_LANDING, LAKEHOUSE_WAREHOUSE, LAKEHOUSE_CATALOG, LAKEHOUSE_ENGINE, and the usual
AWS_* variables for any S3 endpoint (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_REGION, AWS_ALLOW_HTTP).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypedDict, Unpack

from lakehouse.core.errors import ConfigError

DEFAULT_LANDING = "data/landing"
DEFAULT_WAREHOUSE = "data/warehouse"


def _normalise_location(value: str) -> str:
    value = value.strip()
    if not value:
        raise ConfigError("An empty location was given.", hint="use a local path or an s3://bucket/prefix URI")
    if value.startswith("s3a://"):
        value = "s3://" + value[len("s3a://"):]
    if "://" in value and not value.startswith(("s3://", "file://")):
        scheme = value.split("://", 1)[0]
        raise ConfigError(
            f"Unsupported location scheme '{scheme}://' in '{value}'.",
            hint="use a local path, file://..., or s3://bucket/prefix",
        )
    if value.startswith("file://"):
        value = value[len("file://"):]
    if not value.startswith("s3://"):
        value = str(Path(value).expanduser().resolve())
    return value.rstrip("/")


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    region: str = "us-east-1"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> S3Settings:
        env = dict(os.environ if env is None else env)
        return cls(
            endpoint_url=env.get("AWS_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL_S3") or None,
            access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
            secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        )

    def delta_storage_options(self) -> dict[str, str]:
        """Options for delta-rs (object_store): see the design note's S3 facts."""
        options = {"AWS_REGION": self.region}
        if self.endpoint_url:
            options["AWS_ENDPOINT_URL"] = self.endpoint_url
            if self.endpoint_url.startswith("http://"):
                options["AWS_ALLOW_HTTP"] = "true"
        if self.access_key_id:
            options["AWS_ACCESS_KEY_ID"] = self.access_key_id
        if self.secret_access_key:
            options["AWS_SECRET_ACCESS_KEY"] = self.secret_access_key
        # Conditional put is how delta-rs commits safely on S3 (versitygw and MinIO honour If-None-Match).
        options["conditional_put"] = "etag"
        return options


class SettingsChanges(TypedDict, total=False):
    """Settings fields `Settings.with_overrides` may change."""

    landing: str
    warehouse: str
    catalog: str | None
    engine: str
    s3: S3Settings
    max_files_per_batch: int
    available_now: bool


@dataclass(frozen=True)
class Settings:
    landing: str
    warehouse: str
    catalog: str | None = None
    engine: str = "embedded"
    s3: S3Settings = field(default_factory=S3Settings)
    max_files_per_batch: int = 10_000
    # Auto Loader's availableNow: a run takes every landed file in as many batches as
    # max_files_per_batch needs. False takes one batch per table and run (bounded micro-batches).
    available_now: bool = True

    def __post_init__(self) -> None:
        # The engine's name is checked where engines are known (engines/registry.py): core names none.
        if not self.engine:
            raise ConfigError("No engine named.", hint="--engine or LAKEHOUSE_ENGINE, e.g. embedded")
        if self.max_files_per_batch < 1:
            raise ConfigError(f"max_files_per_batch must be at least 1, got {self.max_files_per_batch}.")

    @classmethod
    def load(
        cls,
        landing: str | None = None,
        warehouse: str | None = None,
        catalog: str | None = None,
        engine: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Settings:
        env = dict(os.environ if env is None else env)
        return cls(
            landing=_normalise_location(landing or env.get("LAKEHOUSE_LANDING") or DEFAULT_LANDING),
            warehouse=_normalise_location(warehouse or env.get("LAKEHOUSE_WAREHOUSE") or DEFAULT_WAREHOUSE),
            catalog=catalog or env.get("LAKEHOUSE_CATALOG") or None,
            engine=engine or env.get("LAKEHOUSE_ENGINE") or "embedded",
            s3=S3Settings.from_env(env),
        )

    def with_overrides(self, **changes: Unpack[SettingsChanges]) -> Settings:
        return replace(self, **changes)

    def table_uri(self, schema: str, table: str) -> str:
        return f"{self.warehouse}/{schema}/{table}"

    def checkpoint_uri(self, schema: str, table: str) -> str:
        return f"{self.warehouse}/_checkpoints/{schema}/{table}"

    def landing_uri(self, source: str) -> str:
        return f"{self.landing}/{source}"
