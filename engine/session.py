"""ONNX Runtime sessions: provider choice, threads, and ORT errors turned into sentences."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from .errors import Cancelled, InvalidOptionError, ModelError, OutOfMemoryError
from .types import CancelToken

# device name -> ONNX Runtime provider, in the order "auto" prefers them.
_ACCELERATORS = {
    "cuda": "CUDAExecutionProvider",
    "directml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
}
_ALIASES = {"gpu": "cuda", "dml": "directml"}
_OOM_PATTERN = re.compile(
    r"out of memory|failed to allocate|bad_alloc|alloc_failed|cudaErrorMemoryAllocation"
    r"|not enough memory|E_OUTOFMEMORY|BFCArena",
    re.IGNORECASE,
)
_INPUT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def available_devices() -> list[str]:
    """Device names usable here: always "cpu", then any accelerator this onnxruntime has."""
    have = set(ort.get_available_providers())
    return ["cpu"] + [name for name, provider in _ACCELERATORS.items() if provider in have]


def resolve_providers(device: str) -> list[Any]:
    """The ONNX Runtime provider list for a device name ("auto", "cpu", "cuda[:N]", ...)."""
    if not isinstance(device, str):
        raise InvalidOptionError(f"The device must be a name like 'auto' or 'cpu', not {device!r}.")
    name, _, index = device.strip().lower().partition(":")
    name = _ALIASES.get(name, name)
    have = set(ort.get_available_providers())
    if name == "auto":
        return [p for p in _ACCELERATORS.values() if p in have] + ["CPUExecutionProvider"]
    if name == "cpu":
        return ["CPUExecutionProvider"]
    if name not in _ACCELERATORS:
        raise InvalidOptionError(
            f"Unknown device '{device}'; choose one of: auto, {', '.join(available_devices())}."
        )
    provider = _ACCELERATORS[name]
    if provider not in have:
        raise InvalidOptionError(
            f"The device '{device}' is not available with this onnxruntime build; "
            f"available: {', '.join(available_devices())}."
        )
    if index:
        if not index.isdigit():
            raise InvalidOptionError(f"The device index in '{device}' must be a number.")
        return [(provider, {"device_id": int(index)}), "CPUExecutionProvider"]
    return [provider, "CPUExecutionProvider"]


def is_out_of_memory(exc: BaseException) -> bool:
    """True when an ONNX Runtime error message says an allocation failed."""
    return isinstance(exc, MemoryError) or bool(_OOM_PATTERN.search(str(exc)))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # ORT prefixes "[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : "; the rest is the useful part.
    return re.sub(r"^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*", "", text)[:300]


def usable_threads(threads: int | None) -> int | None:
    """The thread count a session gets: at most the machine's cores (more only slows it)."""
    if threads is None or threads == 0:
        return threads
    return min(threads, os.cpu_count() or 1)


class ModelSession:
    """One ONNX Runtime session of an SR model: runs NCHW batches, raises engine errors."""

    def __init__(
        self,
        path: str | Path,
        *,
        device: str = "auto",
        threads: int | None = None,
        model_bytes: bytes | None = None,
    ):
        """Load the model at path, or (model_bytes given) those bytes under path's name."""
        self.path = Path(path)
        self.device = device
        self._model_bytes = model_bytes
        self._cpu_fallback: ModelSession | None = None
        if threads is not None and (not isinstance(threads, int) or threads < 0):
            raise InvalidOptionError(f"threads must be a positive whole number, not {threads!r}.")
        threads = usable_threads(threads)
        self.threads = threads
        if model_bytes is None and not self.path.is_file():
            raise ModelError(f"The model file '{self.path}' does not exist.")
        providers = resolve_providers(device)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        options.log_severity_level = 4  # failures become exceptions; no stderr noise
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            source = str(self.path) if model_bytes is None else model_bytes
            self._ort = ort.InferenceSession(source, options, providers=providers)
        except Exception as exc:
            raise ModelError(self._describe_load_error(exc)) from exc
        inputs, outputs = self._ort.get_inputs(), self._ort.get_outputs()
        if len(inputs) != 1:
            names = ", ".join(i.name for i in inputs)
            raise ModelError(
                f"The model '{self.path.name}' has {len(inputs)} inputs ({names}); "
                "a super-resolution model must take exactly one image."
            )
        self.input_name = inputs[0].name
        self.input_shape: list[int | str | None] = list(inputs[0].shape or [])
        self.output_name = outputs[0].name
        self.output_shape: list[int | str | None] = list(outputs[0].shape or [])
        if inputs[0].type not in _INPUT_TYPES:
            raise ModelError(
                f"The model '{self.path.name}' takes {inputs[0].type} input; "
                "only float32 or float16 images are supported."
            )
        self.input_dtype = _INPUT_TYPES[inputs[0].type]
        self.metadata: dict[str, str] = dict(self._ort.get_modelmeta().custom_metadata_map)

    def _describe_load_error(self, exc: Exception) -> str:
        text = str(exc)
        if "protobuf" in text.lower() or "INVALID_PROTOBUF" in text:
            return (
                f"The model file '{self.path.name}' is not a valid ONNX model "
                "(it is corrupt, truncated or another kind of file)."
            )
        return f"The model '{self.path.name}' could not be loaded: {_first_line(exc)}"

    @property
    def providers(self) -> list[str]:
        """The providers the session really uses, best first."""
        return list(self._ort.get_providers())

    @property
    def is_cpu(self) -> bool:
        """True when the session runs on the CPU only."""
        return self.providers == ["CPUExecutionProvider"]

    @property
    def leaves_cores_free(self) -> bool:
        """True when a run leaves CPU cores idle: an accelerator, or fewer threads than cores."""
        return not self.is_cpu or bool(self.threads and self.threads < (os.cpu_count() or 1))

    def run(self, batch: np.ndarray, cancel: CancelToken | None = None) -> np.ndarray:
        """Run the model on an N×C×H×W float batch and return its float32 output.

        A cancel token set during the run stops ONNX Runtime between nodes (Cancelled).
        """
        feed = np.ascontiguousarray(batch, dtype=self.input_dtype)
        options = ort.RunOptions()
        options.log_severity_level = 4
        stop = threading.Event()
        watcher = None
        if cancel is not None:
            watcher = threading.Thread(target=_watch, args=(cancel, options, stop), daemon=True)
            watcher.start()
        try:
            result = self._ort.run([self.output_name], {self.input_name: feed}, options)[0]
        except Exception as exc:
            if cancel is not None and cancel.cancelled:
                raise Cancelled("The upscale was cancelled.") from exc
            size = f"{feed.shape[-1]}x{feed.shape[-2]}"
            if is_out_of_memory(exc):
                raise OutOfMemoryError(
                    f"Out of memory running the model on a {size} tile: {_first_line(exc)}"
                ) from exc
            raise ModelError(
                f"The model '{self.path.name}' failed on a {size} input: {_first_line(exc)}"
            ) from exc
        finally:
            stop.set()
            if watcher is not None:
                watcher.join()
        return np.asarray(result, dtype=np.float32)

    def cpu_fallback(self) -> ModelSession:
        """This session's CPU copy, made on first use and kept (the safe fp32 fallback)."""
        if self._cpu_fallback is None:
            self._cpu_fallback = self.cpu_copy()
        return self._cpu_fallback

    def cpu_copy(self) -> ModelSession:
        """A new CPU-only session of the same model (the safe fp32 fallback)."""
        return ModelSession(
            self.path, device="cpu", threads=self.threads, model_bytes=self._model_bytes
        )


def _watch(cancel: CancelToken, options: ort.RunOptions, stop: threading.Event) -> None:
    """Poll the token while a run is in flight; ORT checks `terminate` between nodes."""
    while not stop.wait(0.01):
        if cancel.cancelled:
            options.terminate = True
            return
