"""The progress bar of the `pocketsr` command, with ETA, on stderr."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from .types import Progress


class ProgressBar:
    """Progress with ETA on stderr: a redrawn bar on a terminal, a line every few seconds else."""

    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.label = label
        self.enabled = enabled
        self.tty = self.stream.isatty()
        self._last = -1e9
        self._drawn = False

    def __call__(self, progress: Progress) -> None:
        """Show one engine progress report (throttled)."""
        now = time.monotonic()
        every = 0.1 if self.tty else 5.0
        if not self.enabled or (now - self._last < every and progress.done < progress.total):
            return
        self._last = now
        eta = "" if progress.eta is None else f"  ETA {clock(progress.eta)}"
        counts = f"{progress.fraction * 100:3.0f}%  {progress.done}/{progress.total} tiles"
        if not self.tty:
            print(f"{self.label}: {counts.strip()}{eta}", file=self.stream, flush=True)
            return
        line = f"\r{self.label}  {bar(progress.fraction)} {counts}  {clock(progress.elapsed)}{eta}"
        self.stream.write(line + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the bar's line."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False


def bar(fraction: float, width: int = 24) -> str:
    """A text progress bar, [####....], filled to fraction (0..1)."""
    filled = round(width * fraction)
    return f"[{'#' * filled}{'.' * (width - filled)}]"


def clock(seconds: float) -> str:
    """A duration as M:SS, or whole hours from one hour on."""
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else f"{seconds // 3600}h"
