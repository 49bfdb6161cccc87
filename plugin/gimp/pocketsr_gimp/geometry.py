# -*- coding: utf-8 -*-
"""Pure geometry for the adapter: the region to send, the factor, where the result goes."""

from __future__ import absolute_import, division

import collections

# Input pixels sent around the selection's box so the model sees what it needs at the box's
# edges (the PocketSR models' receptive field is about 24 px; the engine clamps at the edges).
CONTEXT = 32


class Rect(collections.namedtuple("Rect", "x y width height")):
    """An integer rectangle."""

    __slots__ = ()

    def expanded(self, margin, width, height):
        """This rectangle grown by `margin` on every side, clipped to width x height."""
        x0, y0 = max(0, self.x - margin), max(0, self.y - margin)
        x1 = min(width, self.x + self.width + margin)
        y1 = min(height, self.y + self.height + margin)
        return Rect(x0, y0, x1 - x0, y1 - y0)

    def relative_to(self, outer):
        """This rectangle in the coordinates of `outer`."""
        return Rect(self.x - outer.x, self.y - outer.y, self.width, self.height)


def factors(options, width, height):
    """(fx, fy): the scale from width x height (the region upscaled) to the output.

    A target width or height wins over `scale`; given alone, it keeps the aspect.
    """
    tw, th = options.target_width, options.target_height
    if tw and th:
        return tw / width, th / height
    if tw:
        return (tw / width,) * 2
    if th:
        return (th / height,) * 2
    return float(options.scale), float(options.scale)


def scaled(value, factor):
    """value * factor rounded to the nearest integer (what GIMP does when it scales)."""
    return int(round(value * factor))


def output_rect(region, fx, fy):
    """The region's place and size at the output scale."""
    return Rect(scaled(region.x, fx), scaled(region.y, fy),
                max(1, scaled(region.width, fx)), max(1, scaled(region.height, fy)))
