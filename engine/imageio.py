"""Image files in and out: bit depth, alpha, ICC profile and EXIF kept; every write is atomic.

The work lives in one module per job; this module keeps the names importable from here:
image_formats (formats, ImageMeta, LoadedImage), image_read, exif, colour_profile,
pixel_layout, work_files, atomic_write, disk_space, image_write and streamed_output.
"""

from __future__ import annotations

from .atomic_write import atomic_path
from .colour_profile import valid_icc
from .disk_space import disk_full_as_sentence, disk_full_error, reserve
from .errors import Cancelled, ImageFileError, InvalidImageError
from .exif import orient
from .image_formats import (
    EXTENSIONS,
    FORMATS,
    MAX_INPUT_PIXELS,
    ImageMeta,
    LoadedImage,
    format_for,
    is_image_path,
)
from .image_read import read_image
from .image_write import check_output, write_image
from .pixel_layout import convert_depth, to_engine_layout, to_file_layout
from .streamed_output import StreamedOutput
from .work_files import WORK_PREFIX, clean_stale_work_files

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "MAX_INPUT_PIXELS",
    "WORK_PREFIX",
    "Cancelled",
    "ImageFileError",
    "ImageMeta",
    "InvalidImageError",
    "LoadedImage",
    "StreamedOutput",
    "atomic_path",
    "check_output",
    "clean_stale_work_files",
    "convert_depth",
    "disk_full_as_sentence",
    "disk_full_error",
    "format_for",
    "is_image_path",
    "orient",
    "read_image",
    "reserve",
    "to_engine_layout",
    "to_file_layout",
    "valid_icc",
    "write_image",
]
