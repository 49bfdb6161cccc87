# -*- coding: utf-8 -*-
"""A host dialog's preview: a 1:1 crop of what the upscale will give, rendered through the
engine's region path, and the same crop before (the source, enlarged pixel by pixel).

Standard library only (Python 3 hosts: GIMP 3, Krita). The host hands in how to read its
pixels; nothing here touches the image. Both hosts show the returned RGBA 8-bit bytes.
"""

from __future__ import absolute_import, division

import array
import collections
import struct
import sys
import time

from .values import Rect, Size

PREVIEW_SIDE = 256  # output pixels a side (GIMP and Krita show it 1:1)


class Preview(collections.namedtuple(
        "Preview", "before after size region output seconds model")):
    """A rendered preview: before and after as RGBA 8-bit rows of size (a Size); region:
    the input Rect it shows; output: where that lands in the upscaled image; seconds: how
    long the engine part took (plan, read, upscale); model: the ModelInfo the options
    chose (a dialog greys out what it does not support, e.g. the strength)."""

    __slots__ = ()


def preview_region(image, box, factors, side=PREVIEW_SIDE):
    """The input Rect whose upscaled output is about side x side: centred on the box (the
    selection's bounds) or on the image, and inside the image."""
    fx, fy = factors
    width = max(1, min(image.width, int(round(side / fx))))
    height = max(1, min(image.height, int(round(side / fy))))
    centre = box if box is not None and not box.is_empty else Rect.of_size(image)
    cx, cy = centre.x + centre.width // 2, centre.y + centre.height // 2
    x = min(max(0, cx - width // 2), image.width - width)
    y = min(max(0, cy - height // 2), image.height - height)
    return Rect(x, y, width, height)


def render_preview(engine, read, image, channels, dtype, box, options, side=PREVIEW_SIDE):
    """Render the preview of upscaling an image with options (a wire UpscaleOptions).

    engine: a Bridge (or InProcessEngine); read(rect) -> the image's pixels in that Rect as
    packed rows in the engine's layout; image: its Size; box: the selection's bounds or None.
    The strength is left out for a model without a partner, as the upscale itself does.
    """
    start = time.time()
    whole = engine.plan(image.width, image.height, channels, None, options)
    region = preview_region(image, box, whole.factors, side)
    plan = engine.plan(image.width, image.height, channels, tuple(region), options)
    pixels = read(plan.read)
    strength = options.strength if plan.model.has_strength else None
    job = options._replace(scale=None, size=plan.output, size_of="region", strength=strength)
    result = engine.upscale(pixels, plan.read.width, plan.read.height, channels, dtype,
                            roi=tuple(plan.roi), options=job)
    seconds = time.time() - start
    out = Size(result.width, result.height)
    after = to_rgba8(result.data, out.width, out.height, channels, dtype)
    source = to_rgba8(pixels, plan.read.width, plan.read.height, channels, dtype)
    before = enlarge(crop(source, plan.read.width, plan.roi), plan.roi.size, out)
    placement = plan.placement
    return Preview(before, after, out, region, placement, seconds, plan.model)


def to_rgba8(data, width, height, channels, dtype):
    """Packed rows of gray, gray+alpha, RGB or RGBA samples (uint8, uint16, float16 or float32)
    as RGBA 8-bit rows, for showing on screen (floats clipped to 0..1)."""
    samples = _as_bytes8(bytes(data), dtype)
    n = width * height
    if len(samples) != n * channels:
        raise ValueError("%d samples do not make %dx%d pixels of %d channels."
                         % (len(samples), width, height, channels))
    out = bytearray(n * 4)
    colour = 1 if channels <= 2 else 3
    for c in range(3):
        out[c::4] = samples[min(c, colour - 1)::channels]
    out[3::4] = samples[channels - 1::channels] if channels in (2, 4) else b"\xff" * n
    return bytes(out)


def crop(rgba, width, rect):
    """The rect's rows of an RGBA 8-bit image that is width pixels wide."""
    stride = width * 4
    return b"".join(rgba[(rect.y + row) * stride + rect.x * 4:
                         (rect.y + row) * stride + rect.right * 4]
                    for row in range(rect.height))


def enlarge(rgba, size, out):
    """An RGBA 8-bit image of size enlarged to out, pixel by pixel (nearest neighbour)."""
    stride = size.width * 4
    columns = [min(size.width - 1, x * size.width // out.width) for x in range(out.width)]
    rows = []
    for y in range(out.height):
        source = min(size.height - 1, y * size.height // out.height) * stride
        line = rgba[source:source + stride]
        rows.append(b"".join(line[x * 4:x * 4 + 4] for x in columns))
    return b"".join(rows)


def _as_bytes8(data, dtype):
    """Samples of a dtype as 8-bit values (a bytes-like of one byte per sample)."""
    if dtype == "uint8":
        return data
    if dtype == "uint16":  # the high byte of each native-order sample
        return data[1::2] if sys.byteorder == "little" else data[0::2]
    if dtype == "float32":
        values = array.array("f")
        values.frombytes(data)
    elif dtype == "float16":
        values = struct.unpack("=%de" % (len(data) // 2), data)
    else:
        raise ValueError("%s samples cannot be previewed." % dtype)
    return bytearray(int(255 * min(1.0, max(0.0, v)) + 0.5) for v in values)
