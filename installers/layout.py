"""The installed layout: which plug-in source file goes where in each host's profile."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

HOSTS = ("gimp", "gimp2", "krita")
BRIDGE_NAME = "pocketsr_bridge.py"
# The bridge's package (plugin/pocketsr_link/), installed beside the bridge module.
LINK_PACKAGE = "pocketsr_link"
KRITA_PLUGIN = "pocketsr_upscale"
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


class LayoutError(Exception):
    """The plug-in sources are incomplete."""


@dataclass(frozen=True)
class Placement:
    """One file to install: source, destination relative to the profile, executable bit."""

    source: Path
    dest: PurePosixPath
    executable: bool = False


def default_source_root() -> Path:
    """The plug-in source tree shipped with this pocketsr (plugin/)."""
    from pocketsr import plugin

    return Path(plugin.__file__).resolve().parent


def _tree(source: Path, dest: PurePosixPath) -> list[Placement]:
    """Every file below `source` (caches skipped), placed below `dest`."""
    out = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_dir() or _SKIP_DIRS & set(rel.parts) or path.suffix in _SKIP_SUFFIXES:
            continue
        out.append(Placement(path, dest.joinpath(*rel.parts)))
    return out


def _require(paths: list[Path]) -> None:
    """Raise LayoutError naming every missing source path."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise LayoutError("The plug-in sources are incomplete; missing: " + ", ".join(missing))


def placements(host: str, source_root: Path) -> list[Placement]:
    """What installing `host` copies, from the plug-in source tree at `source_root`."""
    src = Path(source_root)
    bridge = src / "bridge.py"
    link = src / LINK_PACKAGE
    if host == "gimp":
        entry, pkg = src / "gimp" / "pocketsr_upscale.py", src / "gimp" / "pocketsr_gimp"
        _require([bridge, link, entry, pkg])
        base = PurePosixPath("plug-ins", "pocketsr_upscale")
        return [
            Placement(entry, base / "pocketsr_upscale.py", executable=True),
            *_tree(pkg, base / "pocketsr_gimp"),
            Placement(bridge, base / BRIDGE_NAME),
            *_tree(link, base / LINK_PACKAGE),
        ]
    if host == "gimp2":
        entry, pkg = src / "gimp" / "pocketsr_upscale_210.py", src / "gimp" / "pocketsr_gimp"
        _require([bridge, link, entry, pkg])
        base = PurePosixPath("plug-ins")
        return [
            Placement(entry, base / "pocketsr_upscale_210.py", executable=True),
            *_tree(pkg, base / "pocketsr_gimp"),
            Placement(bridge, base / BRIDGE_NAME),
            *_tree(link, base / LINK_PACKAGE),
        ]
    if host == "krita":
        krita = src / "krita"
        pkg = krita / KRITA_PLUGIN
        desktop, action = krita / f"{KRITA_PLUGIN}.desktop", krita / f"{KRITA_PLUGIN}.action"
        _require([bridge, link, pkg, desktop, action])
        base = PurePosixPath("pykrita", KRITA_PLUGIN)
        return [
            *_tree(pkg, base),
            Placement(bridge, base / BRIDGE_NAME),
            *_tree(link, base / LINK_PACKAGE),
            Placement(desktop, PurePosixPath("pykrita", f"{KRITA_PLUGIN}.desktop")),
            Placement(action, PurePosixPath("actions", f"{KRITA_PLUGIN}.action")),
        ]
    raise ValueError(f"unknown host {host!r} (choose from {', '.join(HOSTS)})")
