"""Small immutable value types shared by the engine, the worker, the viewer and the CLI."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Size:
    """A width and height in pixels."""

    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width < 0 or self.height < 0:
            raise ValueError(f"a size cannot be negative: {self.width}x{self.height}")

    @property
    def area(self) -> int:
        """Number of pixels."""
        return self.width * self.height

    def scaled(self, factor: float) -> Size:
        """This size multiplied by a factor, rounded to whole pixels."""
        return Size(round(self.width * factor), round(self.height * factor))

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle: top-left corner (x, y) and size (width, height)."""

    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width < 0 or self.height < 0:
            raise ValueError(f"a rectangle cannot have a negative size: {self}")

    @classmethod
    def of_size(cls, size: Size) -> Rect:
        """The rectangle at the origin covering a whole image of this size."""
        return cls(0, 0, size.width, size.height)

    @property
    def right(self) -> int:
        """One past the last column."""
        return self.x + self.width

    @property
    def bottom(self) -> int:
        """One past the last row."""
        return self.y + self.height

    @property
    def size(self) -> Size:
        """The rectangle's size."""
        return Size(self.width, self.height)

    @property
    def area(self) -> int:
        """Number of pixels covered."""
        return self.width * self.height

    @property
    def is_empty(self) -> bool:
        """True when the rectangle covers no pixel."""
        return self.width == 0 or self.height == 0

    def intersect(self, other: Rect) -> Rect:
        """The overlap of two rectangles (empty, at this one's corner, when they do not meet)."""
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1, y1 = min(self.right, other.right), min(self.bottom, other.bottom)
        if x1 <= x0 or y1 <= y0:
            return Rect(self.x, self.y, 0, 0)
        return Rect(x0, y0, x1 - x0, y1 - y0)

    def contains(self, other: Rect) -> bool:
        """True when the other rectangle lies wholly inside this one."""
        return (
            other.x >= self.x
            and other.y >= self.y
            and other.right <= self.right
            and other.bottom <= self.bottom
        )

    def expanded(self, margin: int) -> Rect:
        """This rectangle grown by a margin on every side (not clipped)."""
        return Rect(
            self.x - margin, self.y - margin, self.width + 2 * margin, self.height + 2 * margin
        )

    def translated(self, dx: int, dy: int) -> Rect:
        """This rectangle moved by (dx, dy)."""
        return Rect(self.x + dx, self.y + dy, self.width, self.height)

    def scaled(self, factor: int) -> Rect:
        """This rectangle with every coordinate multiplied by an integer factor."""
        return Rect(self.x * factor, self.y * factor, self.width * factor, self.height * factor)

    @property
    def slices(self) -> tuple[slice, slice]:
        """(rows, columns) slices that cut this rectangle out of an H×W array."""
        return slice(self.y, self.bottom), slice(self.x, self.right)

    def __str__(self) -> str:
        return f"{self.width}x{self.height}+{self.x}+{self.y}"


@dataclass(frozen=True)
class ModelInfo:
    """What a super-resolution model is, read from its ONNX metadata and checked by a trial run."""

    name: str
    scale: int
    in_channels: int = 3
    out_channels: int = 3
    size_multiple: int = 1
    receptive_field: int = 32
    version: str = "unknown"
    license: str = "unknown"
    description: str = ""
    tile_safe: bool = True
    path: str = ""
    extra: tuple[tuple[str, str], ...] = field(default=())

    @property
    def overlap(self) -> int:
        """Context in input pixels each tile needs on every side so tiles agree."""
        return max(1, math.ceil(self.receptive_field / 2))


@dataclass(frozen=True)
class Progress:
    """One progress report: tiles done of total, times in seconds, and the finished output rect."""

    done: int
    total: int
    elapsed: float
    eta: float | None = None
    rect: Rect | None = None
    # A view (not a copy) of the finished output pixels of `rect`, in the caller's dtype.
    pixels: Any = field(default=None, compare=False, repr=False)

    @property
    def fraction(self) -> float:
        """Share of the work done, 0..1."""
        return 1.0 if self.total == 0 else self.done / self.total


class CancelToken:
    """A thread-safe flag a caller sets to stop a running upscale at the next tile edge."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the running job to stop."""
        self._event.set()

    def reset(self) -> None:
        """Clear the flag so the token can be reused."""
        self._event.clear()

    @property
    def cancelled(self) -> bool:
        """True once cancel() was called (and not reset)."""
        return self._event.is_set()

    def __bool__(self) -> bool:
        return self.cancelled
