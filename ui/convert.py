"""numpy pixels <-> QImage, keeping 16-bit samples (QImage.Format_RGBA64 / Grayscale16)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from pocketsr.engine.imageio import convert_depth


def _rgba(pixels: np.ndarray) -> np.ndarray:
    """Any H×W×C layout (C = 2, 3 or 4) as contiguous H×W×4 with an opaque alpha if missing."""
    channels = pixels.shape[2]
    if channels == 2:
        pixels = np.concatenate([np.repeat(pixels[..., :1], 3, axis=2), pixels[..., 1:]], axis=2)
    elif channels == 3:
        opaque = np.full((*pixels.shape[:2], 1), np.iinfo(pixels.dtype).max, pixels.dtype)
        pixels = np.concatenate([pixels, opaque], axis=2)
    return np.ascontiguousarray(pixels)


def to_qimage(pixels: np.ndarray) -> QImage:
    """A QImage owning a copy of the pixels: 8-bit stays 8-bit, 16-bit and float become 16-bit."""
    if pixels.dtype.kind == "f":
        pixels = convert_depth(pixels, np.uint16)
    elif pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"cannot show {pixels.dtype} pixels")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    deep = pixels.dtype == np.uint16
    if pixels.ndim == 2:
        data = np.ascontiguousarray(pixels)
        fmt = QImage.Format.Format_Grayscale16 if deep else QImage.Format.Format_Grayscale8
    elif pixels.shape[2] == 3 and not deep:
        data = np.ascontiguousarray(pixels)
        fmt = QImage.Format.Format_RGB888
    else:
        data = _rgba(pixels)
        fmt = QImage.Format.Format_RGBA64 if deep else QImage.Format.Format_RGBA8888
    height, width = data.shape[:2]
    image = QImage(data.data, width, height, data.strides[0], fmt)
    return image.copy()  # detach from the numpy buffer


def from_qimage(image: QImage) -> np.ndarray:
    """An H×W×C numpy copy of a QImage: RGBA64 -> uint16 RGBA, anything else -> uint8 RGB(A)."""
    if image.format() in (QImage.Format.Format_RGBA64, QImage.Format.Format_RGBX64):
        image, dtype, channels = image, np.uint16, 4
    elif image.format() == QImage.Format.Format_Grayscale16:
        dtype, channels = np.uint16, 1
    elif image.hasAlphaChannel():
        image, dtype, channels = image.convertToFormat(QImage.Format.Format_RGBA8888), np.uint8, 4
    else:
        image, dtype, channels = image.convertToFormat(QImage.Format.Format_RGB888), np.uint8, 3
    width, height = image.width(), image.height()
    item = np.dtype(dtype).itemsize
    rows = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * height)
    rows = rows.reshape(height, image.bytesPerLine())[:, : width * channels * item]
    pixels = np.ascontiguousarray(rows).view(dtype).reshape(height, width, channels)
    return pixels[..., 0].copy() if channels == 1 else pixels.copy()
