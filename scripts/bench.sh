#!/usr/bin/env bash
# Side-by-side load benchmark of campanile and Alertmanager 0.25 on this machine:
# ingest throughput (+ POST latency) under Prometheus-like re-sends, notification latency under
# load, an alert storm from one sender, alert listing (GET /api/v2/alerts) over 50,000 alerts,
# RSS per active alert and start-up time. Prints one markdown table and writes it to
# target/bench/results.md; the result lines, configurations and server logs are kept in
# target/bench/ too.
#
# Both servers get equivalent routing (see write_configs) and the same load from `loadgen`
# (bench/). One server process runs at a time, each measurement on a fresh process and store.
#
# Overrides (environment): BENCH_PHASES (the phases to run, of "startup throughput latency storm
# read memory"; all by default), BENCH_DURATION (10s), BENCH_WARMUP (3s), BENCH_CONNECTIONS (32),
# BENCH_RESEND (the re-send pattern of the throughput and latency loads: prometheus, no-ends,
# rerender or static; see `loadgen throughput --help`), BENCH_RATE (background alerts/s, 1000),
# BENCH_PROBES (1000, one per 20 ms: enough for a p99), BENCH_STORM_ALERTS (50000),
# BENCH_READ_ALERTS (50000), BENCH_READ_SILENCES (500), BENCH_READ_REQUESTS (10 per query),
# BENCH_MEMORY_ALERTS (100000), BENCH_STARTS (5), BENCH_DURABILITY (campanile's
# store.durability, immediate; Alertmanager keeps alerts in memory only),
# BENCH_CAMPANILE_PORT (19797), BENCH_AM_PORT (19093), BENCH_SINK_PORT (19999).
# CARGO_TARGET_DIR is honoured; with CAMPANILE_PLUGIN_DIR set, the plugins there are used as
# they are (not rebuilt); BENCH_CAMPANILE_BIN runs that campanile binary instead of the one
# built (an A/B of two builds against the same loadgen and Alertmanager).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

duration="${BENCH_DURATION:-10s}"
warmup="${BENCH_WARMUP:-3s}"
connections="${BENCH_CONNECTIONS:-32}"
phases="${BENCH_PHASES:-startup throughput latency storm read memory}"
resend="${BENCH_RESEND:-prometheus}"
rate="${BENCH_RATE:-1000}"
probes="${BENCH_PROBES:-1000}"
storm_alerts="${BENCH_STORM_ALERTS:-50000}"
read_alerts="${BENCH_READ_ALERTS:-50000}"
read_silences="${BENCH_READ_SILENCES:-500}"
read_requests="${BENCH_READ_REQUESTS:-10}"
memory_alerts="${BENCH_MEMORY_ALERTS:-100000}"
starts="${BENCH_STARTS:-5}"
durability="${BENCH_DURABILITY:-immediate}"
campanile_port="${BENCH_CAMPANILE_PORT:-19797}"
am_port="${BENCH_AM_PORT:-19093}"
sink_port="${BENCH_SINK_PORT:-19999}"

am_bin=/usr/bin/prometheus-alertmanager
target_dir="${CARGO_TARGET_DIR:-$root/target}"
campanile_bin="${BENCH_CAMPANILE_BIN:-$target_dir/release/campanile}"
loadgen="$target_dir/release/loadgen"
plugins="${CAMPANILE_PLUGIN_DIR:-$target_dir/wasm32-wasip2/plugin}"
out="$root/target/bench"

log() { printf '\n== %s\n' "$*" >&2; }

# --- Set-up -------------------------------------------------------------------------------------

if [[ ! -x "$am_bin" ]]; then
    log "installing prometheus-alertmanager"
    sudo=""
    [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
    $sudo apt-get install -y prometheus-alertmanager
fi

log "building campanile, loadgen and the plugins"
cargo build --release -p campanile -p campanile-bench
if [[ -z "${CAMPANILE_PLUGIN_DIR:-}" ]]; then
    bash scripts/build-plugins.sh >/dev/null
fi

rm -rf "$out"
mkdir -p "$out/results"
# Stores live on the same file system as the repository (not a tmpfs), so fsync costs what it
# costs on this disk.
work="$(mktemp -d "$out/work.XXXXXX")"

server_pid=""
sink_pid=""
stop_pid() {
    local pid="$1"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 200); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}
cleanup() {
    stop_pid "$server_pid"
    stop_pid "$sink_pid"
    rm -rf "$work"
}
trap cleanup EXIT

# --- Configurations -----------------------------------------------------------------------------

# The same routing tree for both. campanile: a routing plugin on every route (severity-router on
# the root, storage and probe routes, escalation-policy on payments, team-ownership on search).
# Alertmanager: the nearest static equivalent, i.e. what those plugins decide, as receivers and
# severity sub-routes. Every receiver is a webhook to the loadgen sink.
# write_configs NAME GROUP_WAIT GROUP_INTERVAL writes $out/campanile-NAME.toml and
# $out/alertmanager-NAME.yml with those timings on the root route.
write_configs() {
    local name="$1" group_wait="$2" group_interval="$3"
    local sink="http://127.0.0.1:$sink_port"
    {
        cat <<EOF
[server]
listen = "127.0.0.1:$campanile_port"

[store]
path = "$work/campanile-data/campanile.redb"
durability = "$durability"
EOF
        for r in default pager chat email search; do
            printf '\n[[receivers]]\nname = "%s"\ntype = "webhook"\nurl = "%s/%s"\n' "$r" "$sink" "$r"
        done
        cat <<EOF

[[plugins]]
name = "severity-router"
path = "$plugins/severity_router.wasm"
[plugins.config]
pager = "pager"
chat = "chat"
email = "email"
default = "default"

[[plugins]]
name = "escalation"
path = "$plugins/escalation_policy.wasm"
[plugins.config]
chat = "chat"
primary = "pager"
page_after = "15m"

[[plugins]]
name = "teams"
path = "$plugins/team_ownership.wasm"
[plugins.config]
"team.search" = "search"
"team.default" = "default"
default_team = "default"

[route]
receiver = "default"
plugin = "severity-router"
group_by = ["alertname"]
group_wait = "$group_wait"
group_interval = "$group_interval"
repeat_interval = "4h"

[[route.routes]]
name = "latency-probe"
matchers = ['alertname="LatencyProbe"']
plugin = "severity-router"
group_by = ["probe"]
group_wait = "0s"

[[route.routes]]
name = "payments"
matchers = ['team="payments"']
plugin = "escalation"

[[route.routes]]
name = "search"
matchers = ['team="search"']
plugin = "teams"

[[route.routes]]
name = "storage"
matchers = ['team="storage"']
plugin = "severity-router"
EOF
    } >"$out/campanile-$name.toml"

    {
        cat <<EOF
route:
  receiver: default
  group_by: [alertname]
  group_wait: $group_wait
  group_interval: $group_interval
  repeat_interval: 4h
  routes:
    - matchers: ['alertname="LatencyProbe"']
      receiver: pager            # severity-router: probes are severity=critical
      group_by: [probe]
      group_wait: 0s
    - matchers: ['team="payments"']
      receiver: chat             # escalation-policy's first step
    - matchers: ['team="search"']
      receiver: search           # team-ownership: team.search
    - matchers: ['team="storage"']
      routes:                    # severity-router, per alert rather than per group
        - { matchers: ['severity="critical"'], receiver: pager }
        - { matchers: ['severity="warning"'], receiver: chat }
        - { matchers: ['severity="info"'], receiver: email }
    # The root's severity-router, for the alerts no team route takes.
    - { matchers: ['severity="critical"'], receiver: pager }
    - { matchers: ['severity="warning"'], receiver: chat }
    - { matchers: ['severity="info"'], receiver: email }

receivers:
EOF
        for r in default pager chat email search; do
            printf '  - name: %s\n    webhook_configs:\n      - url: %s/%s\n        send_resolved: true\n' "$r" "$sink" "$r"
        done
    } >"$out/alertmanager-$name.yml"
}

# "load" for every phase but read; "read" flushes nothing during a run (group_wait 1h), so the
# listings are timed with no notification work beside them.
write_configs load 30s 5m
write_configs read 1h 1h
log "checking the configurations"
for name in load read; do
    "$campanile_bin" check-config "$out/campanile-$name.toml"
    if command -v amtool >/dev/null; then
        amtool check-config "$out/alertmanager-$name.yml" >/dev/null
    fi
done

# --- Servers ------------------------------------------------------------------------------------

# The command line that runs server $1 (campanile | alertmanager) in the foreground, with
# configuration $2 (load | read; load by default).
server_cmd() {
    local config="${2:-load}"
    case "$1" in
        campanile)
            echo "$campanile_bin" serve --config "$out/campanile-$config.toml"
            ;;
        alertmanager)
            echo "$am_bin" --config.file="$out/alertmanager-$config.yml" \
                --storage.path="$work/alertmanager-data" \
                --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address=
            ;;
    esac
}
server_url() {
    case "$1" in
        campanile) echo "http://127.0.0.1:$campanile_port" ;;
        alertmanager) echo "http://127.0.0.1:$am_port" ;;
    esac
}
# Empties server $1's storage (store, notification log) but keeps campanile's compiled plugins,
# as a restarted service has them: measurements then see neither compile time nor the compiler's
# freed memory (which would flatter the memory-per-alert figure by being reused).
fresh_data() {
    mkdir -p "$work/$1-data"
    find "$work/$1-data" -mindepth 1 -maxdepth 1 ! -name plugin-cache -exec rm -rf {} +
}
start_server() {
    fresh_data "$1"
    # shellcheck disable=SC2046 # server_cmd's words are the command line (no spaces in paths)
    $(server_cmd "$1" "${2:-load}") >>"$out/$1.log" 2>&1 &
    server_pid=$!
    "$loadgen" wait-ready --url "$(server_url "$1")" --timeout 120s
}
stop_server() {
    stop_pid "$server_pid"
    server_pid=""
}
start_sink() {
    "$loadgen" sink --listen "127.0.0.1:$sink_port" 2>>"$out/sink.log" &
    sink_pid=$!
}
stop_sink() {
    stop_pid "$sink_pid"
    sink_pid=""
}

# --- Measurements -------------------------------------------------------------------------------

servers=(campanile alertmanager)
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

phase_startup() {
    local s="$1"
    log "$s: start-up (1 untimed start to fill caches, then median of $starts)"
    rm -rf "$work/$s-data"
    fresh_data "$s"
    # shellcheck disable=SC2046
    "$loadgen" startup --url "$(server_url "$s")" --warm-runs 1 --runs "$starts" \
        --log "$out/$s.log" -- $(server_cmd "$s") >"$out/results/$s-startup.json"
    if [[ "$s" == campanile ]] && [[ -z "$(ls -A "$work/campanile-data/plugin-cache" 2>/dev/null)" ]]; then
        echo "campanile left no compiled plugins in its plugin-cache: start-ups were cold" >&2
        exit 1
    fi
}

phase_throughput() {
    local s="$1"
    log "$s: ingest throughput ($connections connections, re-sends $resend, $warmup warm-up, $duration measured)"
    start_sink
    start_server "$s"
    "$loadgen" throughput --url "$(server_url "$s")" --connections "$connections" \
        --warmup "$warmup" --duration "$duration" --pid "$server_pid" --resend "$resend" \
        >"$out/results/$s-throughput.json"
    stop_server
    stop_sink
}

phase_latency() {
    local s="$1"
    log "$s: notification latency ($probes probes under $rate alerts/s, re-sends $resend)"
    start_server "$s"
    "$loadgen" latency --url "$(server_url "$s")" --sink-listen "127.0.0.1:$sink_port" \
        --rate "$rate" --probes "$probes" --probe-interval 20ms --resend "$resend" \
        >"$out/results/$s-latency.json"
    stop_server
}

phase_storm() {
    local s="$1"
    log "$s: storm ($storm_alerts new alerts, one sender, sequential posts of 64)"
    start_sink
    start_server "$s"
    "$loadgen" storm --url "$(server_url "$s")" --alerts "$storm_alerts" --batch 64 \
        --pid "$server_pid" >"$out/results/$s-storm.json"
    stop_server
    stop_sink
}

phase_read() {
    local s="$1"
    log "$s: read (GET /api/v2/alerts over $read_alerts alerts, then with $read_silences silences)"
    start_sink
    start_server "$s" read
    "$loadgen" read --url "$(server_url "$s")" --alerts "$read_alerts" \
        --silences "$read_silences" --requests "$read_requests" >"$out/results/$s-read.json"
    stop_server
    stop_sink
}

phase_memory() {
    local s="$1"
    log "$s: memory ($memory_alerts distinct active alerts)"
    start_sink
    start_server "$s"
    "$loadgen" memory --url "$(server_url "$s")" --pid "$server_pid" --alerts "$memory_alerts" \
        >"$out/results/$s-memory.json"
    stop_server
    stop_sink
}

# Each phase runs on both servers, one after the other; its wall time goes in the report.
timings=()
for phase in $phases; do
    case "$phase" in
        startup | throughput | latency | storm | read | memory) ;;
        *)
            echo "unknown phase in BENCH_PHASES: $phase" >&2
            exit 2
            ;;
    esac
    SECONDS=0
    for s in "${servers[@]}"; do
        "phase_$phase" "$s"
    done
    timings+=("$phase ${SECONDS}s")
done

# --- Report -------------------------------------------------------------------------------------

{
    echo "# campanile vs Alertmanager: load benchmark"
    echo
    echo "- Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r), store on $(df -T "$work" | awk 'NR==2 {print $2}')"
    echo "- $("$campanile_bin" --version) (durability $durability); $("$am_bin" --version 2>&1 | head -1)"
    echo "- $(date -u +%Y-%m-%dT%H:%MZ); re-sends: $resend; phases: $(IFS=,; echo "${timings[*]}" | sed 's/,/, /g')"
    echo "- load average before the run: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    "$loadgen" report "$out/results"
} >"$out/results.md"
cat "$out/results.md"
echo >&2
echo "Written to target/bench/results.md (result lines, configurations and logs in target/bench/)" >&2
