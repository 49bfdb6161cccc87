"""Fixtures for the bridge tests: a real worker on this venv's Python and a real ONNX model."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bridge_testutil import GET_PY27, load_onnx_models, zombie_children

from pocketsr.plugin import bridge as bridge_mod


@pytest.fixture(scope="session")
def sr_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small x4 ONNX super-resolution model."""
    path = tmp_path_factory.mktemp("models") / "test-sr4.onnx"
    return load_onnx_models().make_sr_model(path, scale=4)


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private worker log folder."""
    return tmp_path_factory.mktemp("logs")


@pytest.fixture
def make_bridge(log_dir: Path) -> Iterator:
    """A factory of Bridges on this venv's Python; all closed, and no zombies left, after."""
    made = []

    def make(**kwargs):
        kwargs.setdefault("python", sys.executable)
        kwargs.setdefault("config", {})
        kwargs.setdefault("log_dir", str(log_dir))
        kwargs.setdefault("start_timeout", 60.0)
        b = bridge_mod.Bridge(**kwargs)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()
    assert zombie_children() == []


@pytest.fixture(scope="module")
def shared_bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """One Bridge reused by a module's round-trip tests (a worker start costs ~1 s)."""
    logs = tmp_path_factory.mktemp("shared-logs")
    b = bridge_mod.Bridge(python=sys.executable, config={}, log_dir=str(logs))
    yield b
    b.close()


@pytest.fixture(scope="session")
def python27() -> str:
    """A real CPython 2.7 (Debian bullseye packages), fetched once into the user's cache."""
    proc = subprocess.run(
        ["bash", str(GET_PY27)], capture_output=True, text=True, timeout=600, check=False
    )
    if proc.returncode == 0:
        return proc.stdout.strip().splitlines()[-1]
    message = f"could not obtain Python 2.7 with {GET_PY27}:\n{proc.stderr[-2000:]}"
    # Only an unreachable archive outside CI may skip; everywhere else this must be loud.
    if proc.returncode == 4 and not os.environ.get("CI"):
        pytest.skip(
            "Debian's archive is unreachable, so the Python 2.7 bridge tests "
            "cannot run here: " + message
        )
    pytest.fail(message)
