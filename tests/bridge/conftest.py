"""Fixtures for the bridge tests: a real worker on this venv's Python and a real ONNX model."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bridge_testutil import load_onnx_models, zombie_children

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
