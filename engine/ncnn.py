"""Read an ncnn model (.param text + .bin weights) into plain layers with numpy weights.

Written from ncnn's documented file format: the .param file is a magic line, a "layers blobs"
count line, then one line per layer (type, name, input count, output count, input blobs,
output blobs, then `key=value` parameters, where a negative key -23300-k holds an array for
key k). The .bin file holds each layer's weights in layer order; a weight tensor starts with a
4-byte tag saying whether it is float32 or float16, a bias or a PReLU slope is raw float32.
Only the layer types that image-to-image SR models use are understood; anything else is refused
by name, so a converted model never silently differs from the original.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ModelError

MAGIC = 7767517
_ARRAY_KEY_BASE = -23300
_TAG_FLOAT16 = 0x01306B47
# Layers whose weights this reader loads; the rest must carry none.
_WEIGHTED = ("Convolution", "PReLU")
SUPPORTED = (
    "Input",
    "Convolution",
    "PReLU",
    "ReLU",
    "Split",
    "Concat",
    "Eltwise",
    "BinaryOp",
    "Interp",
    "PixelShuffle",
)


@dataclass(frozen=True)
class NcnnLayer:
    """One layer of an ncnn graph: its type, blobs, parameters and weights."""

    type: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: dict[int, object] = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict)

    def param(self, key: int, default: object = None) -> object:
        """A parameter by its ncnn key, or the default."""
        return self.params.get(key, default)


@dataclass(frozen=True)
class NcnnGraph:
    """A whole ncnn model: layers in file order (a valid topological order)."""

    layers: tuple[NcnnLayer, ...]

    @property
    def input_blob(self) -> str:
        """The blob the Input layer produces."""
        return next(ly.outputs[0] for ly in self.layers if ly.type == "Input")

    @property
    def output_blob(self) -> str:
        """The last layer's first output: the model's result."""
        return self.layers[-1].outputs[0]

    def of_type(self, kind: str) -> list[NcnnLayer]:
        """Every layer of one type, in order."""
        return [ly for ly in self.layers if ly.type == kind]


def _value(text: str) -> int | float:
    return float(text) if any(c in text for c in ".eE") else int(text)


def _parse_params(items: list[str], where: str) -> dict[int, object]:
    params: dict[int, object] = {}
    for item in items:
        key_text, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            key = int(key_text)
            if key <= _ARRAY_KEY_BASE:
                count, *values = value.split(",")
                if int(count) != len(values):
                    raise ModelError(f"{where}: array parameter {key} lists the wrong count.")
                params[_ARRAY_KEY_BASE - key] = tuple(_value(v) for v in values)
            else:
                params[key] = _value(value)
        except ValueError:
            raise ModelError(f"{where}: the parameter '{item}' is not number=number.") from None
    return params


def parse_param(text: str, source: str = "model.param") -> list[NcnnLayer]:
    """The layers of a .param text (without weights)."""
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    if not lines or lines[0] != [str(MAGIC)]:
        raise ModelError(f"{source} is not an ncnn .param file (its first line is not {MAGIC}).")
    try:
        layer_count = int(lines[1][0])
    except (IndexError, ValueError):
        raise ModelError(f"{source} has no layer count on its second line.") from None
    layers = []
    for number, parts in enumerate(lines[2:], start=3):
        where = f"{source} line {number}"
        try:
            kind, name, n_in, n_out = parts[0], parts[1], int(parts[2]), int(parts[3])
        except (IndexError, ValueError):
            raise ModelError(f"{where} is not a layer line.") from None
        blobs = parts[4 : 4 + n_in + n_out]
        if len(blobs) != n_in + n_out:
            raise ModelError(f"{where} names fewer blobs than it declares.")
        if kind not in SUPPORTED:
            raise ModelError(
                f"{source} uses the ncnn layer '{kind}' ({name}), which this converter does not "
                f"support (it supports {', '.join(SUPPORTED)})."
            )
        layers.append(
            NcnnLayer(
                kind,
                name,
                tuple(blobs[:n_in]),
                tuple(blobs[n_in:]),
                _parse_params(parts[4 + n_in + n_out :], where),
            )
        )
    if len(layers) != layer_count:
        raise ModelError(f"{source} declares {layer_count} layers but has {len(layers)}.")
    return layers


class _WeightReader:
    """Reads tensors from a .bin in order, the way ncnn's loader does."""

    def __init__(self, data: bytes, source: str) -> None:
        self.data, self.pos, self.source = data, 0, source

    def _take(self, nbytes: int) -> bytes:
        if self.pos + nbytes > len(self.data):
            raise ModelError(f"{self.source} ends early: the weights do not match the .param.")
        chunk = self.data[self.pos : self.pos + nbytes]
        self.pos += nbytes
        return chunk

    def tagged(self, count: int) -> np.ndarray:
        """A weight tensor preceded by its 4-byte storage tag (float32 or float16)."""
        tag = int.from_bytes(self._take(4), "little")
        if tag == _TAG_FLOAT16:
            values = np.frombuffer(self._take(count * 2), dtype="<f2").astype(np.float32)
            self._take((-count * 2) % 4)  # float16 data is padded to 4 bytes
            return values
        if tag == 0:
            return np.frombuffer(self._take(count * 4), dtype="<f4").copy()
        raise ModelError(
            f"{self.source} stores weights in a quantised form (tag {tag:#010x}) that this "
            "converter does not read; only float32 and float16 models are supported."
        )

    def raw(self, count: int) -> np.ndarray:
        """A raw float32 tensor (biases, slopes)."""
        return np.frombuffer(self._take(count * 4), dtype="<f4").copy()


def _load_weights(layer: NcnnLayer, reader: _WeightReader) -> dict[str, np.ndarray]:
    if layer.type == "Convolution":
        cout = int(layer.param(0))
        kw = int(layer.param(1, 1))
        kh = int(layer.param(11, kw))
        size = int(layer.param(6))
        cin = size // (cout * kw * kh)
        if cin * cout * kw * kh != size:
            raise ModelError(f"{layer.name}: weight size {size} does not fit {cout}x?x{kh}x{kw}.")
        weights = {"weight": reader.tagged(size).reshape(cout, cin, kh, kw)}
        if int(layer.param(5, 0)):
            weights["bias"] = reader.raw(cout)
        return weights
    if layer.type == "PReLU":
        return {"slope": reader.raw(int(layer.param(0, 1)))}
    return {}


def load_ncnn(param: str | Path, binary: str | Path) -> NcnnGraph:
    """Read an ncnn model's graph and weights; refuses what it cannot convert exactly."""
    param, binary = Path(param), Path(binary)
    layers = parse_param(param.read_text(encoding="utf-8", errors="replace"), param.name)
    reader = _WeightReader(binary.read_bytes(), binary.name)
    loaded = []
    for layer in layers:
        if layer.type == "Convolution" and int(layer.param(7, 1)) != 1:
            raise ModelError(f"{layer.name}: grouped convolutions are not supported.")
        weights = _load_weights(layer, reader) if layer.type in _WEIGHTED else {}
        loaded.append(
            NcnnLayer(layer.type, layer.name, layer.inputs, layer.outputs, layer.params, weights)
        )
    if reader.pos != len(reader.data):
        raise ModelError(
            f"{binary.name} has {len(reader.data) - reader.pos} bytes more than the .param needs."
        )
    return NcnnGraph(tuple(loaded))
