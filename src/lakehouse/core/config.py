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
from lakehouse.core.paths import join_under

DEFAULT_LANDING = "data/landing"
DEFAULT_WAREHOUSE = "data/warehouse"
# A writer copying into a landing folder touches the file at least this often (docs/robustness.md).
SETTLE_SECONDS_LOCAL = 2.0
MAX_SETTLE_SECONDS = 3600.0
# Attempts of one S3 request (the first and its retries) by pyarrow, boto3 and delta-rs alike.
S3_MAX_ATTEMPTS = 6


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


def _flag(name: str, value: str | None) -> bool:
    if value is None or value.strip().lower() in ("", "0", "false", "no", "off"):
        return False
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be true or false, got '{value}'.", hint=f"e.g. {name}=true")


def _optional_flag(name: str, value: str | None) -> bool | None:
    """None when unset or empty, so the engine's default applies."""
    return None if value is None or not value.strip() else _flag(name, value)


def _settle_seconds(value: str | None) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"LAKEHOUSE_SETTLE_SECONDS must be a number of seconds, got '{value}'.",
                          hint="e.g. LAKEHOUSE_SETTLE_SECONDS=2, or 0 to take landed files as soon as they are listed") from None


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str | None = None
    access_key_id: str | None = None
    # Out of repr: settings end up in error messages and --debug output, a secret never does.
    secret_access_key: str | None = field(default=None, repr=False)
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
        # object_store retries 5xx, throttling and dropped connections with backoff (docs/s3.md).
        options["max_retries"] = str(S3_MAX_ATTEMPTS - 1)
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
    settle_seconds: float | None
    event_retention_days: int
    merge_on_read: bool | None


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
    # Days the pipeline event log keeps (<warehouse>/_lakehouse/event_log); 0 keeps every row.
    event_retention_days: int = 30
    # A landed file is taken once it has not been modified for this long (LAKEHOUSE_SETTLE_SECONDS; 0: at
    # once). None: SETTLE_SECONDS_LOCAL in a folder, 0 on S3, where an object is listed only once whole.
    settle_seconds: float | None = None
    # LAKEHOUSE_MERGE_ON_READ: whether MERGEs mark replaced rows with deletion vectors instead of
    # rewriting their files, in tables whose spec option and Delta property say nothing
    # (core/merge_plan.py, docs/deletion-vectors.md). None: the engine's own default (the embedded
    # engine merges on read, where it won the benchmark; Spark follows delta-spark's table property).
    merge_on_read: bool | None = None

    def __post_init__(self) -> None:
        # The engine's name is checked where engines are known (engines/registry.py): core names none.
        if not self.engine:
            raise ConfigError("No engine named.", hint="--engine or LAKEHOUSE_ENGINE, e.g. embedded")
        if self.max_files_per_batch < 1:
            raise ConfigError(f"max_files_per_batch must be at least 1, got {self.max_files_per_batch}.")
        if self.settle_seconds is not None and not 0 <= self.settle_seconds <= MAX_SETTLE_SECONDS:
            raise ConfigError(f"The settle interval must be 0 to {MAX_SETTLE_SECONDS:g} seconds, got {self.settle_seconds}.",
                              hint="LAKEHOUSE_SETTLE_SECONDS, e.g. 2; 0 takes a landed file as soon as it is listed")

    @property
    def landing_settle_seconds(self) -> float:
        """How long a landed file must have been left alone before a run takes it."""
        if self.settle_seconds is not None:
            return self.settle_seconds
        return 0.0 if self.landing.startswith("s3://") else SETTLE_SECONDS_LOCAL

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
            event_retention_days=_retention_days(env.get("LAKEHOUSE_EVENT_RETENTION_DAYS")),
            settle_seconds=_settle_seconds(env.get("LAKEHOUSE_SETTLE_SECONDS")),
            merge_on_read=_optional_flag("LAKEHOUSE_MERGE_ON_READ", env.get("LAKEHOUSE_MERGE_ON_READ")),
        )

    def with_overrides(self, **changes: Unpack[SettingsChanges]) -> Settings:
        return replace(self, **changes)

    # Names come from specs and the command line: join_under refuses one that would leave its root.
    def table_uri(self, schema: str, table: str) -> str:
        return join_under(self.warehouse, schema, table, what="schema or table name")

    def checkpoint_uri(self, schema: str, table: str) -> str:
        return join_under(f"{self.warehouse}/_checkpoints", schema, table, what="schema or table name")

    def landing_uri(self, source: str) -> str:
        return join_under(self.landing, source, what="landing folder")


def _retention_days(value: str | None) -> int:
    if value is None or not value.strip():
        return 30
    if not value.strip().isdigit():
        raise ConfigError(f"LAKEHOUSE_EVENT_RETENTION_DAYS must be a whole number of days, got '{value}'.",
                          hint="e.g. LAKEHOUSE_EVENT_RETENTION_DAYS=30; 0 keeps every event")
    return int(value)
