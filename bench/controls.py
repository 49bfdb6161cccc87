"""What the artist's controls cost (issue #14), measured in one run on this machine.

- strength: loading a mix (the pair's weights blended into the ONNX bytes, a new ORT session)
  against loading the model itself, and the network time of a mixed session against the
  model's own (the same graph, so it should be the same); and the alternative that was not
  chosen, initializers given through SessionOptions.add_initializer, which ORT_ENABLE_ALL
  ignores, so it needs ORT_ENABLE_BASIC: its network time against ORT_ENABLE_ALL.
- the dialogs' preview: a 256x256 view through a real worker process (the bridge), for a
  4000x3000 image, with the worker already running (as in the dialogs).
- alpha through the model, and seamless borders: time against the defaults.

    python -m bench.controls [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

from bench.machine import machine
from pocketsr.engine import Upscaler
from pocketsr.engine.model_paths import WEIGHTS_DIR
from pocketsr.engine.onnx_tools import natural_test_image
from pocketsr.engine.onnx_weights import read_float_initializers
from pocketsr.engine.strength import WeightBlend
from pocketsr.plugin.pocketsr_link import Bridge
from pocketsr.plugin.pocketsr_link.preview import render_preview
from pocketsr.plugin.pocketsr_link.wire import Size, UpscaleOptions

DETAIL = WEIGHTS_DIR / "pocketsr-nano.onnx"
FIDELITY = WEIGHTS_DIR / "pocketsr-nano-fidelity.onnx"


def best(fn, repeats: int = 5) -> float:
    """The fastest of `repeats` timed calls, in seconds (the machine is shared)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _session(source, level, initializers=None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.graph_optimization_level = level
    keep = []
    for name, values in (initializers or {}).items():
        value = ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(values))
        keep.append(value)
        options.add_initializer(name, value)
    session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    session.keep = keep  # the OrtValues must outlive the session
    return session


def strength_costs() -> dict:
    """Loading and running a mix against the model itself, one thread."""
    blend = WeightBlend(Upscaler(DETAIL, device="cpu", threads=1).info)
    mixed_bytes = blend.model_bytes(0.5)
    all_opt, basic = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    )
    batch = np.random.default_rng(0).random((1, 3, 256, 256), np.float32)
    own = _session(str(DETAIL), all_opt)
    mixed = _session(mixed_bytes, all_opt)
    weights = read_float_initializers(FIDELITY)
    overridden = _session(str(DETAIL), basic, weights)

    def run(session):
        return lambda: session.run(None, {"lr": batch})

    for session in (own, mixed, overridden):
        run(session)()  # warm up
    figures = {
        "load_own_s": best(lambda: _session(str(DETAIL), all_opt)),
        "mix_bytes_s": best(lambda: blend.model_bytes(0.3)),
        "load_mixed_s": best(lambda: _session(mixed_bytes, all_opt)),
        "run_own_256_s": best(run(own)),
        "run_mixed_256_s": best(run(mixed)),
        "run_add_initializer_basic_256_s": best(run(overridden)),
    }
    figures["mixed_over_own_run"] = figures["run_mixed_256_s"] / figures["run_own_256_s"]
    figures["basic_over_all_run"] = (
        figures["run_add_initializer_basic_256_s"] / figures["run_own_256_s"]
    )
    return figures


def preview_cost() -> dict:
    """A dialog's 256x256 preview through a real worker, on a 4000x3000 RGB image."""
    photo = natural_test_image(512)
    image = np.ascontiguousarray(np.tile(photo, (6, 8, 1))[:3000, :4000])
    reads = []

    def read(rect):
        reads.append(rect)
        return image[rect.y : rect.bottom, rect.x : rect.right].tobytes()

    with tempfile.TemporaryDirectory() as logs, Bridge(sys.executable, {}, logs) as engine:
        engine.info()  # the worker starts with the dialog, before the first preview
        options = UpscaleOptions(strength=0.5)
        size = Size(4000, 3000)
        render_preview(engine, read, size, 3, "uint8", None, options)  # the model loads
        seconds = []
        for strength in (0.2, 0.8, 0.2, 0.8, 0.5):  # each a new mix, as a slider drag gives
            start = time.perf_counter()
            render_preview(
                engine, read, size, 3, "uint8", None, options._replace(strength=strength)
            )
            seconds.append(time.perf_counter() - start)
    return {
        "image": [4000, 3000],
        "view": [256, 256],
        "read_px": reads[-1].area,
        "preview_s_min": min(seconds),
        "preview_s_max": max(seconds),
    }


def mode_costs() -> dict:
    """Alpha through the model and seamless borders against the defaults, 512x512."""
    up = Upscaler(DETAIL, device="cpu", threads=1)
    rgb = natural_test_image(256)
    rgba = np.concatenate([rgb, np.full((*rgb.shape[:2], 1), 200, np.uint8)], axis=2)
    figures = {
        "rgba_resample_s": best(lambda: up.upscale(rgba), 3),
        "rgba_model_s": best(lambda: up.upscale(rgba, alpha_mode="model"), 3),
        "rgb_s": best(lambda: up.upscale(rgb), 3),
        "rgb_seamless_s": best(lambda: up.upscale(rgb, seamless=True), 3),
    }
    figures["alpha_model_over_resample"] = figures["rgba_model_s"] / figures["rgba_resample_s"]
    figures["seamless_over_mirrored"] = figures["rgb_seamless_s"] / figures["rgb_s"]
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run every measurement and print (and optionally save) the JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.controls", description=__doc__)
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    report = {
        "machine": machine(),
        "strength": strength_costs(),
        "preview": preview_cost(),
        "modes": mode_costs(),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
