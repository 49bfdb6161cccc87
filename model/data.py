"""Training data: HR photos in, (degraded LR, HR) crop pairs out, made on the fly into a pool."""

from __future__ import annotations

import multiprocessing as mp
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .degradation import degrade, degrade_mild

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
# CC0 / public-domain photos that ship inside scikit-image's wheel (loaded, never copied).
SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")


def load_photos(
    folders: list[Path], use_skimage: bool = True, min_side: int = 64
) -> list[np.ndarray]:
    """Every RGB photo (uint8 H×W×3) in the folders, plus scikit-image's bundled CC0 photos."""
    photos: list[np.ndarray] = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                photos.append(np.asarray(Image.open(path).convert("RGB")))
    if use_skimage:
        try:
            from skimage import data as skdata
        except ImportError:
            pass
        else:
            for name in SKIMAGE_PHOTOS:
                img = getattr(skdata, name)()
                if img.ndim == 3 and img.shape[2] == 3:
                    photos.append(np.ascontiguousarray(img))
    photos = [p for p in photos if min(p.shape[:2]) >= min_side]
    if not photos:
        raise FileNotFoundError(f"no training photos found in {[str(f) for f in folders]}")
    return photos


@dataclass(frozen=True)
class PairBatch:
    """A pool of crop pairs: LR (N×h×w×3) and HR (N×H×W×3), uint8."""

    lr: np.ndarray
    hr: np.ndarray


def random_crop(photo: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random size×size crop with a random flip / 90° rotation."""
    h, w = photo.shape[:2]
    size = min(size, h, w)
    y = int(rng.integers(0, h - size + 1))
    x = int(rng.integers(0, w - size + 1))
    crop = photo[y : y + size, x : x + size]
    crop = np.rot90(crop, int(rng.integers(0, 4)))
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return np.ascontiguousarray(crop)


_WORKER_PHOTOS: list[np.ndarray] = []


def _init_worker(photos: list[np.ndarray]) -> None:
    global _WORKER_PHOTOS
    _WORKER_PHOTOS = photos


def _make_pairs(args: tuple[int, int, int, int, str]) -> tuple[np.ndarray, np.ndarray]:
    seed, count, hr_size, scale, kind = args
    rng = np.random.default_rng(seed)
    lrs, hrs = [], []
    for _ in range(count):
        photo = _WORKER_PHOTOS[int(rng.integers(0, len(_WORKER_PHOTOS)))]
        hr = random_crop(photo, hr_size, rng)
        if hr.shape[0] != hr_size:
            hr = np.asarray(
                Image.fromarray(hr).resize((hr_size, hr_size), Image.Resampling.BICUBIC)
            )
        if kind == "clean":
            lr = np.asarray(
                Image.fromarray(hr).resize((hr_size // scale,) * 2, Image.Resampling.BICUBIC)
            )
        elif kind == "mild":
            lr = degrade_mild(hr, rng, scale)
        else:
            lr = degrade(hr, rng, scale)
        lrs.append(lr)
        hrs.append(hr)
    return np.stack(lrs), np.stack(hrs)


def pair_kind(index: int, clean_fraction: float, mild_fraction: float) -> str:
    """The degradation of the index-th chunk of a pool: "clean", "mild" or "full".

    A low-discrepancy sequence spreads each share evenly over the pool, whatever its size.
    """
    u = (index * 0.6180339887498949 + 0.5) % 1.0
    if u < clean_fraction:
        return "clean"
    return "mild" if u < clean_fraction + mild_fraction else "full"


def make_pool(
    photos: list[np.ndarray],
    count: int,
    hr_size: int,
    seed: int,
    scale: int = 4,
    workers: int = 1,
    clean_fraction: float = 0.1,
    mild_fraction: float = 0.0,
) -> PairBatch:
    """Make `count` fresh pairs: shares with plain bicubic LR and with one mild degradation
    pass keep clean and everyday inputs sharp; the rest get the second-order degradation."""
    chunk = 16
    jobs = []
    for i, start in enumerate(range(0, count, chunk)):
        n = min(chunk, count - start)
        jobs.append(
            (seed * 100003 + i, n, hr_size, scale, pair_kind(i, clean_fraction, mild_fraction))
        )
    if workers > 1:
        ctx = mp.get_context("fork")
        with ctx.Pool(workers, initializer=_init_worker, initargs=(photos,)) as pool:
            parts = pool.map(_make_pairs, jobs)
    else:
        _init_worker(photos)
        parts = [_make_pairs(j) for j in jobs]
    return PairBatch(
        lr=np.concatenate([p[0] for p in parts]), hr=np.concatenate([p[1] for p in parts])
    )
