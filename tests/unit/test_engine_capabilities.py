"""The runtime reads the engines' Capabilities: a table whose spec needs what the engine lacks is refused
before anything runs, naming the table, the engine and what to do; the driver follows `streaming`."""

from __future__ import annotations

import os
from dataclasses import fields, replace
from pathlib import Path

import pytest

from lakehouse.core.config import Settings
from lakehouse.core.storage import Storage
from lakehouse.engines.base import Capabilities
from lakehouse.engines.embedded.engine import EmbeddedEngine
from lakehouse.engines.registry import ENGINES, engine_class
from lakehouse.runtime import runner as runner_module
from lakehouse.runtime.drivers import driver_for
from lakehouse.runtime.drivers.batch import BatchDriver
from lakehouse.runtime.requirements import EngineLacksCapabilityError, check_capabilities, needs
from lakehouse.spec.pipelines import CUSTOMER_PIPELINE, SALES_PIPELINE

BRONZE, SILVER, DIM = CUSTOMER_PIPELINE.tables
FACT = SALES_PIPELINE.tables[-1]
HEADER = "c_custkey,c_name,c_address,c_nationkey,c_phone,c_acctbal,c_mktsegment,c_comment\n"


def lacking(**missing: bool) -> type[EmbeddedEngine]:
    """An embedded engine that says it lacks the given capabilities."""

    class Lacking(EmbeddedEngine):
        name = "lacking"
        capabilities = replace(EmbeddedEngine.capabilities, **missing)

    return Lacking


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(landing=str(tmp_path / "landing"), warehouse=str(tmp_path / "wh"), env={})


def runner_on(engine: type[EmbeddedEngine], settings: Settings, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(runner_module, "make_engine", lambda settings_, storage: engine(settings_, storage))
    return runner_module.Runner(settings, Storage(settings.s3))


def test_every_need_names_a_capability():
    names = {f.name for f in fields(Capabilities)}
    for spec in (*CUSTOMER_PIPELINE.tables, *SALES_PIPELINE.tables):
        assert {need.capability for need in needs(spec)} <= names


def test_every_engine_has_what_every_pipeline_table_needs():
    for name in ENGINES:
        engine = engine_class(name)
        for spec in (*CUSTOMER_PIPELINE.tables, *SALES_PIPELINE.tables):
            check_capabilities(engine.__new__(engine), spec)


def test_a_pipeline_with_change_feeds_is_refused_whole_without_them(settings, monkeypatch):
    landing = Path(settings.landing) / "customer"
    landing.mkdir(parents=True)
    (landing / "a.csv").write_text(HEADER + "1,A,a,1,p,1.00,S,c\n")
    runner = runner_on(lacking(change_data_feed=False), settings, monkeypatch)
    with pytest.raises(EngineLacksCapabilityError) as refused:
        runner.run(CUSTOMER_PIPELINE)
    message = str(refused.value)
    assert message.startswith("bronze.customer_raw needs a change data feed (its spec turns its change data feed on)")
    assert "'lacking' engine" in message and "nothing was run" in message
    assert "LAKEHOUSE_ENGINE: embedded, spark" in message
    assert not os.path.exists(settings.checkpoint_uri("bronze", "customer_raw"))
    assert runner.engine.table_version(BRONZE.ref) is None


def test_a_table_built_from_a_change_feed_is_refused_without_one(settings):
    engine = lacking(change_data_feed=False)(settings)
    check_capabilities(engine, replace(BRONZE, change_data_feed=False))  # writes no feed, reads none
    with pytest.raises(EngineLacksCapabilityError, match="silver.customer needs a change data feed "
                       r"\(it is built from the change feed of bronze.customer_raw\)"):
        check_capabilities(engine, replace(SILVER, change_data_feed=False))


def test_without_app_transactions_no_table_runs(settings, monkeypatch):
    runner = runner_on(lacking(app_transactions=False), settings, monkeypatch)
    with pytest.raises(EngineLacksCapabilityError, match="bronze.customer_raw needs exactly-once commits"):
        runner.run(CUSTOMER_PIPELINE, only=str(BRONZE.ref))


def test_a_fact_needs_time_travel(settings):
    with pytest.raises(EngineLacksCapabilityError, match=f"{FACT.ref} needs time travel"):
        check_capabilities(lacking(time_travel=False)(settings), FACT)
    check_capabilities(lacking(time_travel=False)(settings), SILVER)


def test_the_driver_follows_the_streaming_capability(settings):
    assert isinstance(driver_for(EmbeddedEngine(settings)), BatchDriver)
    assert engine_class("spark").capabilities.streaming and not EmbeddedEngine.capabilities.streaming
