"""Checks and edits of ONNX model files shared by the exporter and the model converter.

Metadata edits need the `onnx` package (an optional dependency: training and conversion only);
the tile-agreement check runs through the engine itself.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .atomic_write import atomic_path

METADATA_PREFIX = "pocketsr."


def set_metadata(path: Path, key: str, value: object) -> None:
    """Set one pocketsr.* metadata entry of an ONNX file in place (atomically)."""
    import onnx

    proto = onnx.load(str(path))
    full = METADATA_PREFIX + key
    for entry in proto.metadata_props:
        if entry.key == full:
            entry.value = str(value)
            break
    else:
        entry = proto.metadata_props.add()
        entry.key, entry.value = full, str(value)
    with atomic_path(path, overwrite=True) as tmp:
        onnx.save(proto, str(tmp))


def natural_test_image(side: int = 160) -> np.ndarray:
    """A photo crop (scikit-image's CC0 astronaut) or, without scikit-image, a synthetic one."""
    try:
        from skimage import data

        return np.ascontiguousarray(data.astronaut()[120 : 120 + side, 160 : 160 + side])
    except ImportError:  # a smooth but detailed synthetic stand-in
        yy, xx = np.mgrid[0:side, 0:side] / side
        rgb = [np.sin(40 * xx * yy + k) * 0.4 + 0.5 for k in range(3)]
        return (np.stack(rgb, -1) * 255).astype(np.uint8)


def tile_agreement_db(path: Path, image: np.ndarray, tile: int = 64) -> float:
    """PSNR of the engine's tile-`tile` result against its one-window result (inf if equal)."""
    from .upscaler import Upscaler

    up = Upscaler(str(path), device="cpu")
    whole = up.upscale(image, tile=None).astype(np.float64)
    tiled = up.upscale(image, tile=tile).astype(np.float64)
    mse = float(np.mean((whole - tiled) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(255.0**2 / mse)


def settle_receptive_field(
    path: Path, start: int, full: int, goal_db: float = 65.0, side: int = 160
) -> int:
    """The smallest receptive field from `start` up to `full` whose tiles agree to goal_db.

    Checked through the engine: the value is grown (by a quarter each time) until tiles of
    64 px agree with a one-window run, and the value that passed is written to the file. The
    overlap it implies is the engine's main cost besides the network, so the search starts
    low. 65 dB is an RMS difference of 0.14 of an 8-bit level, well above the engine's 50 dB
    promise.
    """
    image = natural_test_image(side)
    candidate = max(1, start)
    while True:
        set_metadata(path, "receptive_field", candidate)
        if candidate >= full or tile_agreement_db(path, image) >= goal_db:
            return candidate
        candidate = min(full, max(candidate + 1, math.ceil(candidate * 1.25)))
