"""A table's kind options are typed per kind, and a spec with another kind's options fails where it is declared."""

from __future__ import annotations

import dataclasses

import pytest

from lakehouse.core.errors import ConfigError
from lakehouse.kinds.fact.options import FactRules
from lakehouse.kinds.scd1.options import Scd1Options
from lakehouse.kinds.scd2.options import DEFAULT_LOW_DATE, Scd2Options
from lakehouse.spec.model import OPTIONS_OF_KIND, Kind, TableRef
from lakehouse.spec.pipelines import CUSTOMER, CUSTOMER_RAW, DIM_CUSTOMER
from lakehouse.spec.sales import FACT_SALES


def test_every_kind_names_its_options_class() -> None:
    assert set(OPTIONS_OF_KIND) == set(Kind)


def test_options_of_another_kind_fail_naming_the_table_and_the_valid_class() -> None:
    with pytest.raises(ConfigError) as raised:
        dataclasses.replace(DIM_CUSTOMER, options=Scd1Options())
    assert "gold.dim_customer" in raised.value.message and "Scd1Options" in raised.value.message
    assert raised.value.hint == "valid options: Scd2Options (from lakehouse.kinds.scd2.options)"
    with pytest.raises(ConfigError, match="silver.customer"):
        dataclasses.replace(CUSTOMER, options=Scd2Options())
    with pytest.raises(ConfigError, match="takes no options"):
        dataclasses.replace(CUSTOMER_RAW, options=Scd1Options())


def test_a_fact_needs_its_rules_and_they_must_fit_the_spec() -> None:
    with pytest.raises(ConfigError, match="needs options=FactRules"):
        dataclasses.replace(FACT_SALES, options=None)
    with pytest.raises(ConfigError, match="upstream must be the fact's inputs"):
        dataclasses.replace(FACT_SALES, upstream=(TableRef("silver", "orders"),))
    with pytest.raises(ConfigError, match="not among the fact's columns"):
        dataclasses.replace(FACT_SALES, keys=("order_key", "no_such_column"))
    assert FactRules.of(FACT_SALES) is FACT_SALES.options


def test_unset_options_are_the_kind_defaults() -> None:
    plain = dataclasses.replace(DIM_CUSTOMER, options=None)
    # No low date unless the table declares one: a first version starts at its own start.
    assert Scd2Options.of(plain) == Scd2Options(low_date=None, undated_effective_time=None)
    # The shipped dimension and the fact that looks it up declare theirs, so their history is unchanged.
    assert Scd2Options.of(DIM_CUSTOMER).low_date == DEFAULT_LOW_DATE
    assert FactRules.of(FACT_SALES).dimension.low_date == DEFAULT_LOW_DATE
    assert Scd1Options.of(dataclasses.replace(CUSTOMER, options=None)).undated_effective_time is None
    assert Scd2Options.of(DIM_CUSTOMER).undated_effective_time == "2024-01-01 00:00:00"
