"""Int8 as a speed lever: a model's int8 copy, its speed and its distance from fp32.

    python -m bench.int8 engine/weights/pocketsr-nano.onnx --data ../shared/data
    python -m bench.int8 model.onnx --int8 model-int8.onnx   # a model.qat fine-tune's file

Without --int8, the copy is post-training static QDQ, calibrated on 16 degraded 64x64 crops
of the training photos (per-channel 7-bit weights: model/qat.py says why 7; uint8
activations). Times fp32 and int8 on one 192x192 window at one thread (best of 5, in the same
process) and measures the PSNR of the int8 output against the fp32 output on Set14's given LR
(mean and worst image) and on a 64x64 centre crop of each photo in real/ (mean and worst), and
what a user sees: PSNR-Y (crop 4) of each against the ground truth on Set14.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.images import list_images, load_rgb8
from bench.metrics import psnr, psnr_y


def _calibration(data: Path, count: int = 16) -> list[np.ndarray]:
    from pocketsr.model.degradation import degrade

    rng = np.random.default_rng(0)
    photos = list_images(data / "train")[:count]
    crops = []
    for path in photos:
        img = load_rgb8(path)
        y, x = (rng.integers(0, s - 256) for s in img.shape[:2])
        lr = degrade(img[y : y + 256, x : x + 256], rng)
        crops.append(lr[:64, :64].astype(np.float32).transpose(2, 0, 1)[None] / 255)
    return crops


def quantise(model: Path, out: Path, crops: list[np.ndarray]) -> Path:
    """Write the static QDQ int8 copy of `model`."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter({"lr": c} for c in crops)

        def get_next(self):
            return next(self.items, None)

    quantize_static(
        str(model),
        str(out),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        reduce_range=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    return out


def _as_rgb8(out: np.ndarray) -> np.ndarray:
    """A model's NCHW float output as the HxWx3 uint8 image the engine would write."""
    return (np.clip(out[0].transpose(1, 2, 0), 0, 1) * 255 + 0.5).astype(np.uint8)


def _matching_hr(folder: Path, lr_path: Path) -> np.ndarray | None:
    """The HR image of the same name as the LR file, if there is one."""
    path = folder / lr_path.name
    return load_rgb8(path) if path.is_file() else None


def _session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _best_time(sess, x: np.ndarray, repeats: int = 5) -> float:
    sess.run(None, {"lr": x})
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        sess.run(None, {"lr": x})
        times.append(time.perf_counter() - start)
    return min(times)


def _real_crops(folder: Path, side: int = 64) -> list[np.ndarray]:
    """A centre crop of each photo in `folder`, as the model's NCHW float input."""
    crops = []
    for path in list_images(folder):
        img = load_rgb8(path)
        y, x = (max(0, s // 2 - side // 2) for s in img.shape[:2])
        crop = img[y : y + side, x : x + side]
        crops.append(crop.astype(np.float32).transpose(2, 0, 1)[None] / 255)
    return crops


def main(argv: list[str] | None = None) -> int:
    """Quantise (or take the given int8 file), time and compare."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", type=Path)
    p.add_argument("--int8", type=Path, default=None, help="an int8 file (model.export --int8)")
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        q = args.int8 or quantise(args.model, Path(tmp) / "int8.onnx", _calibration(args.data))
        fp32, int8 = _session(args.model), _session(q)
        x = np.random.default_rng(1).random((1, 3, 192, 192), dtype=np.float32)
        t32, t8 = _best_time(fp32, x), _best_time(int8, x)
        from pocketsr.engine import load_model_info

        m = load_model_info(args.model).size_multiple
        psnrs, truth32, truth8 = [], [], []
        set14 = args.data / "eval" / "Set14"
        for path in list_images(set14 / "LRx4"):
            lr = load_rgb8(path).astype(np.float32).transpose(2, 0, 1)[None] / 255
            lr = lr[:, :, : lr.shape[2] // m * m, : lr.shape[3] // m * m]
            a, b = fp32.run(None, {"lr": lr})[0], int8.run(None, {"lr": lr})[0]
            psnrs.append(psnr(a, b, data_range=1.0))
            hr = _matching_hr(set14 / "HR", path)
            if hr is not None:
                hr = hr[: a.shape[2], : a.shape[3]]
                truth32.append(psnr_y(_as_rgb8(a), hr, border=4))
                truth8.append(psnr_y(_as_rgb8(b), hr, border=4))
        real = [
            psnr(fp32.run(None, {"lr": c})[0], int8.run(None, {"lr": c})[0], data_range=1.0)
            for c in _real_crops(args.data / "real")
        ]
    report = {
        "model": str(args.model),
        "fp32_s_192": round(t32, 4),
        "int8_s_192": round(t8, 4),
        "speedup": round(t32 / t8, 2),
        "psnr_int8_vs_fp32_set14_db": round(float(np.mean(psnrs)), 2),
        "psnr_int8_vs_fp32_set14_worst_db": round(float(np.min(psnrs)), 2),
    }
    if real:
        report["psnr_int8_vs_fp32_real_db"] = round(float(np.mean(real)), 2)
        report["psnr_int8_vs_fp32_real_worst_db"] = round(float(np.min(real)), 2)
    if truth32:
        report["psnr_y_vs_truth_set14_fp32_db"] = round(float(np.mean(truth32)), 3)
        report["psnr_y_vs_truth_set14_int8_db"] = round(float(np.mean(truth8)), 3)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
