"""Helpers for the Docker-stack tests: the compose file as Compose would see it, and probes.

The static tests run anywhere (no Docker engine needed); the stack test is marked `docker` and
skips with a one-line reason when no engine answers. Not a conftest.py and no __init__.py here on
purpose: a package named `docker` under tests/ would shadow the Docker SDK that testcontainers
imports, and a second rootless conftest module would clash with tests/conftest.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
SPARK_DOCKERFILE = REPO_ROOT / "docker" / "spark" / "Dockerfile"
HIVE_DOCKERFILE = REPO_ROOT / "docker" / "hive" / "Dockerfile"
SPARK_DEFAULTS = REPO_ROOT / "docker" / "spark" / "conf" / "spark-defaults.conf"
STACK_MK = REPO_ROOT / "docker" / "stack.mk"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; `$${` is an escaped `$`.
from tests.conftest import docker_available  # noqa: E402,F401  (one probe for the whole suite)

_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def read_env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def referenced_variables(text: str) -> set[str]:
    return {match.group(1) for match in _VARIABLE.finditer(text)}


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose-style interpolation, enough for our file: unset+`:?` raises like Compose does."""

    def replace(match: re.Match) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        value = env.get(name)
        if operator in (":-", "-"):
            empty = value is None or (operator == ":-" and value == "")
            return argument if empty else value
        if operator in (":?", "?"):
            if value is None or (operator == ":?" and value == ""):
                raise KeyError(f"{name}: {argument}")
            return value
        if value is None:
            raise KeyError(f"{name} is not set")
        return value

    return _VARIABLE.sub(replace, text).replace("$$", "$")


def load_compose(env: dict[str, str] | None = None) -> dict:
    """docker-compose.yml after interpolation with .env.example's values (what `up` sees)."""
    return yaml.safe_load(interpolate(COMPOSE_FILE.read_text(), read_env_file() if env is None else env))


def one_shot_services(compose: dict) -> set[str]:
    """Services meant to run once and exit: restart "no" (our bucket-creating init)."""
    return {name for name, service in compose["services"].items() if service.get("restart") == "no"}


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, arguments = line.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    if pending:
        raise ValueError(f"{path}: the last instruction ends with a line continuation")
    return instructions


def dockerfile_args(path: Path) -> dict[str, str]:
    """Default value of every ARG (the last declaration wins, as for Docker)."""
    args = {}
    for keyword, arguments in dockerfile_instructions(path):
        if keyword == "ARG" and "=" in arguments:
            name, _, value = arguments.partition("=")
            args[name] = value
    return args


def spark_defaults(path: Path = SPARK_DEFAULTS) -> dict[str, str]:
    entries = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            entries[key] = value.strip()
    return entries
