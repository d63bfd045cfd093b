#!/usr/bin/env bash
# Builds campanile's container image with podman (scripts/build-image.sh), runs it as shipped —
# the example configuration, log receivers, a named /data volume — and checks it end to end:
# it runs as a non-root user, becomes healthy, accepts an alert, writes the notification to its
# log, exposes metrics, stops cleanly on SIGTERM, and still holds the alert after a restart.
# Exits non-zero on any failure, printing what it saw (and the container's log).
#
# Installs what it needs when missing (Debian: podman, runc, musl-tools, curl). Podman on the
# CI machines needs the runc runtime and no default ulimits: set through a generated
# containers.conf (CONTAINERS_CONF) unless CONTAINERS_CONF is already set.
#
# `--prepare` only installs what it needs and builds the image's binary (scripts/test.sh runs
# that beside the tests).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

started=$SECONDS
say() { printf '== %s (%ss)\n' "$*" "$((SECONDS - started))"; }

missing=()
for pkg in podman runc musl-tools curl; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "${1:-}" = --prepare ]; then
    say "building the image's binary"
    bash scripts/build-image.sh --binary-only
    exit 0
fi

work="$(mktemp -d)"
name="campanile-test-$$"
volume="campanile-test-data-$$"
image="localhost/campanile-test"
if [ -z "${CONTAINERS_CONF:-}" ]; then
    cat >"$work/containers.conf" <<'CONF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
CONF
    export CONTAINERS_CONF="$work/containers.conf"
fi

cleanup() {
    status=$?
    if [ "$status" -ne 0 ] && podman container exists "$name" 2>/dev/null; then
        echo "----- container log -----"
        podman logs "$name" 2>&1 | tail -n 100 || true
        echo "----- end of container log -----"
    fi
    podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
    podman volume rm -f "$volume" >/dev/null 2>&1 || true
    podman rmi -f "$image:latest" >/dev/null 2>&1 || true
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Polls `$@` every half second for up to $timeout seconds.
wait_for() {
    local timeout=$1 what=$2
    shift 2
    local deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${timeout}s waiting for $what"
        sleep 0.5
    done
}

say "building the image"
ref="$(IMAGE="$image" bash scripts/build-image.sh --quiet | tail -n 1)"
size="$(podman image inspect --format '{{.Size}}' "$ref")"
say "built $ref: $((size / 1024 / 1024)) MiB"

user="$(podman image inspect --format '{{.Config.User}}' "$ref")"
[ "$user" = "10001:10001" ] || fail "image user is '$user', expected 10001:10001"
health="$(podman image inspect --format '{{.Config.Healthcheck}}' "$ref")"
case "$health" in *healthcheck*) ;; *) fail "image has no HEALTHCHECK: '$health'" ;; esac
volumes="$(podman image inspect --format '{{.Config.Volumes}}' "$ref")"
case "$volumes" in */data*) ;; *) fail "image has no /data volume: '$volumes'" ;; esac

# A free loopback port for the published 9797.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"

run_container() {
    podman run -d --name "$name" -p "127.0.0.1:$port:9797" -v "$volume:/data" \
        --health-interval disable "$ref" >/dev/null
}
ready() { curl -fsS --max-time 2 "$base/-/ready"; }

say "starting the container on $base"
run_container
wait_for 60 "$base/-/ready" ready

uid="$(podman exec "$name" /campanile --version >/dev/null && podman top "$name" huser user | tail -n +2)"
say "running as: $uid"
case "$uid" in *10001*) ;; *) fail "the process does not run as uid 10001: $uid" ;; esac
podman healthcheck run "$name" || fail "podman healthcheck run reports unhealthy"

alertname="ContainerTest$$"
say "posting $alertname"
# The answer's body goes to a file (not -o /dev/stderr: curl would reopen, and truncate, a log
# file that stderr is redirected to).
reply="$(curl -sS -o "$work/reply" -w '%{http_code}' -XPOST "$base/api/v2/alerts" \
    -H 'content-type: application/json' \
    -d "[{\"labels\":{\"alertname\":\"$alertname\",\"severity\":\"critical\",\"cluster\":\"ci\"},
          \"annotations\":{\"summary\":\"posted by scripts/container-test.sh\"}}]")"
[ "$reply" = 200 ] || fail "POST /api/v2/alerts answered $reply: $(cat "$work/reply")"

# group_wait is 30s in the example; severity critical goes to the `pager` receiver (a log one).
# No pipes into `grep -q` (it ends early, and with pipefail the writer's SIGPIPE fails the
# check): what is searched is read whole first.
container_log() { podman logs "$name" 2>&1; }
notified() {
    local lines
    lines="$(grep -F "$alertname" <<<"$(container_log)")" || return 1
    grep -q 'receiver=pager' <<<"$lines"
}
say "waiting for the notification in the container log (group_wait 30s)"
wait_for 90 "a notification for $alertname to the pager receiver" notified
# Through a file: `grep -m 1` ends early, and with pipefail podman's SIGPIPE would end the test.
podman logs "$name" >"$work/container.log" 2>&1
grep -F -m 1 -B 1 "$alertname" "$work/container.log" | sed 's/^/   | /'

metrics="$(curl -fsS "$base/metrics")"
for series in \
    'campanile_alerts_received_total{endpoint="api_v2",outcome="accepted"} 1' \
    'campanile_notifications_total{receiver="pager",integration="log",outcome="sent"} 1' \
    'campanile_build_info{'; do
    grep -qF "$series" <<<"$metrics" || fail "/metrics lacks '$series':
$metrics"
done

say "stopping (SIGTERM)"
podman stop -t 20 "$name" >/dev/null
code="$(podman inspect --format '{{.State.ExitCode}}' "$name")"
[ "$code" = 0 ] || fail "campanile exited with $code on SIGTERM"
grep -q stopped <<<"$(container_log)" || fail "no 'stopped' line in the log"

say "restarting with the same /data volume"
podman start "$name" >/dev/null
wait_for 60 "$base/-/ready after the restart" ready
grep -qF "$alertname" <<<"$(curl -fsS "$base/api/v2/alerts")" ||
    fail "the alert did not survive the restart: $(curl -sS "$base/api/v2/alerts")"

say "PASS: image $ref ($((size / 1024 / 1024)) MiB)"
