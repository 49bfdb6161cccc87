"""Fixtures for installer tests: a fake plug-in source tree and a throwaway home per platform."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from pocketsr.installers import engine_env, platforms, transaction

ENV_KEYS = (
    "HOME", "USERPROFILE", "APPDATA", "LOCALAPPDATA", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
    "XDG_STATE_HOME", "POCKETSR_CONFIG", "POCKETSR_LOG_DIR", "POCKETSR_PYTHON",
)  # fmt: skip

SOURCE_FILES = {
    "bridge.py": "# bridge\n",
    "pocketsr_link/__init__.py": "# link\n",
    "pocketsr_link/wire.py": "# wire\n",
    "gimp/pocketsr_upscale.py": "#!/usr/bin/env python3\n# gimp 3 entry\n",
    "gimp/pocketsr_upscale_210.py": "#!/usr/bin/env python2\n# gimp 2.10 entry\n",
    "gimp/pocketsr_gimp/__init__.py": "",
    "gimp/pocketsr_gimp/adapter.py": "# adapter\n",
    "gimp/pocketsr_gimp/__pycache__/adapter.cpython-311.pyc": "junk",
    "krita/pocketsr_upscale/__init__.py": "# krita\n",
    "krita/pocketsr_upscale/plugin.py": "# krita plugin\n",
    "krita/pocketsr_upscale.desktop": "[Desktop Entry]\nType=Service\n",
    "krita/pocketsr_upscale.action": "<ActionCollection/>\n",
}

G3 = "plug-ins/pocketsr_upscale"
EXPECTED = {
    "gimp": {
        f"{G3}/pocketsr_upscale.py": ("gimp/pocketsr_upscale.py", True),
        f"{G3}/pocketsr_gimp/__init__.py": ("gimp/pocketsr_gimp/__init__.py", False),
        f"{G3}/pocketsr_gimp/adapter.py": ("gimp/pocketsr_gimp/adapter.py", False),
        f"{G3}/pocketsr_bridge.py": ("bridge.py", False),
        f"{G3}/pocketsr_link/__init__.py": ("pocketsr_link/__init__.py", False),
        f"{G3}/pocketsr_link/wire.py": ("pocketsr_link/wire.py", False),
    },
    "gimp2": {
        "plug-ins/pocketsr_upscale_210.py": ("gimp/pocketsr_upscale_210.py", True),
        "plug-ins/pocketsr_gimp/__init__.py": ("gimp/pocketsr_gimp/__init__.py", False),
        "plug-ins/pocketsr_gimp/adapter.py": ("gimp/pocketsr_gimp/adapter.py", False),
        "plug-ins/pocketsr_bridge.py": ("bridge.py", False),
        "plug-ins/pocketsr_link/__init__.py": ("pocketsr_link/__init__.py", False),
        "plug-ins/pocketsr_link/wire.py": ("pocketsr_link/wire.py", False),
    },
    "krita": {
        "pykrita/pocketsr_upscale/__init__.py": ("krita/pocketsr_upscale/__init__.py", False),
        "pykrita/pocketsr_upscale/plugin.py": ("krita/pocketsr_upscale/plugin.py", False),
        "pykrita/pocketsr_upscale/pocketsr_bridge.py": ("bridge.py", False),
        "pykrita/pocketsr_upscale/pocketsr_link/__init__.py": ("pocketsr_link/__init__.py", False),
        "pykrita/pocketsr_upscale/pocketsr_link/wire.py": ("pocketsr_link/wire.py", False),
        "pykrita/pocketsr_upscale.desktop": ("krita/pocketsr_upscale.desktop", False),
        "actions/pocketsr_upscale.action": ("krita/pocketsr_upscale.action", False),
    },
}  # fmt: skip

PLATFORMS = ["linux-native", "linux-flatpak", "linux-snap", "windows", "macos"]


@dataclass
class World:
    """A throwaway home for one platform and install flavour, with the paths to expect."""

    system: str
    home: Path
    roots: dict[str, Path]  # host -> profile / data folder
    kritarc: Path
    configs: dict[str, Path]  # host -> plug-in config path seen by that host
    data: Path  # PocketSR's own data folder
    source: Path

    def make_profiles(self, *hosts: str) -> None:
        """Create the hosts' profile folders, as a first start of the host would."""
        for host in hosts or tuple(self.roots):
            self.roots[host].mkdir(parents=True, exist_ok=True)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write a dict of relative path -> text below root."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _expected(kind: str, home: Path) -> tuple[str, dict[str, Path], Path, dict[str, Path], Path]:
    """(system, roots, kritarc, configs, data) written out by hand for each platform."""
    cfg, share = home / ".config", home / ".local" / "share"
    native_cfg = cfg / "pocketsr" / "plugin.json"
    if kind == "linux-native":
        roots = {"gimp": cfg / "GIMP/3.0", "gimp2": cfg / "GIMP/2.10", "krita": share / "krita"}
        return "linux", roots, cfg / "kritarc", dict.fromkeys(roots, native_cfg), share / "pocketsr"
    if kind == "linux-flatpak":
        g, k = home / ".var/app/org.gimp.GIMP", home / ".var/app/org.kde.krita"
        roots = {"gimp": g / "config/GIMP/3.0", "gimp2": g / "config/GIMP/2.10",
                 "krita": k / "data/krita"}  # fmt: skip
        gcfg = g / "config/pocketsr/plugin.json"
        configs = {"gimp": gcfg, "gimp2": gcfg, "krita": k / "config/pocketsr/plugin.json"}
        return "linux", roots, k / "config/kritarc", configs, share / "pocketsr"
    if kind == "linux-snap":
        g, k = home / "snap/gimp/current/.config", home / "snap/krita/current"
        roots = {
            "gimp": g / "GIMP/3.0",
            "gimp2": g / "GIMP/2.10",
            "krita": k / ".local/share/krita",
        }
        configs = {"gimp": g / "pocketsr/plugin.json", "gimp2": g / "pocketsr/plugin.json",
                   "krita": k / ".config/pocketsr/plugin.json"}  # fmt: skip
        return "linux", roots, k / ".config/kritarc", configs, share / "pocketsr"
    if kind == "windows":
        roaming, local = home / "AppData/Roaming", home / "AppData/Local"
        roots = {"gimp": roaming / "GIMP/3.0", "gimp2": roaming / "GIMP/2.10",
                 "krita": roaming / "krita"}  # fmt: skip
        configs = dict.fromkeys(roots, roaming / "PocketSR/plugin.json")
        return "windows", roots, local / "kritarc", configs, local / "PocketSR"
    support = home / "Library/Application Support"
    roots = {
        "gimp": support / "GIMP/3.0",
        "gimp2": support / "GIMP/2.10",
        "krita": support / "krita",
    }
    configs = dict.fromkeys(roots, support / "PocketSR/plugin.json")
    return "macos", roots, home / "Library/Preferences/kritarc", configs, support / "PocketSR"


def make_world(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """Fake platform detection and point every per-user folder into tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(home))
    system, roots, kritarc, configs, data = _expected(kind, home)
    if system == "windows":
        monkeypatch.setenv("APPDATA", str(home / "AppData/Roaming"))
        monkeypatch.setenv("LOCALAPPDATA", str(home / "AppData/Local"))
    monkeypatch.setattr(platforms, "detect_system", lambda: system)
    source = write_tree(tmp_path / "src", SOURCE_FILES)
    return World(system, home, roots, kritarc, configs, data, source)


@pytest.fixture(params=PLATFORMS)
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """A throwaway home for each platform/flavour (platform detection faked)."""
    return make_world(request.param, tmp_path, monkeypatch)


@pytest.fixture
def linux(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """A throwaway home on native Linux."""
    return make_world("linux-native", tmp_path, monkeypatch)


@pytest.fixture(autouse=True)
def fast_probe(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Skip the engine import check (slow) unless a test is marked real_engine."""
    if "real_engine" not in request.fixturenames:
        monkeypatch.setattr(engine_env, "probe", lambda python, timeout=120.0: ("0.1.0", ""))


@pytest.fixture
def real_engine() -> Path:
    """The project venv's interpreter, which can run the real engine."""
    return Path(sys.executable)


def snapshot(root: Path) -> dict[str, tuple[str, int, bytes | None]]:
    """Every path below root: kind, permission bits and file bytes."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            data = path.read_bytes() if stat.S_ISREG(st.st_mode) else None
            out[str(path.relative_to(root))] = (
                "d" if data is None else "f",
                st.st_mode & 0o777,
                data,
            )
    return out


@pytest.fixture
def make_readonly(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """Make a folder read-only; as root (which ignores modes) writes there are refused too."""
    locked: list[Path] = []

    def refuse(path: Path | str) -> None:
        p = Path(path)
        if any(p == d or d in p.parents for d in locked):
            raise PermissionError(13, "Permission denied", str(p))

    if os.geteuid() == 0:
        real_mkdtemp, real_makedir, real_replace = (
            transaction._mkdtemp, transaction._makedir, transaction._replace
        )  # fmt: skip
        monkeypatch.setattr(
            transaction, "_mkdtemp", lambda p: (refuse(p / "x"), real_mkdtemp(p))[1]
        )
        monkeypatch.setattr(transaction, "_makedir", lambda p: (refuse(p), real_makedir(p))[1])
        monkeypatch.setattr(
            transaction, "_replace", lambda s, d: (refuse(s), refuse(d), real_replace(s, d))[2]
        )

    def lock(path: Path) -> None:
        path.chmod(0o555)
        locked.append(path)

    yield lock
    for path in locked:
        path.chmod(0o755)
