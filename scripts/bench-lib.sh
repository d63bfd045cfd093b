# What the benchmark scripts share; sourced, not run.

log() { printf '\n== %s\n' "$*" >&2; }

# stop_pid PID: SIGTERM, up to 15 s for the process to exit, then SIGKILL; reaps it.
stop_pid() {
    local pid="$1"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 300); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    [[ -n "$pid" ]] && wait "$pid" 2>/dev/null || true
}

# install_missing PACKAGE...: installs the Debian packages not installed yet.
install_missing() {
    local missing=() sudo=""
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        log "installing ${missing[*]}"
        [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
        $sudo apt-get install -y "${missing[@]}"
    fi
}
