"""Helpers shared by the bridge tests: pixel makers, process checks, fake interpreters."""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
BRIDGE_FILE = REPO / "plugin" / "bridge.py"


def load_onnx_models():
    """tests/engine/onnx_models.py as a module (the engine suite's model builders)."""
    path = REPO / "tests" / "engine" / "onnx_models.py"
    spec = importlib.util.spec_from_file_location("pocketsr_test_onnx_models", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def make_pixels(width: int, height: int, channels: int, dtype: str, seed: int = 0) -> np.ndarray:
    """A deterministic random image, H×W (one channel) or H×W×C."""
    rng = np.random.default_rng(seed)
    shape = (height, width) if channels == 1 else (height, width, channels)
    if dtype == "uint8":
        return rng.integers(0, 256, shape, dtype=np.uint8)
    if dtype == "uint16":
        return rng.integers(0, 65536, shape, dtype=np.uint16)
    return rng.random(shape, dtype=np.float32).astype(dtype)


def cancel_tiles(log_lines: list[str]) -> tuple[int, int]:
    """(tiles done when the worker got the last cancel, tiles done when it stopped), from a log."""
    asked = [int(x.rsplit(" ", 1)[1]) for x in log_lines if "cancel requested for job" in x]
    stopped = [int(x.rsplit(" ", 1)[1]) for x in log_lines if "cancelled at tile" in x]
    return asked[-1], stopped[-1]


def proc_state(pid: int) -> str | None:
    """The process state letter from /proc (R, S, Z...), or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()[0]


def is_running(pid: int) -> bool:
    """True while pid is a live (not zombie) process."""
    return proc_state(pid) not in (None, "Z", "X")


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until pid is dead (a zombie counts as dead: it is no longer running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(pid):
            return True
        time.sleep(0.02)
    return not is_running(pid)


def zombie_children() -> list[int]:
    """Pids of this process's children that exited and were never reaped."""
    found = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        found += [int(c) for c in children if proc_state(int(c)) == "Z"]
    return found


def open_fds() -> int:
    """Number of file descriptors this process holds."""
    return len(os.listdir("/proc/self/fd"))


def rss_kib(pid: int) -> int:
    """Resident memory of pid in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def fake_python(tmp: Path, body: str, name: str = "python") -> str:
    """An executable that stands in for the engine's interpreter and runs a shell body."""
    path = tmp / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def python_script_as_interpreter(tmp: Path, script: str) -> str:
    """A fake engine interpreter that ignores `-m pocketsr.engine.worker` and runs script."""
    src = tmp / "fake_worker.py"
    src.write_text(script)
    return fake_python(tmp, f'exec "{sys.executable}" "{src}"', name="fake-python")
