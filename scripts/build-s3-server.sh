#!/usr/bin/env bash
# Build the S3 server the tests run against (versitygw, Apache-2.0) and print the binary's path.
#
#   bash scripts/build-s3-server.sh            # -> ~/.cache/local-lakehouse/bin/versitygw-v1.8.0
#
# Idempotent: an existing binary is reused (nothing is downloaded or built). Needs Go >= 1.25 and the
# Go module proxy; no C compiler (CGO_ENABLED=0). Everything Go downloads
# or caches stays under the cache directory, outside the git tree:
#   LAKEHOUSE_BIN_DIR  where the binary goes      (default ~/.cache/local-lakehouse/bin)
#   LAKEHOUSE_GO_DIR   GOPATH, module and build cache for this build (default ~/.cache/local-lakehouse/go)
# Why versitygw and not MinIO: docs/s3.md.
set -euo pipefail

VERSION="v1.8.0"
MODULE="github.com/versity/versitygw/cmd/versitygw"
: "${HOME:?HOME must be set}"
BIN_DIR="${LAKEHOUSE_BIN_DIR:-$HOME/.cache/local-lakehouse/bin}"
GO_DIR="${LAKEHOUSE_GO_DIR:-$HOME/.cache/local-lakehouse/go}"
TARGET="$BIN_DIR/versitygw-$VERSION"

if [[ -x "$TARGET" ]]; then
    echo "$TARGET"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "build-s3-server: 'go' is not on PATH; install Go >= 1.25 and rerun" >&2
    exit 1
fi

mkdir -p "$BIN_DIR" "$GO_DIR"
# Build into a private folder and move the binary into place, so a half-built or concurrent build
# never leaves a broken versitygw-$VERSION behind.
STAGE="$(mktemp -d "$BIN_DIR/.build-XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT

started=$SECONDS
echo "build-s3-server: go install $MODULE@$VERSION (first build takes a few minutes)" >&2
env GOPATH="$GO_DIR" \
    GOMODCACHE="$GO_DIR/pkg/mod" \
    GOCACHE="$GO_DIR/build-cache" \
    GOBIN="$STAGE" \
    GOFLAGS="-buildvcs=false -modcacherw" \
    CGO_ENABLED=0 \
    GO111MODULE=on \
    go install -trimpath -ldflags "-s -w -X=main.Version=$VERSION" "$MODULE@$VERSION" >&2

mv -f "$STAGE/versitygw" "$TARGET"
"$TARGET" --version >&2
echo "build-s3-server: built in $((SECONDS - started)) s" >&2
echo "$TARGET"
