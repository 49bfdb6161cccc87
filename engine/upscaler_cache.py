"""The loaded models shared by the worker, the in-process bridge and the viewer."""

from __future__ import annotations

import os
import threading

from .model_paths import DEFAULT_MODEL
from .orchestrator import Upscaler


class UpscalerCache:
    """Loaded Upscalers by (model, device, threads); the `keep` most recent stay (thread-safe).

    A model name is looked up in `models_dir` (a folder of extra .onnx files) before the
    embedded models.
    """

    def __init__(self, models_dir: str | None = None, keep: int = 2) -> None:
        self.models_dir = models_dir
        self._keep = keep
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str, int | None], Upscaler] = {}

    def get(
        self, model: str | None = None, device: str | None = None, threads: int | None = None
    ) -> Upscaler:
        """The Upscaler for this model, device and thread count (loading it is slow once)."""
        name = model or DEFAULT_MODEL
        if self.models_dir:
            candidate = os.path.join(self.models_dir, f"{name}.onnx")
            if os.path.isfile(candidate):
                name = candidate
        key = (name, device or "auto", threads)
        with self._lock:
            if key not in self._items:
                if len(self._items) >= self._keep:
                    self._items.pop(next(iter(self._items)))
                self._items[key] = Upscaler(model=name, device=key[1], threads=threads)
            return self._items[key]

    def clear(self) -> None:
        """Drop every loaded model."""
        with self._lock:
            self._items.clear()
