"""Where hosts keep their profiles and where PocketSR keeps its own files, per platform."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pocketsr.plugin.pocketsr_link import paths

SYSTEMS = ("linux", "windows", "macos")
_SYS_PLATFORM = {"linux": "linux", "windows": "win32", "macos": "darwin"}
GIMP_VERSIONS = {"gimp": "3.0", "gimp2": "2.10"}
FLATPAK_IDS = {"gimp": "org.gimp.GIMP", "gimp2": "org.gimp.GIMP", "krita": "org.kde.krita"}
SNAP_NAMES = {"gimp": "gimp", "gimp2": "gimp", "krita": "krita"}


def detect_system() -> str:
    """This machine's platform: "linux", "windows" or "macos" (tests replace this)."""
    if sys.platform == "win32":
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return "linux"


def home() -> Path:
    """The user's home folder (HOME, else the platform's rule)."""
    return Path(os.path.expanduser("~"))


def _env_dir(name: str, default: Path) -> Path:
    """An environment variable naming a folder, else the default."""
    value = os.environ.get(name)
    return Path(value) if value else default


def _environ(extra: Mapping[str, str] | None) -> dict[str, str]:
    """This process's environment with some variables replaced."""
    return {**os.environ, **(extra or {})}


def config_path(system: str, environ: Mapping[str, str] | None = None) -> Path:
    """The plug-in config file the bridge reads (the one rule: pocketsr_link/paths.py)."""
    return Path(paths.config_path(_SYS_PLATFORM[system], _environ(environ)))


def log_dir(system: str) -> Path:
    """The engine's log folder (the one rule: pocketsr_link/paths.py)."""
    return Path(paths.default_log_dir(_SYS_PLATFORM[system], _environ(None)))


def data_dir(system: str) -> Path:
    """PocketSR's own data folder: engine environment, models, install manifests."""
    if system == "windows":
        return _env_dir("LOCALAPPDATA", home() / "AppData" / "Local") / "PocketSR"
    if system == "macos":
        return home() / "Library" / "Application Support" / "PocketSR"
    return _env_dir("XDG_DATA_HOME", home() / ".local" / "share") / "pocketsr"


def engine_dir(system: str) -> Path:
    """The default folder of the engine's virtual environment."""
    return data_dir(system) / "engine"


def venv_python(venv: Path, system: str) -> Path:
    """The interpreter inside a virtual environment."""
    if system == "windows":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def models_dir(system: str) -> Path:
    """The folder where users drop extra .onnx models."""
    return data_dir(system) / "models"


def manifests_dir(system: str) -> Path:
    """Where each install records what it added."""
    return data_dir(system) / "manifests"


@dataclass(frozen=True)
class Target:
    """One host profile to install into."""

    host: str  # "gimp" (3.0), "gimp2" (2.10) or "krita"
    flavour: str  # "native", "flatpak", "snap" or "custom"
    root: Path  # GIMP profile folder or Krita resource (data) folder
    kritarc: Path | None = None  # Krita only
    config: Path | None = None  # the plug-in config as seen from inside this host

    @property
    def label(self) -> str:
        """A short human name, e.g. "GIMP 3.0 (flatpak)"."""
        names = {"gimp": "GIMP 3.0", "gimp2": "GIMP 2.10", "krita": "Krita"}
        return f"{names[self.host]} ({self.flavour})"


def _sandbox_config(system: str, config_home: Path) -> Path:
    """The plug-in config path inside a sandbox whose XDG_CONFIG_HOME is config_home."""
    return config_path(system, {"XDG_CONFIG_HOME": str(config_home), "POCKETSR_CONFIG": ""})


def candidates(host: str, system: str) -> list[Target]:
    """Every place `host` may keep its profile on `system`, found or not."""
    h = home()
    cfg = config_path(system)
    if host in GIMP_VERSIONS:
        version = GIMP_VERSIONS[host]
        if system == "windows":
            roaming = _env_dir("APPDATA", h / "AppData" / "Roaming")
            return [Target(host, "native", roaming / "GIMP" / version, config=cfg)]
        if system == "macos":
            support = h / "Library" / "Application Support"
            return [Target(host, "native", support / "GIMP" / version, config=cfg)]
        xdg = _env_dir("XDG_CONFIG_HOME", h / ".config")
        flat = h / ".var" / "app" / FLATPAK_IDS[host] / "config"
        snap = h / "snap" / SNAP_NAMES[host] / "current" / ".config"
        return [
            Target(host, "native", xdg / "GIMP" / version, config=cfg),
            Target(host, "flatpak", flat / "GIMP" / version, config=_sandbox_config(system, flat)),
            Target(host, "snap", snap / "GIMP" / version, config=_sandbox_config(system, snap)),
        ]
    if system == "windows":
        roaming = _env_dir("APPDATA", h / "AppData" / "Roaming")
        local = _env_dir("LOCALAPPDATA", h / "AppData" / "Local")
        return [Target(host, "native", roaming / "krita", local / "kritarc", cfg)]
    if system == "macos":
        lib = h / "Library"
        return [
            Target(host, "native", lib / "Application Support" / "krita",
                   lib / "Preferences" / "kritarc", cfg)
        ]  # fmt: skip
    xdg_data = _env_dir("XDG_DATA_HOME", h / ".local" / "share")
    xdg_cfg = _env_dir("XDG_CONFIG_HOME", h / ".config")
    flat = h / ".var" / "app" / FLATPAK_IDS[host]
    snap = h / "snap" / SNAP_NAMES[host] / "current"
    return [
        Target(host, "native", xdg_data / "krita", xdg_cfg / "kritarc", cfg),
        Target(host, "flatpak", flat / "data" / "krita", flat / "config" / "kritarc",
               _sandbox_config(system, flat / "config")),
        Target(host, "snap", snap / ".local" / "share" / "krita", snap / ".config" / "kritarc",
               _sandbox_config(system, snap / ".config")),
    ]  # fmt: skip


def custom_target(host: str, system: str, root: Path, kritarc: Path | None = None) -> Target:
    """A target named on the command line (--profile-dir / --data-dir)."""
    if host == "krita" and kritarc is None:
        kritarc = candidates("krita", system)[0].kritarc
    return Target(host, "custom", root, kritarc, config_path(system))


def found_targets(host: str, system: str) -> list[Target]:
    """The candidate profiles of `host` that exist on disk."""
    return [t for t in candidates(host, system) if t.root.is_dir()]
