"""Job: the bronze flow of the customer pipeline, the only writer of `bronze.customer_raw`.

One job per table, as the source Databricks project had one task per notebook, because on s3a
Delta guarantees correct commits only from a single Spark driver per table. Runs as
`spark-submit jobs/bronze_customer.py [--watch ...]` in the Docker stack (docker/stack.mk) or as a
spark_python_task on Databricks (jobs/databricks/job.yml). Extra arguments, such as --watch for
continuous mode, are passed through to `lakehouse run`.
"""

import sys

from lakehouse.cli import main

ARGS = ["--engine", "spark", "run", "--pipeline", "customer", "--only", "bronze.customer_raw"]

if __name__ == "__main__":
    main(ARGS + sys.argv[1:])
