"""The real viewer window on a real X server (Xvfb, xcb platform), with a screenshot artefact."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _free_display() -> int:
    for number in range(90, 200):
        if (
            not Path(f"/tmp/.X11-unix/X{number}").exists()
            and not Path(f"/tmp/.X{number}-lock").exists()
        ):
            return number
    raise RuntimeError("no free X display number")


@pytest.fixture
def xvfb():
    """A private Xvfb server; yields its DISPLAY string."""
    binary = shutil.which("Xvfb")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("Xvfb is not installed; CI must `apt-get install -y xvfb`")
        pytest.skip("Xvfb not found (apt-get install xvfb); required when CI is set")
    number = _free_display()
    server = subprocess.Popen(
        [binary, f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    socket = Path(f"/tmp/.X11-unix/X{number}")
    deadline = time.monotonic() + 15
    while not socket.exists():
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"Xvfb did not start: {server.stderr.read().decode(errors='replace')}")
        time.sleep(0.05)
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


def test_real_window_under_xvfb(xvfb: str, tmp_path: Path) -> None:
    shot = tmp_path / "viewer.png"
    env = dict(os.environ, DISPLAY=xvfb, QT_QPA_PLATFORM="xcb")
    run = subprocess.run(
        [sys.executable, "-m", "pocketsr.ui.screenshot", str(shot)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, (
        f"the viewer failed on X (missing xcb libraries? run with QT_DEBUG_PLUGINS=1):\n"
        f"{run.stdout}\n{run.stderr}"
    )
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(np.float32)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 500
    assert pixels.std() > 10, "the screenshot is blank"
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 500, "the screenshot has no image in it"
    artefacts = os.environ.get("POCKETSR_ARTEFACTS")
    if artefacts:
        Path(artefacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artefacts) / "viewer.png")
