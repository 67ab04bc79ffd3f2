#!/usr/bin/env bash
# The whole suite, as `make test` and CI run it: the tests that need no Docker engine run
# in a second pytest process beside the Docker ones. On two cores the Docker tests leave
# a core idle for much of their time (a service starting, a harness polling, a registry
# answering), and the ~1100 tests without Docker fill it. Each process has its own
# temporary folder; both must pass. Extra arguments go to both.
set -uo pipefail
cd "$(dirname "$0")/.."

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

.venv/bin/pytest -q -p no:cacheprovider -m "not docker" --basetemp="$scratch/tmp" --durations=10 "$@" \
    > "$scratch/without-docker.log" 2>&1 &
without_docker=$!

.venv/bin/pytest -q -m docker --durations=25 "$@"
docker_status=$?

wait "$without_docker"
without_docker_status=$?
echo
echo "=== the tests without Docker (a process of their own, beside the Docker tests) ==="
cat "$scratch/without-docker.log"

if [ "$docker_status" -ne 0 ] || [ "$without_docker_status" -ne 0 ]; then
    echo "FAILED: Docker tests exit $docker_status, tests without Docker exit $without_docker_status" >&2
    exit 1
fi
