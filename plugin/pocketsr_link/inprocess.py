# -*- coding: utf-8 -*-
"""The bridge's API on top of pocketsr.engine imported into this Python (configured only)."""

from __future__ import absolute_import

import os
import time

from . import wire
from .errors import CancelledError, EngineError
from .jobs import UpscaleResult, check_pixels
from .paths import LOG_NAME, default_log_dir
from .process import tail_lines


class InProcessEngine(object):
    """Runs the worker's own request code in this process (no crash isolation)."""

    def __init__(self, models_dir=None, log_dir=None):
        from pocketsr.engine import UpscalerCache  # fail early with ImportError

        self.models_dir = models_dir
        self.log_dir = log_dir or default_log_dir()
        self._cache = UpscalerCache(models_dir)

    @property
    def log_path(self):
        """The engine log file (the in-process engine logs through the host's logging)."""
        return os.path.join(self.log_dir, LOG_NAME)

    def info(self):
        """Engine version, protocol, devices and models (ModelInfo wire objects), as a dict."""
        import platform

        from pocketsr import __version__
        from pocketsr.engine import worker

        return {"engine_version": __version__, "protocol": wire.PROTOCOL_VERSION,
                "python": platform.python_version(),
                "models": worker.list_models(self.models_dir),
                "devices": worker.devices(), "log_path": None}

    def models(self):
        """Every model the engine can run, as wire.ModelInfo values."""
        return [wire.ModelInfo.from_wire(m) for m in self.info()["models"]]

    def plan(self, width, height, channels, roi=None, options=None):
        """Same contract as Bridge.plan."""
        from pocketsr.engine import errors, worker

        try:
            header = worker.plan_reply(self._cache, {
                "width": width, "height": height, "channels": channels,
                "roi": None if not roi else [int(v) for v in roi],
                "options": _wire_options(options)})
        except errors.PocketSRError as exc:
            raise EngineError(str(exc), code=exc.code)
        return wire.ReadPlan.from_wire(header)

    def upscale(self, pixels, width, height, channels, dtype, roi=None, options=None,
                on_progress=None, is_cancelled=None, on_tile=None):
        """Same contract as Bridge.upscale, run in this process by the worker's own code."""
        from pocketsr.engine import errors, worker
        from pocketsr.engine.types import CancelToken

        check_pixels(pixels, width, height, channels, dtype)
        token = CancelToken()

        def progress(p):
            if is_cancelled is not None and is_cancelled():
                token.cancel()
            rect = p.rect
            if on_tile is not None and rect is not None and p.pixels is not None:
                on_tile(rect.x, rect.y, rect.width, rect.height,
                        p.pixels.copy(order="C").tobytes())
            if on_progress is not None:
                # Through the wire form: the host may hold this module under another name.
                on_progress(wire.Progress.from_wire(p.to_wire()))

        if is_cancelled is not None and is_cancelled():
            raise CancelledError("Cancelled.")
        start = time.time()
        try:
            data, w, h, c, dt = worker.run_local(
                self._cache, pixels, width, height, channels, dtype, roi,
                _wire_options(options), token, progress)
        except errors.Cancelled as exc:
            raise CancelledError(str(exc) or "Cancelled.")
        except errors.PocketSRError as exc:
            raise EngineError(str(exc), code=exc.code)
        return UpscaleResult(data, w, h, c, dt, time.time() - start)

    def last_log_lines(self, n=40):
        """The last n lines of the engine log."""
        return tail_lines(self.log_path, n)

    def close(self):
        """Drop loaded models."""
        self._cache.clear()


def _wire_options(options):
    """The options as their wire dict (the engine's worker code checks them)."""
    if isinstance(options, wire.UpscaleOptions):
        return options.to_wire()
    return dict(options or {})
