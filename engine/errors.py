"""The engine's exceptions: each carries a human sentence and a stable code for the bridge."""

from __future__ import annotations


class PocketSRError(Exception):
    """Base of every error the engine raises on purpose; str() is a sentence for the user."""

    code = "error"


class InvalidImageError(PocketSRError, ValueError):
    """The image array or file cannot be upscaled (shape, dtype, values, size)."""

    code = "invalid_image"


class ImageFileError(PocketSRError, OSError):
    """An image file could not be read or written."""

    code = "image_file"


class ModelError(PocketSRError):
    """A model file is missing, corrupt or not a usable super-resolution model."""

    code = "model"


class InvalidOptionError(PocketSRError, ValueError):
    """An option (scale, ROI, tile size, device) is out of range."""

    code = "invalid_option"


class OutOfMemoryError(PocketSRError, MemoryError):
    """Inference ran out of memory even with the smallest tiles."""

    code = "out_of_memory"


class Cancelled(PocketSRError):
    """The job was cancelled by the caller; nothing was written."""

    code = "cancelled"
