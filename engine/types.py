"""Small immutable value types shared by the engine, the worker, the viewer and the CLI.

Size, Rect, Progress and ModelInfo are the wire module's (plugin/pocketsr_link/wire.py):
the same values cross the bridge into GIMP and Krita. CancelToken stays on this side.
"""

from __future__ import annotations

import threading

from pocketsr.plugin.pocketsr_link.wire import ModelInfo, Progress, Rect, Size

__all__ = ["CancelToken", "ModelInfo", "Progress", "Rect", "Size"]


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
