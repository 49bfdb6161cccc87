"""The second-order real-world degradation (Real-ESRGAN's published settings), numpy + Pillow.

`degrade(hr, rng)` makes a training LR from an HR crop; `degrade_fixed(hr, seed)` is the same
pipeline driven by a fixed seed so an evaluation image always gets the same LR.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import signal, special

KERNEL_SIZE = 21


@dataclass(frozen=True)
class BlurSettings:
    """One blur stage's kernel distribution."""

    sigma: tuple[float, float]
    sinc_prob: float = 0.1


FIRST_BLUR = BlurSettings(sigma=(0.2, 3.0))
SECOND_BLUR = BlurSettings(sigma=(0.2, 1.5))
KERNEL_KINDS = ("iso", "aniso", "gen_iso", "gen_aniso", "plateau_iso", "plateau_aniso")
KERNEL_PROBS = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    r = np.arange(size) - (size - 1) / 2
    return np.meshgrid(r, r)


def _covariance(sx: float, sy: float, theta: float) -> np.ndarray:
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    return rot @ np.diag([sx * sx, sy * sy]) @ rot.T


def _pad(kernel: np.ndarray) -> np.ndarray:
    pad = (KERNEL_SIZE - kernel.shape[0]) // 2
    return np.pad(kernel, pad) if pad > 0 else kernel


def sinc_kernel(cutoff: float, size: int) -> np.ndarray:
    """A circular low-pass (2-D sinc / Airy) kernel with the given angular cutoff."""
    xx, yy = _grid(size)
    r = np.hypot(xx, yy)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = cutoff * special.j1(cutoff * r) / (2 * np.pi * r)
    k[r == 0] = cutoff**2 / (4 * np.pi)
    return _pad(k / k.sum())


def mixed_kernel(rng: np.random.Generator, settings: BlurSettings) -> np.ndarray:
    """Draw one blur kernel (Gaussian family or sinc), normalised, padded to 21x21."""
    size = int(rng.choice(np.arange(7, KERNEL_SIZE + 1, 2)))
    if rng.random() < settings.sinc_prob:
        cutoff = rng.uniform(np.pi / 3, np.pi) if size < 13 else rng.uniform(np.pi / 5, np.pi)
        return sinc_kernel(cutoff, size)
    kind = rng.choice(KERNEL_KINDS, p=KERNEL_PROBS)
    lo, hi = settings.sigma
    sx = rng.uniform(lo, hi)
    if kind.endswith("iso") and not kind.endswith("aniso"):
        sy, theta = sx, 0.0
    else:
        sy, theta = rng.uniform(lo, hi), rng.uniform(-np.pi, np.pi)
    inv = np.linalg.inv(_covariance(sx, sy, theta))
    xx, yy = _grid(size)
    pts = np.stack([xx, yy], -1)
    quad = np.einsum("...i,ij,...j->...", pts, inv, pts)
    if kind.startswith("gen"):
        beta = rng.uniform(0.5, 4.0) if rng.random() < 0.5 else rng.uniform(1.0, 4.0)
        k = np.exp(-0.5 * np.power(quad, beta))
    elif kind.startswith("plateau"):
        beta = rng.uniform(1.0, 2.0)
        k = 1 / (np.power(quad, beta) + 1)
    else:
        k = np.exp(-0.5 * quad)
    return _pad(k / k.sum())


def blur(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve each channel with the kernel, reflecting at the borders."""
    p = kernel.shape[0] // 2
    padded = np.pad(img, ((p, p), (p, p), (0, 0)), mode="reflect")
    out = signal.fftconvolve(padded, kernel[:, :, None], mode="valid", axes=(0, 1))
    return out.astype(np.float32)


_RESAMPLE = {"area": Image.Resampling.BOX, "bilinear": Image.Resampling.BILINEAR}
_RESAMPLE["bicubic"] = Image.Resampling.BICUBIC


def resize(img: np.ndarray, width: int, height: int, mode: str) -> np.ndarray:
    """Resize a float H×W×3 image with Pillow's float mode (no 8-bit rounding)."""
    planes = [
        np.asarray(Image.fromarray(img[:, :, c], mode="F").resize((width, height), _RESAMPLE[mode]))
        for c in range(img.shape[2])
    ]
    return np.stack(planes, -1)


def add_noise(
    img: np.ndarray,
    rng: np.random.Generator,
    sigma: tuple[float, float],
    poisson: tuple[float, float],
) -> np.ndarray:
    """Gaussian (p=0.5) or Poisson noise, grey with p=0.4, on a 0..1 image."""
    gray = rng.random() < 0.4
    shape = (*img.shape[:2], 1) if gray else img.shape
    if rng.random() < 0.5:
        noise = rng.normal(0, rng.uniform(*sigma) / 255, size=shape)
    else:
        scale = rng.uniform(*poisson)
        src = img.mean(axis=2, keepdims=True) if gray else img
        vals = np.clip(src, 0, 1) * 255
        noisy = rng.poisson(np.round(vals) * 1.0) / 1.0
        noise = (noisy - np.round(vals)) / 255 * scale
    return (img + noise).astype(np.float32)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """JPEG round trip at the given quality (rounds to 8 bits, as a real file does)."""
    u8 = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"), dtype=np.float32) / 255


def _random_resize(
    img: np.ndarray,
    rng: np.random.Generator,
    probs: tuple[float, float, float],
    up: tuple[float, float],
    down: tuple[float, float],
    ref: tuple[int, int],
) -> np.ndarray:
    kind = rng.choice(["up", "down", "keep"], p=probs)
    factor = rng.uniform(*up) if kind == "up" else rng.uniform(*down) if kind == "down" else 1.0
    mode = str(rng.choice(["area", "bilinear", "bicubic"]))
    w = max(1, int(ref[0] * factor))
    h = max(1, int(ref[1] * factor))
    return resize(img, w, h, mode)


def degrade(hr: np.ndarray, rng: np.random.Generator, scale: int = 4) -> np.ndarray:
    """HR (H×W×3 uint8 or float 0..1) -> degraded LR (H/scale × W/scale × 3 uint8)."""
    img = hr.astype(np.float32) / 255 if hr.dtype == np.uint8 else hr.astype(np.float32)
    h, w = img.shape[:2]
    out_w, out_h = w // scale, h // scale
    # First order.
    img = blur(img, mixed_kernel(rng, FIRST_BLUR))
    img = _random_resize(img, rng, (0.2, 0.7, 0.1), (1.0, 1.5), (0.15, 1.0), (w, h))
    img = add_noise(img, rng, (1, 30), (0.05, 3.0))
    img = jpeg(img, rng.integers(30, 96))
    # Second order.
    if rng.random() < 0.8:
        img = blur(img, mixed_kernel(rng, SECOND_BLUR))
    img = _random_resize(
        img, rng, (0.3, 0.4, 0.3), (1.0, 1.2), (0.3, 1.0), (int(w / scale), int(h / scale))
    )
    img = add_noise(img, rng, (1, 25), (0.05, 2.5))
    final_sinc = (
        sinc_kernel(rng.uniform(np.pi / 3, np.pi), KERNEL_SIZE) if rng.random() < 0.8 else None
    )
    mode = str(rng.choice(["area", "bilinear", "bicubic"]))
    quality = rng.integers(30, 96)
    if rng.random() < 0.5:
        img = resize(img, out_w, out_h, mode)
        if final_sinc is not None:
            img = blur(img, final_sinc)
        img = jpeg(img, quality)
    else:
        img = jpeg(img, quality)
        img = resize(img, out_w, out_h, mode)
        if final_sinc is not None:
            img = blur(img, final_sinc)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def degrade_mild(hr: np.ndarray, rng: np.random.Generator, scale: int = 4) -> np.ndarray:
    """One light pass (optional blur, resize /scale, light noise, light JPEG): everyday photos.

    The second-order pipeline alone teaches a model to smooth clean inputs; this share keeps
    the fidelity weights faithful on LR that is only slightly worse than a clean downscale.
    """
    img = hr.astype(np.float32) / 255 if hr.dtype == np.uint8 else hr.astype(np.float32)
    h, w = img.shape[:2]
    if rng.random() < 0.7:
        img = blur(img, mixed_kernel(rng, BlurSettings(sigma=(0.2, 1.5), sinc_prob=0.0)))
    img = resize(img, w // scale, h // scale, str(rng.choice(["area", "bilinear", "bicubic"])))
    if rng.random() < 0.6:
        img = add_noise(img, rng, (1, 8), (0.05, 0.5))
    if rng.random() < 0.6:
        img = jpeg(img, rng.integers(60, 96))
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def degrade_fixed(hr: np.ndarray, seed: int, scale: int = 4) -> np.ndarray:
    """The evaluation version: the same HR and seed always give the same LR."""
    return degrade(hr, np.random.default_rng(np.random.SeedSequence([20251003, seed])), scale)


def bicubic_lr(hr: np.ndarray, scale: int = 4) -> np.ndarray:
    """The plain bicubic LR of an 8-bit HR image (Pillow's bicubic, antialiased)."""
    h, w = hr.shape[:2]
    img = Image.fromarray(hr).resize((w // scale, h // scale), Image.Resampling.BICUBIC)
    return np.asarray(img)
