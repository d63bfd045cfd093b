#!/usr/bin/env bash
# Fuzzes every decoder of untrusted input, and the stateful target (fuzz/fuzz_targets/), for a
# bounded time: builds all targets once (coverage-instrumented, without a sanitizer, into
# fuzz/target), then runs each from its checked-in corpus (fuzz/corpus/<target>). Fails if any
# target crashes; the input is saved in fuzz/artifacts/<target>/ and printed. First, every input
# that crashed campanile before (fuzz/artifacts-found/<target>/) is replayed.
#
#   FUZZ_SECONDS   run time of all targets together (default 180), a third of it for the
#                  stateful target `lifecycle`, the rest shared by the others
#   FUZZ_TARGETS   the targets to run (default: all)
#   FUZZ_JOBS      how many run at once (default: one per CPU)
#
# `--build-only` installs cargo-fuzz and builds the targets, and stops (scripts/test.sh builds
# them beside the tests).
#
# New inputs a run finds go to a scratch corpus under fuzz/target, so the checked-in one stays
# small; to keep one, minimise it (`cargo fuzz tmin`/`cmin`) and add it to fuzz/corpus/.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
    cargo install --locked "cargo-fuzz@$CARGO_FUZZ_VERSION"
fi

# No sanitizer: campanile and its fuzz targets deny `unsafe`, and what the targets look for
# (panics, overflows, hangs, runaway memory) libFuzzer catches by itself. AddressSanitizer
# doubled the build (every dependency instrumented) for memory errors only dependencies'
# unsafe code could make; run with FUZZ_SANITIZER=address to look for those.
# cargo-fuzz passes nightly-only flags; stable rustc takes them with RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1
sanitizer=(--sanitizer "${FUZZ_SANITIZER:-none}")
# Instrumented builds keep to their own target dir (fuzz/target), whatever the caller shares.
unset CARGO_TARGET_DIR
# The stateful target's store files, memory-backed where the machine allows.
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
CAMPANILE_FUZZ_STORE=$(mktemp -d "$shm/campanile-fuzz.XXXXXX")
export CAMPANILE_FUZZ_STORE
trap 'rm -rf "$CAMPANILE_FUZZ_STORE"' EXIT

cd fuzz
cargo fuzz build "${sanitizer[@]}"
[ "${1:-}" != --build-only ] || exit 0
read -r -a targets <<<"${FUZZ_TARGETS:-$(cargo fuzz list | tr '\n' ' ')}"

total=${FUZZ_SECONDS:-180}
others=0
for t in "${targets[@]}"; do [ "$t" = lifecycle ] || others=$((others + 1)); done
if [ "$others" -lt "${#targets[@]}" ] && [ "$others" -gt 0 ]; then
    stateful=$((total / 3))
else
    stateful=$total
fi
each=$(( others > 0 ? (total - (others < ${#targets[@]} ? stateful : 0)) / others : 0 ))

failed=()
# Inputs that crashed campanile once (fuzz/artifacts-found/<target>/): each must pass now.
for t in "${targets[@]}"; do
    found=(artifacts-found/"$t"/*)
    [ -e "${found[0]}" ] || continue
    echo "=== $t: ${#found[@]} inputs found earlier"
    if ! cargo fuzz run "${sanitizer[@]}" "$t" "${found[@]}" -- -runs=1; then
        failed+=("$t (an input of artifacts-found/$t)")
    fi
done

# One target's bounded run; its output goes to its log, and a crash is marked by a file in
# target/logs (the runs go side by side, so they cannot share a variable).
fuzz_one() {
    local t=$1 seconds=$2 scratch=target/corpus/$1 log=target/logs/$1.log extra=()
    mkdir -p "$scratch" "corpus/$t"
    # A target's own options: the stateful one wants long inputs (many steps) from the start;
    # config fuzzing is helped by its words.
    case $t in
        lifecycle) extra=(-max_len=4096) ;;
        config) extra=(-dict=config.dict) ;;
    esac
    # -timeout: one input taking this long is a hang, reported like a crash.
    if cargo fuzz run "${sanitizer[@]}" "$t" "$scratch" "corpus/$t" -- "${extra[@]}" \
        -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
        >"$log" 2>&1; then
        echo "=== $t: ${seconds}s clean"
        grep -E '^stat::(number_of_executed_units|average_exec_per_sec)|^Done' "$log" || true
    else
        echo "=== $t: CRASHED (log: fuzz/$log)"
        # The panic, its backtrace and where the input was saved.
        tail -n 80 "$log"
        touch "target/logs/$t.failed"
    fi
}

# The targets run FUZZ_JOBS at a time (default: one per CPU), the longest first: each still
# gets its seconds, in a fraction of the time.
jobs=${FUZZ_JOBS:-$(nproc)}
[ "$jobs" -ge 1 ] || jobs=1
mkdir -p target/logs
rm -f target/logs/*.failed
ordered=()
for t in "${targets[@]}"; do [ "$t" = lifecycle ] && ordered+=("$t"); done
for t in "${targets[@]}"; do [ "$t" = lifecycle ] || ordered+=("$t"); done
running=0
for t in "${ordered[@]}"; do
    seconds=$each
    [ "$t" = lifecycle ] && seconds=$stateful
    [ "$seconds" -ge 1 ] || seconds=1
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
    echo "=== $t: ${seconds}s (log: fuzz/target/logs/$t.log)"
    fuzz_one "$t" "$seconds" &
    running=$((running + 1))
done
wait
for t in "${ordered[@]}"; do
    [ -e "target/logs/$t.failed" ] && failed+=("$t")
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/<target>/;" \
        "replay with: RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>)" >&2
    exit 1
fi
echo "fuzzing: ${#targets[@]} targets ran clean for ${total}s in all"
