"""Provider choice and ONNX Runtime errors turned into sentences."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

from pocketsr.engine import InvalidOptionError, ModelError
from pocketsr.engine.session import (
    ModelSession,
    available_devices,
    is_out_of_memory,
    resolve_providers,
)


def test_cpu_is_always_there():
    assert available_devices()[0] == "cpu"
    assert resolve_providers("cpu") == ["CPUExecutionProvider"]
    assert resolve_providers("auto")[-1] == "CPUExecutionProvider"


def test_unknown_or_missing_devices_are_option_errors():
    with pytest.raises(InvalidOptionError, match="Unknown device"):
        resolve_providers("banana")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(InvalidOptionError, match="not available"):
            resolve_providers("cuda")


def test_run_errors_become_model_errors(sr_model_m8):
    session = ModelSession(sr_model_m8, device="cpu", threads=1)
    assert session.is_cpu
    with pytest.raises(ModelError, match="failed on a 9x9 input") as caught:
        session.run(np.zeros((1, 3, 9, 9), np.float32))
    assert "[ONNXRuntimeError]" not in str(caught.value)


def test_out_of_memory_messages_are_recognised():
    assert is_out_of_memory(RuntimeError("Failed to allocate memory for requested buffer"))
    assert is_out_of_memory(RuntimeError("CUDA failure 2: out of memory"))
    assert not is_out_of_memory(RuntimeError("Invalid rank for input"))


def test_the_engine_never_imports_torch_or_qt():
    code = (
        "import sys, pocketsr.engine; "
        "bad = [m for m in ('torch', 'PySide6', 'PyQt5', 'PyQt6') if m in sys.modules]; "
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_more_threads_than_cores_are_capped(sr_model_m8):
    import os

    session = ModelSession(sr_model_m8, device="cpu", threads=1000)
    assert session.threads == (os.cpu_count() or 1)
    assert ModelSession(sr_model_m8, device="cpu", threads=1).threads == 1
