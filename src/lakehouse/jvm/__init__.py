"""JVM dependencies: one pinned manifest (manifest.tsv) and the cache it is fetched into.

Every jar the Spark engine, the tests' Hive Metastore and the Docker images use is listed once in
`manifest.tsv` with its exact Maven coordinate and SHA-256, so their versions cannot drift apart.
"""

from lakehouse.jvm.manifest import Artifact, Manifest, cache_dir, load_manifest

__all__ = ["Artifact", "Manifest", "cache_dir", "load_manifest"]
