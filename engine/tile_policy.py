"""How big the model windows are: from a memory budget, a fixed side, or one window."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from .errors import InvalidOptionError, OutOfMemoryError
from .tiles import window_for_core
from .types import ModelInfo

log = logging.getLogger(__name__)

DEFAULT_MEMORY_BUDGET_MB = 1024
# The most new input pixels an automatic window adds per side; its context, blend ramps and
# alignment come on top, so the share of pixels read twice does not grow with the model's
# reach (bench/RESULTS.md). Cancel stops inside a window, so the cap bounds the progress
# step and the window's memory, not cancel latency.
CPU_TILE = 512
GPU_TILE = 1024
MIN_OOM_TILE = 64  # below this, out-of-memory retries stop and OutOfMemoryError is raised

KINDS = ("auto", "fixed", "whole")


def out_of_memory_error(tile: int) -> OutOfMemoryError:
    """The error for running out of memory when no smaller window is left to try."""
    return OutOfMemoryError(
        f"Out of memory even with {tile}px tiles; close other programs, "
        "use a smaller region or the CPU device."
    )


@dataclass(frozen=True)
class TilePolicy:
    """The tile option as a value: kind "auto" (from the memory budget), "fixed" (side input
    pixels) or "whole" (one window for the whole region)."""

    kind: str = "auto"
    side: int | None = None  # input pixels, for kind "fixed" only

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a tile policy's kind is one of {KINDS}, not {self.kind!r}")
        if (self.kind == "fixed") != (self.side is not None):
            raise ValueError("a side belongs to a fixed tile policy, and only to one")
        if self.side is not None and self.side <= 0:
            raise ValueError(f"a fixed tile side must be positive, not {self.side}")

    @classmethod
    def auto(cls) -> TilePolicy:
        """Windows as big as the memory budget allows (capped for tile-safe models)."""
        return cls("auto")

    @classmethod
    def fixed(cls, side: int) -> TilePolicy:
        """Windows of `side` input pixels (rounded up to the model's size multiple)."""
        return cls("fixed", int(side))

    @classmethod
    def whole(cls) -> TilePolicy:
        """One window for the whole region."""
        return cls("whole")

    @classmethod
    def from_option(cls, value: TileOption) -> TilePolicy:
        """The policy for an upscale's tile option: "auto", "whole", a positive number of
        pixels, a TilePolicy; None and 0 also mean one window, as they always have."""
        if isinstance(value, TilePolicy):
            return value
        if value is None:
            return cls.whole()
        if isinstance(value, str):
            if value in ("auto", "whole"):
                return cls(value)
        elif not isinstance(value, bool) and isinstance(value, int | np.integer) and value >= 0:
            return cls.whole() if value == 0 else cls.fixed(int(value))
        raise InvalidOptionError(
            f"tile must be 'auto', None or a positive number of pixels, not {value!r}."
        )

    def window(
        self,
        info: ModelInfo,
        context: int,
        *,
        memory_budget_mb: int,
        on_cpu: bool,
        blend: int = 0,
    ) -> int | None:
        """The first window side in input pixels for this model, or None for one window;
        context and blend (input pixels) are what tiling adds around the new pixels."""
        if self.kind == "whole":
            log.info("tile policy whole: one window for the whole region")
            return None
        if self.kind == "fixed":
            log.info("tile policy fixed: %d px windows, as requested", self.side)
            return self.side
        bytes_per_pixel = 4 * (info.in_channels + info.out_channels * info.scale**2) * 8
        budget_side = int(math.sqrt(memory_budget_mb * 2**20 / bytes_per_pixel))
        side, why = budget_side, f"the {memory_budget_mb} MB memory budget"
        core = CPU_TILE if on_cpu else GPU_TILE
        cap = window_for_core(core, context, blend, info.size_multiple)
        if info.tile_safe and side > cap:  # models that are not get the biggest the budget allows
            side, why = cap, f"the {'CPU' if on_cpu else 'GPU'} cap of {cap} px"
        side = side // info.size_multiple * info.size_multiple
        if side < 2 * context + 16:
            side, why = 2 * context + 16, f"the {context} px context the model needs"
        log.info(
            "tile policy auto: %d px windows, set by %s (the %d MB budget allows %d px; "
            "%d bytes per input pixel)",
            side,
            why,
            memory_budget_mb,
            budget_side,
            bytes_per_pixel,
        )
        return side

    def after_out_of_memory(self, tile: int, multiple: int) -> TilePolicy | None:
        """The policy to retry with after windows of `tile` px ran out of memory, or None when
        no smaller window is left (give up: out_of_memory_error). Every kind halves, aligned
        to the size multiple, down to MIN_OOM_TILE: a whole-region window that does not fit
        falls back to tiles."""
        half = (tile // 2) // multiple * multiple
        if half < max(MIN_OOM_TILE, multiple):
            return None
        return TilePolicy.fixed(half)

    def __str__(self) -> str:
        return f"fixed {self.side} px" if self.kind == "fixed" else self.kind


# What an upscale's tile= takes (see TilePolicy.from_option).
TileOption = TilePolicy | int | str | None
