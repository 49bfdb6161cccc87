"""`--cluster local` against the plain local CLI, and what Ray adds per image, as JSON.

Run: .venv/bin/python bench/cluster.py [--images 20] [--side 256] [--json bench/out/cluster.json]

Part 1 runs the real commands end to end (a fresh process each, wall clock, Ray's start and
the model loads included) on the same images: the local CLI with the engine's default
threads and with one thread, then `--cluster local` with 1 and with 2 actors of one thread.
Part 2 measures the steady state in this process: the same per-file work (`upscale_file`)
in a plain loop and through one Ray actor, at several image sizes, so that the difference
per image is Ray's own cost (a call, its scheduling and the result's return).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.machine import machine

ROOT = Path(__file__).resolve().parents[1]


def images(folder: Path, count: int, side: int) -> Path:
    """`count` textured RGB PNGs of side×side (each different) in `folder`."""
    from PIL import Image

    from pocketsr.engine.imageio import ImageMeta, write_image

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        rng = np.random.default_rng(i)
        small = rng.integers(0, 256, (max(side // 8, 2), max(side // 8, 2), 3), np.uint8)
        pixels = np.asarray(Image.fromarray(small).resize((side, side), Image.BICUBIC))
        write_image(folder / f"img{i:02d}.png", pixels, ImageMeta())
    return folder


def command(folder: Path, out: Path, extra: list[str]) -> dict:
    """Run one `pocketsr upscale` in a fresh process; wall seconds and output MP/s."""
    cli = [sys.executable, "-m", "pocketsr.engine.cli", "upscale", str(folder), "--out-dir"]
    start = time.perf_counter()
    done = subprocess.run([*cli, str(out), "-q", *extra], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{extra}: exit {done.returncode}: {done.stderr}")
    megapixels = sum(_mp(p) for p in out.rglob("*.png"))
    result = {"args": " ".join(extra), "wall_s": round(wall, 2), "output_mp": round(megapixels, 2)}
    result["mp_per_s"] = round(megapixels / wall, 3)
    report = out / "pocketsr-report.json"
    if report.exists():  # the run's own figure: from joining the cluster to the last file
        data = json.loads(report.read_text())
        result["run_s"], result["run_mp_per_s"] = data["seconds"], data["mp_per_s"]
    return result


def _mp(path: Path) -> float:
    from PIL import Image

    with Image.open(path) as im:
        return im.width * im.height / 1e6


def steady_state(tmp: Path, sides: list[int], count: int, repeats: int = 3) -> dict:
    """Per image: the local loop vs one Ray actor (model loaded, warm), same upscale_file;
    best of `repeats` interleaved rounds (the machine is shared). Also one bare actor call."""
    import ray

    from pocketsr.engine import cli_parser
    from pocketsr.engine.cli_plan import plan_jobs
    from pocketsr.engine.cli_upscale import load_upscaler, upscale_file
    from pocketsr.engine.cluster_actor import actor_class, worker_fields
    from pocketsr.engine.cluster_pool import ActorPool, dispatch
    from pocketsr.engine.types import CancelToken

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    parser = cli_parser.build_parser({})
    upscaler = load_upscaler(None, "cpu", 1)
    scale = int(upscaler.info.scale)
    rows = []

    def no() -> bool:
        return False

    try:
        fields = worker_fields(parser.parse_args(["upscale", "x", "--threads", "1", "--overwrite"]))
        pool = ActorPool(ray, actor_class(ray, cpus=1, gpus=0, restarts=0), fields, 1)
        pool.first_ready()
        actor = pool.actors[0]
        ray.get([actor.ready.remote() for _ in range(20)])  # warm up
        start = time.perf_counter()
        for _ in range(200):  # one at a time: the full round trip of a call and its result
            ray.get(actor.ready.remote())
        call_ms = (time.perf_counter() - start) / 200 * 1e3
        for side in sides:
            folder = images(tmp / f"s{side}", count, side)
            argv = ["upscale", str(folder), "--out-dir", str(tmp / f"o{side}"), "--overwrite"]
            args = parser.parse_args([*argv, "--threads", "1", "-q"])
            jobs, _ = plan_jobs(args, scale)
            upscale_file(upscaler, jobs[0], args, CancelToken())  # warm up both
            dispatch(pool, jobs[:1], set(), lambda i, r: None, lambda: False)
            local, through_ray, outcomes = [], [], []
            for _ in range(repeats):
                start = time.perf_counter()
                for job in jobs:
                    upscale_file(upscaler, job, args, CancelToken())
                local.append((time.perf_counter() - start) / len(jobs))
                start = time.perf_counter()
                dispatch(
                    pool, jobs, set(), lambda i, r, seen=outcomes: seen.append(r["status"]), no
                )
                through_ray.append((time.perf_counter() - start) / len(jobs))
            if set(outcomes) != {"done"}:
                raise SystemExit(f"an actor did not upscale every file: {outcomes}")
            best_local, best_ray = min(local), min(through_ray)
            rows.append(
                {
                    "input": f"{side}x{side}",
                    "output_mp": round(side * side * scale * scale / 1e6, 4),
                    "local_ms": round(best_local * 1e3, 2),
                    "ray_1_actor_ms": round(best_ray * 1e3, 2),
                    "difference_ms": round((best_ray - best_local) * 1e3, 2),
                    "difference_pct": round((best_ray - best_local) / best_local * 100, 1),
                }
            )
        pool.stop()
    finally:
        ray.shutdown()
    return {"bare_actor_call_roundtrip_ms": round(call_ms, 3), "sizes": rows}


def main() -> None:
    """Run both parts and print (and with --json, write) one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=20, help="images in part 1")
    parser.add_argument("--side", type=int, default=256, help="their side in pixels")
    parser.add_argument("--sizes", default="16,64,256", help="part 2's image sides")
    parser.add_argument("--per-size", type=int, default=20, help="images per size in part 2")
    parser.add_argument("--json", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    report: dict = {
        "machine": machine(("onnxruntime", "ray")),
        "model": "embedded default (pocketsr-nano)",
    }
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        folder = images(tmp / "in", args.images, args.side)
        report["images"] = f"{args.images} x {args.side}x{args.side} RGB uint8 PNG"
        runs = [
            ("local CLI, default threads", []),
            ("local CLI, --threads 1", ["--threads", "1"]),
            ("--cluster local, 1 actor x 1 thread", ["--cluster", "local", "--actors", "1"]),
            ("--cluster local, 2 actors x 1 thread", ["--cluster", "local", "--actors", "2"]),
        ]
        report["commands"] = {}
        for i, (name, extra) in enumerate(runs):
            report["commands"][name] = command(folder, tmp / f"out{i}", extra)
        sizes = [int(s) for s in args.sizes.split(",")]
        report["steady_state_per_image"] = steady_state(tmp, sizes, args.per_size)
    report["machine"]["load_average_after"] = os.getloadavg()
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
