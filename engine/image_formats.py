"""The file formats PocketSR reads and writes, and the values that describe an image file."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ImageFileError

# An input larger than this is refused before decoding (decompression-bomb guard).
MAX_INPUT_PIXELS = 150_000_000

FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}
EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "TIFF": ".tif", "WEBP": ".webp"}

# tifffile reports through the logging module; with no handler configured its lines would
# reach stderr beside our own sentences. Its problems surface as exceptions we word ourselves.
# Here because every module that reads or writes TIFF files imports this one.
logging.getLogger("tifffile").addHandler(logging.NullHandler())
logging.getLogger("tifffile").propagate = False


@dataclass(frozen=True)
class ImageMeta:
    """What a file carries besides pixels: format, bit depth, colour layout, ICC and EXIF."""

    format: str = "PNG"
    bit_depth: int = 8
    mode: str = "RGB"
    icc: bytes | None = None
    # EXIF in Pillow's form (b"Exif\0\0" + TIFF structure), orientation already reset to 1.
    exif: bytes | None = None


@dataclass(frozen=True)
class LoadedImage:
    """An image read from a file: pixels upright (orientation applied) plus its metadata."""

    pixels: np.ndarray
    meta: ImageMeta
    path: str = ""

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.pixels.shape[0])

    @property
    def channels(self) -> int:
        """Samples per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA)."""
        return 1 if self.pixels.ndim == 2 else int(self.pixels.shape[2])


def format_for(path: str | os.PathLike[str]) -> str:
    """The file format an output path's extension asks for."""
    suffix = Path(path).suffix.lower()
    try:
        return FORMATS[suffix]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise ImageFileError(
            f"{Path(path).name}: the extension {suffix or '(none)'} is not an image format "
            f"PocketSR writes; use one of {known}."
        ) from None


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """True when the extension names a format PocketSR reads."""
    return Path(path).suffix.lower() in FORMATS


def file_dtype(fmt: str, dtype: np.dtype) -> np.dtype:
    """The sample type a file of this format stores for pixels of `dtype`."""
    if fmt in ("JPEG", "WEBP"):
        return np.dtype(np.uint8)
    if fmt == "PNG":
        return np.dtype(np.uint8) if dtype == np.uint8 else np.dtype(np.uint16)
    return np.dtype(np.float32) if dtype == np.float16 else dtype
