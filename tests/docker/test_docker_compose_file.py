"""Static checks of docker-compose.yml: the Compose specification's schema plus our own rules.

These need no Docker engine. The schema is vendored (compose-spec.json, source in
COMPOSE_SPEC_SOURCE.md) so that the check runs offline and does not move under us.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess

import jsonschema
import pytest
import yaml
from docker_stack_helpers import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    REPO_ROOT,
    STACK_MK,
    interpolate,
    load_compose,
    one_shot_services,
    read_env_file,
    referenced_variables,
)


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose()


SCHEMA_FILE = REPO_ROOT / "tests" / "docker" / "compose-spec.json"

# What the lakehouse CLI and jobs read inside the Spark containers (issue 4).
SPARK_ENV = {
    "LAKEHOUSE_ENGINE": "spark",
    "LAKEHOUSE_LANDING": "s3://landing",
    "LAKEHOUSE_WAREHOUSE": "s3://warehouse",
    "LAKEHOUSE_CATALOG": "thrift://metastore:9083",
    "AWS_ENDPOINT_URL": "http://minio:9000",
    "AWS_REGION": "us-east-1",
}
INIT_SCRIPT = REPO_ROOT / "docker" / "minio" / "init.sh"
USERS = ("landing-writer", "pipeline", "reader")
# The S3 user of every service that talks to S3; minio and minio-init alone hold the root keys.
S3_USER_OF_SERVICE = {"spark-master": "pipeline", "spark-worker": "pipeline", "metastore": "pipeline",
                      "landing": "landing-writer"}
ROOT_HOLDERS = {"minio", "minio-init"}


def env_prefix(user: str) -> str:
    return user.upper().replace("-", "_")


def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_compose_file_matches_the_compose_specification(compose):
    errors = sorted(validator().iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c["services"]["metastore"]["depends_on"]["postgres"].update(condition="service_ready"),
        lambda c: c["services"]["minio"].update(helthcheck={"test": ["CMD", "true"]}),
        lambda c: c.update(servics={}),
    ],
    ids=["unknown-condition", "misspelt-key", "unknown-top-level-key"],
)
def test_schema_rejects_broken_files(compose, mutate):
    """The vendored schema does bite: known-bad variants of our file fail validation."""
    broken = copy.deepcopy(compose)
    mutate(broken)
    assert list(validator().iter_errors(broken))


def on_demand_services(compose: dict) -> set[str]:
    """Services behind a profile: `up` does not start them (the landing step's `run --rm`)."""
    return {name for name, service in compose["services"].items() if service.get("profiles")}


def test_every_long_running_service_has_a_healthcheck(compose):
    long_running = set(compose["services"]) - one_shot_services(compose) - on_demand_services(compose)
    missing = sorted(name for name in long_running if not compose["services"][name].get("healthcheck", {}).get("test"))
    assert not missing, f"services without a healthcheck: {missing}"


def test_depends_on_targets_exist(compose):
    services = set(compose["services"])
    for name, service in compose["services"].items():
        targets = set(service.get("depends_on", {}))
        assert targets <= services, f"{name} depends on unknown services {sorted(targets - services)}"
        assert name not in targets, f"{name} depends on itself"


def test_one_shot_init_is_awaited_with_service_completed_successfully(compose):
    """`up --wait` fails when a one-shot exits unless a long-running service awaits its completion."""
    one_shots = one_shot_services(compose)
    assert "minio-init" in one_shots
    for one_shot in one_shots:
        conditions = {
            name: service["depends_on"][one_shot]["condition"]
            for name, service in compose["services"].items()
            if one_shot in service.get("depends_on", {})
        }
        awaiting = [name for name, condition in conditions.items()
                    if condition == "service_completed_successfully" and name not in one_shots]
        assert awaiting, f"no long-running service waits for {one_shot} with service_completed_successfully"
        wrong = {name: c for name, c in conditions.items() if c != "service_completed_successfully"}
        assert not wrong, f"{one_shot} exits, so these conditions never hold: {wrong}"


def test_metastore_waits_for_a_healthy_postgres(compose):
    metastore = compose["services"]["metastore"]
    assert metastore["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert compose["services"]["postgres"]["healthcheck"]["test"]
    assert metastore["environment"]["SERVICE_NAME"] == "metastore"
    assert metastore["environment"]["DB_DRIVER"] == "postgres"


def test_buckets_created_by_init_are_the_ones_the_pipeline_uses(compose):
    script = INIT_SCRIPT.read_text()
    for service in ("spark-master", "spark-worker"):
        env = compose["services"][service]["environment"]
        for variable in ("LAKEHOUSE_LANDING", "LAKEHOUSE_WAREHOUSE"):
            bucket = env[variable].removeprefix("s3://").split("/")[0]
            assert re.search(rf"lake/{bucket}\b", script), f"minio-init does not create bucket {bucket}"
    assert "--ignore-existing" in script, "re-running `up` must not fail on existing buckets"


def test_images_are_pinned(compose):
    for name, service in compose["services"].items():
        image = service.get("image")
        assert image, f"{name} has no image name (built images get a versioned tag too)"
        assert "@sha256:" in image or re.search(r":[^/:]+$", image), f"{name}: image {image} has no tag"
        tag = image.rsplit(":", 1)[-1]
        assert tag != "latest" and not tag.endswith("-latest"), f"{name}: image {image} is not pinned"
        assert not re.fullmatch(r"\d+", tag), f"{name}: {image} pins only a major version"


def test_spark_containers_get_the_pipeline_environment(compose):
    secrets = read_env_file()
    for service in ("spark-master", "spark-worker"):
        env = compose["services"][service]["environment"]
        for key, value in SPARK_ENV.items():
            assert env.get(key) == value, f"{service}: {key}={env.get(key)!r}, want {value!r}"
        assert env["AWS_ACCESS_KEY_ID"] == secrets["PIPELINE_ACCESS_KEY"]
        assert env["AWS_SECRET_ACCESS_KEY"] == secrets["PIPELINE_SECRET_KEY"]


def test_every_s3_client_service_uses_its_least_privilege_user(compose):
    secrets = read_env_file()
    clients = {name for name, service in compose["services"].items()
               if "AWS_ACCESS_KEY_ID" in service.get("environment", {})}
    assert clients == set(S3_USER_OF_SERVICE), "a service talks to S3 without a user assigned here"
    for name, user in S3_USER_OF_SERVICE.items():
        env = compose["services"][name]["environment"]
        assert env["AWS_ACCESS_KEY_ID"] == secrets[f"{env_prefix(user)}_ACCESS_KEY"], f"{name} is not {user}"
        assert env["AWS_SECRET_ACCESS_KEY"] == secrets[f"{env_prefix(user)}_SECRET_KEY"], f"{name} is not {user}"


def test_root_keys_reach_only_minio_and_its_init(compose):
    raw = yaml.safe_load(COMPOSE_FILE.read_text())  # merges the anchors, keeps ${...} as written
    holders = {name for name, service in raw["services"].items() if "MINIO_ROOT_" in json.dumps(service)}
    assert holders == ROOT_HOLDERS
    root_password = read_env_file()["MINIO_ROOT_PASSWORD"]
    for name, service in compose["services"].items():
        if name not in ROOT_HOLDERS:
            assert root_password not in json.dumps(service), f"{name} gets the root password"
    assert "MINIO_ROOT" not in STACK_MK.read_text()


def test_the_landing_step_runs_as_landing_writer_in_its_own_container(compose):
    landing = compose["services"]["landing"]
    assert landing["profiles"], "`up` must not start the landing container"
    assert landing["image"] == compose["services"]["spark-master"]["image"]
    assert landing["pull_policy"] == "never"
    assert "run --rm -T landing lakehouse landing sample" in STACK_MK.read_text()


def test_init_gets_every_users_keys_and_its_script(compose):
    init = compose["services"]["minio-init"]
    secrets = read_env_file()
    for user in USERS:
        for part in ("ACCESS_KEY", "SECRET_KEY"):
            variable = f"{env_prefix(user)}_{part}"
            assert init["environment"][variable] == secrets[variable]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in init["volumes"]}
    script = init["entrypoint"][-1]
    directory = script.rsplit("/", 1)[0]
    assert mounts[directory] == "./docker/minio" and script == f"{directory}/{INIT_SCRIPT.name}"
    assert init["volumes"][0].endswith(":ro")


def test_every_referenced_variable_is_in_env_example():
    text = COMPOSE_FILE.read_text()
    example = read_env_file()
    missing = sorted(referenced_variables(text) - set(example))
    assert not missing, f"add to .env.example: {missing}"
    assert "COMPOSE_PROJECT_NAME" in example


@pytest.mark.parametrize("secret", ["MINIO_ROOT_PASSWORD", *(f"{env_prefix(user)}_SECRET_KEY" for user in USERS)])
def test_credentials_are_required_not_defaulted(secret):
    """A missing .env must stop Compose with a message, not start MinIO with a built-in password."""
    env = read_env_file()
    del env[secret]
    with pytest.raises(KeyError, match=secret):
        interpolate(COMPOSE_FILE.read_text(), env)


FAKE_MC = """#!/bin/sh
echo "$*" >> "$MC_LOG"
if [ "$1 $2 $3" = "admin policy attach" ] && [ -n "$ATTACH_ANSWER" ]; then
  echo "$ATTACH_ANSWER" >&2
  exit 1
fi
echo "mc: ok"
"""


def run_init(tmp_path, attach_answer: str = "") -> tuple[subprocess.CompletedProcess, list[str]]:
    """docker/minio/init.sh with a stand-in `mc` that records its arguments (no MinIO needed)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "mc").write_text(FAKE_MC)
    (bin_dir / "mc").chmod(0o755)
    log = tmp_path / "mc.log"
    log.write_text("")
    env = {**read_env_file(), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "MC_LOG": str(log),
           "ATTACH_ANSWER": attach_answer}
    result = subprocess.run(["sh", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=30)
    return result, log.read_text().splitlines()


def test_init_creates_the_three_users_with_their_policies(tmp_path):
    result, calls = run_init(tmp_path)
    assert result.returncode == 0, result.stderr
    secrets = read_env_file()
    policies = INIT_SCRIPT.parent / "policies"
    assert calls[0] == f"alias set lake http://minio:9000 {secrets['MINIO_ROOT_USER']} {secrets['MINIO_ROOT_PASSWORD']}"
    assert calls[1] == "mb --ignore-existing lake/landing lake/warehouse"
    for user in USERS:
        key, secret = secrets[f"{env_prefix(user)}_ACCESS_KEY"], secrets[f"{env_prefix(user)}_SECRET_KEY"]
        expected = [f"admin policy create lake lakehouse-{user} {policies}/{user}.json",
                    f"admin user add lake {key} {secret}",
                    f"admin policy attach lake lakehouse-{user} --user {key}"]
        start = calls.index(expected[0])
        assert calls[start:start + 3] == expected
        assert (policies / f"{user}.json").is_file()
    printed = result.stdout + result.stderr
    leaked = [name for name, value in secrets.items() if "SECRET" in name or "PASSWORD" in name if value in printed]
    assert not leaked, f"init printed {leaked}"


def test_init_can_run_again_but_stops_on_other_errors(tmp_path):
    again, _ = run_init(tmp_path, attach_answer="mc: <ERROR> policy change is already in effect")
    assert again.returncode == 0, again.stderr
    broken, calls = run_init(tmp_path, attach_answer="mc: <ERROR> Access Denied.")
    assert broken.returncode != 0 and "Access Denied" in broken.stderr
    assert calls[-1].startswith("admin policy attach lake lakehouse-landing-writer"), "stops at the first failure"


def test_host_ports_are_distinct_and_local_only(compose):
    published = []
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            host_ip, host_port, _container = str(port).split(":")
            assert host_ip == "127.0.0.1", f"{name} publishes {port} on every interface"
            published.append(host_port)
    assert len(published) == len(set(published)), f"host port used twice: {published}"


def test_env_example_is_not_the_gitignored_env():
    ignored = (REPO_ROOT / ".gitignore").read_text().split()
    assert ".env" in ignored
    assert ENV_EXAMPLE.name == ".env.example"


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="docker-compose v1 not installed (apt-get install -y --no-install-recommends docker-compose)")
def test_docker_compose_v1_accepts_the_file():
    """Compose's own loader (v1, Debian's package) parses and validates the file without an engine."""
    result = subprocess.run(
        ["docker-compose", "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_interpolation_matches_compose_for_defaults():
    """Our interpolate() is what the other checks rely on: pin its behaviour on the file's forms."""
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("${SET:-d} ${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} $${SET}", env) == "x d d  ${SET}"
    assert load_compose()["services"]["minio"]["image"].startswith("quay.io/minio/minio:RELEASE.")


def test_no_image_is_pulled_from_the_minio_namespaces_docker_hub_removed(compose):
    # minio/minio and minio/mc left Docker Hub in September 2026; `make up` could not pull them.
    for name, service in compose["services"].items():
        assert not service["image"].startswith("minio/"), f"{name}: {service['image']} is no longer on Docker Hub"
