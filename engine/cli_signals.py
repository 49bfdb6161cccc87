"""Ctrl-C and SIGTERM in the `pocketsr` command: the first cancels the run, a second aborts."""

from __future__ import annotations

import contextlib
import signal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .types import CancelToken


class Interrupts:
    """Turns the first Ctrl-C (or SIGTERM) into a cancel request; a second one aborts at once."""

    def __init__(self, token: CancelToken) -> None:
        self.token = token
        self._saved: dict[int, Any] = {}
        self.signal: int | None = None

    def __enter__(self) -> Interrupts:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, OSError):  # not the main thread
                self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: object) -> None:
        if self.token.cancelled:
            raise KeyboardInterrupt
        self.signal = signum
        self.token.cancel()

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)


def is_cancel(exc: BaseException, token: CancelToken) -> bool:
    """Whether an exception ended the run because it was cancelled (and not a failure)."""
    from .errors import Cancelled

    # Once cancel was asked for, whatever the engine raised on the way out is that cancel.
    return isinstance(exc, (Cancelled, KeyboardInterrupt)) or (
        token.cancelled and isinstance(exc, Exception)
    )
