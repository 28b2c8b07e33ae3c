"""Static checks of docker-compose.yml: the Compose specification's schema plus our own rules.

These need no Docker engine. The schema is vendored (compose-spec.json, source in
COMPOSE_SPEC_SOURCE.md) so that the check runs offline and does not move under us.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess

import jsonschema
import pytest
from docker_stack_helpers import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    REPO_ROOT,
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


def test_every_long_running_service_has_a_healthcheck(compose):
    long_running = set(compose["services"]) - one_shot_services(compose)
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
    script = "\n".join(compose["services"]["minio-init"]["command"])
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
        assert env["AWS_ACCESS_KEY_ID"] == secrets["MINIO_ROOT_USER"]
        assert env["AWS_SECRET_ACCESS_KEY"] == secrets["MINIO_ROOT_PASSWORD"]


def test_every_referenced_variable_is_in_env_example():
    text = COMPOSE_FILE.read_text()
    example = read_env_file()
    missing = sorted(referenced_variables(text) - set(example))
    assert not missing, f"add to .env.example: {missing}"
    assert "COMPOSE_PROJECT_NAME" in example


def test_credentials_are_required_not_defaulted():
    """A missing .env must stop Compose with a message, not start MinIO with a built-in password."""
    env = read_env_file()
    del env["MINIO_ROOT_PASSWORD"]
    with pytest.raises(KeyError, match="MINIO_ROOT_PASSWORD"):
        interpolate(COMPOSE_FILE.read_text(), env)


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
