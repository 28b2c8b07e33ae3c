# The Docker stack (docker-compose.yml): included from the top-level Makefile, or used alone with
# `make -f docker/stack.mk TARGET`. Needs Docker with the Compose v2 plugin (`docker compose`;
# `up --wait` does not exist in the old docker-compose v1). Step by step: docs/docker.md.
#
#   up                  build the images, start everything, wait until every service is healthy
#   down                stop and remove the containers (data volumes stay; STACK_DOWN_ARGS=-v drops them)
#   logs                follow the logs (SERVICE=spark-master for one service)
#   stack-land-sample   land sample TPC-H files in MinIO (s3://landing) as landing-writer
#   stack-run-pipeline  spark-submit jobs/run_table.py once per table, bronze -> silver -> gold
#   stack-watch         continuous mode: every job with --watch, at once, in the background
#   stack-reset         drop the pipeline's tables and checkpoints in the stack (landing stays)
#   stack-is-up         exit 0 when spark-master is running, 1 otherwise
#
# For the top-level Makefile, STACK_IS_UP is a shell condition: `if $(STACK_IS_UP); then ...`.

STACK_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
COMPOSE ?= docker compose
STACK_COMPOSE = $(COMPOSE) --project-directory $(STACK_ROOT) -f $(STACK_ROOT)/docker-compose.yml

# customer, sales (needs customer's gold.dim_customer first) or tpch (customer, then sales).
STACK_PIPELINE ?= $(or $(PIPELINE),customer)
STACK_SCALE ?= $(or $(SCALE),0.01)
STACK_CHUNKS ?= $(or $(CHUNKS),4)
STACK_MASTER_URL ?= spark://spark-master:7077
# Extra arguments for every job (passed through to `lakehouse run`), e.g. --interval 30.
STACK_JOB_ARGS ?=
# In continuous mode the jobs run at the same time, so each may take one core of the worker
# (SPARK_WORKER_CORES in .env must be at least the number of jobs).
STACK_WATCH_CORES ?= 1
STACK_DOWN_ARGS ?=
SERVICE ?=

# One writer job per table (jobs/run_table.py TABLE), in dependency order: on s3a, Delta guarantees
# correct commits from a single Spark driver per table, so the tables are never written by two jobs
# at once. gold.fact_sales comes after gold.dim_customer (it also appends inferred members to it),
# silver.orders and silver.lineitem. tests/docker checks these lists against the pipeline spec.
STACK_TABLES_customer := bronze.customer_raw silver.customer gold.dim_customer
STACK_TABLES_sales := bronze.nation_raw bronze.region_raw bronze.part_raw bronze.supplier_raw \
	bronze.orders_raw bronze.lineitem_raw silver.nation silver.region silver.part silver.supplier \
	silver.orders silver.lineitem gold.fact_sales
STACK_TABLES_tpch := $(STACK_TABLES_customer) $(STACK_TABLES_sales)
STACK_TABLES = $(STACK_TABLES_$(STACK_PIPELINE))
# The TPC-H tables `stack-land-sample` lands for the pipeline (the CLI's default is customer only).
STACK_LAND_TABLES_customer := customer
STACK_LAND_TABLES_sales := nation,region,part,supplier,orders,lineitem
STACK_LAND_TABLES_tpch := customer,$(STACK_LAND_TABLES_sales)
STACK_LAND_TABLES = $(or $(STACK_LAND_TABLES_$(STACK_PIPELINE)),customer)

# Succeeds when spark-master is running. Fails quietly without Docker or with the stack down.
STACK_IS_UP = test -n "$$($(STACK_COMPOSE) ps --status running -q spark-master 2>/dev/null)"

.PHONY: up down logs stack-env stack-is-up stack-land-sample stack-run-pipeline stack-watch stack-reset

up: stack-env
	$(STACK_COMPOSE) build
	$(STACK_COMPOSE) up -d --wait
	@echo "Stack is up: MinIO console http://localhost:9001, Spark UI http://localhost:8080 (ports from .env)"

down:
	$(STACK_COMPOSE) down $(STACK_DOWN_ARGS)

logs:
	$(STACK_COMPOSE) logs --follow --tail=200 $(SERVICE)

# Compose reads credentials from .env; start from the example values when there is none.
stack-env:
	@if [ ! -f $(STACK_ROOT)/.env ]; then \
		cp $(STACK_ROOT)/.env.example $(STACK_ROOT)/.env; \
		echo "Created .env from .env.example (change the passwords if others can reach this machine)"; \
	fi

stack-is-up:
	@$(STACK_IS_UP)

# As landing-writer, in the one-off `landing` container: the Spark containers hold only pipeline's
# key, which may read landing but not write it.
stack-land-sample:
	$(STACK_COMPOSE) run --rm -T landing lakehouse landing sample --scale $(STACK_SCALE) --chunks $(STACK_CHUNKS) --tables $(STACK_LAND_TABLES)

stack-run-pipeline:
	@tables="$(STACK_TABLES)"; \
	if [ -z "$$tables" ]; then echo "No Spark jobs for pipeline '$(STACK_PIPELINE)' (see STACK_TABLES_* in docker/stack.mk)" >&2; exit 2; fi; \
	for table in $$tables; do \
		echo "==> spark-submit jobs/run_table.py $$table"; \
		$(STACK_COMPOSE) exec -T spark-master spark-submit --master $(STACK_MASTER_URL) /opt/lakehouse/jobs/run_table.py $$table $(STACK_JOB_ARGS) || exit $$?; \
	done

# `--watch` jobs never end, so they cannot run one after the other: start them all detached. Each
# stays the only writer of its table. Logs: /var/lib/lakehouse/logs/<table>.log in spark-master.
# They stop with the container (`docker compose restart spark-master`, or `make down`).
stack-watch:
	@tables="$(STACK_TABLES)"; \
	if [ -z "$$tables" ]; then echo "No Spark jobs for pipeline '$(STACK_PIPELINE)' (see STACK_TABLES_* in docker/stack.mk)" >&2; exit 2; fi; \
	for table in $$tables; do \
		echo "==> spark-submit jobs/run_table.py $$table --watch (log: /var/lib/lakehouse/logs/$$table.log)"; \
		$(STACK_COMPOSE) exec -d -T spark-master sh -c "mkdir -p logs && exec spark-submit --master $(STACK_MASTER_URL) --total-executor-cores $(STACK_WATCH_CORES) /opt/lakehouse/jobs/run_table.py $$table --watch $(STACK_JOB_ARGS) > logs/$$table.log 2>&1" || exit $$?; \
	done

stack-reset:
	$(STACK_COMPOSE) exec -T spark-master lakehouse reset --pipeline $(STACK_PIPELINE) --yes
