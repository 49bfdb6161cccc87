"""NIQE blind quality (Mittal, Soundararajan, Bovik 2013), lower = more natural; numpy only."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bench.metrics import rgb_to_y

BLOCK = 96
# Shape grid of the moment-matching search and the ratio E[|x|]^2 / E[x^2] it maps to.
_ALPHAS = np.arange(0.2, 10.0 + 1e-9, 0.001)
_GAMMA = np.frompyfunc(math.gamma, 1, 1)
_RHO = (_GAMMA(2.0 / _ALPHAS) ** 2 / (_GAMMA(1.0 / _ALPHAS) * _GAMMA(3.0 / _ALPHAS))).astype(
    np.float64
)
# Neighbour offsets (row, col) of the paired products: horizontal, vertical, two diagonals.
_SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))


@dataclass(frozen=True)
class PristineModel:
    """The pristine multivariate Gaussian (mu 36, cov 36x36) and the 7x7 MSCN window."""

    mu: np.ndarray
    cov: np.ndarray
    window: np.ndarray


@lru_cache(maxsize=4)
def load_pristine(path: str | Path) -> PristineModel:
    """Load niqe_pris_params.npz (mu_pris_param, cov_pris_param, gaussian_window)."""
    with np.load(path) as d:
        return PristineModel(
            mu=np.asarray(d["mu_pris_param"], dtype=np.float64).reshape(-1),
            cov=np.asarray(d["cov_pris_param"], dtype=np.float64),
            window=np.asarray(d["gaussian_window"], dtype=np.float64),
        )


def correlate_replicate(img: np.ndarray, window: np.ndarray) -> np.ndarray:
    """2-D correlation with an odd-sized window, edges replicated; output the input's size."""
    kh, kw = window.shape
    padded = np.pad(img, ((kh // 2, kh // 2), (kw // 2, kw // 2)), mode="edge")
    h, w = img.shape
    out = np.zeros((h, w), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            out += window[i, j] * padded[i : i + h, j : j + w]
    return out


def mscn(img: np.ndarray, window: np.ndarray, c: float = 1.0) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients (local Gaussian mean and deviation)."""
    mu = correlate_replicate(img, window)
    var = correlate_replicate(img * img, window) - mu * mu
    sigma = np.sqrt(np.abs(var))
    return (img - mu) / (sigma + c)


def fit_aggd(x: np.ndarray) -> tuple[float, float, float]:
    """Fit an asymmetric generalised Gaussian by moment matching: (shape, left, right scale)."""
    v = x.reshape(-1).astype(np.float64)
    left = v[v < 0]
    right = v[v > 0]
    if left.size == 0 or right.size == 0:
        return math.nan, math.nan, math.nan
    sigma_l = math.sqrt(float(np.mean(left**2)))
    sigma_r = math.sqrt(float(np.mean(right**2)))
    g = sigma_l / sigma_r
    r_hat = float(np.mean(np.abs(v))) ** 2 / float(np.mean(v**2))
    r_norm = r_hat * (g**3 + 1.0) * (g + 1.0) / (g**2 + 1.0) ** 2
    alpha = float(_ALPHAS[np.argmin((_RHO - r_norm) ** 2)])
    k = math.sqrt(math.gamma(1.0 / alpha) / math.gamma(3.0 / alpha))
    return alpha, sigma_l * k, sigma_r * k


def fit_ggd(x: np.ndarray) -> tuple[float, float]:
    """Fit a zero-mean generalised Gaussian by moment matching: (shape, variance)."""
    v = x.reshape(-1).astype(np.float64)
    var = float(np.mean(v**2))
    if var == 0.0:
        return math.nan, 0.0
    r_hat = float(np.mean(np.abs(v))) ** 2 / var
    return float(_ALPHAS[np.argmin((_RHO - r_hat) ** 2)]), var


def block_features(block: np.ndarray) -> np.ndarray:
    """Return the 18 NSS features of one MSCN block (shape/scale, then 4 paired-product AGGDs)."""
    alpha, bl, br = fit_aggd(block)
    feats = [alpha, (bl + br) / 2.0]
    for dy, dx in _SHIFTS:
        # Neighbour products wrap around inside the block, as the MATLAB reference's circshift.
        pair = block * np.roll(block, shift=(dy, dx), axis=(0, 1))
        a, pl, pr = fit_aggd(pair)
        if math.isnan(a):
            feats += [math.nan] * 4
            continue
        mean = (pr - pl) * math.gamma(2.0 / a) / math.gamma(1.0 / a)
        feats += [a, mean, pl, pr]
    return np.asarray(feats, dtype=np.float64)


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5."""
    ax = np.abs(x)
    ax2, ax3 = ax**2, ax**3
    return np.where(
        ax <= 1,
        1.5 * ax3 - 2.5 * ax2 + 1,
        np.where(ax <= 2, -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2, 0.0),
    )


def _resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Antialiased bicubic resampling matrix (n_out x n_in), mirrored edges, MATLAB-style."""
    scale = n_out / n_in
    kscale = min(scale, 1.0)
    width = 4.0 / kscale
    out = np.arange(1, n_out + 1, dtype=np.float64)
    u = out / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = math.ceil(width) + 2
    idx = left[:, None] + np.arange(taps)[None, :]
    w = kscale * _cubic(kscale * (u[:, None] - idx))
    w /= w.sum(axis=1, keepdims=True)
    # 1-based positions to 0-based, mirrored at the edges (symmetric padding).
    j = idx.astype(np.int64) - 1
    period = 2 * n_in
    j = np.mod(j, period)
    j = np.where(j >= n_in, period - 1 - j, j)
    m = np.zeros((n_out, n_in), dtype=np.float64)
    np.add.at(m, (np.repeat(np.arange(n_out), taps), j.reshape(-1)), w.reshape(-1))
    return m


def imresize_half(img: np.ndarray) -> np.ndarray:
    """Bicubic half-size downscale with antialiasing (as MATLAB imresize(img, 0.5))."""
    h, w = img.shape
    rows = _resize_matrix(h, math.ceil(h / 2))
    cols = _resize_matrix(w, math.ceil(w / 2))
    return rows @ img @ cols.T


def image_features(y: np.ndarray, window: np.ndarray, block: int = BLOCK) -> np.ndarray:
    """Return the (n_blocks, 36) feature matrix of a Y image cropped to whole blocks."""
    h = (y.shape[0] // block) * block
    w = (y.shape[1] // block) * block
    if h == 0 or w == 0:
        raise ValueError(f"image {y.shape} smaller than one {block}x{block} block")
    img = y[:h, :w].astype(np.float64)
    per_scale = []
    for scale in (1, 2):
        b = block // scale
        m = mscn(img, window)
        feats = [
            block_features(m[r : r + b, c : c + b])
            for r in range(0, m.shape[0], b)
            for c in range(0, m.shape[1], b)
        ]
        per_scale.append(np.stack(feats))
        img = imresize_half(img)
    return np.concatenate(per_scale, axis=1)


def niqe_from_y(y: np.ndarray, model: PristineModel) -> float:
    """Return NIQE of a 2-D luminance image in 0..255 given the pristine model."""
    feats = image_features(y, model.window)
    feats = feats[np.all(np.isfinite(feats), axis=1)]
    if feats.shape[0] < 2:
        raise ValueError("need at least two usable 96x96 blocks for NIQE")
    mu = feats.mean(axis=0)
    cov = np.cov(feats, rowvar=False)
    d = model.mu - mu
    return float(math.sqrt(max(float(d @ np.linalg.pinv((model.cov + cov) / 2.0) @ d), 0.0)))


def niqe(img: np.ndarray, params: str | Path, border: int = 0) -> float:
    """Return NIQE of a uint8 RGB/grayscale image on its BT.601 Y channel (rounded to 8 bits)."""
    y = np.round(rgb_to_y(img))
    if border > 0:
        y = y[border:-border, border:-border]
    return niqe_from_y(y, load_pristine(str(params)))
