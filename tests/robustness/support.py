"""Shared pieces of the robustness suite: landing data, running the CLI as a process, table snapshots."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from lakehouse.core.config import Settings
from lakehouse.core.storage import Storage
from lakehouse.engines.embedded.engine import EmbeddedEngine
from lakehouse.runtime.runner import Runner
from lakehouse.spec import get_pipeline
from lakehouse.spec.model import TableRef
from tests.conftest import env_without_lakehouse_settings

REPO = Path(__file__).resolve().parents[2]
PIPELINE = get_pipeline("customer")
TABLES = [spec.ref for spec in PIPELINE.tables]
HEADER = "c_custkey,c_name,c_address,c_nationkey,c_phone,c_acctbal,c_mktsegment,c_comment"
# Columns whose values depend on when the run happened; they are checked structurally instead.
TIME_COLUMNS = {"date_added", "start_date", "end_date", "source_file_modified"}

# Phase 1: the first landing. Phase 2: updates (2, 3), an unchanged resend (1), new keys (7, 8),
# an unparseable value (rescued) and a deletion-free history, so silver and gold MERGE.
PHASE1 = {
    "customer_0001.csv": [
        "1,Customer#1,Addr 1,5,25-100,100.50,BUILDING,first",
        "2,Customer#2,\"Addr, 2\",7,25-200,-20.00,AUTOMOBILE,\"say \"\"hi\"\"\"",
        "3,Customer#3,Addr 3,1,25-300,3.00,MACHINERY,c",
    ],
    "customer_0002.csv": [
        "4,Zoë 李,Addr 4,2,25-400,4.00,HOUSEHOLD,unicode",
        "5,Customer#5,Addr 5,3,25-500,5.25,FURNITURE,",
        "6,Customer#6,Addr 6,4,25-600,oops,BUILDING,rescued acctbal",
    ],
}
PHASE2 = {
    "customer_0003.csv": [
        "2,Customer#2,New Addr 2,7,25-200,-20.00,AUTOMOBILE,moved",
        "1,Customer#1,Addr 1,5,25-100,100.50,BUILDING,first",
        "7,Customer#7,Addr 7,9,25-700,7.00,MACHINERY,new",
    ],
    "customer_0004.csv": [
        "3,Customer#3,Addr 3,1,25-300,33.00,MACHINERY,richer",
        "8,Customer#8,Addr 8,x9,25-800,8.00,BUILDING,rescued nationkey",
    ],
}


def csv_text(rows: list[str], header: str = HEADER) -> str:
    return header + "\n" + "".join(row + "\n" for row in rows)


@dataclass
class Place:
    """Where one scenario's landing zone and warehouse live (a local folder or an S3 prefix)."""

    landing: str
    warehouse: str
    env: dict[str, str] = field(default_factory=dict)
    mtime_counter: int = 0

    @property
    def on_s3(self) -> bool:
        return self.landing.startswith("s3://")

    def settings(self) -> Settings:
        return Settings.load(landing=self.landing, warehouse=self.warehouse, env={**os.environ, **self.env})

    def storage(self) -> Storage:
        return Storage(self.settings().s3)

    def land(self, name: str, data: str | bytes, folder: str = "customer") -> str:
        """Land one file whole (local: written under a temporary name, then renamed)."""
        payload = data.encode("utf-8") if isinstance(data, str) else data
        uri = f"{self.landing}/{folder}/{name}"
        if self.on_s3:
            self.storage().write_bytes(uri, payload)
        else:
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
            temporary = Path(uri).parent / f".{name}.tmp"
            temporary.write_bytes(payload)
            # Landing order is modification time: make it strictly increasing and deterministic.
            self.mtime_counter += 1
            stamp = 1_700_000_000 + self.mtime_counter * 10
            os.utime(temporary, (stamp, stamp))
            os.replace(temporary, uri)
        return uri

    def land_all(self, files: dict[str, list[str]]) -> None:
        for name, rows in files.items():
            self.land(name, csv_text(rows))

    def run_in_process(self) -> list[str]:
        messages: list[str] = []
        settings = self.settings()
        Runner(settings, Storage(settings.s3), progress=messages.append).run(PIPELINE)
        return messages

    def cli(self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "lakehouse", *args], env=self.process_env(extra_env),
                              capture_output=True, text=True, timeout=timeout, cwd=str(REPO))

    def popen(self, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "lakehouse", *args], env=self.process_env(extra_env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(REPO))

    def process_env(self, extra_env: dict[str, str] | None = None) -> dict[str, str]:
        env = env_without_lakehouse_settings()
        env.update(self.env)
        env.update({"LAKEHOUSE_LANDING": self.landing, "LAKEHOUSE_WAREHOUSE": self.warehouse})
        env.update(extra_env or {})
        return env


def clone(template: Place, warehouse: str) -> Place:
    """A new scenario sharing `template`'s landing zone, its warehouse a copy of the template's."""
    place = Place(landing=template.landing, warehouse=warehouse, env=dict(template.env))
    if template.on_s3:
        client = s3_client(template.env["AWS_ENDPOINT_URL"])
        bucket, _, source = template.warehouse[len("s3://"):].partition("/")
        target = warehouse[len("s3://"):].partition("/")[2]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=source + "/"):
            for item in page.get("Contents", []):
                key = target + item["Key"][len(source):]
                if key.endswith("/"):  # a folder marker: versitygw refuses CopyObject onto a folder key
                    client.put_object(Bucket=bucket, Key=key, Body=b"")
                else:
                    client.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": item["Key"]})
    else:
        shutil.copytree(template.warehouse, warehouse)
    return place


def local_place(root: Path) -> Place:
    return Place(landing=str(root / "landing"), warehouse=str(root / "warehouse"))


def s3_place(endpoint: str) -> Place:
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}
    bucket = f"robust-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint).create_bucket(Bucket=bucket)
    return Place(landing=f"s3://{bucket}/landing", warehouse=f"s3://{bucket}/warehouse", env=env)


def s3_client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


# -- looking at the result -------------------------------------------------------------------------
def engine(place: Place) -> EmbeddedEngine:
    settings = place.settings()
    return EmbeddedEngine(settings, Storage(settings.s3))


def table_version(place: Place, ref: TableRef) -> int | None:
    return engine(place).table_version(ref)


def snapshot(place: Place) -> dict[str, list[tuple]]:
    """Every table as a sorted list of rows: time columns left out, landing paths made relative."""
    eng = engine(place)
    result = {}
    for ref in TABLES:
        data = eng.read_table(ref)
        names = [n for n in data.column_names if n not in TIME_COLUMNS]
        rows = []
        for row in data.select(names).to_pylist():
            rows.append(tuple((n, _relative(v, place.landing)) for n, v in sorted(row.items())))
        result[str(ref)] = sorted(rows, key=repr)
    return result


def _relative(value, landing: str):
    if isinstance(value, str):
        return value.replace(landing, "<landing>")
    return value


def check_time_columns(place: Place) -> None:
    """The time-dependent columns, structurally: present, ordered, end_date NULL iff is_current."""
    eng = engine(place)
    bronze = eng.read_table(TableRef("bronze", "customer_raw"))
    assert bronze.column("date_added").null_count == 0
    assert bronze.column("source_file_modified").null_count == 0
    per_file = eng.sql("SELECT source_filename, count(DISTINCT source_file_modified) AS n FROM t GROUP BY 1",
                       {"t": bronze}).column("n").to_pylist()
    assert set(per_file) == {1}
    silver = eng.read_table(TableRef("silver", "customer"))
    assert silver.column("date_added").null_count == 0
    gold = eng.read_table(TableRef("gold", "dim_customer"))
    bad = eng.sql(
        """SELECT * FROM g WHERE start_date IS NULL OR ((end_date IS NULL) <> is_current)
           OR (end_date IS NOT NULL AND end_date < start_date)""", {"g": gold})
    assert bad.num_rows == 0, bad.to_pylist()


def no_bronze_duplicates(place: Place) -> None:
    bronze = engine(place).read_table(TableRef("bronze", "customer_raw"))
    keys = list(zip(bronze.column("source_filename").to_pylist(), bronze.column("source_row").to_pylist()))
    assert len(keys) == len(set(keys)), "a landed record is in bronze twice"


def checkpoint_ids(place: Place, ref: TableRef, folder: str) -> list[int]:
    settings = place.settings()
    root = settings.checkpoint_uri(ref.schema, ref.name)
    return sorted(int(info.name.removesuffix(".json"))
                  for info in Storage(settings.s3).list_files(f"{root}/{folder}", recursive=False))


def check_checkpoints(place: Place) -> None:
    """Every offsets/N has its commits/N and nothing else: no batch left half done."""
    for ref in TABLES:
        offsets, commits = checkpoint_ids(place, ref, "offsets"), checkpoint_ids(place, ref, "commits")
        assert offsets, f"{ref}: no batch was ever planned"
        assert offsets == commits, f"{ref}: offsets {offsets} but commits {commits}"


def delta_txn_versions(place: Place) -> dict[str, int | None]:
    eng = engine(place)
    return {str(ref): eng.delta_table(ref).transaction_version(f"lakehouse:{ref}") for ref in TABLES}


def status_json(place: Place) -> list[dict]:
    completed = place.cli("--json", "status")
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def lock_holder(place: Place) -> dict | None:
    if place.on_s3:
        bucket, _, prefix = place.warehouse[len("s3://"):].partition("/")
        client = s3_client(place.env["AWS_ENDPOINT_URL"])
        try:
            return json.loads(client.get_object(Bucket=bucket, Key=f"{prefix}/_locks/customer.lock")["Body"].read())
        except client.exceptions.NoSuchKey:
            return None
    path = os.path.join(place.warehouse, "_locks", "customer.lock")
    if not os.path.exists(path):
        return None
    text = open(path).read().strip()
    return json.loads(text) if text else None
