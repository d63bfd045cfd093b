#!/usr/bin/env bash
# Builds campanile's container image from the top-level Containerfile, FROM scratch (nothing is
# pulled from a registry): a static x86_64-unknown-linux-musl binary, the example configuration
# and the severity-router plugin. Tags IMAGE (default localhost/campanile) with the version and
# `latest`, and prints the reference.
#
# Needs podman and musl-tools (Debian: apt-get install podman musl-tools). Honours
# CARGO_TARGET_DIR and CONTAINERS_CONF; extra arguments go to `podman build`.
# `--binary-only` builds the static binary and stops (scripts/test.sh builds it beside the
# tests, the image later).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

image="${IMAGE:-localhost/campanile}"
target=x86_64-unknown-linux-musl
target_dir="${CARGO_TARGET_DIR:-$root/target}"

rustup target add "$target" >/dev/null
# Debug info is for debuggers, not for the image: strip it (this profile is only used here).
CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=true \
    cargo build --release --locked --target "$target" -p campanile
[ "${1:-}" != --binary-only ] || exit 0
bash scripts/build-plugins.sh >/dev/null

# The build context is the repository; .dockerignore lets only these files (and examples/) in.
stage="$root/target/image"
mkdir -p "$stage"
cp "$target_dir/$target/release/campanile" "$stage/campanile"
cp "$target_dir/wasm32-wasip2/plugin/severity_router.wasm" "$stage/severity_router.wasm"

version="$("$stage/campanile" --version | awk '{print $2}')"
podman build --format docker \
    --build-arg BINARY=target/image/campanile \
    --build-arg PLUGIN=target/image/severity_router.wasm \
    -t "$image:$version" -t "$image:latest" \
    -f Containerfile "$@" .
echo "$image:$version"
