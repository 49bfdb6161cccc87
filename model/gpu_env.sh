# Sourced by the GPU run scripts: import the checkout as `pocketsr` without installing it (the
# GPU host has no package index), then work from that folder, because `python -m` puts the
# working directory first on sys.path. Sets ROOT (the checkout) and PKG.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKG=$(mktemp -d); mkdir "$PKG/pocketsr"
cp "$ROOT/pocketsr/__init__.py" "$PKG/pocketsr/"
for part in engine model; do ln -s "$ROOT/$part" "$PKG/pocketsr/$part"; done
export PYTHONPATH=$PKG PYTHONUNBUFFERED=1
cd "$PKG" || exit 1
