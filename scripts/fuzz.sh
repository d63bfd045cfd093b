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

for t in "${targets[@]}"; do
    seconds=$each
    [ "$t" = lifecycle ] && seconds=$stateful
    [ "$seconds" -ge 1 ] || seconds=1
    scratch=target/corpus/$t
    mkdir -p "$scratch" "corpus/$t"
    # A target's own options: the stateful one wants long inputs (many steps) from the start;
    # config fuzzing is helped by its words.
    extra=()
    case $t in
        lifecycle) extra=(-max_len=4096) ;;
        config) extra=(-dict=config.dict) ;;
    esac
    log=target/logs/$t.log
    mkdir -p target/logs
    echo "=== $t: ${seconds}s (log: fuzz/$log)"
    # -timeout: one input taking this long is a hang, reported like a crash.
    if cargo fuzz run "${sanitizer[@]}" "$t" "$scratch" "corpus/$t" -- "${extra[@]}" \
        -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
        >"$log" 2>&1; then
        grep -E '^stat::(number_of_executed_units|average_exec_per_sec)|^Done' "$log" || true
    else
        # The panic, its backtrace and where the input was saved.
        tail -n 80 "$log"
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/<target>/;" \
        "replay with: RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>)" >&2
    exit 1
fi
echo "fuzzing: ${#targets[@]} targets ran clean for ${total}s in all"
