"""`python -m lakehouse.jvm fetch [SET ...]` fetches the manifest's artifacts (all sets by default);
`python -m lakehouse.jvm path SET ...` prints their cached paths, `:`-joined, for classpaths."""

from __future__ import annotations

import argparse
import sys

from lakehouse.core.errors import LakehouseError
from lakehouse.jvm.fetch import fetch
from lakehouse.jvm.manifest import cache_dir, load_manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lakehouse.jvm", description=__doc__)
    parser.add_argument("command", choices=["fetch", "path", "list"])
    parser.add_argument("sets", nargs="*", help="dependency sets (default: all)")
    parser.add_argument("--cache", help="cache folder (default: $LAKEHOUSE_JARS_DIR or ~/.cache/local-lakehouse/jvm)")
    args = parser.parse_args(argv)
    manifest = load_manifest()
    sets = args.sets or manifest.set_names
    cache = cache_dir({"LAKEHOUSE_JARS_DIR": args.cache}) if args.cache else cache_dir()
    try:
        if args.command == "fetch":
            fetch(manifest, sets, cache, progress=lambda line: print(line, flush=True))
        elif args.command == "path":
            print(":".join(str(path) for path in manifest.paths(sets, cache)))
        else:
            for artifact in manifest.of_sets(sets):
                print(f"{artifact.set_name}\t{artifact.coordinate}\t{artifact.sha256}")
    except LakehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
