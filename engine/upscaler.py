"""The Upscaler and its helpers, importable from here as before the split.

The work lives in one module per job: model_paths (which model file), source_image (the
caller's pixels made ready), upscale_checks (ROI, size, out=), tile_policy (how big the
windows are), tile_blend (running a plan), orchestrator (Upscaler) and upscaler_cache.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

from . import model_paths
from .model_paths import (
    DEFAULT_MODEL,
    embedded_models,
    model_path,
    user_models,
    user_models_dir,
)
from .orchestrator import Upscaler
from .source_image import bleed_colour
from .tile_blend import ProgressCallback
from .tile_policy import CPU_TILE, DEFAULT_MEMORY_BUDGET_MB, GPU_TILE, MIN_OOM_TILE, TilePolicy
from .upscaler_cache import UpscalerCache

__all__ = [
    "CPU_TILE",
    "DEFAULT_MEMORY_BUDGET_MB",
    "DEFAULT_MODEL",
    "GPU_TILE",
    "MIN_OOM_TILE",
    "WEIGHTS_DIR",  # noqa: F822 - a property of this module's class, below
    "ProgressCallback",
    "TilePolicy",
    "Upscaler",
    "UpscalerCache",
    "bleed_colour",
    "embedded_models",
    "model_path",
    "user_models",
    "user_models_dir",
]


class _Forwarding(types.ModuleType):
    """This module, with WEIGHTS_DIR read from and set in model_paths: callers (tests among
    them) that set upscaler.WEIGHTS_DIR still change where embedded models are looked up."""

    @property
    def WEIGHTS_DIR(self) -> Path:
        """The folder of embedded models (model_paths.WEIGHTS_DIR)."""
        return model_paths.WEIGHTS_DIR

    @WEIGHTS_DIR.setter
    def WEIGHTS_DIR(self, value: Path) -> None:
        model_paths.WEIGHTS_DIR = value


sys.modules[__name__].__class__ = _Forwarding
