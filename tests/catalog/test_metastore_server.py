"""The metastore service's failure messages name what to install (no metastore needed)."""

from __future__ import annotations

import pytest

from lakehouse.catalog import metastore_server, postgres_server
from lakehouse.core.errors import CatalogError, MissingDependencyError


def test_without_postgres_binaries_the_error_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(CatalogError) as raised:
        postgres_server.postgres_bin_dir(tmp_path)
    assert "Postgres is not installed" in raised.value.message
    assert "apt-get install postgresql" in raised.value.hint


def test_postgres_binaries_are_found_under_the_newest_packaged_major(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    for major in ("9", "15", "13"):
        (tmp_path / major / "bin").mkdir(parents=True)
        (tmp_path / major / "bin" / "initdb").write_text("")
    assert postgres_server.postgres_bin_dir(tmp_path) == tmp_path / "15" / "bin"


def test_without_the_fetched_distribution_the_error_gives_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_JARS_DIR", str(tmp_path / "no-jars"))
    with pytest.raises(MissingDependencyError) as raised:
        metastore_server.metastore_distribution()
    assert raised.value.hint == "fetch it once with: python -m lakehouse.jvm fetch metastore metastore-hadoop"


def test_the_metastore_reads_the_docker_images_configuration(tmp_path):
    conf = metastore_server.write_conf_dir(tmp_path / "conf")
    for name in ("hive-site.xml", "core-site.xml"):
        assert (conf / name).read_bytes() == (metastore_server.DOCKER_CONF_DIR / name).read_bytes()
    # Every ${env.NAME} core-site.xml expands gets a value, or Hadoop keeps the literal text.
    import re
    import xml.etree.ElementTree as ET

    values = " ".join(value.text or "" for value in ET.parse(conf / "core-site.xml").getroot().iter("value"))
    names = set(re.findall(r"\$\{env\.(\w+)\}", values))
    assert names and names <= set(metastore_server.CORE_SITE_ENV_DEFAULTS)


@pytest.mark.integration
def test_cli_metastore_runs_4_0_1_on_derby_and_keeps_registrations_over_a_restart(tmp_path):
    """`lakehouse metastore start|status|stop` (no Postgres given): the same 4.0.1 metastore on Derby
    in the state folder; schematool runs once, the second start finds the schema and the data."""
    import json

    from click.testing import CliRunner

    from lakehouse.catalog.hive import HiveMetastoreCatalog
    from lakehouse.cli.main import cli

    state = tmp_path / "ms"
    runner = CliRunner()

    def start() -> str:
        result = runner.invoke(cli, ["--json", "metastore", "start", "--state-dir", str(state), "--port", "0"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["uri"]

    uri = start()
    try:
        assert json.loads((state / "state.json").read_text())["version"] == "4.0.1"
        assert "jdbc:derby:" in json.loads((state / "state.json").read_text())["database"]
        catalog = HiveMetastoreCatalog(uri)
        catalog.ensure_schema("silver", str(tmp_path / "warehouse" / "silver"), "kept")
        assert runner.invoke(cli, ["metastore", "stop", "--state-dir", str(state)]).output.strip() == "stopped"
        assert runner.invoke(cli, ["metastore", "status", "--state-dir", str(state)]).exit_code == 1
        schematool_log = (state / "schematool.out").stat().st_mtime

        uri = start()
        assert (state / "schematool.out").stat().st_mtime == schematool_log  # schema not created again
        assert runner.invoke(cli, ["metastore", "status", "--state-dir", str(state)]).exit_code == 0
        assert HiveMetastoreCatalog(uri).get_schema("silver").comment == "kept"
    finally:
        runner.invoke(cli, ["metastore", "stop", "--state-dir", str(state)])
    assert not (state / "state.json").exists()
