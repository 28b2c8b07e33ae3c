"""Container healthcheck for the Spark master and worker (docker-compose.yml).

Usage: healthcheck.py master|worker URL-of-the-web-UI-JSON-status. Exit 0 when healthy:
- master: its status is ALIVE (a standby master in recovery reports another status);
- worker: it has registered with a master (its `masterurl` is empty until then).
Uses only the standard library, so it runs with the image's python3 and nothing else.
"""

from __future__ import annotations

import json
import sys
import urllib.request


def is_healthy(role: str, status: dict) -> bool:
    if role == "master":
        return status.get("status") == "ALIVE"
    if role == "worker":
        return bool(status.get("masterurl"))
    raise ValueError(f"unknown role {role!r}: expected master or worker")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: healthcheck.py master|worker URL", file=sys.stderr)
        return 2
    role, url = argv
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            status = json.load(response)
    except (OSError, ValueError) as exc:  # connection refused, timeout, HTTP error, bad JSON
        print(f"{role} unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if is_healthy(role, status):
        return 0
    print(f"{role} unhealthy: {json.dumps(status)[:300]}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
