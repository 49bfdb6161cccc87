"""Quantisation-aware fine-tuning (model/qat.py) and the int8 file export.py --int8 writes."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from bench import metrics
from pocketsr.engine import Upscaler
from pocketsr.model import export, qat


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return metrics.psnr(np.asarray(a), np.asarray(b), data_range=1.0)


@pytest.fixture(scope="module")
def qat_run(trained_run: Path, photos_dir: Path, tmp_path_factory) -> tuple[Path, Path]:
    """A 3-step QAT of the tiny detail checkpoint and its int8 file."""
    folder = tmp_path_factory.mktemp("qat")
    ck, onnx_path = folder / "qat.pt", folder / "tiny-int8.onnx"
    args = [str(trained_run / "detail_final.pt"), str(ck), "--data", str(photos_dir)]
    args += ["--steps", "3", "--hr-crop", "64", "--pool-size", "32", "--calibration", "32"]
    assert qat.main(args) == 0
    assert export.main([str(ck), str(onnx_path), "--int8", "--name", "tiny-int8"]) == 0
    return ck, onnx_path


def _simulated(ck_path: Path) -> torch.nn.Module:
    """The QAT checkpoint's network with its convolutions fake-quantised to its ranges."""
    model, ck = export.load_checkpoint_model(ck_path)
    model = copy.deepcopy(model)
    for name, conv in qat.quantise_convs(model).items():
        r = ck["quant"][name]
        conv.inp.lo.fill_(r["input"][0])
        conv.inp.hi.fill_(r["input"][1])
        conv.out.lo.fill_(r["output"][0])
        conv.out.hi.fill_(r["output"][1])
    return export.ClampedOutput(model).eval()


def test_the_int8_file_runs_what_was_simulated(qat_run):
    ck_path, onnx_path = qat_run
    ck = torch.load(ck_path, map_location="cpu", weights_only=False)
    graph = onnx.load(str(onnx_path)).graph
    convs = [n for n in graph.node if n.op_type == "Conv"]
    quantised_inputs = {n.output[0] for n in graph.node if n.op_type == "DequantizeLinear"}
    quantised = [c for c in convs if c.input[0] in quantised_inputs]
    # Every nn.Conv2d is quantised; the one left in fp32 is the fixed bicubic base.
    assert len(quantised) == len(ck["quant"]) == len(convs) - 1
    fp32, _ = export.load_checkpoint_model(ck_path)
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    from skimage import data

    x = torch.from_numpy(np.asarray(data.coffee()[60:100, 80:128], np.float32) / 255)
    x = x.permute(2, 0, 1)[None].contiguous()
    got = sess.run(None, {"lr": x.numpy()})[0]
    with torch.no_grad():
        sim = _simulated(ck_path)(x).numpy()
        ref = export.ClampedOutput(fp32)(x).numpy()
    assert psnr(sim, got) >= 40
    assert psnr(ref, got) < 90, "the int8 file computes exactly the fp32 network"


def test_7_bit_weights_and_fp32_bias(qat_run):
    _, onnx_path = qat_run
    model = onnx.load(str(onnx_path))
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    producers = {o: n for n in model.graph.node for o in n.output}
    for conv in (n for n in model.graph.node if n.op_type == "Conv"):
        w = producers.get(conv.input[1])
        if w is None or w.op_type != "DequantizeLinear":
            continue
        q = producers[w.input[0]]
        assert q.op_type == "QuantizeLinear"
        assert inits[q.input[0]].dtype == np.float32  # the weights stay mixable floats
        scale = inits[q.input[1]]
        weight = inits[q.input[0]]
        assert np.allclose(np.abs(weight).reshape(len(scale), -1).max(1) / scale, 64, rtol=1e-3)
        if len(conv.input) > 2:
            assert inits[conv.input[2]].dtype == np.float32


def test_the_engine_tiles_the_int8_file_without_seams(qat_run):
    from skimage import data

    up = Upscaler(qat_run[1], device="cpu", threads=1)
    assert up.info.name == "tiny-int8" and up.info.tile_safe
    photo = np.asarray(data.astronaut()[40:168, 180:292], np.float32) / 255
    whole = up.upscale(photo, tile=None)
    assert psnr(up.upscale(photo, tile=64), whole) >= 50


def test_int8_export_needs_a_qat_checkpoint(trained_run, tmp_path, capsys):
    out = tmp_path / "x.onnx"
    with pytest.raises(SystemExit):
        export.main([str(trained_run / "detail_final.pt"), str(out), "--int8"])
    assert "pocketsr.model.qat" in capsys.readouterr().err
    assert not out.exists()


def test_a_strength_pair_shares_its_ranges_and_mixes_in_int8(trained_run, photos_dir, tmp_path):
    from skimage import data

    detail, fidelity = tmp_path / "d.pt", tmp_path / "f.pt"
    args = [str(trained_run / "detail_final.pt"), str(detail), "--data", str(photos_dir)]
    args += ["--partner", str(trained_run / "refine_final.pt"), str(fidelity)]
    args += ["--steps", "2", "--hr-crop", "64", "--pool-size", "32", "--calibration", "32"]
    assert qat.main(args) == 0
    cks = [torch.load(p, map_location="cpu", weights_only=False) for p in (detail, fidelity)]
    assert cks[0]["quant"] == cks[1]["quant"]
    for ck_path, name, partner, strength in (
        (detail, "t-int8", "t-fidelity-int8", "1"),
        (fidelity, "t-fidelity-int8", "t-int8", "0"),
    ):
        out = tmp_path / f"{name}.onnx"
        extra = ["--name", name, "--partner", partner, "--strength", strength]
        assert export.main([str(ck_path), str(out), "--int8", *extra]) == 0

    def fixed_point_tensors(path: Path) -> dict[str, np.ndarray]:
        inits = onnx.load(str(path)).graph.initializer
        arrays = {i.name: onnx.numpy_helper.to_array(i) for i in inits}
        return {n: a for n, a in arrays.items() if a.dtype in (np.uint8, np.int8)}

    ends = [fixed_point_tensors(tmp_path / f"{n}.onnx") for n in ("t-int8", "t-fidelity-int8")]
    assert ends[0].keys() == ends[1].keys() and ends[0]
    assert all(np.array_equal(ends[0][n], ends[1][n]) for n in ends[0])
    up = Upscaler(tmp_path / "t-int8.onnx", device="cpu", threads=1)
    photo = np.asarray(data.astronaut()[40:104, 180:244], np.float32) / 255
    low = Upscaler(tmp_path / "t-fidelity-int8.onnx", device="cpu", threads=1).upscale(photo)
    assert psnr(up.upscale(photo, strength=0.0), low) >= 60
    mid = up.upscale(photo, strength=0.5)
    assert psnr(mid, low) < 90 and psnr(mid, up.upscale(photo)) < 90
