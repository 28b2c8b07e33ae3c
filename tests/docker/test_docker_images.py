"""Static checks of the Dockerfiles and the configuration baked into the images.

The version set is the design note's conservative one; these tests keep the Dockerfile ARGs, the
compose image tags, spark-defaults.conf and pyproject.toml's pyspark pin saying the same thing.
"""

from __future__ import annotations

import fnmatch
import re
import xml.etree.ElementTree as ET

import pytest
from docker_stack_helpers import (
    HIVE_DOCKERFILE,
    REPO_ROOT,
    SPARK_DOCKERFILE,
    dockerfile_args,
    dockerfile_instructions,
    load_compose,
    spark_defaults,
)

# docs/docker.md explains the choice; architecture.md lists it as known to work.
VERSION_SET = {
    "SPARK_VERSION": "4.0.1",
    "SCALA_BINARY_VERSION": "2.13",
    "DELTA_VERSION": "4.0.1",
    "HADOOP_AWS_VERSION": "3.4.1",
    "AWS_SDK_BUNDLE_VERSION": "2.24.6",
    "HIVE_METASTORE_VERSION": "4.0.1",
}
HIVE_IMAGE = "apache/hive:4.0.1"
HIVE_SET = {"HADOOP_AWS_VERSION": "3.3.6", "AWS_JAVA_SDK_BUNDLE_VERSION": "1.12.367"}
HIVE_CONF = REPO_ROOT / "docker" / "hive" / "conf"
S3A_SETTINGS = {
    "fs.s3a.path.style.access": "true",
    "fs.s3a.connection.ssl.enabled": "false",
    "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
    "fs.s3a.endpoint": "${env.AWS_ENDPOINT_URL}",
    "fs.s3a.endpoint.region": "${env.AWS_REGION}",
    "fs.s3a.access.key": "${env.AWS_ACCESS_KEY_ID}",
    "fs.s3a.secret.key": "${env.AWS_SECRET_ACCESS_KEY}",
}


def expand(text: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)), text)


@pytest.mark.parametrize("path", [SPARK_DOCKERFILE, HIVE_DOCKERFILE], ids=["spark", "hive"])
def test_dockerfile_parses_and_starts_with_from(path):
    instructions = dockerfile_instructions(path)
    keywords = [keyword for keyword, _ in instructions]
    assert keywords, f"{path} is empty"
    assert keywords[[k != "ARG" for k in keywords].index(True)] == "FROM", "only ARG may come before FROM"
    known = {"FROM", "ARG", "RUN", "COPY", "ADD", "ENV", "USER", "WORKDIR", "EXPOSE", "LABEL",
             "ENTRYPOINT", "CMD", "HEALTHCHECK", "SHELL", "VOLUME", "STOPSIGNAL", "ONBUILD"}
    assert set(keywords) <= known, f"unknown instructions: {set(keywords) - known}"


@pytest.mark.parametrize("path", [SPARK_DOCKERFILE, HIVE_DOCKERFILE], ids=["spark", "hive"])
def test_base_images_are_pinned(path):
    args = dockerfile_args(path)
    for keyword, arguments in dockerfile_instructions(path):
        if keyword == "FROM":
            image = expand(arguments.split()[0], args)
            assert re.search(r":[\w.-]+$", image), f"{path.name}: FROM {image} has no tag"
            assert re.search(r"\d+\.\d+\.\d+", image), f"{path.name}: FROM {image} is not pinned to a patch release"


def test_spark_dockerfile_uses_the_design_version_set():
    args = dockerfile_args(SPARK_DOCKERFILE)
    for name, value in VERSION_SET.items():
        assert args.get(name) == value, f"ARG {name}={args.get(name)!r}, design says {value!r}"
    assert HIVE_IMAGE.endswith(":" + args["HIVE_METASTORE_VERSION"])


def test_aws_sdk_stays_below_2_30():
    """SDK 2.30+ changed checksum defaults, which break MinIO with Hadoop 3.4.1."""
    major, minor, _ = (int(part) for part in dockerfile_args(SPARK_DOCKERFILE)["AWS_SDK_BUNDLE_VERSION"].split("."))
    assert (major, minor) < (2, 30)


def test_pyproject_pins_the_same_pyspark():
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    pins = set(re.findall(r'"pyspark==([\d.]+)"', pyproject))
    assert pins == {VERSION_SET["SPARK_VERSION"]}, f"pyproject pins pyspark {pins}"


def test_hive_dockerfile_puts_the_s3a_jars_of_the_base_image_on_the_classpath():
    args = dockerfile_args(HIVE_DOCKERFILE)
    for name, value in HIVE_SET.items():
        assert args.get(name) == value
    instructions = dockerfile_instructions(HIVE_DOCKERFILE)
    final_from = [arguments for keyword, arguments in instructions if keyword == "FROM"][-1]
    assert expand(final_from, args) == HIVE_IMAGE
    text = " ".join(arguments for _, arguments in instructions)
    assert "hadoop-aws-${HADOOP_AWS_VERSION}.jar" in text and "aws-java-sdk-bundle-${AWS_JAVA_SDK_BUNDLE_VERSION}.jar" in text
    assert ("ENV", "HIVE_CUSTOM_CONF_DIR=/opt/hive/custom-conf") in instructions
    assert ("COPY", "docker/hive/conf/ /opt/hive/custom-conf/") in instructions


def test_hive_dockerfile_takes_the_postgres_driver_from_the_jvm_manifest():
    """The driver is the manifest's pinned, checksummed artifact (the tests' metastore uses it too),
    fetched in a first stage and copied to the path the image's entrypoint expects."""
    instructions = dockerfile_instructions(HIVE_DOCKERFILE)
    text = " ".join(arguments for _, arguments in instructions)
    assert ("COPY", "src/lakehouse/jvm/ /opt/jvm-fetch/lakehouse/jvm/") in instructions
    assert "load_manifest().find('org.postgresql', 'postgresql')" in text and "fetch_artifact" in text
    assert ("COPY", "--from=jdbc --chmod=0644 /opt/jdbc/postgres.jar /opt/hive/lib/postgres.jar") in instructions
    assert "ADD" not in {keyword for keyword, _ in instructions}, "no unpinned download in the Hive image"
    # The build context must hold what the Dockerfile copies: the repository root, filtered.
    build = load_compose()["services"]["metastore"]["build"]
    assert (build["context"], build["dockerfile"]) == (".", "docker/hive/Dockerfile")
    ignore = (HIVE_DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().splitlines()
    for kept in ("!src/lakehouse/jvm/", "!src/lakehouse/core/errors.py", "!src/lakehouse/__init__.py", "!docker/hive/"):
        assert kept in ignore
    from lakehouse.jvm import load_manifest

    assert load_manifest().find("org.postgresql", "postgresql").set_name == "metastore"


def test_compose_tags_the_built_images_with_their_versions():
    services = load_compose()["services"]
    spark = dockerfile_args(SPARK_DOCKERFILE)["SPARK_VERSION"]
    assert services["spark-master"]["image"] == f"local-lakehouse/spark:{spark}"
    assert services["spark-worker"]["image"] == services["spark-master"]["image"]
    assert services["spark-master"]["build"]["dockerfile"] == "docker/spark/Dockerfile"
    assert services["metastore"]["image"].endswith(":" + VERSION_SET["HIVE_METASTORE_VERSION"])


def test_spark_defaults_configure_delta_hive_and_s3a():
    conf = spark_defaults()
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert conf["spark.sql.catalog.spark_catalog"] == "org.apache.spark.sql.delta.catalog.DeltaCatalog"
    assert conf["spark.sql.catalogImplementation"] == "hive"
    assert conf["spark.hadoop.hive.metastore.uris"] == "thrift://metastore:9083"
    # The client must speak the server's version (Spark's built-in 2.3 client calls get_table).
    assert conf["spark.sql.hive.metastore.version"] == VERSION_SET["HIVE_METASTORE_VERSION"]
    assert conf["spark.sql.hive.metastore.jars"] == "path"
    jars_dir = conf["spark.sql.hive.metastore.jars.path"].removeprefix("file://").rsplit("/", 1)[0]
    assert f"shutil.copy(jar, '{jars_dir}/')" in SPARK_DOCKERFILE.read_text()
    for key, value in S3A_SETTINGS.items():
        assert conf.get("spark.hadoop." + key) == value, key
    assert conf["spark.hadoop.fs.s3.impl"] == "org.apache.hadoop.fs.s3a.S3AFileSystem"


@pytest.mark.parametrize("name", ["core-site.xml", "hive-site.xml"])
def test_hive_configuration_files_parse(name):
    root = ET.parse(HIVE_CONF / name).getroot()
    assert root.tag == "configuration"
    for prop in root.findall("property"):
        assert prop.findtext("name"), f"{name}: a property without a name"


def test_metastore_core_site_has_the_same_s3a_settings_as_spark():
    root = ET.parse(HIVE_CONF / "core-site.xml").getroot()
    values = {prop.findtext("name"): prop.findtext("value") for prop in root.findall("property")}
    for key, value in S3A_SETTINGS.items():
        assert values.get(key) == value, key


def test_every_copy_source_exists_and_is_in_the_build_context():
    """COPY sources must exist and survive Dockerfile.dockerignore (a whitelist)."""
    patterns = [line.strip() for line in (SPARK_DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]

    def included(path: str) -> bool:
        keep = True
        for pattern in patterns:
            negate = pattern.startswith("!")
            pattern = pattern.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
                keep = negate
        return keep

    for keyword, arguments in dockerfile_instructions(SPARK_DOCKERFILE):
        if keyword != "COPY" or arguments.startswith("--from"):
            continue
        for source in arguments.split()[:-1]:
            assert (REPO_ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert included(source.rstrip("/")), f"COPY {source}: excluded by Dockerfile.dockerignore"
    assert not included(".venv") and not included("data") and not included(".git")


def test_spark_image_takes_its_jars_from_the_manifest_with_the_same_versions():
    """The image, the tests and `make setup-spark` read one manifest: the ARGs must agree with it."""
    from lakehouse.jvm import load_manifest

    manifest = load_manifest()
    args = dockerfile_args(SPARK_DOCKERFILE)
    text = " ".join(arguments for _, arguments in dockerfile_instructions(SPARK_DOCKERFILE))
    assert "python -m lakehouse.jvm fetch spark" in text
    assert ("COPY", "src/lakehouse/jvm/ /opt/jvm-fetch/lakehouse/jvm/") in dockerfile_instructions(SPARK_DOCKERFILE)
    scala = args["SCALA_BINARY_VERSION"]
    assert manifest.version_of("io.delta", f"delta-spark_{scala}") == args["DELTA_VERSION"]
    assert manifest.version_of("io.delta", "delta-storage") == args["DELTA_VERSION"]
    assert manifest.version_of("org.apache.hadoop", "hadoop-aws") == args["HADOOP_AWS_VERSION"]
    assert manifest.version_of("software.amazon.awssdk", "bundle") == args["AWS_SDK_BUNDLE_VERSION"]
    assert manifest.version_of("org.apache.hive", "hive-standalone-metastore-server") == args["HIVE_METASTORE_VERSION"]
    assert manifest.version_of("org.apache.hive", "hive-exec") == args["HIVE_METASTORE_VERSION"]
    # The isolated Hive client gets exactly the jars the tests give it (spark_hive_client_jars).
    assert "python -m lakehouse.jvm fetch hive-client metastore metastore-hadoop" in text
    assert "spark_hive_client_jars()" in text and "/opt/hive-metastore-jars/" in text
    assert spark_defaults()["spark.sql.hive.metastore.jars.path"] == "file:///opt/hive-metastore-jars/*.jar"
