#!/usr/bin/env bash
# A cached Debian 13 ("trixie") chroot holding real GIMP 3 and Krita 5.2 for the host tests.
#
#   tests/tools/host_chroot.sh build            make the chroot once (reused when its stamp exists)
#   tests/tools/host_chroot.sh path             print the chroot's root folder
#   tests/tools/host_chroot.sh check            exit 0 when the chroot is built and usable
#   tests/tools/host_chroot.sh run [-- ] CMD..  run CMD inside (builds first when missing)
#
# The chroot lives OUTSIDE the checkout, in ${POCKETSR_HOST_CHROOT:-/var/cache/pocketsr-test/trixie}
# (about 1.5 GB, 100-200 s to build the first time). Building needs root, mmdebstrap (installed
# with apt-get when missing) and Debian's package archive.
#
# "run" mounts /proc and binds /dev, and binds READ-ONLY at identical paths what a plug-in needs
# to reach the engine worker: the checkout, the project's venv and the venv's base interpreter
# (sys.base_prefix). HOME inside is a writable throwaway folder: $POCKETSR_HOST_HOME when set
# (it is bound at the same path), else a fresh temporary one. Everything is unmounted in a trap.
# Extra read-write binds: POCKETSR_HOST_BINDS="DIR1:DIR2" (bound at identical paths).
# Exit codes: 3 = cannot build here (not root / no mmdebstrap / no archive), else CMD's own.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CHECKOUT=$(cd "$HERE/../.." && pwd)
ROOT=${POCKETSR_HOST_CHROOT:-/var/cache/pocketsr-test/trixie}
STAMP="$ROOT/.pocketsr-chroot-stamp"
PACKAGES="gimp,krita,python3-pyqt5,xvfb,xauth"
STAMP_TEXT="trixie apt $PACKAGES v1"
VENV=${POCKETSR_VENV:-$CHECKOUT/.venv}

die() { echo "host_chroot: $*" >&2; exit "${2:-1}"; }

machine_mirror() {
    { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
      grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{for(i=2;i<=NF;i++) if ($i ~ /^https?:/) print $i}'
    } | grep -E '/debian/?$' | head -n 1 || true
}

is_built() { [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_TEXT" ] && [ -x "$ROOT/usr/bin/gimp-console-3.0" ]; }

build() {
    is_built && return 0
    [ "$(id -u)" = 0 ] || die "building the chroot needs root" 3
    if ! command -v mmdebstrap >/dev/null; then
        command -v apt-get >/dev/null || die "mmdebstrap is missing and there is no apt-get" 3
        echo "host_chroot: installing mmdebstrap" >&2
        # Other jobs on the machine may hold dpkg's lock: wait for it rather than fail.
        local lock=(-o DPkg::Lock::Timeout=600)
        apt-get "${lock[@]}" install -y -q mmdebstrap >&2 \
            || { apt-get "${lock[@]}" update -q >&2 && apt-get "${lock[@]}" install -y -q mmdebstrap >&2; } \
            || die "could not install mmdebstrap" 3
    fi
    local mirror=${POCKETSR_DEBIAN_MIRROR:-$(machine_mirror)}
    [ -n "$mirror" ] || die "no Debian mirror in apt's sources; set POCKETSR_DEBIAN_MIRROR" 3
    local stage="$ROOT.tmp.$$"
    rm -rf "$stage"
    mkdir -p "$(dirname "$ROOT")"
    echo "host_chroot: building $ROOT from $mirror (once; ~100-200 s, ~1.5 GB)" >&2
    if ! mmdebstrap --variant=apt --aptopt='APT::Install-Recommends "false"' \
        --include="$PACKAGES" trixie "$stage" "$mirror" >&2; then
        rm -rf "$stage"
        die "mmdebstrap failed (archive unreachable?)" 3
    fi
    echo "$STAMP_TEXT" >"$stage/.pocketsr-chroot-stamp"
    rm -rf "$ROOT"
    mv "$stage" "$ROOT"
}

MOUNTED=()
cleanup() {
    local i
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
        umount -l "${MOUNTED[$i]}" 2>/dev/null || true
    done
    [ -n "${TMP_HOME:-}" ] && rm -rf "$TMP_HOME"
    return 0
}

bind() {  # bind SRC [ro]: SRC at the same path inside the chroot
    local src=$1 mode=${2:-rw} dst="$ROOT$1"
    [ -e "$src" ] || return 0
    if [ -d "$src" ]; then mkdir -p "$dst"; else mkdir -p "$(dirname "$dst")"; touch "$dst"; fi
    mount --bind "$src" "$dst"
    MOUNTED+=("$dst")
    if [ "$mode" = ro ]; then mount -o remount,bind,ro "$dst"; fi
}

run() {
    [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || die "run: no command given" 2
    build
    trap cleanup EXIT INT TERM
    # Each "run" gets its own mount namespace when unshare is available, so parallel runs
    # and a killed run never leave mounts behind on the host.
    if [ -z "${POCKETSR_IN_NS:-}" ] && command -v unshare >/dev/null && unshare --mount --propagation private true 2>/dev/null; then
        POCKETSR_IN_NS=1 exec unshare --mount --propagation private "$0" run -- "$@"
    fi
    mkdir -p "$ROOT/proc"
    mount -t proc proc "$ROOT/proc"
    MOUNTED+=("$ROOT/proc")
    mount --rbind /dev "$ROOT/dev"
    mount --make-rslave "$ROOT/dev" 2>/dev/null || true
    MOUNTED+=("$ROOT/dev")
    bind "$CHECKOUT" ro
    if [ -x "$VENV/bin/python" ]; then
        local venv base
        venv=$(cd "$VENV" && pwd)
        base=$("$VENV/bin/python" -c 'import sys; print(sys.base_prefix)')
        bind "$venv" ro
        bind "$base" ro
    fi
    local home=${POCKETSR_HOST_HOME:-}
    if [ -z "$home" ]; then TMP_HOME=$(mktemp -d); home=$TMP_HOME; fi
    bind "$home"
    local extra
    IFS=':' read -r -a extra <<<"${POCKETSR_HOST_BINDS:-}"
    for d in "${extra[@]}"; do [ -n "$d" ] && bind "$d"; done
    local rc=0 chroot_bin
    chroot_bin=$(PATH="$PATH:/usr/sbin:/sbin" command -v chroot) || die "chroot is missing" 3
    env -i HOME="$home" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
        ${POCKETSR_CONFIG:+POCKETSR_CONFIG="$POCKETSR_CONFIG"} \
        ${POCKETSR_PYTHON:+POCKETSR_PYTHON="$POCKETSR_PYTHON"} \
        ${POCKETSR_HOST_ENV:-} \
        "$chroot_bin" "$ROOT" "$@" || rc=$?
    return "$rc"
}

case "${1:-}" in
build) build ;;
path) echo "$ROOT" ;;
check) is_built ;;
run) shift; run "$@" ;;
*) echo "usage: $0 build | path | check | run -- CMD..." >&2; exit 2 ;;
esac
