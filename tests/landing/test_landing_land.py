from __future__ import annotations

import json
import shutil
import uuid

import pytest
from click.testing import CliRunner

from lakehouse.cli.main import cli
from lakehouse.core.config import S3Settings, Settings
from lakehouse.core.errors import InputFileError
from lakehouse.core.storage import Storage
from lakehouse.landing import chunk_csv, ensure_bucket, land_files, land_sample

from .conftest import TINY_CUSTOMERS, TINY_SCALE


def make_files(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        path = folder / name
        path.write_text(f"a,b\n{name},1\n")
        paths.append(path)
    return paths


def test_land_to_a_folder_in_name_order(tmp_path):
    files = make_files(tmp_path / "src", ["t_0003.csv", "t_0001.csv", "t_0002.csv"])
    storage = Storage()
    landing = str(tmp_path / "landing")
    uris = land_files(storage, files, landing, "t")
    expected = [f"{landing}/t/t_000{i}.csv" for i in (1, 2, 3)]
    assert uris == expected
    assert [info.uri for info in storage.list_files(f"{landing}/t")] == expected
    assert storage.read_text(expected[0]) == "a,b\nt_0001.csv,1\n"


def test_landing_again_is_a_no_op_that_keeps_landing_order(tmp_path):
    files = make_files(tmp_path / "src", ["t_0001.csv", "t_0002.csv"])
    storage = Storage()
    landing = str(tmp_path / "landing")
    land_files(storage, files, landing, "t")
    before = storage.list_files(f"{landing}/t")
    land_files(storage, files, landing, "t")
    assert storage.list_files(f"{landing}/t") == before


def test_conflicting_file_is_refused_before_anything_lands(tmp_path):
    storage = Storage()
    landing = str(tmp_path / "landing")
    land_files(storage, make_files(tmp_path / "a", ["t_0001.csv"]), landing, "t")
    changed = make_files(tmp_path / "b", ["t_0001.csv", "t_0002.csv"])
    changed[0].write_text("a,b\nother,2\n")
    with pytest.raises(InputFileError, match="t_0001.csv"):
        land_files(storage, changed, landing, "t")
    assert [info.name for info in storage.list_files(f"{landing}/t")] == ["t_0001.csv"]


def test_land_sample_to_a_folder(workdir, tmp_path):
    settings = Settings.load(landing=str(tmp_path / "landing"), warehouse=str(tmp_path / "wh"), env={})
    summary = land_sample(settings, Storage(), TINY_SCALE, 3, ["customer", "region"], workdir)
    assert summary["tables"]["customer"]["rows"] == TINY_CUSTOMERS
    assert summary["tables"]["region"]["rows"] == 5
    landed = Storage().list_files(settings.landing_uri("customer"))
    assert [info.name for info in landed] == ["customer_0001.csv", "customer_0002.csv", "customer_0003.csv"]
    assert summary["tables"]["customer"]["files"] == [info.uri for info in landed]


def test_cli_sample_prints_json_and_reports_progress_on_stderr(tiny_tpch, tmp_path, monkeypatch):
    # The default work dir is data/tpch under the current directory; seed it to skip generation.
    shutil.copytree(tiny_tpch, tmp_path / "data" / "tpch")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli,
        ["--json", "--landing", str(tmp_path / "landing"), "landing", "sample",
         "--scale", str(TINY_SCALE), "--chunks", "2", "--tables", "customer"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["workdir"] == "data/tpch"
    assert len(summary["tables"]["customer"]["files"]) == 2
    assert "[2/2] landed" in result.stderr


def test_cli_changes_lands_the_batch(workdir, tmp_path):
    landing = tmp_path / "landing"
    result = CliRunner().invoke(
        cli,
        ["--json", "--landing", str(landing), "landing", "changes", "--workdir", str(workdir),
         "--share", "0.1", "--new", "2", "--resend", "1", "--duplicates", "1", "--seed", "5"],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["rows"] == 15 + 2 + 1 + 1
    assert payload["landed"] == [f"{landing}/customer/customer_changes_0001.csv"]
    assert (landing / "customer" / "customer_changes_0001.csv").read_bytes() == (
        workdir / "changes" / "customer_changes_0001.csv"
    ).read_bytes()


@pytest.mark.integration
def test_land_to_s3_in_name_order(s3_env, tiny_tpch, tmp_path):
    storage = Storage(S3Settings.from_env())
    files = chunk_csv(tiny_tpch / "customer.csv", 4, tmp_path / "chunks")
    landing = f"{s3_env}/landing"
    uris = land_files(storage, list(reversed(files)), landing, "customer")
    assert uris == [f"{landing}/customer/customer_{i:04d}.csv" for i in range(1, 5)]
    assert [info.uri for info in storage.list_files(f"{landing}/customer")] == uris
    assert storage.read_bytes(uris[2]) == files[2].read_bytes()


@pytest.mark.integration
def test_landing_creates_a_missing_bucket(s3_env):
    storage = Storage(S3Settings.from_env())
    bucket_uri = f"s3://fresh-{uuid.uuid4().hex[:12]}"
    assert ensure_bucket(storage, f"{bucket_uri}/landing/customer") is True
    assert ensure_bucket(storage, f"{bucket_uri}/landing/customer") is False


@pytest.mark.integration
def test_land_sample_to_s3(s3_env, workdir, tmp_path):
    settings = Settings.load(landing=f"s3://fresh-{uuid.uuid4().hex[:12]}/landing", warehouse=str(tmp_path / "wh"))
    storage = Storage(settings.s3)
    summary = land_sample(settings, storage, TINY_SCALE, 2, ["customer"], workdir)
    landed = storage.list_files(settings.landing_uri("customer"))
    assert [info.uri for info in landed] == summary["tables"]["customer"]["files"]
    assert len(landed) == 2
