"""Bridge benchmark: the out-of-process round trip vs calling the engine in this process.

    python -m bench.bridge [--size 4096] [--model pocketsr-nano]

For each pixel type (RGBA uint8, RGBA uint16) it times one upscale through `plugin/bridge.py`
(worker process, payloads through files above the threshold, as GIMP and Krita use it) and one
through `Upscaler.upscale` in process, both with the model already loaded, and prints JSON with
the bridge's overhead as a share of the in-process inference time (goal: under 10%).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time

import numpy as np

from pocketsr.engine import Upscaler
from pocketsr.plugin import bridge


def test_image(size: int, dtype: np.dtype) -> np.ndarray:
    """A size×size RGBA image with photo-like structure (smooth gradients plus texture)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    rng = np.random.default_rng(0)
    rgb = [0.5 + 0.35 * np.sin(9 * xx * (k + 1) + 5 * yy * yy + k) for k in range(3)]
    image = np.stack([*rgb, np.clip(1.4 - xx, 0, 1)], axis=-1)
    image += rng.normal(0, 0.02, image.shape).astype(np.float32)
    top = np.iinfo(dtype).max
    return (np.clip(image, 0, 1) * top + 0.5).astype(dtype)


def measure(size: int, dtype: np.dtype, model: str, log_dir: str) -> dict:
    """Time one in-process and one bridged upscale of the same image (models warm)."""
    image = test_image(size, dtype)
    engine = Upscaler(model)
    engine.upscale(image[:64, :64])  # load and warm up
    started = time.perf_counter()
    direct = engine.upscale(image)
    in_process = time.perf_counter() - started
    out_shape = direct.shape
    del direct
    client = bridge.Bridge(python=sys.executable, config={}, log_dir=log_dir)
    try:
        small = np.ascontiguousarray(image[:64, :64])
        client.upscale(small.tobytes(), 64, 64, 4, str(image.dtype), options={"model": model})
        started = time.perf_counter()
        result = client.upscale(
            image.tobytes(), size, size, 4, str(image.dtype), options={"model": model}
        )
        bridged = time.perf_counter() - started
    finally:
        client.close()
    assert (result.height, result.width, result.channels) == out_shape
    return {
        "image": f"{size}x{size} RGBA {np.dtype(dtype).name}",
        "output_mb": round(len(result.data) / 2**20, 1),
        "in_process_s": round(in_process, 3),
        "bridge_s": round(bridged, 3),
        "overhead_share": round((bridged - in_process) / in_process, 4),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--model", default="pocketsr-nano")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as logs:
        cases = [measure(args.size, dt, args.model, logs) for dt in (np.uint8, np.uint16)]
    report = {
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "model": args.model,
        "cases": cases,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
