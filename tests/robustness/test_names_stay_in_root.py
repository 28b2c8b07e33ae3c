"""Names from specs, files and the command line cannot leave their root (core/paths.join_under): the
warehouse, checkpoint and landing locations, and `lakehouse landing` table and file names."""

from __future__ import annotations

import pytest

from lakehouse.core.config import Settings
from lakehouse.core.errors import ConfigError
from lakehouse.core.paths import join_under, unsafe_reason
from lakehouse.landing.land import table_prefix

ESCAPES = ["..", "../etc", "a/../../b", ".", "./a", "/etc/passwd", "s3://other-bucket/x", "..\\x", "a//b", "a/",
           "", "a\x00b"]


@pytest.mark.parametrize("name", ESCAPES)
def test_a_name_that_could_leave_its_root_is_refused(name):
    assert unsafe_reason(name) is not None
    with pytest.raises(ConfigError) as caught:
        join_under("/srv/warehouse", "bronze", name, what="table name")
    assert repr(name) in caught.value.message and "/srv/warehouse" in caught.value.message


@pytest.mark.parametrize("name", ["customer_raw", "sales/orders", "customer.v2", "Zoë 李", "a-b_c"])
def test_plain_names_are_joined(name):
    assert join_under("s3://lake/warehouse/", name) == f"s3://lake/warehouse/{name}"


@pytest.mark.parametrize("location", ["/tmp/lake", "s3://lake"])
def test_settings_locations_refuse_escaping_names(location):
    settings = Settings(landing=f"{location}/landing", warehouse=f"{location}/warehouse")
    assert settings.table_uri("bronze", "customer_raw") == f"{location}/warehouse/bronze/customer_raw"
    assert settings.checkpoint_uri("gold", "dim") == f"{location}/warehouse/_checkpoints/gold/dim"
    assert settings.landing_uri("customer") == f"{location}/landing/customer"
    for call in (lambda: settings.table_uri("..", "x"), lambda: settings.table_uri("bronze", "../../landing"),
                 lambda: settings.checkpoint_uri("bronze", "/etc"), lambda: settings.landing_uri("../warehouse"),
                 lambda: settings.landing_uri("/abs")):
        with pytest.raises(ConfigError, match="cannot be used below"):
            call()


def test_landing_table_names_cannot_leave_the_landing_root():
    assert table_prefix("/tmp/landing", "customer") == "/tmp/landing/customer"
    for name in ("..", ".", "a\\..", ""):
        with pytest.raises(ConfigError):
            table_prefix("/tmp/landing", name)
