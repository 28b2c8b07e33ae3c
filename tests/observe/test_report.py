"""The report's content without a browser: bounded batch sections for thousands of batches,
expectation counts, the dimension timeline's versions, changed attributes and linked fact rows."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from lakehouse.cli.main import main
from lakehouse.ops.report.events import BATCHES_PER_TABLE, summarise
from lakehouse.ops.report.page import batches_section, expectations_section
from lakehouse.runtime.events import EVENT_SCHEMA
from tests.sales import sales_data

TABLES = [f"silver.table_{n:02d}" for n in range(16)]


def _events(batches_per_table: int) -> pa.Table:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for t, table in enumerate(TABLES):
        for batch in range(batches_per_table):
            rows.append({"event_id": f"{t}-{batch}", "run_id": "r", "timestamp": start + timedelta(minutes=batch),
                         "table": table, "event_type": "batch", "batch_id": batch, "rows_in": 10, "rows_written": 10,
                         "outcome": "failed" if batch == 7 else "succeeded"})
        rows.append({"event_id": f"{t}-e", "run_id": "r", "timestamp": start, "table": table,
                     "event_type": "expectation", "rows_in": 10, "rows_written": 8, "rows_dropped": 2,
                     "outcome": "skipped", "details": json.dumps({"name": "valid_key", "on_violation": "drop"})})
    return pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)


def test_thousands_of_batches_stay_a_bounded_page() -> None:
    summary = summarise(_events(batches_per_table=500))
    assert len(summary.batches) == 16
    first = summary.batches[0]
    assert (first.total, first.outcomes, first.rows_written) == (500, {"failed": 1, "succeeded": 499}, 5000)
    # Newest first, and only as many rows as the page holds.
    assert len(first.recent) == BATCHES_PER_TABLE and first.recent[0]["batch_id"] == 499
    html = batches_section(summary)
    assert html.count("<tr>") == 16 * (BATCHES_PER_TABLE + 1)
    assert f"showing newest {BATCHES_PER_TABLE} of 500" in html
    assert len(html) < 3_000_000


def test_expectation_counts_per_table_and_name() -> None:
    summary = summarise(_events(batches_per_table=1))
    counts = {(e.table, e.expectation): (e.checked, e.failed, e.failing_rows, e.rows_dropped)
              for e in summary.expectations}
    assert counts[("silver.table_00", "valid_key")] == (1, 1, 2, 2)
    assert "valid_key" in expectations_section(summary)


def test_no_event_log_says_so() -> None:
    assert 'id="no-events"' in batches_section(summarise(None))


def test_report_timeline_versions_changes_and_fact_rows(lake, tmp_path) -> None:
    sales_data.land_initial(lake)
    lake.run()
    sales_data.land_customer_changes(lake, "customer_0002.csv",
                                     [sales_data.customer(1, "New Road 9", "2024-06-01 00:00:00")])
    lake.run()
    output = tmp_path / "report.html"
    main(["--landing", lake.settings.landing, "--warehouse", lake.settings.warehouse, "report", "--pipeline",
          "sales", "--output", str(output), "--keys", "1,3,99"])
    html = output.read_text()
    # sales reads gold.dim_customer: its timeline is the default one.
    assert "Dimension history: gold.dim_customer" in html
    versions = re.findall(r'<g class="version" data-key="(\d+)" data-version="(\d+)" data-fact-rows="(\d+)"', html)
    by_key = {}
    for key, _, facts in versions:
        by_key.setdefault(key, []).append(int(facts))
    # Order 10 (March) belongs to the old address, order 11 (September) to the new one, two lines and one.
    assert by_key == {"1": [2, 1], "3": [1]}
    assert "changed: c_address" in html and "No versions for 99" in html
    assert "batch(es)" in html  # the event log recorded the runs
