"""Checks of one upscale request: the ROI, the target size or scale, and the out= array."""

from __future__ import annotations

import math

import numpy as np

from .errors import InvalidOptionError
from .types import Rect, Size


def check_roi(roi: Rect | tuple[int, int, int, int] | None, size: Size) -> Rect:
    """The ROI as a Rect inside an image of `size` (the whole image for None)."""
    whole = Rect.of_size(size)
    if roi is None:
        return whole
    if not isinstance(roi, Rect):
        try:
            roi = Rect(*(int(v) for v in roi))
        except (TypeError, ValueError) as exc:
            message = f"The ROI must be (x, y, width, height), not {roi!r}."
            raise InvalidOptionError(message) from exc
    if roi.is_empty or not whole.contains(roi):
        raise InvalidOptionError(
            f"The ROI {roi} (width x height + x + y) must be a non-empty part of the {size} image."
        )
    return roi


def target_size(
    roi: Size, native: int, scale: float | None, size: Size | tuple[int, int] | None
) -> Size:
    """The output size from scale or size, checked against the model's native factor."""
    if scale is not None and size is not None:
        raise InvalidOptionError("Give either a scale or a target size, not both.")
    if size is not None:
        try:
            width, height = (size.width, size.height) if isinstance(size, Size) else size
            width, height = int(width), int(height)
        except (TypeError, ValueError) as exc:
            message = f"The target size must be (width, height), not {size!r}."
            raise InvalidOptionError(message) from exc
        if width < 0 or height < 0 or width == height == 0:
            raise InvalidOptionError(f"The target size {width}x{height} is not a valid size.")
        if width == 0:
            width = max(1, round(roi.width * height / roi.height))
        if height == 0:
            height = max(1, round(roi.height * width / roi.width))
        if width > roi.width * native or height > roi.height * native:
            raise InvalidOptionError(
                f"The target size {width}x{height} is larger than this model's x{native} "
                f"upscale of {roi} ({roi.width * native}x{roi.height * native})."
            )
        return Size(width, height)
    if scale is None:
        return roi.scaled(native)
    if isinstance(scale, bool) or not isinstance(scale, int | float | np.number):
        raise InvalidOptionError(f"The scale must be a number, not {scale!r}.")
    if not math.isfinite(scale) or scale < 1 or scale > native:
        raise InvalidOptionError(
            f"The scale {scale} is out of range: this model upscales from x1 up to x{native}."
        )
    return Size(max(1, round(roi.width * scale)), max(1, round(roi.height * scale)))


def check_out(out: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """The caller's out= array if it fits the result (shape, dtype, writable), else a new one."""
    if out is None:
        return np.empty(shape, dtype)
    if not isinstance(out, np.ndarray):
        raise InvalidOptionError("out must be a numpy array or memmap.")
    if out.shape != shape or out.dtype != dtype:
        raise InvalidOptionError(
            f"out has shape {out.shape} and dtype {out.dtype}; this upscale needs {shape} {dtype}."
        )
    if not out.flags.writeable:
        raise InvalidOptionError("out is read-only.")
    return out
