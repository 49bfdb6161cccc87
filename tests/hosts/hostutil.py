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


def run_installer(home: Path, *args: str) -> str:
    """Install with the project's own installer (`pocketsr install`) into a throwaway HOME.

    The engine is the project's venv (--engine-python), so nothing is downloaded. Returns how
    the plug-in was installed, for the test reports.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "POCKETSR_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
    )
    argv = [sys.executable, "-m", "pocketsr.engine.cli", "install"]
    argv += ["--engine-python", engine_python(), *args]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"pocketsr install failed:\n{proc.stdout}\n{proc.stderr}")
    return "pocketsr install"


def install_plugin(host: str, home: Path, profile: Path) -> str:
    """Install the GIMP plug-in for `host` ("gimp" / "gimp2") into a profile under home."""
    return run_installer(home, "--host", host, "--profile-dir", str(profile))


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
