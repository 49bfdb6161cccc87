"""ONNX export of a tiny trained checkpoint: parity, dynamic sizes, metadata, engine round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from pocketsr.engine import Upscaler
from pocketsr.model import export

ENGINE_KEYS = (
    "scale",
    "size_multiple",
    "receptive_field",
    "tile_safe",
    "name",
    "version",
    "license",
    "provenance",
)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(1 / mse)


@pytest.fixture(scope="module")
def exported(trained_run: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "tiny.onnx"
    assert export.main([str(trained_run / "detail_final.pt"), str(out), "--name", "tiny"]) == 0
    return out


def test_parity_on_two_sizes(exported, trained_run):
    model, _ = export.load_checkpoint_model(trained_run / "detail_final.pt")
    sess = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    torch.manual_seed(0)
    for h, w in ((24, 40), (36, 20)):
        x = torch.rand(1, 3, h, w)
        with torch.no_grad():
            ref = model(x).clamp(0, 1).numpy()
        got = sess.run(None, {"lr": x.numpy()})[0]
        assert got.shape == (1, 3, 4 * h, 4 * w)
        assert np.abs(ref - got).max() <= 1e-4


def test_metadata_the_engine_reads(exported):
    meta = {p.key: p.value for p in onnx.load(str(exported)).metadata_props}
    for key in ENGINE_KEYS:
        assert "pocketsr." + key in meta, key
    assert meta["pocketsr.scale"] == "4"
    assert meta["pocketsr.size_multiple"] == "2"
    assert meta["pocketsr.tile_safe"] == "true"
    assert meta["pocketsr.name"] == "tiny"
    assert 1 <= int(meta["pocketsr.receptive_field"]) <= int(meta["pocketsr.receptive_field_full"])
    assert json.loads(meta["pocketsr.provenance"]) == {"stage": "detail", "steps": 3}


def test_engine_loads_it(exported):
    up = Upscaler(exported, device="cpu", threads=1)
    assert up.info.scale == 4 and up.info.tile_safe and up.info.name == "tiny"


def test_engine_tiles_do_not_show(exported):
    from skimage import data

    up = Upscaler(exported, device="cpu", threads=1)
    assert up.info.scale == 4 and up.info.tile_safe and up.info.name == "tiny"
    photo = np.asarray(data.astronaut()[40:168, 180:292], np.float32) / 255
    whole = up.upscale(photo, tile=None)
    assert whole.shape == (512, 448, 3)
    assert psnr(up.upscale(photo, tile=64), whole) >= 50
