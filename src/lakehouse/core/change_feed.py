"""Delta change data feed column names and values, shared by the engines and the strategies."""

from __future__ import annotations

CHANGE_TYPE = "_change_type"
COMMIT_VERSION = "_commit_version"
COMMIT_TIMESTAMP = "_commit_timestamp"
# Every change-feed read returns these besides the table's columns.
CHANGE_FEED_COLUMNS = (CHANGE_TYPE, COMMIT_VERSION, COMMIT_TIMESTAMP)
# The change rows that carry a row's state after the commit (the pre-image is left out).
NEW_STATE_TYPES = ("insert", "update_postimage")
