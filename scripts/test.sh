#!/usr/bin/env bash
# Everything CI checks: formatting, lints (host and plugins), the plugin build, then all tests,
# including the end-to-end tests against real Prometheus and Alertmanager.
set -euo pipefail
cd "$(dirname "$0")/.."

# The end-to-end tests run the Debian binaries; python3-aiosmtpd serves as a test SMTP server,
# postgresql gives the PostgreSQL store tests a throw-away server (initdb in a temporary folder),
# chromium is the browser the web console's tests drive (with Node.js, unless one is installed).
missing=()
for pkg in prometheus prometheus-alertmanager python3-aiosmtpd postgresql chromium; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
# The Python SDK needs a python3 that makes venvs; the JavaScript SDK, Node 20 with npm.
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi
# playwright-core for the console's browser tests, from the lock file; it downloads no browser
# (they run Debian's /usr/bin/chromium).
(cd tests/console && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
rustup target add wasm32-wasip2
# A one-shot build gains nothing from incremental state, which is gigabytes on disk.
export CARGO_INCREMENTAL=0

# The two builds the last steps need, the fuzz targets and the image's static binary, start now
# at the lowest priority: they take only the CPU the steps below leave idle (a crate that
# compiles on one core, tests waiting on sockets and timers), which is most of a core through
# the test run. Their output is kept in target/ci and shown if they fail.
mkdir -p target/ci
nice -n 19 bash scripts/fuzz.sh --build-only >target/ci/fuzz-build.log 2>&1 &
fuzz_build=$!
nice -n 19 bash scripts/container-test.sh --prepare >target/ci/image-build.log 2>&1 &
image_build=$!
trap 'kill "$fuzz_build" "$image_build" 2>/dev/null || true' EXIT
# Waits for one of them; on failure prints its log and fails.
await() {
    local pid=$1 log=$2
    if ! wait "$pid"; then
        tail -n 100 "$log"
        echo "failed: see $log" >&2
        exit 1
    fi
}

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy --target wasm32-wasip2 -p severity-router -p escalation-policy -p replica-dedup -p team-ownership -p hostile-plugin -- -D warnings
bash scripts/build-plugins.sh
# The SDKs for Python and JavaScript: their own tests and their examples', natively.
bash scripts/sdk-tests.sh
# nextest runs the test binaries side by side (one slow end-to-end test no longer holds up the
# rest); it does not run doctests, which cargo test does. The Python and TypeScript plugins are
# built by the campanile under test (`campanile plugin build`), so between building the tests
# and running them.
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-run
    bash scripts/build-sdk-plugins.sh
    cargo nextest run --workspace --no-fail-fast
    cargo test --workspace --doc
else
    cargo test --workspace --no-run
    bash scripts/build-sdk-plugins.sh
    cargo test --workspace
fi

# Every decoder of untrusted input and the stateful target, fuzzed for three minutes in all,
# a target per CPU at a time (fuzz/README.md); the inputs that once crashed campanile are
# replayed first.
await "$fuzz_build" target/ci/fuzz-build.log
bash scripts/fuzz.sh

# The container image: built FROM scratch with podman, run as shipped, checked end to end.
await "$image_build" target/ci/image-build.log
bash scripts/container-test.sh
