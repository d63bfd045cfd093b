#!/usr/bin/env bash
# The cluster benchmark: campanile on PostgreSQL (one replica, then three) beside Alertmanager
# 0.25 (alone, then three peers gossiping), same load from `loadgen` (bench/), on this machine.
# Prints one markdown table and writes it to target/bench-cluster/results.md (result lines,
# configurations and logs beside it).
#
# Phases (BENCH_PHASES, all by default):
#   ingest-single   loadgen throughput against one campanile replica on PostgreSQL, and against
#                   one Alertmanager;
#   ingest-cluster  three replicas / three peers, each sent the whole load by its own loadgen
#                   (as Prometheus sends every alert to every Alertmanager);
#   latency         three replicas / peers under 1,000 alerts/s of re-sends each, probes posted to
#                   every one of them: post to notification;
#   failover        the replica holding the most shards (Alertmanager: the first peer, the one
#                   that notifies) killed with SIGKILL, fresh probes posted to the survivors at
#                   once: kill to the last probe's notification, BENCH_TRIALS times.
# Overrides: BENCH_DURATION (10s), BENCH_CONNECTIONS (24, split over the loadgens of a cluster),
# BENCH_RESEND (prometheus), BENCH_LEASE_TTL (campanile's cluster.lease_ttl, 10s: the default),
# BENCH_TRIALS (10), BENCH_PROBES (500 latency probes, one per 20 ms).
# PostgreSQL 15 (Debian `postgresql`) runs on a throw-away cluster in target/bench-cluster, as
# the Debian `postgres` user when this runs as root.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

duration="${BENCH_DURATION:-10s}"
connections="${BENCH_CONNECTIONS:-24}"
resend="${BENCH_RESEND:-prometheus}"
ttl="${BENCH_LEASE_TTL:-10s}"
trials="${BENCH_TRIALS:-10}"
probes="${BENCH_PROBES:-500}"
phases="${BENCH_PHASES:-ingest-single ingest-cluster latency failover}"
pg_port=15432
sink_port=19989
base_port=19800 # campanile replica i listens on base_port + i; Alertmanager peer i on 19900 + i

target_dir="${CARGO_TARGET_DIR:-$root/target}"
campanile_bin="$target_dir/release/campanile"
loadgen="$target_dir/release/loadgen"
plugins="${CAMPANILE_PLUGIN_DIR:-$target_dir/wasm32-wasip2/plugin}"
am_bin=/usr/bin/prometheus-alertmanager
out="$root/target/bench-cluster"

# shellcheck source=scripts/bench-lib.sh
source "$root/scripts/bench-lib.sh"

install_missing prometheus-alertmanager postgresql
pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

log "building campanile, loadgen and the plugins"
cargo build --release -p campanile -p campanile-bench
if [[ -z "${CAMPANILE_PLUGIN_DIR:-}" ]]; then
    bash scripts/build-plugins.sh >/dev/null
fi

rm -rf "$out"
mkdir -p "$out/results"
work="$(mktemp -d "$out/work.XXXXXX")"

# --- Processes ----------------------------------------------------------------------------------

declare -A pids=()
stop_all() {
    for name in "${!pids[@]}"; do
        [[ "$name" == postgres ]] && continue
        stop_pid "${pids[$name]}"
        unset "pids[$name]"
    done
}
cleanup() {
    stop_all
    [[ -n "${pids[postgres]:-}" ]] && stop_pid "${pids[postgres]}"
    rm -rf "$work"
}
trap cleanup EXIT

# --- PostgreSQL ---------------------------------------------------------------------------------

as_pg=()
if [[ "$(id -u)" -eq 0 ]]; then
    as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)
    chown postgres: "$work"
fi
log "PostgreSQL: a throw-away cluster on 127.0.0.1:$pg_port"
"${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg" --auth=trust --username=campanile --no-sync >"$out/initdb.log"
"${as_pg[@]}" "$pg_bin/postgres" -D "$work/pg" -p "$pg_port" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories="$work" -c max_connections=200 >"$out/postgres.log" 2>&1 &
pids[postgres]=$!
psql_at() { psql -h 127.0.0.1 -p "$pg_port" -U campanile -XAtq -d "$1" -c "$2"; }
for _ in $(seq 200); do
    psql_at postgres "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.1
done
# new_db: a fresh database for one measurement, its name in $db (the caller's, if it has one).
db_seq=0
new_db() {
    db_seq=$((db_seq + 1))
    db="bench$db_seq"
    psql_at postgres "CREATE DATABASE $db" >/dev/null
}

# --- Configurations -----------------------------------------------------------------------------

# The same routing for both: severity-router on the root (Alertmanager: its decisions as
# severity routes), probes each in their own group, due at once; every receiver a webhook to the
# loadgen sink.
campanile_config() { # NAME PORT DB
    local sink="http://127.0.0.1:$sink_port"
    cat <<EOF
[server]
listen = "127.0.0.1:$2"

[store]
backend = "postgres"
url = "postgresql://campanile@127.0.0.1:$pg_port/$3"
path = "$work/$1/campanile.redb"

[cluster]
replica = "$1"
advertise = "http://127.0.0.1:$2"
lease_ttl = "$ttl"
EOF
    for r in default pager chat email; do
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

[route]
receiver = "default"
plugin = "severity-router"
group_by = ["alertname"]
group_wait = "30s"
group_interval = "5m"
repeat_interval = "4h"

[[route.routes]]
name = "latency-probe"
matchers = ['alertname="LatencyProbe"']
plugin = "severity-router"
group_by = ["probe"]
group_wait = "0s"
EOF
}
cat >"$out/alertmanager.yml" <<EOF
route:
  receiver: default
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: ['alertname="LatencyProbe"']
      receiver: pager
      group_by: [probe]
      group_wait: 0s
    - { matchers: ['severity="critical"'], receiver: pager }
    - { matchers: ['severity="warning"'], receiver: chat }
    - { matchers: ['severity="info"'], receiver: email }
receivers:
EOF
for r in default pager chat email; do
    printf '  - name: %s\n    webhook_configs:\n      - url: http://127.0.0.1:%s/%s\n        send_resolved: true\n' \
        "$r" "$sink_port" "$r" >>"$out/alertmanager.yml"
done

# start_campanile NAME INDEX DB: replica NAME on base_port + INDEX.
start_campanile() {
    local port=$((base_port + $2))
    mkdir -p "$work/$1"
    campanile_config "$1" "$port" "$3" >"$out/campanile-$1.toml"
    "$campanile_bin" serve --config "$out/campanile-$1.toml" >>"$out/campanile-$1.log" 2>&1 &
    pids[$1]=$!
    "$loadgen" wait-ready --url "http://127.0.0.1:$port" --timeout 120s
}
# start_am INDEX PEERS: Alertmanager peer INDEX of PEERS (1: no cluster).
start_am() {
    local i="$1" n="$2" cluster=(--cluster.listen-address=)
    if [[ "$n" -gt 1 ]]; then
        cluster=(--cluster.listen-address="127.0.0.1:$((19950 + i))" --cluster.peer="127.0.0.1:19950")
        for p in $(seq 1 $((n - 1))); do cluster+=(--cluster.peer="127.0.0.1:$((19950 + p))"); done
    fi
    mkdir -p "$work/am$i"
    "$am_bin" --config.file="$out/alertmanager.yml" --storage.path="$work/am$i" \
        --web.listen-address="127.0.0.1:$((19900 + i))" "${cluster[@]}" >>"$out/alertmanager-$i.log" 2>&1 &
    pids[am$i]=$!
    "$loadgen" wait-ready --url "http://127.0.0.1:$((19900 + i))" --timeout 60s
}
url_of() { # campanile|alertmanager INDEX
    if [[ "$1" == campanile ]]; then echo "http://127.0.0.1:$((base_port + $2))"; else echo "http://127.0.0.1:$((19900 + $2))"; fi
}
names=(a b c)
start_cluster() { # campanile|alertmanager PEERS [DB]
    for i in $(seq 0 $(($2 - 1))); do
        if [[ "$1" == campanile ]]; then start_campanile "${names[$i]}" "$i" "$3"; else start_am "$i" "$2"; fi
    done
    if [[ "$1" == campanile ]]; then wait_spread "$3" "$2"; else sleep 3; fi
}
wait_spread() { # DB REPLICAS
    for _ in $(seq 600); do
        [[ "$(psql_at "$1" "SELECT count(DISTINCT holder) FROM campanile.leases WHERE expires_at > now()" 2>/dev/null)" == "$2" ]] && return
        sleep 0.1
    done
    echo "the shards did not spread over $2 replicas" >&2
    exit 1
}

# --- Phases -------------------------------------------------------------------------------------

sink_pid=""
start_sink() {
    "$loadgen" sink --listen "127.0.0.1:$sink_port" 2>>"$out/sink.log" &
    sink_pid=$!
}
stop_sink() {
    stop_pid "$sink_pid"
    sink_pid=""
}

# throughput SERVER PEERS: PEERS loadgens side by side, one per peer, CONNECTIONS/PEERS each.
throughput() {
    local s="$1" n="$2" db="" jobs=()
    [[ "$s" == campanile ]] && new_db
    start_sink
    start_cluster "$s" "$n" "$db"
    for i in $(seq 0 $((n - 1))); do
        "$loadgen" throughput --url "$(url_of "$s" "$i")" --connections $((connections / n)) \
            --duration "$duration" --resend "$resend" \
            >"$out/results/$s-x$n-throughput-$i.json" &
        jobs+=($!)
    done
    for j in "${jobs[@]}"; do wait "$j"; done
    stop_all
    stop_sink
}

phase_ingest-single() {
    log "ingest: one campanile replica on PostgreSQL, one Alertmanager"
    throughput campanile 1
    throughput alertmanager 1
}
phase_ingest-cluster() {
    log "ingest: three campanile replicas, three Alertmanager peers; every peer sent the whole load"
    throughput campanile 3
    throughput alertmanager 3
}

phase_latency() {
    log "latency: $probes probes to every peer, beside 1,000 alerts/s of re-sends to each"
    for s in campanile alertmanager; do
        local db="" jobs=() urls=()
        [[ "$s" == campanile ]] && new_db
        start_cluster "$s" 3 "$db"
        for i in 0 1 2; do
            urls+=(--url "$(url_of "$s" "$i")")
            "$loadgen" throughput --url "$(url_of "$s" "$i")" --connections 4 \
                --duration "$((probes / 50 + 8))s" --resend "$resend" --resend-period 10s \
                >"$out/results/$s-background-$i.json" &
            jobs+=($!)
        done
        sleep 3
        "$loadgen" probe "${urls[@]}" --sink-listen "127.0.0.1:$sink_port" --probes "$probes" \
            --interval 20ms --timeout 60s >"$out/results/$s-latency.json"
        for j in "${jobs[@]}"; do wait "$j"; done
        stop_all
    done
}

phase_failover() {
    log "failover: $trials trials per server (campanile lease_ttl $ttl)"
    local db
    new_db
    start_cluster campanile 3 "$db"
    for t in $(seq 1 "$trials"); do
        local top victim urls=()
        top="$(psql_at "$db" "SELECT holder FROM campanile.leases WHERE expires_at > now() GROUP BY holder ORDER BY count(*) DESC, holder LIMIT 1")"
        for i in 0 1 2; do
            if [[ "${names[$i]}" == "$top" ]]; then victim=$i; else urls+=(--url "$(url_of campanile "$i")"); fi
        done
        "$loadgen" probe "${urls[@]}" --kill "${pids[$top]}" --sink-listen "127.0.0.1:$sink_port" \
            --probes 48 --first $((t * 1000)) --timeout 120s >>"$out/results/campanile-failover.jsonl"
        wait "${pids[$top]}" 2>/dev/null || true
        start_campanile "$top" "$victim" "$db"
        wait_spread "$db" 3
    done
    stop_all
    # Alertmanager: peer 0 is the one that notifies (the others wait peer_timeout per position).
    start_cluster alertmanager 3
    for t in $(seq 1 "$trials"); do
        "$loadgen" probe --url "$(url_of alertmanager 1)" --url "$(url_of alertmanager 2)" \
            --kill "${pids[am0]}" --sink-listen "127.0.0.1:$sink_port" --probes 48 \
            --first $((t * 1000)) --timeout 120s >>"$out/results/alertmanager-failover.jsonl"
        wait "${pids[am0]}" 2>/dev/null || true
        start_am 0 3
        sleep 5
    done
    stop_all
}

timings=()
for phase in $phases; do
    case "$phase" in
        ingest-single | ingest-cluster | latency | failover) ;;
        *)
            echo "unknown phase in BENCH_PHASES: $phase" >&2
            exit 2
            ;;
    esac
    SECONDS=0
    "phase_$phase"
    timings+=("$phase ${SECONDS}s")
done

# --- Report -------------------------------------------------------------------------------------

{
    echo "# campanile cluster on PostgreSQL vs Alertmanager gossip cluster"
    echo
    echo "- Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), kernel $(uname -r); PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on $(df -T "$work" | awk 'NR==2 {print $2}')"
    echo "- $("$campanile_bin" --version) (lease_ttl $ttl); $("$am_bin" --version 2>&1 | head -1)"
    echo "- $(date -u +%Y-%m-%dT%H:%MZ); re-sends: $resend; phases: $(IFS=,; echo "${timings[*]}" | sed 's/,/, /g')"
    echo
    python3 - "$out/results" <<'EOF'
import json, math, pathlib, sys
d = pathlib.Path(sys.argv[1])
def load(name):
    p = d / name
    return json.loads(p.read_text()) if p.exists() else None
def lines(name):
    p = d / name
    return [json.loads(l) for l in p.read_text().splitlines() if l.strip()] if p.exists() else []
def pct(xs, q):
    xs = sorted(x for x in xs if not math.isnan(x))
    return xs[min(len(xs) - 1, math.ceil(q * len(xs)) - 1)] if xs else float("nan")
rows = []
def ratio(c, a, better_low=False):
    if not c or not a or math.isnan(c) or math.isnan(a): return ""
    return f"{(a / c if better_low else c / a):.2f}×"
for n in (1, 3):
    c = [load(f"campanile-x{n}-throughput-{i}.json") for i in range(n)]
    a = [load(f"alertmanager-x{n}-throughput-{i}.json") for i in range(n)]
    if all(c) and all(a):
        cs = sum(x["alerts_per_s"] for x in c) / n
        as_ = sum(x["alerts_per_s"] for x in a) / n
        rows.append((f"ingest, {n} peer(s), alerts/s per peer (each sent the whole load)", f"{cs:,.0f}", f"{as_:,.0f}", ratio(cs, as_)))
        cp = max(x["latency"]["p99_ms"] for x in c); ap = max(x["latency"]["p99_ms"] for x in a)
        rows.append((f"ingest, {n} peer(s), POST p99 ms", f"{cp:.2f}", f"{ap:.2f}", ratio(cp, ap, True)))
c, a = load("campanile-latency.json"), load("alertmanager-latency.json")
if c and a:
    for q in ("p50_ms", "p99_ms"):
        rows.append((f"notification latency, 3 peers, {q[:3]} ms ({c['received']}/{c['probes']}; {a['received']}/{a['probes']} told)", f"{c['latency'][q]:.2f}", f"{a['latency'][q]:.2f}", ratio(c['latency'][q], a['latency'][q], True)))
c, a = lines("campanile-failover.jsonl"), lines("alertmanager-failover.jsonl")
if c and a:
    for q, name in ((0.5, "p50"), (0.99, "p99")):
        cv = pct([x["last_ms"] / 1e3 for x in c], q); av = pct([x["last_ms"] / 1e3 for x in a], q)
        rows.append((f"failover, kill -9 to the last probe told, {name} s ({len(c)}; {len(a)} trials)", f"{cv:.2f}", f"{av:.2f}", ratio(cv, av, True)))
    lost_c = sum(x["probes"] - x["received"] for x in c); lost_a = sum(x["probes"] - x["received"] for x in a)
    rows.append(("failover, probes never told", str(lost_c), str(lost_a), ""))
print("| measurement | campanile | Alertmanager 0.25 | campanile advantage |")
print("|---|--:|--:|--:|")
for r in rows:
    print("| " + " | ".join(r) + " |")
EOF
} >"$out/results.md"
cat "$out/results.md"
