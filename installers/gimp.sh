#!/bin/sh
# Install PocketSR into Gimp: sh installers/gimp.sh [--dry-run] [--wheelhouse DIR] ...
# Any pocketsr install option works; "uninstall" or "doctor" as the first word runs those.
set -e
here=$(cd "$(dirname "$0")" && pwd)
py=${POCKETSR_BOOTSTRAP_PYTHON:-$(command -v python3 || command -v python)}
[ -n "$py" ] || { echo "PocketSR needs Python 3.10+ (python3) to install." >&2; exit 1; }
case "$1" in
  uninstall) shift; exec "$py" "$here/bootstrap.py" uninstall --host gimp "$@" ;;
  doctor) shift; exec "$py" "$here/bootstrap.py" doctor "$@" ;;
esac
exec "$py" "$here/bootstrap.py" install --host gimp "$@"
