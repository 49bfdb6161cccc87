"""Teacher pairs made once and kept outside the checkout: (degraded LR, x4plus output, HR).

On a CPU the teacher is far too slow to run live beside the student, so a recipe stage reads
its outputs from this cache. The cache is a folder of shards (each SHARD_SIZE pairs, written
atomically, its degradations seeded by its index); building makes the missing indices until
the asked-for count is there, in one process or several, so a killed build loses at most one
shard per process and a later one carries on. Its key names the teacher, the crop and the
degradation mix: a change to any of them starts a new folder.

    python -m pocketsr.model.teacher_cache --data DIR --count 8000 --jobs 2
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .data import PairBatch, load_photos, make_pool

SHARD_SIZE = 256
LR_CROP = 32  # the student's LR training crop (HR 128)
MARGIN = 8  # LR pixels of context the teacher sees on each side; cut off afterwards
SCALE = 4
# Degradation mix of the cached LR: mostly the second-order pipeline, some mild, some clean.
CLEAN_FRACTION = 0.1
MILD_FRACTION = 0.2
CACHE_VERSION = 1


def default_cache_dir() -> Path:
    """Where the cache lives: $POCKETSR_CACHE or ~/.cache/pocketsr, then teacher-pairs/KEY."""
    root = Path(os.environ.get("POCKETSR_CACHE", "~/.cache/pocketsr")).expanduser()
    key = (
        f"x4plus-v{CACHE_VERSION}-lr{LR_CROP}m{MARGIN}"
        f"-c{round(CLEAN_FRACTION * 100)}m{round(MILD_FRACTION * 100)}"
    )
    return root / "teacher-pairs" / key


@dataclass(frozen=True)
class TeacherPairs:
    """Cached pairs, uint8 N×H×W×3: the LR input, the teacher's x4 output and the HR crop."""

    lr: np.ndarray
    teacher: np.ndarray
    hr: np.ndarray

    def __len__(self) -> int:
        return int(self.lr.shape[0])


def shard_paths(cache: Path) -> list[Path]:
    """The finished shards of a cache, in order."""
    return sorted(cache.glob("shard_*.npz"))


class OnnxTeacher:
    """x4plus written as ONNX by the engine's peer converter and run by ONNX Runtime.

    On one CPU thread it took 1.23 s per 48x48 LR crop against the PyTorch module's 1.64 s
    (rrdb.py; measured in one run, 2026-12-02): the faster way to fill the cache on a CPU.
    """

    def __init__(self, threads: int = 1) -> None:
        from pocketsr.engine.convert import PEERS, graph_to_onnx
        from pocketsr.engine.ncnn import load_ncnn
        from pocketsr.engine.session import ModelSession

        peer = PEERS["realesrgan-x4plus"]
        model = graph_to_onnx(load_ncnn(*peer.files()), {"name": peer.name, "scale": 4})
        self.session = ModelSession(
            f"{peer.name}.onnx",
            device="cpu",
            threads=threads,
            model_bytes=model.SerializeToString(),
        )

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """x4 of a batch of LR images in 0..1 (output clamped to 0..1 by the graph)."""
        return torch.from_numpy(self.session.run(x.numpy()))


def _teacher_run(teacher, lr: np.ndarray, batch: int) -> np.ndarray:
    outs = []
    with torch.no_grad():
        for i in range(0, len(lr), batch):
            x = torch.from_numpy(lr[i : i + batch]).permute(0, 3, 1, 2).float() / 255
            y = teacher(x).clamp(0, 1).mul(255).round().byte()
            outs.append(y.permute(0, 2, 3, 1).numpy())
    return np.concatenate(outs)


def make_shard(
    photos: list[np.ndarray],
    teacher,
    index: int,
    batch: int = 8,
    size: int = SHARD_SIZE,
) -> TeacherPairs:
    """One shard: degraded crops with context, the teacher run on them, the context cut off."""
    side = (LR_CROP + 2 * MARGIN) * SCALE
    pool: PairBatch = make_pool(
        photos,
        size,
        side,
        seed=900001 + index,
        scale=SCALE,
        clean_fraction=CLEAN_FRACTION,
        mild_fraction=MILD_FRACTION,
    )
    out = _teacher_run(teacher, pool.lr, batch)
    m, hm = MARGIN, MARGIN * SCALE
    cut = slice(hm, hm + LR_CROP * SCALE)
    return TeacherPairs(
        lr=np.ascontiguousarray(pool.lr[:, m : m + LR_CROP, m : m + LR_CROP]),
        teacher=np.ascontiguousarray(out[:, cut, cut]),
        hr=np.ascontiguousarray(pool.hr[:, cut, cut]),
    )


def write_shard(shard: TeacherPairs, path: Path) -> None:
    """Write one shard whole or not at all (a hidden .part file renamed into place)."""
    part = path.with_name(f".{path.name}.part")  # hidden from shard_paths until whole
    with open(part, "wb") as fh:
        np.savez(fh, lr=shard.lr, teacher=shard.teacher, hr=shard.hr)
    os.replace(part, path)


def missing_shards(cache: Path, count: int, shard_size: int = SHARD_SIZE) -> list[int]:
    """The shard indices still to make for `count` pairs, the lowest free indices first."""
    short = count - held(cache)
    have = {int(path.stem.split("_")[1]) for path in shard_paths(cache)}
    todo: list[int] = []
    index = 0
    while len(todo) * shard_size < short:
        if index not in have:
            todo.append(index)
        index += 1
    return todo


def build(
    photos: list[np.ndarray],
    cache: Path,
    count: int,
    make_teacher: Callable[[], Callable[[torch.Tensor], torch.Tensor]],
    log=print,
    shard_size: int = SHARD_SIZE,
    jobs: int = 1,
) -> int:
    """Make shards until the cache holds at least `count` pairs, in `jobs` processes (each
    with its own teacher from make_teacher); returns the pairs held."""
    cache.mkdir(parents=True, exist_ok=True)
    for stale in cache.glob(".shard_*.part"):
        stale.unlink()  # left by a killed build
    todo = missing_shards(cache, count, shard_size)
    if jobs <= 1 or len(todo) <= 1:
        teacher = make_teacher() if todo else None
        for index in todo:
            log(_make_one(photos, teacher, index, cache, shard_size))
    else:
        # Shards are seeded by their index, so which process makes which does not matter.
        with multiprocessing.Pool(
            min(jobs, len(todo)), initializer=_start_worker, initargs=(photos, make_teacher)
        ) as pool:
            for line in pool.imap_unordered(
                functools.partial(_make_in_worker, cache=cache, shard_size=shard_size), todo
            ):
                log(line)
    return held(cache)


_worker: dict = {}  # a pool process's photos and teacher


def _start_worker(photos: list[np.ndarray], make_teacher: Callable) -> None:
    _worker.update(photos=photos, teacher=make_teacher())


def _make_in_worker(index: int, cache: Path, shard_size: int) -> str:
    return _make_one(_worker["photos"], _worker["teacher"], index, cache, shard_size)


def _make_one(photos: list[np.ndarray], teacher, index: int, cache: Path, shard_size: int) -> str:
    start = time.time()
    shard = make_shard(photos, teacher, index, size=shard_size)
    write_shard(shard, cache / f"shard_{index:05d}.npz")
    return f"teacher cache: shard {index} ({len(shard)} pairs) in {time.time() - start:.0f} s"


def held(cache: Path) -> int:
    """How many pairs the cache's finished shards hold."""
    total = 0
    for path in shard_paths(cache):
        with np.load(path) as shard:
            total += int(shard["lr"].shape[0])
    return total


def load(cache: Path, limit: int = 0) -> TeacherPairs:
    """Every cached pair (or the first `limit`); a clear error when the cache is empty."""
    paths = shard_paths(cache)
    if not paths:
        raise SystemExit(
            f"the teacher-pair cache {cache} is empty: build it with "
            "`python -m pocketsr.model.teacher_cache --data DIR`"
        )
    parts = [np.load(p) for p in paths]
    pairs = TeacherPairs(*(np.concatenate([p[k] for p in parts]) for k in ("lr", "teacher", "hr")))
    if limit and len(pairs) > limit:
        pairs = TeacherPairs(pairs.lr[:limit], pairs.teacher[:limit], pairs.hr[:limit])
    return pairs


def main(argv: list[str] | None = None) -> int:
    """Build (or extend) the teacher-pair cache."""
    p = argparse.ArgumentParser(prog="python -m pocketsr.model.teacher_cache", description=__doc__)
    p.add_argument("--data", action="append", default=[], help="folder of HR training photos")
    p.add_argument("--cache", type=Path, default=None, help="cache folder (default: see above)")
    p.add_argument("--count", type=int, default=8192, help="pairs the cache should hold")
    p.add_argument("--threads", type=int, default=1, help="threads per process")
    p.add_argument(
        "--jobs", type=int, default=1, help="processes making shards at once (one per core)"
    )
    p.add_argument(
        "--runtime",
        choices=("onnx", "torch"),
        default="onnx",
        help="run the teacher in ONNX Runtime (faster on a CPU) or PyTorch (rrdb.py)",
    )
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.runtime == "onnx":
        make_teacher = functools.partial(OnnxTeacher, args.threads)
    else:
        from .rrdb import load_x4plus

        make_teacher = load_x4plus

    cache = args.cache or default_cache_dir()

    def log(text: str) -> None:
        print(text, flush=True)

    photos = load_photos([Path(d) for d in args.data])
    total = build(photos, cache, args.count, make_teacher, log=log, jobs=args.jobs)
    print(f"teacher cache: {total} pairs in {cache}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
