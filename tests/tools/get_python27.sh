#!/usr/bin/env bash
# Lays a real CPython 2.7 (Debian 11 "bullseye" packages) into a cache folder, without
# installing anything system-wide, and prints the interpreter's path on stdout.
#
#   tests/tools/get_python27.sh [DEST]
#
# DEST defaults to ${POCKETSR_PY27_DIR:-${XDG_CACHE_HOME:-~/.cache}/pocketsr-test/py27}.
# Reused when already there. Run the interpreter through the wrapper DEST/python2.7,
# which sets PYTHONHOME. Needs apt-get, dpkg-deb and Debian's archive keyring.
set -euo pipefail

DEST=${1:-${POCKETSR_PY27_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pocketsr-test/py27}}
WRAPPER="$DEST/python2.7"
PACKAGES="python2.7-minimal libpython2.7-minimal libpython2.7-stdlib python2.7"
# The mirror this machine's own apt uses (first "URIs:" or "deb" line naming a .../debian root).
machine_mirror() {
    { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
      grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{for(i=2;i<=NF;i++) if ($i ~ /^https?:/) print $i}'
    } | grep -E '/debian/?$' | head -n 1 || true
}
MIRROR=${POCKETSR_DEBIAN_MIRROR:-$(machine_mirror)}
[ -n "$MIRROR" ] || { echo "get_python27: no Debian mirror found in apt's sources; set POCKETSR_DEBIAN_MIRROR" >&2; exit 3; }
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

if [ -x "$WRAPPER" ] && "$WRAPPER" -c 'import json, struct, subprocess, threading, mmap' 2>/dev/null; then
    echo "$WRAPPER"
    exit 0
fi

for tool in apt-get dpkg-deb; do
    command -v "$tool" >/dev/null || { echo "get_python27: $tool is missing" >&2; exit 3; }
done
[ -r "$KEYRING" ] || { echo "get_python27: $KEYRING is missing (apt install debian-archive-keyring)" >&2; exit 3; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/lists/partial" "$WORK/archives/partial" "$WORK/debs"
echo "deb [signed-by=$KEYRING] $MIRROR bullseye main" >"$WORK/sources.list"
APT_OPTS=(
    -o "Dir::Etc::SourceList=$WORK/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$WORK/lists"
    -o "Dir::Cache=$WORK/cache"
    -o "Dir::Cache::archives=$WORK/archives"
    -o "Debug::NoLocking=true"
    -o "APT::Sandbox::User=root"
)
mkdir -p "$WORK/cache"
# Exit status 4 means "the archive is unreachable" (the test fixture may skip on it locally).
apt-get "${APT_OPTS[@]}" -q update >&2 || { echo "get_python27: apt-get update failed" >&2; exit 4; }
if ! compgen -G "$WORK/lists/*_Packages*" >/dev/null; then
    echo "get_python27: no bullseye package index fetched from $MIRROR (archive unreachable?)" >&2
    exit 4
fi
# shellcheck disable=SC2086
(cd "$WORK/debs" && apt-get "${APT_OPTS[@]}" -q download $PACKAGES >&2)

STAGE="$DEST.tmp.$$"
rm -rf "$STAGE"
mkdir -p "$STAGE"
for deb in "$WORK"/debs/*.deb; do
    dpkg-deb -x "$deb" "$STAGE/root"
done
cat >"$STAGE/python2.7" <<'WRAP'
#!/bin/sh
# Runs the extracted bullseye python2.7 with its own standard library.
HERE=$(cd "$(dirname "$0")" && pwd)
PYTHONHOME="$HERE/root/usr" exec "$HERE/root/usr/bin/python2.7" "$@"
WRAP
chmod +x "$STAGE/python2.7"
"$STAGE/python2.7" -c 'import json, struct, subprocess, threading, mmap, tempfile' >&2
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$STAGE" "$DEST"
echo "$WRAPPER"
