"""Bridge I/O off Krita's GUI thread: the engine connection and one job at a time.

The engine never runs inside Krita's Python: `pocketsr_bridge` (a copy of plugin/bridge.py,
installed next to this package) starts the engine worker with the configured interpreter.
The GUI thread waits in `run_in_thread`, handling Qt events, so Krita stays responsive
while every pixel call stays on the GUI thread.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

_engine = None
_engine_lock = threading.Lock()


def load_bridge() -> Any:
    """The bridge module: installed beside this package, else plugin/bridge.py in a checkout."""
    try:
        from . import pocketsr_bridge  # type: ignore[attr-defined]  # installed copy
    except ImportError:
        pass
    else:
        return pocketsr_bridge
    if "pocketsr_bridge" in sys.modules:
        return sys.modules["pocketsr_bridge"]
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, os.pardir, os.pardir, "bridge.py")
    if not os.path.isfile(path):
        raise ImportError(
            "pocketsr_bridge.py is missing from the PocketSR plug-in folder; reinstall it."
        )
    spec = importlib.util.spec_from_file_location("pocketsr_bridge", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["pocketsr_bridge"] = module
    spec.loader.exec_module(module)
    return module


def engine() -> Any:
    """The shared engine connection (a Bridge; its worker starts on first use)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = load_bridge().connect()
        return _engine


def reset_engine() -> None:
    """Close the engine connection; the next job reads the configuration again."""
    global _engine
    with _engine_lock:
        current, _engine = _engine, None
    if current is not None:
        current.close()


atexit.register(reset_engine)


def log_tail(source: Any = None, lines: int = 20) -> list[str]:
    """The last lines of the worker log, for error messages ([] when there is none)."""
    try:
        target = source if source is not None else _engine
        return list(target.last_log_lines(lines)) if target is not None else []
    except Exception:
        return []


def run_in_thread(
    work: Callable[[], Any], wait: Callable[[], None] | None = None, poll: float = 0.02
) -> Any:
    """Run work() on a worker thread; call wait() (e.g. Qt event handling) until it ends.

    Returns work's result or raises its exception, on the calling thread.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="pocketsr-krita-job", daemon=True)
    thread.start()
    while thread.is_alive():
        if wait is not None:
            wait()
        thread.join(poll)
    if "error" in box:
        raise box["error"]
    return box.get("value")


class JobState:
    """Progress shared between the job thread (writer) and the GUI thread (reader)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.done = 0
        self.total = 0
        self.eta: float | None = None
        self.started = time.monotonic()
        self.cancelled = False

    def update(self, info: Any) -> None:
        """Record a bridge ProgressInfo (called on the job thread)."""
        with self._lock:
            self.done, self.total, self.eta = info.done, info.total, info.eta

    def snapshot(self) -> tuple[int, int, float | None, float]:
        """(done, total, eta seconds or None, elapsed seconds)."""
        with self._lock:
            return self.done, self.total, self.eta, time.monotonic() - self.started

    def cancel(self) -> None:
        """Ask the job to stop (polled by the bridge between frames)."""
        self.cancelled = True

    def is_cancelled(self) -> bool:
        """True once cancel() was called."""
        return self.cancelled
