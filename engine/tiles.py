"""Tile plans: which input windows to run and how to blend their outputs (pure geometry)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .types import Rect, Size


@dataclass(frozen=True)
class Span:
    """One tile along one axis: its input window and the output pixels it feeds."""

    window_start: int  # first input pixel of the model window (absolute; may lie outside)
    window_len: int  # window length in input pixels, a multiple of the model's size multiple
    out_start: int  # first output pixel this tile contributes to (relative to the output)
    out_end: int  # one past its last output pixel
    final_start: int  # output pixels [final_start, final_end) are final once this tile is done
    final_end: int
    ramp_in: int  # output pixels of rising blend weight at out_start (0: none)
    ramp_out: int  # output pixels of falling blend weight before out_end (0: none)
    src_start: float  # out_start in the model's native output of this window
    src_end: float  # out_end in the model's native output of this window

    @property
    def out_len(self) -> int:
        """Number of output pixels this tile contributes to."""
        return self.out_end - self.out_start

    def weights(self) -> np.ndarray:
        """Blend weights along this axis for the tile's output pixels (float32)."""
        return ramp_weights(self.out_len, self.ramp_in, self.ramp_out)


@dataclass(frozen=True)
class Tile:
    """One model run: a window of input pixels and where its blended output goes."""

    index: int
    row: int
    col: int
    xspan: Span
    yspan: Span

    @property
    def window(self) -> Rect:
        """The input window fed to the model (absolute coordinates; reflect-padded outside)."""
        x, y = self.xspan, self.yspan
        return Rect(x.window_start, y.window_start, x.window_len, y.window_len)

    @property
    def support(self) -> Rect:
        """The output pixels this tile contributes to (relative to the output origin)."""
        x, y = self.xspan, self.yspan
        return Rect(x.out_start, y.out_start, x.out_len, y.out_len)

    @property
    def final(self) -> Rect:
        """The output pixels that no later tile changes once this tile is blended."""
        x, y = self.xspan, self.yspan
        return Rect(x.final_start, y.final_start, x.final_end - x.final_start,
                    y.final_end - y.final_start)  # fmt: skip

    def weights(self) -> np.ndarray:
        """Separable blend weights over the support, shape (height, width), float32."""
        return np.outer(self.yspan.weights(), self.xspan.weights())


@dataclass(frozen=True)
class TilePlan:
    """All tiles of one upscale, in row-major order, plus the geometry they share."""

    roi: Rect
    out_size: Size
    model_scale: int
    tile: int
    context: int
    multiple: int
    rows: tuple[Span, ...]
    cols: tuple[Span, ...]

    def __len__(self) -> int:
        return len(self.rows) * len(self.cols)

    def __iter__(self) -> Iterator[Tile]:
        for j, ys in enumerate(self.rows):
            for i, xs in enumerate(self.cols):
                yield Tile(j * len(self.cols) + i, j, i, xs, ys)

    @property
    def window_size(self) -> Size:
        """Size of every model window (all tiles share it)."""
        return Size(self.cols[0].window_len, self.rows[0].window_len)

    @property
    def native(self) -> bool:
        """True when the output is the model's native scale (no resampling needed)."""
        s = self.model_scale
        return self.out_size == Size(self.roi.width * s, self.roi.height * s)


def round_up(value: int, multiple: int) -> int:
    """The smallest multiple of `multiple` that is >= value."""
    return -(-value // multiple) * multiple


def ramp_weights(length: int, ramp_in: int, ramp_out: int) -> np.ndarray:
    """Ones with a Hann (sin²) rise over the first ramp_in and a fall over the last ramp_out."""
    w = np.ones(length, dtype=np.float64)
    if ramp_in:
        w[:ramp_in] = _rise(ramp_in)
    if ramp_out:
        # 1 - rise, so a falling ramp and the neighbour's rising ramp sum to exactly one.
        w[length - ramp_out :] = 1.0 - _rise(ramp_out)
    return w.astype(np.float32)


def _rise(n: int) -> np.ndarray:
    return np.sin(0.5 * np.pi * (np.arange(n) + 0.5) / n) ** 2


def reflect_indices(start: int, stop: int, n: int) -> np.ndarray:
    """Indices start..stop-1 mirrored into 0..n-1 (reflect without repeating the edge)."""
    idx = np.arange(start, stop)
    if n == 1:
        return np.zeros_like(idx)
    period = 2 * (n - 1)
    idx = np.mod(idx, period)
    return np.where(idx >= n, period - idx, idx)


def wrap_indices(start: int, stop: int, n: int) -> np.ndarray:
    """Indices start..stop-1 wrapped around into 0..n-1 (a periodic, tileable image)."""
    return np.mod(np.arange(start, stop), n)


def minimum_tile(context: int, blend: int, ratio: float, multiple: int) -> int:
    """The smallest window (input px) that leaves room for two blend ramps and one pixel
    (and for aligning the window's start to the size multiple)."""
    need = 2 * context + 2 + (multiple - 1) + math.ceil((2 * blend + 1) * ratio)
    return round_up(max(need, multiple), multiple)


def window_for_core(core: int, context: int, blend: int, multiple: int) -> int:
    """The window (input px) whose tiles each add `core` new input pixels at the model's own
    scale, `blend` of them shared with the next tile: the inverse of plan_axis's split."""
    return round_up(core + blend + 2 * context + 2 + (multiple - 1), multiple)


def plan_axis(
    roi_start: int,
    roi_len: int,
    out_len: int,
    *,
    tile: int | None,
    context: int,
    blend: int,
    multiple: int,
    model_scale: int,
    bound: int | None = None,
    edge: int = 0,
) -> tuple[Span, ...]:
    """Split one axis of an ROI into overlapping tiles; tile None means one window for all.

    bound: the image's length on this axis; windows then read at most `edge` pixels past its
    ends (and the few more the size multiple's phase asks), the same in every window that
    reaches an end, instead of the whole context. None: windows reach as far as they need.
    """
    if roi_len <= 0 or out_len <= 0:
        raise ValueError("an axis to tile must have a positive length")
    # Output pixel t covers input [roi_start + t*k, roi_start + (t+1)*k) with k = roi_len/out_len.
    if tile is None:
        s_max = out_len
    else:
        smallest = minimum_tile(context, blend, roi_len / out_len, multiple)
        tile = max(round_up(tile, multiple), smallest)
        s_max = (tile - 2 * context - 2 - (multiple - 1)) * out_len // roi_len
    b = blend
    while True:
        b = min(b, max(0, s_max - 1))
        n = 1 if out_len <= s_max else -(-(out_len - b) // (s_max - b))
        if n == 1 or (out_len - b) // n >= b:
            break
        b -= 1  # tiles so short that three would overlap: narrow the blend instead
    if n == 1:
        b = 0
    edges = [i * (out_len - b) // n for i in range(n)] + [out_len - b]
    needed = []
    for i in range(n):
        p, q = edges[i], edges[i + 1] + b
        a = roi_start + (p * roi_len) // out_len - context
        z = roi_start - (-(q * roi_len) // out_len) + context
        needed.append((p, q, a, z))
    # Windows start a whole number of size multiples from the ROI's start: a network that
    # samples down by 2 inside computes the same values for a pixel only if every window puts
    # it on the same phase. Counting from the ROI (not the array) gives a host's crop around a
    # selection the same result as the whole image with that selection as ROI.
    needed = [(p, q, a - (a - roi_start) % multiple, z) for p, q, a, z in needed]
    if bound is not None:
        # The first and last pixel a window may read: `edge` past the image, on the phase.
        lo = -edge - (-edge - roi_start) % multiple
        hi = bound + edge + (roi_start - bound - edge) % multiple
        needed = [(p, q, max(a, lo), min(z, hi)) for p, q, a, z in needed]
    wlen = round_up(max(z - a for _, _, a, z in needed), multiple)
    spans = []
    for i, (p, q, a, z) in enumerate(needed):
        spare = wlen - (z - a)
        start = a - (spare // 2) // multiple * multiple  # spread the spare context, aligned
        if bound is not None:  # wlen <= hi - lo: the spare goes inwards at an edge
            start = max(lo, min(start, hi - wlen))
        spans.append(
            Span(
                window_start=start,
                window_len=wlen,
                out_start=p,
                out_end=q,
                final_start=p if i else 0,
                final_end=edges[i + 1] if i < n - 1 else out_len,
                ramp_in=b if i else 0,
                ramp_out=b if i < n - 1 else 0,
                # One division of exact integers: whole-pixel positions stay exact floats.
                src_start=(roi_start - start) * model_scale + p * model_scale * roi_len / out_len,
                src_end=(roi_start - start) * model_scale + q * model_scale * roi_len / out_len,
            )
        )
    return tuple(spans)


def plan_tiles(
    roi: Rect,
    out_size: Size,
    *,
    model_scale: int,
    tile: int | None,
    context: int,
    blend: int,
    multiple: int = 1,
    image: Size | None = None,
    edge: int = 0,
) -> TilePlan:
    """The tile plan for an ROI upscaled to out_size; blend and context are in input pixels.

    image: the size of the image the ROI lies in; windows then read at most `edge` pixels
    past its borders (plan_axis's bound). None: they read the whole context past them (a
    tileable image wraps around).
    """
    if roi.is_empty or out_size.area == 0:
        raise ValueError("cannot plan tiles for an empty region")
    kx, ky = out_size.width / roi.width, out_size.height / roi.height
    common = {"tile": tile, "context": context, "multiple": multiple, "model_scale": model_scale}
    bx, by = (None, None) if image is None else (image.width, image.height)
    cols = plan_axis(
        roi.x, roi.width, out_size.width, blend=math.ceil(blend * kx), bound=bx, edge=edge, **common
    )
    rows = plan_axis(
        roi.y,
        roi.height,
        out_size.height,
        blend=math.ceil(blend * ky),
        bound=by,
        edge=edge,
        **common,
    )
    window = max(cols[0].window_len, rows[0].window_len)
    return TilePlan(roi, out_size, model_scale, window, context, multiple, rows, cols)
