"""The caller's pixels made ready for the network: validated, alpha-bled, float32 windows."""

from __future__ import annotations

import math

import numpy as np

from .errors import InvalidImageError
from .tiles import reflect_indices, wrap_indices
from .types import Rect, Size

_MAXVAL = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


class SourceImage:
    """The caller's image, validated, handing out float32 RGB(+alpha) windows."""

    def __init__(self, image: object, *, wrap: bool = False) -> None:
        """Check the image; wrap: windows past a border wrap around (tileable textures)."""
        self.wrap = wrap
        if not isinstance(image, np.ndarray):
            image = np.asarray(image)
        self.ndim = image.ndim
        if image.ndim not in (2, 3):
            raise InvalidImageError(
                f"An image must be a H×W or H×W×C array; this one has {image.ndim} dimensions "
                f"{list(image.shape)}."
            )
        pixels = image[:, :, None] if image.ndim == 2 else image
        self.channels = pixels.shape[2]
        if self.channels not in (1, 2, 3, 4):
            raise InvalidImageError(
                f"The image has {self.channels} channels; only 1 (gray), 2 (gray + alpha), "
                "3 (RGB) or 4 (RGBA) are supported."
            )
        self.dtype = image.dtype
        if self.dtype not in _MAXVAL and self.dtype not in _FLOATS:
            raise InvalidImageError(
                f"{self.dtype} pixels are not supported; use uint8, uint16, float16 or float32."
            )
        if pixels.shape[0] == 0 or pixels.shape[1] == 0:
            raise InvalidImageError(
                f"The image is empty ({pixels.shape[1]}x{pixels.shape[0]} pixels)."
            )
        self.maxval = _MAXVAL.get(self.dtype)
        self.unit_range = True
        self.colour_channels = 1 if self.channels <= 2 else 3
        # Float colour above 1 (HDR highlights, or floats in 0..255) is divided by its peak on
        # the way into the network and multiplied back on the way out, so nothing is clipped
        # at 1; values below 0 are clipped to 0 (the network works on 0..1).
        self.peak = np.float32(1.0)
        if self.maxval is None:
            # Each sample is scanned once: colour and alpha ranges separately.
            low, high = _finite_range(pixels[..., : self.colour_channels])
            self.peak = np.float32(max(1.0, high))
            if self.channels > self.colour_channels:
                a_low, a_high = _finite_range(pixels[..., self.colour_channels :])
                low, high = min(low, a_low), max(high, a_high)
            self.unit_range = low >= 0.0 and high <= 1.0
        self.pixels = pixels
        self.size = Size(pixels.shape[1], pixels.shape[0])
        self.alpha = self.channels - 1 if self.channels in (2, 4) else None
        self.work_channels = 3 + (self.alpha is not None)
        self._bled: np.ndarray | None = None

    def output_shape(self, size: Size) -> tuple[int, ...]:
        """The result array's shape for an output size."""
        if self.ndim == 2:
            return (size.height, size.width)
        return (size.height, size.width, self.channels)

    def prepare(self) -> None:
        """Bleed colour into fully transparent pixels once, so edges do not darken."""
        if self.alpha is None or self._bled is not None:
            return
        alpha = self._float(self.pixels[..., self.alpha])
        if (alpha > 0).all() or not (alpha > 0).any():
            return
        colour = self._colour(self.pixels[..., : self.colour_channels])
        self._bled = bleed_colour(colour, alpha)

    def _float(self, values: np.ndarray) -> np.ndarray:
        if self.maxval is None:
            return values.astype(np.float32)
        return values.astype(np.float32) / np.float32(self.maxval)

    def _colour(self, values: np.ndarray) -> np.ndarray:
        """Colour samples in the network's 0..1 (floats divided by their peak)."""
        values = self._float(values)
        return values if self.peak == 1 else np.divide(values, self.peak, out=values)

    def window(self, rect: Rect) -> tuple[np.ndarray, np.ndarray | None]:
        """(RGB H×W×3, alpha H×W or None) float32 for a rect, reflect-padded (or wrapped)
        outside the image."""
        outside = wrap_indices if self.wrap else reflect_indices
        rows = outside(rect.y, rect.bottom, self.size.height)[:, None]
        cols = outside(rect.x, rect.right, self.size.width)[None, :]
        if self._bled is not None:
            colour = self._bled[rows, cols]
        else:
            colour = self._colour(self.pixels[rows, cols, : self.colour_channels])
        if self.colour_channels == 1:
            colour = np.repeat(colour, 3, axis=2)
        alpha = None if self.alpha is None else self._float(self.pixels[rows, cols, self.alpha])
        return colour, alpha

    def to_output(self, block: np.ndarray) -> np.ndarray:
        """Work values (H×W×3 RGB [+ alpha]) in the caller's dtype and channel layout."""
        colour = block[..., :3]
        if self.colour_channels == 1:
            colour = colour.mean(axis=2, keepdims=True)
        if self.peak != 1:
            colour = np.clip(colour, 0.0, 1.0) * self.peak
        values = colour if self.alpha is None else np.concatenate([colour, block[..., 3:]], -1)
        # In place where possible: block is a scratch buffer owned by the tile.
        if self.maxval is not None:
            values = np.clip(values, 0.0, 1.0, out=values)
            values = np.rint(np.multiply(values, self.maxval, out=values), out=values)
        elif self.unit_range:
            values = np.clip(values, 0.0, 1.0, out=values)
        values = values.astype(self.dtype, copy=False)
        return values[..., 0] if self.ndim == 2 else values


def _finite_range(pixels: np.ndarray) -> tuple[float, float]:
    """(min, max) of a float image, row block by row block; InvalidImageError on NaN/Inf."""
    low, high = math.inf, -math.inf
    step = max(1, (1 << 22) // max(1, pixels.shape[1] * pixels.shape[2]))
    for y in range(0, pixels.shape[0], step):
        block = pixels[y : y + step]
        if not np.isfinite(block).all():
            raise InvalidImageError("The image contains NaN or infinite values.")
        low, high = min(low, float(block.min())), max(high, float(block.max()))
    return low, high


def bleed_colour(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Colour with fully transparent pixels filled from the nearest opaque ones (a pyramid)."""
    known = alpha > 0
    levels = [(colour * known[..., None], known.astype(np.float32)[..., None])]
    while levels[-1][1].shape[0] > 1 or levels[-1][1].shape[1] > 1:
        levels.append(tuple(_halve(a) for a in levels[-1]))
    total, weight = levels[-1]
    fill = total / np.maximum(weight, 1e-12)
    for total, weight in reversed(levels[:-1]):
        h, w = weight.shape[:2]
        coarse = np.repeat(np.repeat(fill, 2, axis=0), 2, axis=1)[:h, :w]
        fill = np.where(weight > 0, total / np.maximum(weight, 1e-12), coarse)
    return np.where(known[..., None], colour, fill).astype(np.float32)


def _halve(a: np.ndarray) -> np.ndarray:
    """2×2 sums (odd edges padded with zeros)."""
    h, w = a.shape[:2]
    a = np.pad(a, ((0, h % 2), (0, w % 2), (0, 0)))
    return a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]
