import re

import pytest

from lakehouse.core.errors import ConfigError, SchemaEvolutionError
from lakehouse.core.types import normalise_type, value_pattern
from lakehouse.sources.schema import StoredSchema, check_header, evolve, infer_schema, infer_type
from lakehouse.spec.model import EvolutionMode


@pytest.mark.parametrize(
    "values, expected",
    [
        (["1", "-2", None], "bigint"),
        (["711.56", "-1.5", "3"], "decimal(18,2)"),
        (["1995-03-01", "2000-12-31"], "date"),
        (["2024-01-02 03:04:05", "2024-01-02T03:04:05Z"], "timestamp"),
        (["true", "False"], "boolean"),
        (["1", "x"], "string"),
        ([None, ""], "string"),
    ],
)
def test_infer_type_picks_the_narrowest_type_every_value_fits(values, expected):
    assert infer_type(values) == expected


def test_hints_override_inference():
    schema = infer_schema(["k", "v"], [["1", "2.5"]], {"v": "decimal(15,2)", "k": "string"})
    assert schema == (("k", "string"), ("v", "decimal(15,2)"))


@pytest.mark.parametrize(
    "type_name, good, bad",
    [
        ("bigint", ["0", "-12", "+7"], ["1.0", "", " 1", "1e3", "9" * 19]),
        ("decimal(15,2)", ["1", "1.5", "-0.25", "9999999999999.99"], ["1.234", "abc", "99999999999999", "1."]),
        ("date", ["2024-02-29"], ["2024/02/29", "24-02-29"]),
        ("boolean", ["true", "FALSE"], ["yes", "1"]),
    ],
)
def test_value_patterns_accept_exactly_the_lossless_texts(type_name, good, bad):
    pattern = value_pattern(type_name)
    assert all(re.fullmatch(pattern, v) for v in good)
    assert not any(re.fullmatch(pattern, v) for v in bad)


def test_unknown_type_names_are_refused_with_the_valid_ones():
    with pytest.raises(ConfigError) as error:
        normalise_type("varchar2")
    assert "decimal(p,s)" in error.value.hint


def stored():
    return StoredSchema(0, (("a", "bigint"), ("b", "string")), reason="inferred")


def test_new_column_evolves_the_schema_with_history():
    evolved = evolve(stored(), ["a", "b", "c"], [["1", "x", "2024-01-01"]], {}, EvolutionMode.ADD_NEW_COLUMNS, "f.csv")
    assert evolved.version == 1
    assert evolved.columns == (("a", "bigint"), ("b", "string"), ("c", "date"))
    assert "c" in evolved.reason and evolved.source_file == "f.csv"
    assert StoredSchema.from_json(evolved.to_json()) == evolved


def test_missing_columns_are_not_an_evolution():
    assert evolve(stored(), ["a"], [["1"]], {}, EvolutionMode.ADD_NEW_COLUMNS, "f.csv") is None


@pytest.mark.parametrize("mode", [EvolutionMode.RESCUE, EvolutionMode.NONE])
def test_rescue_and_none_modes_keep_the_schema(mode):
    assert evolve(stored(), ["a", "b", "c"], [["1", "x", "y"]], {}, mode, "f.csv") is None


def test_fail_on_new_columns_names_the_file_and_the_columns():
    with pytest.raises(SchemaEvolutionError) as error:
        evolve(stored(), ["a", "b", "c"], [], {}, EvolutionMode.FAIL_ON_NEW_COLUMNS, "s3://l/f.csv")
    assert "s3://l/f.csv" in error.value.message and "c" in error.value.message


@pytest.mark.parametrize("header", [["a", "a"], ["a", ""], ["a", "_rescued_data"]])
def test_bad_headers_are_refused_with_the_file_named(header):
    with pytest.raises(SchemaEvolutionError) as error:
        check_header(header, "landing/x.csv")
    assert "landing/x.csv" in error.value.message
