"""Shared fixtures: small deterministic ONNX SR models (tests/engine/onnx_models.py), Python 2.7;
the repository root on sys.path (for `bench`)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

_HELPERS = Path(__file__).resolve().parent / "engine" / "onnx_models.py"
# The repository root, so that `bench` (the benchmarks and their metrics) imports in tests.
_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))


def _load_helpers() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pocketsr_tests_onnx_models", _HELPERS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def onnx_models() -> ModuleType:
    """The model-builder module (make_sr_model, make_two_input_model, ...)."""
    return _load_helpers()


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session-wide folder for built test models."""
    return tmp_path_factory.mktemp("onnx_models")


@pytest.fixture(scope="session")
def sr_model_x4(onnx_models: ModuleType, models_dir: Path) -> Path:
    """A x4 test model with full pocketsr.* metadata."""
    return onnx_models.make_sr_model(models_dir / "x4.onnx", scale=4)


@pytest.fixture(scope="session")
def sr_model_x2(onnx_models: ModuleType, models_dir: Path) -> Path:
    """A x2 test model with full pocketsr.* metadata."""
    return onnx_models.make_sr_model(models_dir / "x2.onnx", scale=2)


@pytest.fixture(scope="session")
def sr_model_m8(onnx_models: ModuleType, models_dir: Path) -> Path:
    """A x2 test model that only runs on heights and widths divisible by 8."""
    return onnx_models.make_sr_model(models_dir / "m8.onnx", scale=2, size_multiple=8)


@pytest.fixture(scope="session")
def sr_model_bare(onnx_models: ModuleType, models_dir: Path) -> Path:
    """A x4, size-multiple-8 test model without any metadata."""
    return onnx_models.make_sr_model(
        models_dir / "bare.onnx", scale=4, size_multiple=8, metadata=False
    )


@pytest.fixture(scope="session")
def python27() -> str:
    """A real CPython 2.7 (Debian bullseye packages, tests/tools/get_python27.sh)."""
    script = Path(__file__).resolve().parent / "tools" / "get_python27.sh"
    proc = subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, timeout=600, check=False
    )
    if proc.returncode == 0:
        return proc.stdout.strip().splitlines()[-1]
    message = f"could not obtain Python 2.7 with {script}:\n{proc.stderr[-2000:]}"
    # Only an unreachable archive outside CI may skip; everywhere else this must be loud.
    if proc.returncode == 4 and not os.environ.get("CI"):
        pytest.skip("Debian's archive is unreachable, so no Python 2.7: " + message)
    pytest.fail(message)
