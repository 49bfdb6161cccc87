"""Rectangles of one upscale job: what to read, what the engine upscales, where it lands.

Pure arithmetic (no Krita, no Qt), so it is tested without a host.
"""

from __future__ import annotations

from typing import NamedTuple

# Pixels of context read around a selection's bounding box, so the engine sees the same
# neighbourhood as on the whole image (more than the model's receptive field and blending).
CONTEXT = 64


class Rect(NamedTuple):
    """x, y, width, height in pixels."""

    x: int
    y: int
    width: int
    height: int

    def intersected(self, other: Rect) -> Rect:
        """The overlap of two rectangles (width/height 0 when they do not meet)."""
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1 = min(self.x + self.width, other.x + other.width)
        y1 = min(self.y + self.height, other.y + other.height)
        return Rect(x0, y0, max(0, x1 - x0), max(0, y1 - y0))

    @property
    def empty(self) -> bool:
        """True when the rectangle holds no pixel."""
        return self.width <= 0 or self.height <= 0


class Plan(NamedTuple):
    """The geometry of one job, in document pixels before (read, roi) and after (out_*)."""

    read: Rect  # the pixels read from Krita (roi plus context, inside the image)
    roi: Rect  # the region to upscale, relative to `read`
    out_size: tuple[int, int]  # the upscaled document's width, height
    out_rect: Rect  # where the upscaled region lands in the upscaled document


def target_size(
    width: int, height: int, scale: float | None, size: tuple[int, int] | None
) -> tuple[int, int]:
    """The upscaled document size: times scale, or size (0 on one side keeps the aspect)."""
    if size:
        w, h = int(size[0]), int(size[1])
        if w <= 0 and h <= 0:
            raise ValueError("A target size needs a width or a height.")
        if w <= 0:
            w = max(1, round(width * h / height))
        if h <= 0:
            h = max(1, round(height * w / width))
        return w, h
    factor = float(scale or 2)
    if factor < 1:
        raise ValueError(f"The scale must be at least 1, not {scale}.")
    return max(1, round(width * factor)), max(1, round(height * factor))


def plan(
    width: int,
    height: int,
    selection: Rect | None,
    scale: float | None = 2,
    size: tuple[int, int] | None = None,
    context: int = CONTEXT,
) -> Plan:
    """The job's rectangles for an image of width x height and an optional selection box."""
    out_w, out_h = target_size(width, height, scale, size)
    image = Rect(0, 0, width, height)
    if selection is None:
        return Plan(image, image, (out_w, out_h), Rect(0, 0, out_w, out_h))
    box = selection.intersected(image)
    if box.empty:
        raise ValueError("The selection lies outside the image: nothing to upscale.")
    read = Rect(
        box.x - context, box.y - context, box.width + 2 * context, box.height + 2 * context
    ).intersected(image)
    sx, sy = out_w / width, out_h / height
    x0, y0 = round(box.x * sx), round(box.y * sy)
    x1, y1 = round((box.x + box.width) * sx), round((box.y + box.height) * sy)
    roi = Rect(box.x - read.x, box.y - read.y, box.width, box.height)
    return Plan(read, roi, (out_w, out_h), Rect(x0, y0, max(1, x1 - x0), max(1, y1 - y0)))
