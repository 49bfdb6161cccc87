"""PocketSR engine: host-agnostic super-resolution with ONNX Runtime and numpy."""

from .errors import (
    Cancelled,
    ImageFileError,
    InvalidImageError,
    InvalidOptionError,
    ModelError,
    OutOfMemoryError,
    PocketSRError,
)
from .modelinfo import load_model_info
from .session import available_devices
from .types import CancelToken, ModelInfo, Progress, Rect, Size
from .upscaler import DEFAULT_MODEL, Upscaler, UpscalerCache, embedded_models

__all__ = [
    "DEFAULT_MODEL",
    "CancelToken",
    "Cancelled",
    "ImageFileError",
    "InvalidImageError",
    "InvalidOptionError",
    "ModelError",
    "ModelInfo",
    "OutOfMemoryError",
    "PocketSRError",
    "Progress",
    "Rect",
    "Size",
    "Upscaler",
    "UpscalerCache",
    "available_devices",
    "embedded_models",
    "load_model_info",
]
