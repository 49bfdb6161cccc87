"""Nothing but our own files: ONNX Runtime's telemetry stays off in every entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def _fresh_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), QT_QPA_PLATFORM="offscreen")
    return env


def test_upscale_worker_and_viewer_leave_no_telemetry_files(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = _fresh_env(home)
    src = tmp_path / "in.png"
    Image.fromarray(np.full((24, 24, 3), 120, np.uint8)).save(src)
    runs = [
        [sys.executable, "-m", "pocketsr.engine.cli", "upscale", str(src), "-o",
         str(tmp_path / "out.png"), "-q"],
        [sys.executable, "-m", "pocketsr.engine.cli", "worker"],
        [sys.executable, "-c", "import pocketsr.ui.app, onnxruntime"],
    ]  # fmt: skip
    for cmd in runs:
        done = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, (cmd, done.stderr[-2000:])
    assert (tmp_path / "out.png").is_file()
    assert not (home / ".cache" / "Microsoft").exists()
    # What the runs left in HOME is ours (the engine log folder), nothing else.
    left = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())
    assert all("pocketsr" in p for p in left), left
