"""EXIF: orientation read and reset to upright, and the text tags a TIFF file carries."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
import tifffile
from PIL import Image

ORIENTATION = 0x0112
TIFF_TEXT_TAGS = (270, 271, 272, 305, 306, 315, 33432)  # description, make, model, ...


def exif_upright(raw: bytes | None) -> tuple[bytes | None, int]:
    """EXIF bytes with orientation reset to 1, and the orientation that was there."""
    if not raw:
        return None, 1
    exif = Image.Exif()
    try:
        exif.load(raw)
    except Exception:
        return None, 1  # unparseable EXIF is dropped rather than failing the read
    orientation = exif.get(ORIENTATION, 1)
    if orientation != 1:
        exif[ORIENTATION] = 1
    try:
        return exif.tobytes(), int(orientation) if orientation in range(1, 9) else 1
    except Exception:
        return None, 1


def orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) so the pixels are upright."""
    ops: dict[int, Callable[[np.ndarray], np.ndarray]] = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return pixels if op is None else np.ascontiguousarray(op(pixels))


def exif_from_tiff_tags(tags: tifffile.TiffTags) -> bytes | None:
    """The text tags of a TIFF page as EXIF bytes, or None when it has none."""
    exif = Image.Exif()
    for code in TIFF_TEXT_TAGS:
        if code in tags and isinstance(tags[code].value, str):
            exif[code] = tags[code].value
    return exif.tobytes() if len(exif) else None


def tiff_text_tags(exif_bytes: bytes | None) -> list[tuple[int, str, int, str, bool]]:
    """EXIF's ASCII text tags as tifffile extratags (Software excepted: tifffile writes it)."""
    if not exif_bytes:
        return []
    exif = Image.Exif()
    with contextlib.suppress(Exception):
        exif.load(exif_bytes)
    return [
        (code, "s", 0, exif[code], True)
        for code in TIFF_TEXT_TAGS
        if code != 305 and isinstance(exif.get(code), str) and exif[code].isascii()
    ]
