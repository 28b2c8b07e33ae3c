"""A small customer pipeline (bronze -> silver -> gold) with expectations, run in process on either engine."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import deltalake

from lakehouse.core.config import Settings
from lakehouse.core.storage import Storage
from lakehouse.runtime.runner import Runner, RunReport
from lakehouse.spec.expectations import Expectation, OnViolation
from lakehouse.spec.model import Pipeline, TableRef
from lakehouse.spec.pipelines import CUSTOMER, CUSTOMER_RAW, DIM_CUSTOMER
from tests.conftest import env_without_lakehouse_settings
from tests.delta_readers import delta_rs_rows

HEADER = "c_custkey,c_name,c_address,c_nationkey,c_phone,c_acctbal,c_mktsegment,c_comment"
BRONZE, SILVER, GOLD = CUSTOMER_RAW.ref, CUSTOMER.ref, DIM_CUSTOMER.ref
ROWS = [
    "1,Customer#1,Addr 1,5,25-100,100.50,BUILDING,first",
    "2,Customer#2,Addr 2,7,25-200,-20.00,AUTOMOBILE,negative balance",
    "3,Customer#3,Addr 3,1,25-300,,MACHINERY,no balance",
    "4,Customer#4,Addr 4,2,25-400,4.00,HOUSEHOLD,fine",
]


def expect(name: str, expr: str, on_violation: str) -> Expectation:
    return Expectation(name, expr, OnViolation(on_violation))


def pipeline(*, bronze: tuple[Expectation, ...] = (), silver: tuple[Expectation, ...] = (),
             gold: tuple[Expectation, ...] | None = ()) -> Pipeline:
    """The customer pipeline with these expectations; `gold=None` leaves gold out (a shorter Spark run)."""
    tables = [replace(CUSTOMER_RAW, expectations=bronze), replace(CUSTOMER, expectations=silver)]
    if gold is not None:
        tables.append(replace(DIM_CUSTOMER, expectations=gold))
    return Pipeline("customer", tuple(tables))


def csv_text(rows: list[str]) -> str:
    return HEADER + "\n" + "".join(row + "\n" for row in rows)


@dataclass
class Place:
    root: Path
    engine: str = "embedded"

    @property
    def landing(self) -> str:
        return str(self.root / "landing")

    @property
    def warehouse(self) -> str:
        return str(self.root / "warehouse")

    def settings(self) -> Settings:
        env = env_without_lakehouse_settings()
        return Settings.load(landing=self.landing, warehouse=self.warehouse, engine=self.engine, env=env)

    def land(self, name: str, rows: list[str]) -> None:
        path = self.root / "landing" / "customer" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.parent / f".{name}.tmp"
        temporary.write_text(csv_text(rows))
        os.replace(temporary, path)

    def run(self, spec: Pipeline, **runner_options: Any) -> RunReport:
        settings = self.settings()
        return Runner(settings, Storage(settings.s3), **runner_options).run(spec)

    def table_uri(self, ref: TableRef) -> str:
        return f"{self.warehouse}/{ref.schema}/{ref.name}"

    def rows(self, ref: TableRef, order_by: str = "c_custkey") -> list[dict[str, Any]]:
        """A table's rows as another Delta reader (delta-rs) sees them."""
        table = delta_rs_rows(self.table_uri(ref))
        return sorted(table.to_pylist(), key=lambda row: (row[order_by] is None, row[order_by]))

    def exists(self, ref: TableRef) -> bool:
        return deltalake.DeltaTable.is_deltatable(self.table_uri(ref))


def quarantine_of(ref: TableRef) -> TableRef:
    return TableRef(ref.schema, f"{ref.name}_quarantine")


def batch_counts(report: RunReport, ref: TableRef) -> list[list[dict[str, Any]]]:
    """Each batch's expectation counts for `ref` in the run's report (what `run --json` prints)."""
    table = next(t for t in report.tables if t.table == str(ref))
    return [batch["details"].get("expectations") for batch in table.batches]
