"""Job: run one table's flow on Spark, as the only writer of that table.

    spark-submit jobs/run_table.py TABLE [lakehouse run options, e.g. --watch --interval 30]

One job per table, as the source Databricks project had one task per notebook, because on s3a
Delta guarantees correct commits only from a single Spark driver per table. The same file serves
every table (docker/stack.mk submits it once per table in dependency order; on Databricks each task
of jobs/databricks/job.yml runs it with the table as its parameter), so the tables and their order
live in one place each: the pipeline spec, and the job lists that tests/docker checks against it.

The table runs under the smallest shipped pipeline that holds it (customer tables under `customer`,
sales tables under `sales`), always the same one: `run --only` takes the lock `<pipeline>.<table>`,
so a table reached through two pipelines could otherwise have two writers at once.
"""

from __future__ import annotations

import sys


def owning_pipeline(table: str) -> str:
    from lakehouse.spec.pipelines import PIPELINES

    holders = [p for p in PIPELINES.values() if any(str(spec.ref) == table for spec in p.tables)]
    if not holders:
        known = sorted({str(spec.ref) for p in PIPELINES.values() for spec in p.tables})
        raise SystemExit(f"run_table.py: no pipeline has table '{table}'; tables: {', '.join(known)}")
    return min(holders, key=lambda p: (len(p.tables), p.name)).name


def lakehouse_arguments(argv: list[str]) -> list[str]:
    if not argv or argv[0].startswith("-"):
        raise SystemExit("usage: run_table.py TABLE [lakehouse run options]  (TABLE as schema.table)")
    table, extra = argv[0], argv[1:]
    return ["--engine", "spark", "run", "--pipeline", owning_pipeline(table), "--only", table, *extra]


if __name__ == "__main__":
    from lakehouse.cli.main import main

    main(lakehouse_arguments(sys.argv[1:]))
