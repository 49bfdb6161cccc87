"""Pixel layouts and sample types between files and the engine (grey+alpha, bit depth)."""

from __future__ import annotations

import numpy as np


def to_engine_layout(pixels: np.ndarray) -> np.ndarray:
    """Grey+alpha (H×W×2) becomes RGBA for the engine; other layouts pass through."""
    if pixels.ndim == 3 and pixels.shape[2] == 2:
        return np.concatenate([np.repeat(pixels[..., :1], 3, axis=2), pixels[..., 1:]], axis=2)
    return pixels


def to_file_layout(pixels: np.ndarray, mode: str) -> np.ndarray:
    """Bring an engine result back to the source's layout (RGBA back to grey+alpha for LA)."""
    if mode == "LA" and pixels.ndim == 3 and pixels.shape[2] == 4:
        grey = pixels[..., :3].astype(np.float32).mean(axis=2, keepdims=True)
        return np.concatenate([grey.astype(pixels.dtype), pixels[..., 3:]], axis=2)
    return pixels


def convert_depth(pixels: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
    """Convert samples between uint8, uint16 and float (0..1), rounding, never wrapping."""
    dtype = np.dtype(dtype)
    if pixels.dtype == dtype:
        return pixels
    if pixels.dtype.kind == "f":
        unit = np.nan_to_num(pixels.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        unit = np.clip(unit, 0.0, 1.0)
    else:
        unit = pixels.astype(np.float32) / np.iinfo(pixels.dtype).max
    if dtype.kind == "f":
        return unit.astype(dtype)
    return np.rint(unit * np.iinfo(dtype).max).astype(dtype)
