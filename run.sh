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

# Debian packages the real-host and real-X tests need on the machine itself: Xvfb and the
# libraries of Qt's xcb platform plug-in (viewer), Krita 5.1 with PyQt5 (Debian 12's own).
SYSTEM_PACKAGES="xvfb xauth krita python3-pyqt5 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 libegl1 libgl1 libfontconfig1
 libdbus-1-3 debian-archive-keyring"

system_packages() {
    # shellcheck disable=SC2086
    if dpkg -s $SYSTEM_PACKAGES >/dev/null 2>&1; then return 0; fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "run.sh: cannot install $SYSTEM_PACKAGES (needs root + apt); those tests skip" >&2
        return 0
    fi
    apt-get update -q >/dev/null
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $SYSTEM_PACKAGES >/dev/null
}

case "${1:-}" in
demo)
    ensure_venv
    "$VENV/bin/python" -m pip install -q -e '.[viewer]' scikit-image
    "$VENV/bin/pocketsr" demo "${@:2}"
    ;;
test)
    system_packages
    ensure_venv
    # The pinned CPU build first: an unpinned torch would pull a multi-GB CUDA build.
    "$VENV/bin/python" -m pip install -q torch==2.13.0
    "$VENV/bin/python" -m pip install -q -e '.[dev,train]'
    # Real GIMP 3 / Krita 5.2 live in a cached Debian 13 chroot outside the checkout.
    bash tests/tools/host_chroot.sh build ||
        echo "run.sh: no GIMP/Krita chroot (needs root + mmdebstrap); host tests will skip" >&2
    bash tests/tools/get_python27.sh >/dev/null ||
        echo "run.sh: no Python 2.7 for the GIMP 2.10 bridge tests" >&2
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    QT_QPA_PLATFORM=offscreen "$VENV/bin/python" -m pytest -q -p no:cacheprovider "${@:2}"
    ;;
*)
    echo "usage: ./run.sh demo | ./run.sh test [pytest args]" >&2
    exit 2
    ;;
esac
