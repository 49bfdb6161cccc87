"""Running a tile plan: blend each tile's output into its neighbours, write finished blocks."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import closing

import numpy as np

from .errors import Cancelled, InvalidOptionError
from .run_ahead import run_ahead
from .tiles import Tile, TilePlan
from .types import CancelToken, Progress

ProgressCallback = Callable[[Progress], None]


def blend_tiles(
    plan: TilePlan,
    out: np.ndarray,
    *,
    channels: int,
    tile_output: Callable[[Tile], np.ndarray],
    to_output: Callable[[np.ndarray], np.ndarray],
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
    ahead: bool = False,
) -> None:
    """Run every tile, blend overlaps through thin carry buffers, write finished blocks.

    tile_output gives a tile's unweighted output over its support (H×W×channels float32, a
    scratch buffer this function may change); to_output turns blended work values into the
    caller's dtype and layout. ahead: compute the next tile's output in a worker thread
    while this one is blended and written (run_ahead); the result is the same.
    """
    blend_y = plan.rows[0].ramp_out
    # Partial sums of the overlap with the next tile row (carry_next) and column (carry_x):
    # memory stays a few tile-sized buffers plus blend_y output rows, never the image.
    carry_prev = np.zeros((blend_y, plan.out_size.width, channels), np.float32)
    carry_next = np.zeros_like(carry_prev)
    carry_x: np.ndarray | None = None
    total, start = len(plan), time.monotonic()

    def compute(tile: Tile) -> np.ndarray:
        if cancel is not None and cancel.cancelled:
            raise Cancelled("The upscale was cancelled.")
        return tile_output(tile)

    outputs = run_ahead(plan, compute) if ahead else ((t, compute(t)) for t in plan)
    # Closed on every way out, so a tile still running ahead has finished when we return.
    with closing(outputs):
        for tile, acc in outputs:
            if cancel is not None and cancel.cancelled:  # a tile run ahead is not used
                raise Cancelled("The upscale was cancelled.")
            xs, ys = tile.xspan, tile.yspan
            acc *= ys.weights()[:, None, None]  # separable: no tile-sized weight array
            acc *= xs.weights()[None, :, None]
            f0, f1 = xs.final_start - xs.out_start, xs.final_end - xs.out_start
            if carry_x is not None and xs.ramp_in:
                acc[:, : xs.ramp_in] += carry_x
            if ys.ramp_in:
                acc[: ys.ramp_in, f0:f1] += carry_prev[:, xs.final_start : xs.final_end]
            carry_x = acc[:, f1:].copy() if xs.ramp_out else None
            if ys.ramp_out:
                bottom = acc[ys.out_len - ys.ramp_out :, f0:f1]
                carry_next[:, xs.final_start : xs.final_end] = bottom
            rect = tile.final
            block = out[rect.slices]
            block[...] = to_output(acc[: ys.final_end - ys.out_start, f0:f1])
            if tile.col == len(plan.cols) - 1:
                carry_prev, carry_next = carry_next, carry_prev
            if progress is not None:
                done, elapsed = tile.index + 1, time.monotonic() - start
                eta = elapsed / done * (total - done)
                _report(progress, Progress(done, total, elapsed, eta, rect, block))


def _report(progress: Callable[[Progress], object], report: Progress) -> None:
    """Call the caller's progress callback; its failure becomes a sentence, not a raw error."""
    try:
        progress(report)
    except (Cancelled, InvalidOptionError):
        raise
    except Exception as exc:
        raise InvalidOptionError(
            f"The progress callback failed at tile {report.done} of {report.total} "
            f"({type(exc).__name__}: {exc}); the upscale was stopped."
        ) from exc
