"""`lakehouse optimize TABLE` on the embedded engine: the summary line, --json, and a missing table."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from lakehouse.cli.main import main
from lakehouse.engines.embedded import deletion_vectors as dv


def _args(tmp_path, *args: str) -> list[str]:
    return ["--warehouse", str(tmp_path / "warehouse"), "--landing", str(tmp_path / "landing"),
            "--engine", "embedded", *args]


def _customer_with_deleted_rows(tmp_path) -> str:
    """Version 0 the rows, 1 the deletion-vector feature, 2 the upsert: 3 of 10 rows deleted."""
    uri = str(tmp_path / "warehouse" / "silver" / "customer")
    write_deltalake(uri, pa.table({"id": pa.array(range(10), pa.int64()), "name": [f"n{i}" for i in range(10)]}))
    dv.upsert_with_deletion_vectors(uri, pa.table({"id": pa.array([1, 2, 3], pa.int64()),
                                                   "name": ["u1", "u2", "u3"]}), ["id"])
    return uri


def test_optimize_prints_a_summary_then_has_nothing_to_do(tmp_path, capsys):
    uri = _customer_with_deleted_rows(tmp_path)
    main(_args(tmp_path, "optimize", "silver.customer"))
    out = capsys.readouterr().out
    assert "silver.customer: version 3, 1 files rewritten, 3 deleted rows purged, 7 kept" in out
    assert DeltaTable(uri).history(1)[0]["operation"] == "OPTIMIZE"
    main(_args(tmp_path, "optimize", "silver.customer", "--json"))
    payload = json.loads(capsys.readouterr().out)
    assert payload["version"] is None and payload["files_rewritten"] == 0


def test_optimize_json_and_threshold(tmp_path, capsys):
    _customer_with_deleted_rows(tmp_path)
    main(_args(tmp_path, "--json", "optimize", "silver.customer", "--min-deleted-share", "0.5"))
    assert json.loads(capsys.readouterr().out)["version"] is None  # 3 of 10 deleted is below 0.5
    main(_args(tmp_path, "optimize", "silver.customer", "--min-deleted-share", "0.3", "--json"))
    payload = json.loads(capsys.readouterr().out)
    assert {key: payload[key] for key in ("version", "files_rewritten", "rows_purged", "rows_kept")} == {
        "version": 3, "files_rewritten": 1, "rows_purged": 3, "rows_kept": 7}
    assert payload["bytes_before"] > 0 and payload["bytes_after"] > 0


def test_optimize_a_missing_table_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(_args(tmp_path, "optimize", "silver.nothing"))
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "silver.nothing does not exist" in err and "hint:" in err
    with pytest.raises(SystemExit):
        main(_args(tmp_path, "optimize", "customer"))
    assert "schema.table" in capsys.readouterr().err
