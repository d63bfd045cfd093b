#!/usr/bin/env bash
# The Python and JavaScript SDKs' own tests and their examples' unit tests, natively (no
# WebAssembly): pytest for sdk/python and the Python plugins, node --test for sdk/js and the
# TypeScript example, and TypeScript's type check of both. The pinned toolchains come from
# scripts/sdk-toolchains.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV_BIN="$(bash scripts/sdk-toolchains.sh | tail -n 1)"
export PYTHONDONTWRITEBYTECODE=1
(cd sdk/python && "$VENV_BIN/python" -m pytest -q -p no:cacheprovider)
for plugin in plugins/python/severity-router plugins/python/escalation-policy; do
    (cd "$plugin" && "$VENV_BIN/python" -m pytest -q -p no:cacheprovider)
done
(cd sdk/js && node --test test/ && npx tsc -p tsconfig.json)
(cd plugins/ts/severity-router && npm test --silent && npx tsc -p tsconfig.json)
