"""Services the tests start for real on 127.0.0.1 (S3 server, Postgres, Hive Metastore)."""
