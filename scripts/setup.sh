#!/usr/bin/env bash
# From a fresh checkout to a working pipeline, idempotently (a second run takes seconds):
#   1. the Python environment: uv (installed with pip if missing), then `uv sync --frozen`;
#      without any way to get uv, a plain venv and pip (versions then not from uv.lock);
#   2. a Docker engine that answers (scripts/ensure-docker.sh);
#   3. the base images (python -m pipeline.runtime.base_images ensure);
#   4. Debian's chromium, in which tests/test_report.py renders `abc-pipeline report`'s page
#      (as root with apt-get; otherwise it says what to do, and that test skips locally).
#
# Usage: scripts/setup.sh [--docker-only] [--no-images] [--all-images] [--offline]
#   --docker-only  only step 2 (what tests and CI need to get an engine)
#   --no-images    skip step 3
#   --all-images   build every recipe in docker/base, not only python and node
#   --offline      never pull base images; build local stand-ins
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/abc-pipeline/uv-tool"

say() { printf '[setup] %s\n' "$*" >&2; }

docker_only=0
images=1
ensure_args=()
for arg in "$@"; do
    case "$arg" in
        --docker-only) docker_only=1 ;;
        --no-images) images=0 ;;
        --all-images) ensure_args+=(--all) ;;
        --offline) ensure_args+=(--offline) ;;
        -h | --help)
            sed -n '2,/^set -euo/{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            say "unknown option: $arg (see --help)"
            exit 2
            ;;
    esac
done

find_uv() {
    local candidate
    for candidate in "$(command -v uv 2>/dev/null || true)" "$HOME/.local/bin/uv" "$HOME/.cargo/bin/uv" \
        "$TOOLS_DIR/bin/uv"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

install_uv() {
    say "uv is missing: installing it with pip"
    # --user first; Debian's python refuses that (PEP 668), so then a private venv.
    if python3 -m pip --version >/dev/null 2>&1 &&
        python3 -m pip install --quiet --user uv >/dev/null 2>&1 && find_uv >/dev/null; then
        return 0
    fi
    if python3 -m venv "$TOOLS_DIR" >/dev/null 2>&1 &&
        "$TOOLS_DIR/bin/python" -m pip install --quiet uv && find_uv >/dev/null; then
        return 0
    fi
    return 1
}

python_env() {
    local uv
    # A machine behind a TLS proxy trusts it through the system store: let uv use it.
    export UV_NATIVE_TLS="${UV_NATIVE_TLS:-1}"
    if ! uv="$(find_uv)"; then
        install_uv || true
        uv="$(find_uv || true)"
    fi
    if [ -n "$uv" ]; then
        say "Python environment: $uv sync --frozen --compile-bytecode"
        # Bytecode compiled once here: where PYTHONDONTWRITEBYTECODE is set, every CLI call
        # would otherwise compile Prefect from source again (about 2 s).
        (cd "$ROOT" && "$uv" sync --frozen --quiet --compile-bytecode)
        return 0
    fi
    # Last resort. The stamp keeps a second run from reinstalling everything.
    say "uv cannot be installed: falling back to python3 -m venv + pip (versions not pinned by uv.lock)"
    local stamp="$ROOT/.venv/.abc-pip-stamp" want
    want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$ROOT/.venv/bin/python" ]; then
        say "Python environment already installed"
        return 0
    fi
    if ! python3 -m venv "$ROOT/.venv"; then
        say "python3 -m venv failed: install python3-venv (sudo apt-get install -y python3-venv)"
        exit 1
    fi
    "$ROOT/.venv/bin/python" -m pip install --quiet --upgrade pip
    "$ROOT/.venv/bin/python" -m pip install --quiet -e "$ROOT" "ruff>=0.6" "pytest-timeout>=2.3"
    echo "$want" >"$stamp"
}

# A headless browser for the report's rendering test. Not needed to run the pipeline, so
# a machine where it cannot be installed is told how, and setup goes on.
ensure_chromium() {
    if command -v chromium >/dev/null 2>&1; then
        say "chromium: $(chromium --version 2>/dev/null || echo installed)"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        say "chromium is missing (tests/test_report.py renders the report in it; without it that"
        say "test skips, and fails under CI=true): sudo apt-get install -y chromium"
        return 0
    fi
    say "chromium is missing: apt-get install chromium (about a minute)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
}

start=$SECONDS
if [ "$docker_only" -eq 0 ]; then
    python_env
    ensure_chromium
fi

bash "$ROOT/scripts/ensure-docker.sh"

if [ "$docker_only" -eq 0 ] && [ "$images" -eq 1 ]; then
    say "base images: python -m pipeline.runtime.base_images ensure ${ensure_args[*]:-}"
    (cd "$ROOT" && "$ROOT/.venv/bin/python" -m pipeline.runtime.base_images ensure "${ensure_args[@]}")
fi
say "done in $((SECONDS - start)) s"
