#!/usr/bin/env bash
# Alert listing with silences, campanile and Alertmanager 0.25 side by side: each server gets
# N alerts, GET /api/v2/alerts (and two other listings) is timed with no silence, then S
# silences of realistic shapes are created and it is timed again (`loadgen silences`, see
# bench/src/silences.rs). Prints one markdown table and writes it, with the raw result lines
# and server logs, to target/bench-silences/. Not run in CI (it builds release binaries and
# takes a minute or two); CI only compiles loadgen through clippy.
#
# Overrides (environment): SILENCE_BENCH_ALERTS (50000), SILENCE_BENCH_SILENCES (500),
# SILENCE_BENCH_REQUESTS (7 timed requests per query), SILENCE_BENCH_CAMPANILE_PORT (19798),
# SILENCE_BENCH_AM_PORT (19094), SILENCE_BENCH_CAMPANILE (a campanile binary to measure
# instead of building one, e.g. an older build to compare with), SILENCE_BENCH_SKIP_AM (1: only
# campanile).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

alerts="${SILENCE_BENCH_ALERTS:-50000}"
silences="${SILENCE_BENCH_SILENCES:-500}"
requests="${SILENCE_BENCH_REQUESTS:-7}"
campanile_port="${SILENCE_BENCH_CAMPANILE_PORT:-19798}"
am_port="${SILENCE_BENCH_AM_PORT:-19094}"
am_bin=/usr/bin/prometheus-alertmanager
loadgen="$root/target/release/loadgen"
out="$root/target/bench-silences"

# shellcheck source=scripts/bench-lib.sh
source "$root/scripts/bench-lib.sh"

if [[ -n "${SILENCE_BENCH_CAMPANILE:-}" ]]; then
    campanile_bin="$SILENCE_BENCH_CAMPANILE"
    log "building loadgen (campanile: $campanile_bin)"
    cargo build --release -p campanile-bench
else
    campanile_bin="$root/target/release/campanile"
    log "building campanile and loadgen"
    cargo build --release -p campanile -p campanile-bench
fi

mkdir -p "$out"
rm -f "$out"/campanile.json "$out"/alertmanager.json
work="$(mktemp -d "$out/work.XXXXXX")"
server_pid=""
stop_server() {
    stop_pid "$server_pid"
    server_pid=""
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT

# Nothing is due during a run (group_wait 1h), so only the listing works.
cat >"$work/campanile.toml" <<EOF
[server]
listen = "127.0.0.1:$campanile_port"

[store]
path = "$work/campanile-data/campanile.redb"

[limits]
max_alerts = $((alerts * 2 + 1000))

[[receivers]]
name = "default"
type = "log"

[route]
receiver = "default"
group_by = ["alertname"]
group_wait = "1h"
group_interval = "1h"
repeat_interval = "4h"
EOF

cat >"$work/alertmanager.yml" <<EOF
route:
  receiver: default
  group_by: [alertname]
  group_wait: 1h
  group_interval: 1h
  repeat_interval: 4h
receivers:
  - name: default
EOF

measure() {
    local name="$1" url="$2"
    "$loadgen" wait-ready --url "$url" --timeout 60s
    "$loadgen" silences --url "$url" --alerts "$alerts" --silences "$silences" \
        --requests "$requests" >"$out/$name.json"
    stop_server
}

log "campanile ($campanile_bin)"
"$campanile_bin" check-config "$work/campanile.toml" >/dev/null
"$campanile_bin" serve --config "$work/campanile.toml" >"$out/campanile.log" 2>&1 &
server_pid=$!
measure campanile "http://127.0.0.1:$campanile_port"

if [[ "${SILENCE_BENCH_SKIP_AM:-0}" != 1 ]]; then
    log "Alertmanager ($("$am_bin" --version 2>&1 | head -1))"
    "$am_bin" --config.file "$work/alertmanager.yml" --storage.path "$work/am-data" \
        --web.listen-address "127.0.0.1:$am_port" --cluster.listen-address "" \
        >"$out/alertmanager.log" 2>&1 &
    server_pid=$!
    measure alertmanager "http://127.0.0.1:$am_port"
fi

# One table: per server and silence count, each query's first and median time.
python3 - "$out" >"$out/results.md" <<'EOF'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
rows = ["| server | silences | suppressed (silencedBy entries) | query | first, ms | median, ms | min–max, ms |",
        "|---|--:|--:|---|--:|--:|--:|"]
for name in ("campanile", "alertmanager"):
    f = out / f"{name}.json"
    if not f.exists():
        continue
    r = json.loads(f.read_text())
    for p in r["phases"]:
        for t in p["timings"]:
            rows.append(f"| {name} | {p['silences']} | {p['silenced']} ({p['silenced_by_total']}) "
                        f"| `{t['path']}` | {t['first_ms']:.0f} | {t['median_ms']:.0f} "
                        f"| {t['min_ms']:.0f}–{t['max_ms']:.0f} |")
print(f"{r['alerts']} alerts\n")
print("\n".join(rows))
EOF
cat "$out/results.md"
