#!/usr/bin/env bash
# One entry point for a fresh machine: `./run.sh demo` upscales a sample, `./run.sh test` runs the suite.
# Both are idempotent: the virtual environment in .venv is made once and reused.
set -euo pipefail
cd "$(dirname "$0")"
VENV=${POCKETSR_VENV:-.venv}
PY=${PYTHON:-python3}

ensure_venv() {
    [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
}

case "${1:-}" in
demo)
    ensure_venv
    "$VENV/bin/python" -m pip install -q -e '.[viewer]' scikit-image
    "$VENV/bin/pocketsr" demo "${@:2}"
    ;;
test)
    ensure_venv
    # The pinned CPU build first: an unpinned torch would pull a multi-GB CUDA build.
    "$VENV/bin/python" -m pip install -q torch==2.13.0
    "$VENV/bin/python" -m pip install -q -e '.[dev,train]'
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    QT_QPA_PLATFORM=offscreen "$VENV/bin/python" -m pytest -q -p no:cacheprovider "${@:2}"
    ;;
*)
    echo "usage: ./run.sh demo | ./run.sh test [pytest args]" >&2
    exit 2
    ;;
esac
