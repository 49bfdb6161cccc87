"""Writing image files atomically in the format the extension names, ICC and EXIF kept."""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import tifffile
from PIL import Image

from . import pngcodec
from .atomic_write import PendingFile, atomic_path
from .disk_space import disk_full_as_sentence
from .errors import Cancelled, ImageFileError, InvalidImageError
from .exif import tiff_text_tags
from .image_formats import ImageMeta, file_dtype, format_for
from .pixel_layout import convert_depth, to_engine_layout
from .types import CancelToken


def check_output(path: str | os.PathLike[str]) -> None:
    """What can fail about writing an output, checked before any work: the name's length, its
    format, the folder (a folder, writable, taking our working file). Whether an existing file
    may be replaced is the caller's rule."""
    path = Path(path)
    folder = path.parent
    try:
        limit = os.pathconf(folder if folder.is_dir() else ".", "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    size = len(os.fsencode(path.name))
    if size > limit:
        raise ImageFileError(
            f"the file name {path.name[:40]}... is {size} bytes long; the folder allows {limit}."
        )
    format_for(path)
    if path.is_dir():
        raise ImageFileError(f"cannot write {path}: it is a folder; give a file name.")
    if folder.exists() and not folder.is_dir():
        raise ImageFileError(f"cannot write {path}: {folder} is a file, not a folder.")
    if folder.is_dir():
        PendingFile(path, overwrite=True).abort()  # the folder takes our working file


def write_image(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    meta: ImageMeta | None = None,
    *,
    overwrite: bool = False,
    quality: int = 95,
    cancel: CancelToken | None = None,
) -> Path:
    """Write pixels atomically in the format the extension names, keeping ICC and EXIF.

    The bit depth is kept where the format can hold it (PNG 8/16, TIFF 8/16/float); JPEG and
    WebP are 8-bit. `pixels` may be a memmap: PNG and TIFF are then written in row blocks.
    """
    path = Path(path)
    fmt = format_for(path)
    meta = meta or ImageMeta()
    _check_pixels(pixels, path)
    full = disk_full_as_sentence(path.parent, pixels.nbytes)
    with full, atomic_path(path, overwrite=overwrite) as tmp:
        write_pixels(tmp, pixels, fmt, meta, quality=quality, cancel=cancel)
    return path


def _check_pixels(pixels: np.ndarray, path: Path) -> None:
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and not 1 <= pixels.shape[2] <= 4):
        raise InvalidImageError(f"cannot write {path.name}: pixels of shape {pixels.shape}.")
    if pixels.dtype not in (np.uint8, np.uint16, np.float16, np.float32):
        raise InvalidImageError(f"cannot write {path.name}: samples of type {pixels.dtype}.")
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise InvalidImageError(f"cannot write {path.name}: the image is empty.")


def write_pixels(
    tmp: Path,
    pixels: np.ndarray,
    fmt: str,
    meta: ImageMeta,
    *,
    quality: int,
    cancel: CancelToken | None,
    fast: bool = False,
) -> None:
    """Encode pixels into the file `tmp` (not atomic by itself: the callers' job)."""
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    dtype = file_dtype(fmt, pixels.dtype)
    release = page_releaser(pixels)

    def after_block(_rows: int) -> None:
        release()
        if cancel is not None and cancel.cancelled:
            raise Cancelled("the write was cancelled; nothing was written.")

    if fmt == "PNG":
        with open(tmp, "wb") as fh:
            _write_png(fh, pixels, dtype, meta, after_block, fast)
    elif fmt == "TIFF":
        _write_tiff(tmp, pixels, dtype, meta, after_block)
    else:
        _write_pillow(tmp, convert_depth(pixels, np.uint8), fmt, meta, quality)


def _write_png(
    fh: BinaryIO,
    pixels: np.ndarray,
    dtype: np.dtype,
    meta: ImageMeta,
    after_block: Callable[[int], None],
    fast: bool,
) -> None:
    exif = meta.exif[6:] if meta.exif and meta.exif.startswith(b"Exif\0\0") else meta.exif

    class _Converted:
        """Row blocks of `pixels` converted to the file's dtype on the fly (no full copy)."""

        shape = pixels.shape
        ndim = pixels.ndim

        def __init__(self) -> None:
            self.dtype = dtype

        def __getitem__(self, rows: slice) -> np.ndarray:
            return convert_depth(np.asarray(pixels[rows]), dtype)

    source = pixels if pixels.dtype == dtype else _Converted()
    pngcodec.encode(fh, source, icc=meta.icc, exif=exif, fast=fast, after_block=after_block)  # type: ignore[arg-type]


def _write_tiff(
    tmp: Path,
    pixels: np.ndarray,
    dtype: np.dtype,
    meta: ImageMeta,
    after_block: Callable[[int], None],
) -> None:
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    photometric = "minisblack" if channels <= 2 else "rgb"
    extrasamples = ("unassalpha",) if channels in (2, 4) else None
    height = pixels.shape[0]
    rows = max(1, (8 << 20) // max(1, pixels[0].nbytes))

    def strips() -> Iterator[np.ndarray]:
        for start in range(0, height, rows):
            yield convert_depth(np.asarray(pixels[start : start + rows]), dtype)
            after_block(min(height, start + rows))

    with tifffile.TiffWriter(tmp, bigtiff=pixels.size * dtype.itemsize > 2**31) as tif:
        tif.write(
            strips(),
            shape=pixels.shape,
            dtype=dtype,
            photometric=photometric,
            extrasamples=extrasamples,
            iccprofile=meta.icc,
            rowsperstrip=rows,
            extratags=tiff_text_tags(meta.exif),
            software="PocketSR",
        )


def _write_pillow(tmp: Path, pixels: np.ndarray, fmt: str, meta: ImageMeta, quality: int) -> None:
    if pixels.ndim == 3 and pixels.shape[2] == 2:
        pixels = to_engine_layout(pixels)
    if fmt == "JPEG" and pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[..., :3]  # JPEG has no alpha
    im = Image.fromarray(np.ascontiguousarray(pixels))
    options: dict[str, object] = {"quality": quality}
    if meta.icc:
        options["icc_profile"] = meta.icc
    if meta.exif:
        options["exif"] = meta.exif
    if fmt == "JPEG":
        options["subsampling"] = 0 if quality >= 90 else 2
    im.save(tmp, format=fmt, **options)


def page_releaser(pixels: np.ndarray) -> Callable[[], None]:
    """A function that drops a memmap's pages from this process's resident set (data stays)."""
    base = pixels
    while base is not None and not isinstance(getattr(base, "_mmap", None), mmap.mmap):
        base = getattr(base, "base", None)
    if base is None or not hasattr(mmap, "MADV_DONTNEED"):
        return lambda: None
    handle: mmap.mmap = base._mmap  # type: ignore[union-attr]

    def release() -> None:
        # Shared file mappings keep their data in the page cache; only our mapping is dropped.
        with contextlib.suppress(ValueError, OSError):
            handle.flush()
            handle.madvise(mmap.MADV_DONTNEED)

    return release
