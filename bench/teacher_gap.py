"""How far a model's output is from x4plus's, on cached teacher pairs it trained on and on a
held-out shard: is the default weights' distance to the teacher a matter of data or capacity?

    python -m bench.teacher_gap engine/weights/pocketsr-nano.onnx run.onnx --data DIR

The held-out shard is made by the teacher cache's own code (model/teacher_cache.py) with a
shard index the training cache has not reached (default 1000: held out while the cache holds
fewer than 256 000 pairs), once, into a folder beside the cache, and reused. Prints the mean
absolute error on 0..255 against x4plus's output and against the ground truth, on the
training cache's first shard and on the held-out one (bench/QUALITY.md, "Capacity, not
data"; its figures used --index 20, held out while the cache held 20 shards).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HELD_OUT_INDEX = 1000


@dataclass(frozen=True)
class Gap:
    """Mean absolute errors (0..255) of a model's outputs on one shard of teacher pairs."""

    to_teacher: float
    to_truth: float


def held_out_path(cache: Path, index: int) -> Path:
    """Where the held-out shard of `index` lives: a folder beside the training cache."""
    return cache.with_name(cache.name + "-heldout") / f"shard_{index:05d}.npz"


def ensure_held_out(cache: Path, index: int, data: list[Path], threads: int = 1) -> Path:
    """The held-out shard, made with the cache's own code when it is missing."""
    path = held_out_path(cache, index)
    if path.exists():
        return path
    from pocketsr.model import teacher_cache as tc
    from pocketsr.model.data import load_photos

    if index < len(tc.shard_paths(cache)):
        raise SystemExit(f"shard {index} is in the training cache {cache}: pick a later --index")
    if not data:
        raise SystemExit(f"{path} is missing: give --data DIR (the training photos) to make it")
    shard = tc.make_shard(load_photos(data), tc.OnnxTeacher(threads), index)
    path.parent.mkdir(parents=True, exist_ok=True)
    tc.write_shard(shard, path)
    return path


def gap(model: Path, shard: Path, threads: int = 1, batch: int = 32) -> Gap:
    """The model's errors against the teacher's outputs and the ground truth of one shard."""
    from pocketsr.engine.session import ModelSession

    session = ModelSession(str(model), device="cpu", threads=threads)
    with np.load(shard) as pairs:
        lr, teacher, hr = (pairs[k].astype(np.float32) for k in ("lr", "teacher", "hr"))
    to_teacher = to_truth = 0.0
    for i in range(0, len(lr), batch):
        x = lr[i : i + batch].transpose(0, 3, 1, 2) / 255
        sr = np.clip(session.run(np.ascontiguousarray(x)), 0, 1).transpose(0, 2, 3, 1) * 255
        to_teacher += float(np.abs(sr - teacher[i : i + batch]).sum())
        to_truth += float(np.abs(sr - hr[i : i + batch]).sum())
    return Gap(to_teacher / teacher.size, to_truth / hr.size)


def main(argv: list[str] | None = None) -> int:
    """Print each model's gap on the first training shard and on the held-out one."""
    from pocketsr.model import teacher_cache as tc

    p = argparse.ArgumentParser(prog="python -m bench.teacher_gap", description=__doc__)
    p.add_argument("models", nargs="+", type=Path, help="ONNX models (x4)")
    p.add_argument("--cache", type=Path, default=None, help="the teacher-pair cache")
    p.add_argument("--data", type=Path, action="append", default=[], help="training photos")
    p.add_argument("--index", type=int, default=HELD_OUT_INDEX, help="held-out shard index")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    cache = args.cache or tc.default_cache_dir()
    trained = tc.shard_paths(cache)
    if not trained:
        raise SystemExit(f"the teacher-pair cache {cache} is empty: build it first")
    held = ensure_held_out(cache, args.index, args.data, args.threads)
    print("model | trained shard: to x4plus / to truth | held-out shard: to x4plus / to truth")
    for model in args.models:
        cells = [gap(model, shard, args.threads) for shard in (trained[0], held)]
        print(" | ".join([str(model)] + [f"{g.to_teacher:.2f} / {g.to_truth:.2f}" for g in cells]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
