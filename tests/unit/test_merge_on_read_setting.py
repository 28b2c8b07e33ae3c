"""LAKEHOUSE_MERGE_ON_READ: the engine's default unless set (the embedded engine merges on read, Spark
follows the table's property), a clear error for a value that is not a yes or no."""

from __future__ import annotations

import pytest

from lakehouse.core.config import Settings
from lakehouse.core.errors import ConfigError


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), ("false", False), ("0", False),
                                                 ("true", True), ("1", True), ("ON", True)])
def test_merge_on_read_comes_from_the_environment(value, expected):
    env = {} if value is None else {"LAKEHOUSE_MERGE_ON_READ": value}
    assert Settings.load(landing="l", warehouse="w", env=env).merge_on_read is expected


def test_a_value_that_is_not_a_flag_is_refused_with_the_valid_spelling():
    with pytest.raises(ConfigError, match="LAKEHOUSE_MERGE_ON_READ must be true or false, got 'maybe'"):
        Settings.load(landing="l", warehouse="w", env={"LAKEHOUSE_MERGE_ON_READ": "maybe"})
