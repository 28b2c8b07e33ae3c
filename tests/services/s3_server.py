"""A real S3 server for the tests (filled in by the S3 work)."""
