#!/bin/sh
# Download Maven artifacts (group:artifact:version) into a folder, each verified against the
# repository's .sha1 file. Usage: fetch-jars REPOSITORY_URL DEST_DIR COORDINATE...
# Used at image build time (docker/spark/Dockerfile), on a machine that reaches the repository.
set -eu
repo="$1"; dest="$2"; shift 2
mkdir -p "$dest"
for coordinate in "$@"; do
    group=$(echo "$coordinate" | cut -d: -f1)
    artifact=$(echo "$coordinate" | cut -d: -f2)
    version=$(echo "$coordinate" | cut -d: -f3)
    if [ -z "$group" ] || [ -z "$artifact" ] || [ -z "$version" ]; then
        echo "fetch-jars: expected group:artifact:version, got '$coordinate'" >&2
        exit 2
    fi
    url="$repo/$(echo "$group" | tr . /)/$artifact/$version/$artifact-$version.jar"
    jar="$dest/$artifact-$version.jar"
    echo "fetch-jars: $url"
    curl --fail --silent --show-error --location --retry 3 -o "$jar" "$url"
    expected=$(curl --fail --silent --show-error --location --retry 3 "$url.sha1" | cut -c1-40)
    echo "$expected  $jar" | sha1sum -c -
done
