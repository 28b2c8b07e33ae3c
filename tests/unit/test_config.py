import pytest

from lakehouse.core.config import Settings
from lakehouse.core.errors import ConfigError
from lakehouse.core.storage import Storage


def test_settings_come_from_the_contract_env_vars(tmp_path):
    settings = Settings.load(env={"LAKEHOUSE_LANDING": "s3a://bucket/landing/", "LAKEHOUSE_WAREHOUSE": str(tmp_path)})
    assert settings.landing == "s3://bucket/landing"
    assert settings.warehouse == str(tmp_path)
    assert settings.table_uri("silver", "customer") == f"{tmp_path}/silver/customer"
    assert settings.engine == "embedded" and settings.catalog is None


def test_flags_win_over_env(tmp_path):
    settings = Settings.load(landing=str(tmp_path / "a"), env={"LAKEHOUSE_LANDING": "/elsewhere"})
    assert settings.landing == str(tmp_path / "a")


def test_s3_storage_options_follow_the_endpoint():
    settings = Settings.load(env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_ACCESS_KEY_ID": "k",
                                  "AWS_SECRET_ACCESS_KEY": "s", "LAKEHOUSE_WAREHOUSE": "s3://w"})
    options = settings.s3.delta_storage_options()
    assert options["AWS_ALLOW_HTTP"] == "true" and options["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9000"


@pytest.mark.parametrize("bad", ["gs://bucket/x", "   "])
def test_unsupported_locations_are_refused_with_a_hint(bad):
    with pytest.raises(ConfigError) as error:
        Settings.load(landing=bad, env={})
    assert error.value.hint


def test_unknown_engine_lists_the_valid_ones():
    # Engines are known to engines/registry.py (core names none), which refuses an unknown one.
    from lakehouse.engines.registry import make_engine

    settings = Settings.load(engine="flink", env={})
    with pytest.raises(ConfigError) as error:
        make_engine(settings, Storage(settings.s3))
    assert "flink" in error.value.message and "embedded" in error.value.hint and "spark" in error.value.hint
