"""Many small landed files keep their landing order in bronze (runtime/drivers/batch.py): one
Arrow chunk per file used to be written round-robin over delta-rs's partitions, so the rows came out
in two interleaved runs and every change-fed table downstream paid to sort them again."""

from __future__ import annotations

import pyarrow.dataset as ds

from lakehouse.spec.model import TableRef

from .support import csv_text, engine, local_place

BRONZE = TableRef("bronze", "customer_raw")
FILES = 40


def test_one_row_files_are_written_to_bronze_in_landing_order(tmp_path):
    place = local_place(tmp_path)
    for key in range(1, FILES + 1):
        place.land(f"customer_{key:04d}.csv", csv_text([f"{key},Customer#{key},Addr,5,25-100,1.00,BUILDING,c"]))
    place.run_in_process()
    files = engine(place).delta_table(BRONZE).file_uris()
    assert len(files) == 1
    keys = ds.dataset(files, format="parquet").to_table(columns=["c_custkey"]).column("c_custkey").to_pylist()
    assert keys == list(range(1, FILES + 1))
