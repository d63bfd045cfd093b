#!/usr/bin/env bash
# Builds the Python and TypeScript plugins into ${CARGO_TARGET_DIR:-target}/wasm32-wasip2/plugin/
# beside the Rust ones (scripts/build-plugins.sh): py_severity_router.wasm,
# py_escalation_policy.wasm, py_hostile.wasm (the fault tests' hostile plugin) and
# ts_severity_router.wasm. Python goes through `campanile plugin build` (the binary given as
# $CAMPANILE, else the debug build, built if missing); TypeScript through the npm workspace's
# build scripts. The pinned toolchains come from scripts/sdk-toolchains.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
OUT="$TARGET/wasm32-wasip2/plugin"
mkdir -p "$OUT"
VENV_BIN="$(bash scripts/sdk-toolchains.sh | tail -n 1)"
CAMPANILE="${CAMPANILE:-$TARGET/debug/campanile}"
[ -x "$CAMPANILE" ] || cargo build -p campanile
export CAMPANILE_COMPONENTIZE_PY="$VENV_BIN/componentize-py"

build_py() { # SOURCE OUTPUT
    "$CAMPANILE" plugin build "$1" -o "$OUT/$2"
}
# Side by side: each is mostly componentize-py snapshotting its own CPython.
pids=()
build_py plugins/python/severity-router/severity_router.py py_severity_router.wasm & pids+=($!)
build_py plugins/python/escalation-policy/escalation_policy.py py_escalation_policy.wasm & pids+=($!)
build_py tests/plugins/python-hostile/hostile.py py_hostile.wasm & pids+=($!)
for pid in "${pids[@]}"; do wait "$pid"; done

npm run --silent --workspace plugins/ts/severity-router build -- "$OUT/ts_severity_router.wasm"
ls -l "$OUT"/py_*.wasm "$OUT"/ts_*.wasm
