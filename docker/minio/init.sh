#!/bin/sh
# The stack's one-shot init (service minio-init): the only user of MinIO's root credentials.
# Creates the landing and warehouse buckets and three least-privilege users, each with its IAM policy
# from policies/<user>.json (generated from the one table in scripts/s3_least_privilege.py):
#   landing-writer  put and list landing; never read or delete it; nothing on warehouse
#   pipeline        read landing; read and write warehouse (the Spark jobs and the metastore)
#   reader          read warehouse
# Safe to run again: buckets and policies are kept or updated, a user's secret is reset to .env's.
# No secret is echoed: mc prints names only, and this script never runs with `set -x`.
set -eu

here=$(dirname "$0")
endpoint=${MINIO_ENDPOINT:-http://minio:9000}

mc alias set lake "$endpoint" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing lake/landing lake/warehouse

# create_user NAME ACCESS_KEY SECRET_KEY
create_user() {
  policy="lakehouse-$1"
  mc admin policy create lake "$policy" "$here/policies/$1.json"
  mc admin user add lake "$2" "$3"
  # A second run finds the policy attached already; MinIO answers that with an error.
  if ! answer=$(mc admin policy attach lake "$policy" --user "$2" 2>&1); then
    case "$answer" in
      *already*) echo "policy $policy is already attached to $2" ;;
      *) echo "$answer" >&2; exit 1 ;;
    esac
  fi
}

create_user landing-writer "$LANDING_WRITER_ACCESS_KEY" "$LANDING_WRITER_SECRET_KEY"
create_user pipeline "$PIPELINE_ACCESS_KEY" "$PIPELINE_SECRET_KEY"
create_user reader "$READER_ACCESS_KEY" "$READER_SECRET_KEY"
mc ls lake
