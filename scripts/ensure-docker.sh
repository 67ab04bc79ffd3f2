#!/usr/bin/env bash
# Make sure a Docker engine answers; used by setup.sh and usable alone (tests, CI).
#
# As root, when no engine answers: install docker.io with apt-get if dockerd is missing,
# start dockerd (systemd if it runs, else in the background with setsid nohup, logging
# to $ABC_DOCKERD_LOG) and wait up to $ABC_DOCKERD_WAIT seconds for it to answer.
# Not root: print what to do and exit 1. Idempotent: an answering engine is left alone.
#
# Environment:
#   ABC_DOCKERD_LOG   dockerd's log file (default /var/log/abc-dockerd.log)
#   ABC_DOCKERD_WAIT  seconds to wait for the engine (default 60)
#   ABC_DOCKERD_ARGS  extra dockerd flags, e.g. "--iptables=false" in odd sandboxes
set -euo pipefail

LOG_FILE="${ABC_DOCKERD_LOG:-/var/log/abc-dockerd.log}"
WAIT_SECONDS="${ABC_DOCKERD_WAIT:-60}"
PID_FILE=/var/run/docker.pid

say() { printf '[ensure-docker] %s\n' "$*" >&2; }

engine_answers() {
    if command -v docker >/dev/null 2>&1; then
        timeout 20 docker info >/dev/null 2>&1
    elif command -v curl >/dev/null 2>&1 && [ -S /var/run/docker.sock ]; then
        curl -fsS --max-time 10 --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null 2>&1
    else
        return 1
    fi
}

server_version() {
    docker version --format '{{.Server.Version}}' 2>/dev/null || echo "unknown version"
}

dockerd_running() {
    [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE" 2>/dev/null)" 2>/dev/null
}

if engine_answers; then
    say "Docker engine answers (server $(server_version))."
    exit 0
fi

# A remote or custom engine is the user's to start: starting a local one would not help.
if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST}" != "unix:///var/run/docker.sock" ]; then
    say "DOCKER_HOST=${DOCKER_HOST} does not answer. Start that engine, or unset DOCKER_HOST"
    say "to use a local one, then run this script again."
    exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
    say "No Docker engine answers, and installing or starting one needs root. Do one of:"
    if [ -S /var/run/docker.sock ]; then
        say "  - the engine runs but you may not use its socket: sudo usermod -aG docker \"$USER\""
        say "    then log out and in again (or run: newgrp docker)"
    fi
    say "  - sudo bash scripts/ensure-docker.sh   (installs docker.io if needed and starts dockerd)"
    say "  - or by hand: sudo apt-get install -y docker.io && sudo systemctl start docker"
    say "    (without systemd: sudo dockerd > /tmp/dockerd.log 2>&1 &)"
    say "Then run scripts/setup.sh again."
    exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
        say "dockerd is not installed and there is no apt-get: install Docker Engine for this"
        say "distribution (https://docs.docker.com/engine/install/), then run this script again."
        exit 1
    fi
    say "dockerd is missing: apt-get install docker.io (about 15 s)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq docker.io >/dev/null
fi

start=$SECONDS
started_pid=""
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    say "starting docker with systemctl"
    systemctl start docker || say "systemctl start docker failed; see: journalctl -u docker"
elif dockerd_running; then
    say "dockerd (pid $(cat "$PID_FILE")) is running but not answering yet; waiting for it"
else
    # A pid file left by a killed dockerd makes a new one refuse to start.
    rm -f "$PID_FILE"
    mkdir -p "$(dirname "$LOG_FILE")"
    say "starting dockerd in the background (log: $LOG_FILE)"
    # setsid + nohup: the daemon outlives this shell and its terminal.
    # shellcheck disable=SC2086  # ABC_DOCKERD_ARGS is a list of flags
    setsid nohup dockerd ${ABC_DOCKERD_ARGS:-} >>"$LOG_FILE" 2>&1 </dev/null &
    started_pid=$!
fi

fail() {
    say "$1 Last lines of $LOG_FILE:"
    tail -n 30 "$LOG_FILE" >&2 2>/dev/null || true
    say "Inside a container dockerd needs --privileged; without iptables try"
    say "ABC_DOCKERD_ARGS=--iptables=false; a different storage driver: --storage-driver=vfs."
    exit 1
}

while ! engine_answers; do
    if [ -n "$started_pid" ] && ! kill -0 "$started_pid" 2>/dev/null; then
        fail "dockerd exited after $((SECONDS - start)) s."
    fi
    if [ $((SECONDS - start)) -ge "$WAIT_SECONDS" ]; then
        fail "the Docker engine did not answer within ${WAIT_SECONDS} s."
    fi
    sleep 1
done
say "Docker engine answers after $((SECONDS - start)) s (server $(server_version))."
