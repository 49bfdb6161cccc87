"""Helpers of the real-host tests: the chroot script, plug-in installation, the engine's view."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
HOST_CHROOT = REPO / "tests" / "tools" / "host_chroot.sh"
PLUGIN_SRC = REPO / "plugin"


def chroot_ready() -> tuple[bool, str]:
    """(True, "") when the GIMP chroot exists or can be built here, else (False, why)."""
    if subprocess.run(["bash", str(HOST_CHROOT), "check"], check=False).returncode == 0:
        return True, ""
    if os.geteuid() != 0:
        return False, "building the GIMP 3 chroot needs root (tests/tools/host_chroot.sh)"
    has_tool = shutil.which("mmdebstrap") or shutil.which("apt-get")
    if not has_tool:
        return False, "neither mmdebstrap nor apt-get is available to build the GIMP 3 chroot"
    proc = subprocess.run(
        ["bash", str(HOST_CHROOT), "build"], capture_output=True, text=True, check=False
    )
    if proc.returncode == 0:
        return True, ""
    return False, f"could not build the GIMP 3 chroot:\n{proc.stderr[-3000:]}"


def install_plugin(host: str, profile: Path) -> str:
    """Install the plug-in for `host` ("gimp" / "gimp2") into a GIMP profile folder.

    Uses the installer's own layout (pocketsr.installers.layout.placements) when it exists,
    else a copy of the same layout (the contract in the GIMP issue). Returns which was used.
    """
    try:
        from pocketsr.installers.layout import placements
    except ImportError:
        placements = None
    if placements is not None:
        for p in placements(host, PLUGIN_SRC):
            dest = profile / p.dest
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p.source, dest)
            if p.executable:
                dest.chmod(0o755)
        return "installers.layout"
    entry = "pocketsr_upscale.py" if host == "gimp" else "pocketsr_upscale_210.py"
    base = profile / "plug-ins" / ("pocketsr_upscale" if host == "gimp" else "")
    base.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PLUGIN_SRC / "gimp" / entry, base / entry)
    (base / entry).chmod(0o755)
    shutil.copytree(
        PLUGIN_SRC / "gimp" / "pocketsr_gimp",
        base / "pocketsr_gimp",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        dirs_exist_ok=True,
    )
    shutil.copyfile(PLUGIN_SRC / "bridge.py", base / "pocketsr_bridge.py")
    return "test copy helper"


def engine_python() -> str:
    """The venv interpreter the plug-in's worker runs on (bound at the same path)."""
    return str(Path(sys.executable).absolute())


def raw(path: str | Path, dtype: str, width: int, height: int, channels: int) -> np.ndarray:
    """A raw dump as an H×W×C array."""
    data = np.frombuffer(Path(path).read_bytes(), dtype=dtype)
    return data.reshape(height, width, channels)


def upsample_nearest(mask: np.ndarray, fx: int, fy: int) -> np.ndarray:
    """A mask repeated fx × fy."""
    return np.repeat(np.repeat(mask, fy, axis=0), fx, axis=1)
