"""Engine benchmark: tiling overhead, peak RSS, cancel latency and throughput, printed as JSON.

Run: .venv/bin/python bench/engine.py [--size 1024] [--big 2048] [--trials 6]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def pick_model(workdir: Path) -> tuple[Path, str]:
    """The embedded default model, else a test model of comparable cost (and which one)."""
    from pocketsr.engine.upscaler import DEFAULT_MODEL, WEIGHTS_DIR

    default = WEIGHTS_DIR / f"{DEFAULT_MODEL}.onnx"
    if default.is_file():
        return default, f"embedded {DEFAULT_MODEL}"
    sys.path.insert(0, str(ROOT / "tests" / "engine"))
    from onnx_models import make_sr_model

    # ~33k MACs per input pixel; receptive field declared 32 like a real net, so the context
    # overhead is the one a real model pays.
    path = make_sr_model(workdir / "bench-x4.onnx", 4, features=32, layers=4, receptive_field=32)
    return path, "test model x4 (tests/engine/onnx_models.py: 4 convs x 32 features, rf 32)"


def photo(size: int) -> np.ndarray:
    """A textured uint8 RGB test image of size×size."""
    rng = np.random.default_rng(0)
    from PIL import Image

    small = rng.integers(0, 256, (size // 8, size // 8, 3), np.uint8)
    return np.asarray(Image.fromarray(small).resize((size, size), Image.BICUBIC))


def overhead(model: Path, size: int, threads: int | None) -> dict:
    """Tiled upscale throughput (the engine's default way, and both ways timed) vs one
    whole-image ONNX Runtime run on the same session."""
    from pocketsr.engine import Upscaler

    up = Upscaler(model, device="cpu", threads=threads)
    image = photo(size)
    batch = (image.astype(np.float32) / 255).transpose(2, 0, 1)[None].copy()
    up.upscale(image[:64, :64])  # warm up
    default = "ahead" if up.run_ahead else "in_turn"  # what the engine picks on its own
    times: dict[str, list[float]] = {"whole": [], "ahead": [], "in_turn": []}
    for _ in range(3):  # interleaved, best of three: the machine is shared
        t = time.perf_counter()
        up._session.run(batch)
        times["whole"].append(time.perf_counter() - t)
        for kind in ("ahead", "in_turn"):
            up.run_ahead = kind == "ahead"
            t = time.perf_counter()
            result = up.upscale(image)
            times[kind].append(time.perf_counter() - t)
    whole, ahead, in_turn = (min(times[k]) for k in ("whole", "ahead", "in_turn"))
    tiled = min(times[default])
    return {
        "image": f"{size}x{size} uint8 RGB",
        "threads": threads or "all cores",
        "engine_default": "tiles run ahead" if default == "ahead" else "tiles one at a time",
        "whole_image_ort_s": round(whole, 3),
        "tiled_upscale_s": round(tiled, 3),
        "overhead_ratio": round(whole / tiled, 3),
        "tiles_run_ahead_s": round(ahead, 3),
        "tiles_one_at_a_time_s": round(in_turn, 3),
        "output_megapixels_per_s": round(result.shape[0] * result.shape[1] / tiled / 1e6, 3),
    }


def peak_rss(model: Path, size: int, streamed: bool) -> dict:
    """Peak RSS of a fresh process that upscales size×size ×4 (output in memory or memmap)."""
    code = f"""
import mmap, resource, time, numpy as np, tempfile, os
from pocketsr.engine import Upscaler
up = Upscaler({str(model)!r}, device="cpu")
image = np.random.default_rng(0).integers(0, 256, ({size}, {size}, 3), np.uint8)
out, progress, written = None, None, [0]
if {streamed}:
    path = os.path.join(tempfile.mkdtemp(), "out.npy")
    out = np.lib.format.open_memmap(path, "w+", np.uint8, ({size} * 4, {size} * 4, 3))

    def progress(report):
        # Dirty memmap pages count as resident: write them out and drop them every 64 MB.
        written[0] += report.rect.area * 3
        if written[0] >= 64 << 20:
            out.flush()
            out._mmap.madvise(mmap.MADV_DONTNEED)
            written[0] = 0
t = time.perf_counter()
up.upscale(image, out=out, progress=progress)
# VmHWM is this process's own peak; ru_maxrss would include the parent's peak copied at fork.
try:
    status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
except (OSError, IndexError):
    status = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(time.perf_counter() - t, status)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, rss_kb = done.stdout.split()
    return {
        "case": f"{size}x{size} x4 uint8 RGB, output {'memmap' if streamed else 'in memory'}",
        "output_mb": round(size * size * 16 * 3 / 2**20, 1),
        "peak_rss_mb": round(int(rss_kb) / 1024, 1),
        "seconds": round(float(seconds), 2),
    }


def cancel_latency(model: Path, size: int, trials: int) -> dict:
    """Seconds from CancelToken.cancel() to Cancelled reaching the caller, at the default tile."""
    from pocketsr.engine import Cancelled, CancelToken, Upscaler

    up = Upscaler(model, device="cpu")
    image = photo(size)
    tile_times: list[float] = []
    last = [0.0]

    def on_progress(report) -> None:
        tile_times.append(report.elapsed - last[0])
        last[0] = report.elapsed

    up.upscale(image, progress=on_progress)
    rng = np.random.default_rng(1)
    latencies = []
    for _ in range(trials):
        token, raised = CancelToken(), []

        def job(token=token, raised=raised) -> None:
            try:
                up.upscale(image, cancel=token)
            except Cancelled:
                raised.append(time.perf_counter())

        worker = threading.Thread(target=job)
        worker.start()
        time.sleep(float(rng.uniform(0.2, 1.5)) * max(tile_times))
        asked = time.perf_counter()
        token.cancel()
        worker.join()
        if raised:
            latencies.append(raised[0] - asked)
    return {
        "image": f"{size}x{size}",
        "tiles": len(tile_times),
        "tile_seconds_max": round(max(tile_times), 3),
        # None when every job finished before the cancel landed (an image of one quick tile).
        "cancel_p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "cancel_max_s": round(max(latencies), 3) if latencies else None,
        "trials": len(latencies),
    }


def main() -> None:
    """Run every measure and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1024, help="overhead/cancel image side")
    parser.add_argument("--big", type=int, default=2048, help="peak-RSS image side")
    parser.add_argument("--trials", type=int, default=6, help="cancel trials")
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads")
    parser.add_argument("--overhead-only", action="store_true", help="skip RSS and cancel")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model, which = pick_model(Path(tmp))
        from pocketsr.engine import Upscaler

        up = Upscaler(model, device="cpu", threads=args.threads)
        report = {
            "machine": {
                "cpu_count": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            "model": which,
            "providers": up.providers,
            "overhead": overhead(model, args.size, args.threads),
        }
        if not args.overhead_only:
            report["peak_rss"] = [peak_rss(model, args.big, False), peak_rss(model, args.big, True)]
            report["cancel"] = cancel_latency(model, args.size, args.trials)
        report["bench_process_max_rss_mb"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
