"""One root exception type. Messages name the bad value, the valid values and the next step."""

from __future__ import annotations


class LakehouseError(Exception):
    """Root of every error this package raises on purpose.

    The CLI prints these without a traceback (unless --debug); anything else is a bug.
    """

    # The CLI's exit status for this error; a subclass or an instance sets its own (quarantined files: 3).
    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message}\n  hint: {hint}")


class ConfigError(LakehouseError):
    """A setting, flag or spec value is not valid."""


class InputFileError(LakehouseError):
    """A landed file cannot be ingested as it is. Names the file and, where known, the line."""


class FileChangedError(LakehouseError):
    """A landed file changed between being listed and being read; it is read again on the next run."""

    def __init__(self, uri: str, reason: str) -> None:
        super().__init__(f"{uri}: {reason}",
                         hint="writers should write to a temporary name starting with '.' or '_' and rename")
        self.uri = uri
        self.reason = reason


class SchemaEvolutionError(LakehouseError):
    """The landed data no longer matches the stored schema and the evolution mode says stop."""


class ConcurrentRunError(LakehouseError):
    """Another run holds the pipeline lock."""


class StorageAccessError(LakehouseError):
    """The object store refused the credentials in use an action the run needs."""


class CatalogError(LakehouseError):
    """The catalog (Hive Metastore or local) refused an operation or a name."""


class MissingDependencyError(LakehouseError):
    """An optional dependency is not installed; the message carries the install command."""


class ValidationFailed(LakehouseError):
    """`lakehouse validate` found invariant violations."""


class ExpectationFailedError(LakehouseError):
    """A row broke a table's fail expectation: the batch commits nothing and is rerun as it is."""

    def __init__(self, table: str, expectation: str, expr: str, failed_rows: int, sample: dict[str, object],
                 counts: list[dict[str, object]] | None = None) -> None:
        super().__init__(
            f"{table}: expectation '{expectation}' ({expr}) failed on {failed_rows} row(s) of the batch, "
            f"which commits nothing. A failing row: {sample}",
            hint="fix the data (or the expectation) and run again: the same batch is retried; a row passes "
            "only where the expression is true, so NULL fails it (allow NULL with 'col IS NULL OR ...')",
        )
        self.table = table
        self.expectation = expectation
        self.failed_rows = failed_rows
        self.sample = sample
        # Every expectation's counts for the failed batch, as BatchResult.details["expectations"] holds them.
        self.counts = counts or []
