#!/usr/bin/env bash
# Builds the plugins and runs campanile in release mode; arguments go to `campanile serve`,
# e.g. scripts/serve.sh --config campanile.toml --listen 127.0.0.1:9797
# (paths are relative to where you run it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

bash "$root/scripts/build-plugins.sh"
# The built-in configuration finds the example plugin relative to the repository root.
case " $* " in *" --config "*|*" -c "*) ;; *) cd "$root" ;; esac
cargo run --release --manifest-path "$root/Cargo.toml" -p campanile -- serve "$@"
