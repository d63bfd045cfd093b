#!/usr/bin/env bash
# Installs the pinned plugin toolchains of the Python and JavaScript SDKs, into the build
# folder (nothing global): componentize-py 0.25.1 with pytest and the campanile-sdk package
# (from sdk/python) in a venv at $TOOLS/venv, and the npm workspace (componentize-js 0.23.0,
# TypeScript, the JavaScript SDK and the TypeScript example) from package-lock.json.
# TOOLS is ${CARGO_TARGET_DIR:-target}/sdk-tools. Prints the venv's bin folder last.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="${CARGO_TARGET_DIR:-$PWD/target}/sdk-tools"
mkdir -p "$TOOLS"
if [ ! -x "$TOOLS/venv/bin/componentize-py" ]; then
    python3 -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check \
        componentize-py==0.25.1 "pytest>=7,<9"
fi
# The SDK from this checkout, every time (it is small): a build never uses a stale copy.
"$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --force-reinstall ./sdk/python
if [ ! -d node_modules/@bytecodealliance/componentize-js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
echo "$TOOLS/venv/bin"
