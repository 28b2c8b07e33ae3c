"""SQL in a pipeline file is checked for syntax when the file is read, without a database.

DuckDB's parser reads the expression twice: as the condition of a statement, which refuses trailing
words such as `price > 0 banana` (an expression list would take `banana` for an alias), and as an
expression list, which refuses text that closes the surrounding parenthesis to smuggle in a second
clause (`1) OR (1`). Either parse failing means the expression is not one well-formed SQL expression.
The parser is DuckDB's dialect: Spark-only syntax (backquoted names, for one) is refused.
"""

from __future__ import annotations

from lakehouse.core.errors import ConfigError
from lakehouse.spec.files.reading import Where


def check_expression(expr: str, where: Where) -> None:
    import duckdb

    try:
        statements = duckdb.extract_statements(f"SELECT 1 WHERE ({expr}\n)")
        duckdb.SQLExpression(expr)
    except duckdb.Error as exc:
        detail = str(exc).splitlines()[0]
        raise where.error(f"'{expr}' is not a valid SQL expression ({detail}).",
                          hint="write one SQL expression over the table's columns, for example: price IS NOT NULL"
                          ) from None
    if len(statements) != 1:
        raise ConfigError(f"{where.describe()}: '{expr}' holds more than one SQL statement.",
                          hint="write one SQL expression, without ';'")
