"""Small deterministic ONNX super-resolution models built with onnx.helper, for tests and bench.

Public helpers (other test suites import these):
    make_sr_model(path, scale=4, size_multiple=1, ...) -> Path   a working SR net
    make_two_input_model(path) -> Path                            two image inputs
    make_non4d_model(path) -> Path                                a 3-D input
    make_fractional_scale_model(path) -> Path                     upscales x1.5
    make_corrupt_model(path) -> Path                              truncated bytes
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 9


def _save(graph: onnx.GraphProto, path: str | Path, metadata: dict[str, str] | None) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    for key, value in (metadata or {}).items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=str(value)))
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _image(name: str, channels: int | str = 3) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", channels, "H", "W"])


def make_sr_model(
    path: str | Path,
    scale: int = 4,
    size_multiple: int = 1,
    *,
    receptive_field: int | None = None,
    metadata: bool = True,
    layers: int = 3,
    features: int = 8,
    seed: int = 0,
    name: str = "test-sr",
    extra_metadata: dict[str, str] | None = None,
) -> Path:
    """Write a tile-safe SR net: a bilinear skip plus pixel-shuffled detail from 3x3 convs.

    Its true receptive field is 2*layers+3 input pixels (the default metadata value).
    size_multiple > 1 adds a SpaceToDepth/DepthToSpace pair that only runs on multiples.
    """
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    x = "input"
    if size_multiple > 1:
        nodes.append(helper.make_node("SpaceToDepth", [x], ["s2d"], blocksize=size_multiple))
        nodes.append(
            helper.make_node("DepthToSpace", ["s2d"], ["x_m"], blocksize=size_multiple, mode="DCR")
        )
        x = "x_m"
    # Detail comes from a high-pass of the input with bias-free convs, so a flat image stays
    # exactly flat (the bilinear skip) and colour tests can expect exact values.
    nodes.append(
        helper.make_node(
            "AveragePool",
            [x],
            ["blur"],
            kernel_shape=[3, 3],
            pads=[1, 1, 1, 1],
            count_include_pad=0,
        )
    )
    nodes.append(helper.make_node("Sub", [x, "blur"], ["highpass"]))
    channels_in, h = 3, "highpass"
    for i in range(layers):
        last = i == layers - 1
        channels_out = 3 * scale * scale if last else features
        gain = 0.3 / np.sqrt(9 * channels_in) if last else 1.5 / np.sqrt(9 * channels_in)
        w = (rng.standard_normal((channels_out, channels_in, 3, 3)) * gain).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        nodes.append(helper.make_node("Conv", [h, f"w{i}"], [f"c{i}"], pads=[1, 1, 1, 1]))
        h = f"c{i}"
        if not last:
            nodes.append(helper.make_node("Relu", [h], [f"r{i}"]))
            h = f"r{i}"
        channels_in = channels_out
    nodes.append(helper.make_node("DepthToSpace", [h], ["detail"], blocksize=scale, mode="CRD"))
    inits.append(numpy_helper.from_array(np.array([1, 1, scale, scale], np.float32), "scales"))
    resize = helper.make_node("Resize", [x, "", "scales"], ["skip"], mode="linear")
    nodes.append(resize)  # half_pixel coordinates: the ONNX default
    nodes.append(helper.make_node("Add", ["skip", "detail"], ["output"]))
    graph = helper.make_graph(nodes, "sr", [_image("input")], [_image("output")], inits)
    meta = None
    if metadata:
        meta = {
            "pocketsr.name": name,
            "pocketsr.scale": scale,
            "pocketsr.in_channels": 3,
            "pocketsr.out_channels": 3,
            "pocketsr.size_multiple": size_multiple,
            "pocketsr.receptive_field": receptive_field or 2 * layers + 3,
            "pocketsr.version": "1.0",
            "pocketsr.license": "MIT",
            "pocketsr.description": f"test x{scale} model",
            "pocketsr.tile_safe": "true",
        }
        meta.update(extra_metadata or {})
    return _save(graph, path, meta)


def make_two_input_model(path: str | Path) -> Path:
    """Write a model that adds two images (not usable: two inputs)."""
    node = helper.make_node("Add", ["a", "b"], ["output"])
    graph = helper.make_graph([node], "two", [_image("a"), _image("b")], [_image("output")])
    return _save(graph, path, None)


def make_non4d_model(path: str | Path) -> Path:
    """Write a model whose input is 3-D (C×H×W), which the engine must refuse."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [3, "H", "W"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [3, "H", "W"])
    graph = helper.make_graph([helper.make_node("Identity", ["input"], ["output"])], "d3", [x], [y])
    return _save(graph, path, None)


def make_fractional_scale_model(path: str | Path, factor: float = 1.5) -> Path:
    """Write a model that resizes by a non-integer factor, which the engine must refuse."""
    scales = numpy_helper.from_array(np.array([1, 1, factor, factor], np.float32), "scales")
    node = helper.make_node("Resize", ["input", "", "scales"], ["output"], mode="linear")
    graph = helper.make_graph([node], "frac", [_image("input")], [_image("output")], [scales])
    return _save(graph, path, None)


def make_corrupt_model(path: str | Path) -> Path:
    """Write a truncated, garbled copy of a real model."""
    path = Path(path)
    good = make_sr_model(path, scale=2)
    data = good.read_bytes()
    path.write_bytes(data[: len(data) // 2] + b"\x00garbage\xff" * 4)
    return path


def make_wide_context_model(path: str | Path, dilation: int = 100, scale: int = 2) -> Path:
    """A x`scale` model whose output leans on pixels `dilation` LR pixels away.

    One dilated 3x3 convolution (receptive field 2*dilation+1) over the input, pixel-shuffled
    and added to a linear upsample: every output pixel is mostly the average of the eight
    pixels `dilation` away from it, so a host that reads too little context around a
    selection gets visibly different pixels near the selection's edge.
    """
    weights = np.zeros((3 * scale * scale, 3, 3, 3), np.float32)
    for out_c in range(3 * scale * scale):
        colour = out_c // (scale * scale)  # DepthToSpace CRD: channel-major blocks
        weights[out_c, colour] = 0.12
        weights[out_c, colour, 1, 1] = 0.0
    inits = [
        numpy_helper.from_array(weights, "w"),
        numpy_helper.from_array(np.array([1, 1, scale, scale], np.float32), "scales"),
    ]
    d = dilation
    nodes = [
        helper.make_node("Conv", ["input", "w"], ["far"], dilations=[d, d], pads=[d, d, d, d]),
        helper.make_node("DepthToSpace", ["far"], ["detail"], blocksize=scale, mode="CRD"),
        helper.make_node("Resize", ["input", "", "scales"], ["skip"], mode="linear"),
        helper.make_node("Mul", ["skip", "half"], ["skip_half"]),
        helper.make_node("Add", ["skip_half", "detail"], ["output"]),
    ]
    inits.append(numpy_helper.from_array(np.array(0.1, np.float32), "half"))
    graph = helper.make_graph(nodes, "wide", [_image("input")], [_image("output")], inits)
    meta = {
        "pocketsr.name": "test-wide-context",
        "pocketsr.scale": scale,
        "pocketsr.in_channels": 3,
        "pocketsr.out_channels": 3,
        "pocketsr.size_multiple": 1,
        "pocketsr.receptive_field": 2 * dilation + 1,
        "pocketsr.version": "1.0",
        "pocketsr.license": "MIT",
        "pocketsr.description": f"test x{scale} model with a {2 * dilation + 1} px field",
        "pocketsr.tile_safe": "true",
    }
    return _save(graph, path, meta)
