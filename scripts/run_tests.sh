#!/usr/bin/env bash
# `make test`'s pytest run, as two pytest processes at once:
#   - the quick part: the ~1000 tests that need neither a Docker engine nor a host compiler
#     (CPU-bound, about 11 minutes on their own on 2 cores);
#   - the slow part: the ~200 `docker` and `toolchain` tests, which mostly wait on image
#     builds, registries and running services (about 45 minutes on their own).
# Run one after the other they took 57 minutes on 2 cores; side by side the quick part
# fits in the slow part's waits. Each has its own temporary folder (pytest's clean-up of
# old ones must not reach the other's) and the quick part's report is printed when it
# ends, not interleaved. The exit status is the first non-zero one of the two.
# Arguments go to both runs (e.g. -x, -k name).
set -uo pipefail
cd "$(dirname "$0")/.."

pytest=.venv/bin/pytest
scratch=$(mktemp -d "${TMPDIR:-/tmp}/abc-pipeline-tests.XXXXXX")
quick_log="$scratch/quick.log"

# The quick part does not write pytest's cache: two processes must not race on it.
"$pytest" -q --durations=10 -p no:cacheprovider --basetemp "$scratch/quick" \
  -m "not docker and not toolchain" "$@" >"$quick_log" 2>&1 &
quick_pid=$!
# Ctrl-C or a CI time-out stops both.
trap 'kill "$quick_pid" 2>/dev/null' INT TERM

echo "[tests] quick part (no Docker, no compiler) running beside this one; its report follows this one's"
"$pytest" -q --durations=25 --basetemp "$scratch/slow" -m "docker or toolchain" "$@"
slow_status=$?

wait "$quick_pid"
quick_status=$?
echo
echo "[tests] quick part (no Docker, no compiler):"
cat "$quick_log"
rm -rf "$scratch"

echo "[tests] slow part exit $slow_status, quick part exit $quick_status"
# pytest's 5 is "no tests collected", which `-k` can make of one part on purpose.
for status in "$slow_status" "$quick_status"; do
  if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then
    exit "$status"
  fi
done
if [ "$slow_status" -eq 5 ] && [ "$quick_status" -eq 5 ]; then
  exit 5
fi
exit 0
