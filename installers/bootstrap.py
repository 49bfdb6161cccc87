"""Run the installer from a source checkout or release folder, before pocketsr is installed.

Used by gimp.sh, krita.sh and their .ps1 twins: maps the folders to the `pocketsr` package
the way pyproject.toml does, then calls pocketsr.installers.cli.main(argv).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "pocketsr": "pocketsr",
    "pocketsr.installers": "installers",
    "pocketsr.plugin": "plugin",
}  # not pocketsr.engine: it needs numpy, which the installing Python may lack


def _map_packages() -> None:
    """Make `import pocketsr.X` load from this folder tree."""
    for name, folder in PACKAGES.items():
        if name in sys.modules:
            continue
        init = ROOT / folder / "__init__.py"
        spec = importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[str(init.parent)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)


def main() -> int:
    """Entry point of the thin install scripts."""
    if sys.version_info < (3, 10):  # noqa: UP036 - this file runs before any check
        print("PocketSR needs Python 3.10 or newer to install; found " + sys.version.split()[0])
        return 1
    _map_packages()  # this folder's version, even when another pocketsr is installed
    from pocketsr.installers.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
